package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
)

// exitUsage is the exit status of a command line that cannot be parsed (an unknown command
// or flag, a malformed flag value, a stray argument), as the flag package uses.
const exitUsage = 2

// usageError is a mistake in the command line itself. main exits with exitUsage for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode returns the exit status for the error dispatch returned.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return exitUsage
	}
	return 1
}

// parseFlags parses args with fs. Only -h prints the usage (to fs's output); any other
// mistake is a one-line usageError, which for an unknown flag names the closest known flags
// and the -h that lists them all, instead of the whole usage text.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		out.Write(buf.Bytes())
		return err
	}
	help := fmt.Sprintf("selfsup %s -h lists all flags", fs.Name())
	const undefined = "flag provided but not defined: -"
	if name, ok := strings.CutPrefix(err.Error(), undefined); ok {
		if near := closestFlags(fs, name); len(near) > 0 {
			return &usageError{fmt.Sprintf("%s: unknown flag --%s; did you mean %s? (%s)", fs.Name(), name, strings.Join(near, " or "), help)}
		}
		return &usageError{fmt.Sprintf("%s: unknown flag --%s (%s)", fs.Name(), name, help)}
	}
	return &usageError{fmt.Sprintf("%s: %v (%s)", fs.Name(), err, help)}
}

// closestFlags returns up to three flags of fs, as "--name", that name may stand for: those
// that start with name (an abbreviation, when name has at least 3 letters) first, then those
// within an edit distance of max(1, len(name)/4), nearest first.
func closestFlags(fs *flag.FlagSet, name string) []string {
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	limit := max(1, len(name)/4)
	fs.VisitAll(func(f *flag.Flag) {
		switch d := editDistance(name, f.Name); {
		case len(name) >= 3 && strings.HasPrefix(f.Name, name):
			cands = append(cands, cand{f.Name, -1})
		case d <= limit:
			cands = append(cands, cand{f.Name, d})
		}
	})
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for i := 0; i < len(cands) && i < 3; i++ {
		out = append(out, "--"+cands[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b (insertions, deletions and
// substitutions of bytes, each costing 1).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
