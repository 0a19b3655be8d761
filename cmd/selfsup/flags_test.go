package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestMistypedFlag checks that a mistyped flag gets one line naming it, the closest known
// flags and the -h that lists them, not the whole usage, and exit status 2.
func TestMistypedFlag(t *testing.T) {
	for _, c := range []struct {
		args       []string
		want       []string
		wantNoNear bool
	}{
		{[]string{"run", "--pretrain-epoch", "3"}, []string{"run: unknown flag --pretrain-epoch;", "did you mean --pretrain-epochs", "selfsup run -h"}, false},
		{[]string{"run", "-finetune-epoch=3"}, []string{"unknown flag --finetune-epoch;", "--finetune-epochs"}, false},
		{[]string{"run", "--budget", "100"}, []string{"--budgets"}, false},
		{[]string{"run", "--pretrai", "x"}, []string{"did you mean --pretrain-epochs or --pretrain-lr or --pretrain-only?"}, false},
		{[]string{"folds", "--label-from", "default"}, []string{"folds: unknown flag --label-from;", "--labels-from", "selfsup folds -h"}, false},
		{[]string{"bench", "--step", "3"}, []string{"bench: unknown flag --step;", "--steps", "selfsup bench -h"}, false},
		{[]string{"run", "--zzzzzzzz"}, []string{"run: unknown flag --zzzzzzzz (selfsup run -h lists all flags)"}, true},
	} {
		_, stderr, err := run(context.Background(), c.args...)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not contain %q", c.args, msg, w)
			}
		}
		if c.wantNoNear == strings.Contains(msg, "did you mean") {
			t.Errorf("%v: error %q: suggestion present = %v, want %v", c.args, msg, !c.wantNoNear, !c.wantNoNear)
		}
		if strings.Contains(msg, "\n") || stderr != "" {
			t.Errorf("%v: want one line and nothing on standard error, got %q and standard error %q", c.args, msg, stderr)
		}
		if code := exitCode(err); code != 2 {
			t.Errorf("%v: exit status %d, want 2", c.args, code)
		}
	}
}

// TestHelpStillPrintsUsage checks that -h prints the full usage and exits 0, and that other
// parse errors are one line with exit status 2.
func TestHelpStillPrintsUsage(t *testing.T) {
	_, stderr, err := run(context.Background(), "run", "-h")
	if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
		t.Fatalf("run -h: err %v, exit %d", err, exitCode(err))
	}
	if !strings.Contains(stderr, "usage: selfsup run") || !strings.Contains(stderr, "-pretrain-epochs") {
		t.Errorf("run -h did not print the usage and flags:\n%s", stderr)
	}
	_, stderr, err = run(context.Background(), "run", "--runs", "many")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "-runs") || stderr != "" {
		t.Errorf("--runs many: err %v (exit %d), standard error %q", err, exitCode(err), stderr)
	}
	if _, _, err := run(context.Background(), "rnu"); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d, want 2", exitCode(err))
	}
	if exitCode(errors.New("training failed")) != 1 || exitCode(nil) != 0 {
		t.Error("exitCode of other errors is not 1, or of nil not 0")
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"pretrain-epoch", "pretrain-epochs", 1}, {"flaw", "lawn", 2}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
