package ssl

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/nn"
)

// Tags that separate the random streams derived from the pipeline's seed.
const (
	tagSplit uint64 = iota + 1
	tagPretrainParams
	tagPretrainShuffle
	tagPretrainPrepare
	tagPretrainValidate
	tagRunParams
	tagRunShuffle
)

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// derive returns a seed derived from seed and parts.
func derive(seed uint64, parts ...uint64) uint64 {
	h := mix(seed)
	for _, p := range parts {
		h = mix(h ^ mix(p))
	}
	return h
}

// newRand returns a PCG source seeded from seed and parts.
func newRand(seed uint64, parts ...uint64) *rand.Rand {
	a := derive(seed, parts...)
	return rand.New(rand.NewPCG(a, mix(a^0x5851f42d4c957f2d)))
}

// feeder writes images of a dataset, mean-subtracted, into batch buffers.
type feeder struct {
	ds   Dataset
	mean []float32
	per  int
}

// fill writes images idx into dst (len(idx)*per values) and subtracts the mean image.
func (f *feeder) fill(dst []float32, idx []int) error {
	if err := FillBatch(f.ds, dst, idx); err != nil {
		return err
	}
	for k := range idx {
		img := dst[k*f.per : (k+1)*f.per]
		for j, m := range f.mean {
			img[j] -= m
		}
	}
	return nil
}

// padRows fills rows n.. of buf (rows of size row) with copies of rows 0..n-1, cyclically.
func padRows(buf []float32, row, n int) {
	if n <= 0 || row <= 0 {
		return
	}
	total := len(buf) / row
	for r := n; r < total; r++ {
		copy(buf[r*row:(r+1)*row], buf[(r%n)*row:(r%n+1)*row])
	}
}

// prod is the product of shape's dimensions (1 for an empty shape).
func prod(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}

// writeJSONAtomic writes v as indented JSON to path, atomically.
func writeJSONAtomic(path string, v any) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// fingerprint is the canonical description of the settings a saved artifact depends on;
// a checkpoint or run result is only reused under an equal fingerprint.
type fingerprint map[string]any

// encode returns the canonical JSON form of f (keys sorted by encoding/json).
func (f fingerprint) encode() string {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Sprintf("unencodable fingerprint: %v", err)
	}
	return string(b)
}

// diffFingerprints describes how the stored fingerprint differs from want.
func diffFingerprints(stored, want string) string {
	var a, b map[string]any
	if json.Unmarshal([]byte(stored), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return "unreadable settings"
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var diffs []string
	for _, k := range ks {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if string(x) != string(y) {
			diffs = append(diffs, fmt.Sprintf("%s %s there, %s now", k, x, y))
		}
	}
	if len(diffs) == 0 {
		return "same settings"
	}
	return strings.Join(diffs, "; ")
}

// snapshot copies the values of the parameters of ps in scope (all when scope is "").
func snapshot(ps *nn.Params, scope string) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range ps.All() {
		if scope == "" || inScope(p, scope) {
			out[p.Name] = append([]float32(nil), p.Data()...)
		}
	}
	return out
}

// restore writes the values of snap into the parameters of ps in scope; every one of them
// must be in snap with the same length.
func restore(ps *nn.Params, scope string, snap map[string][]float32) error {
	for _, p := range ps.All() {
		if scope != "" && !inScope(p, scope) {
			continue
		}
		v, ok := snap[p.Name]
		if !ok {
			return fmt.Errorf("no pretrained value for parameter %q", p.Name)
		}
		if len(v) != len(p.Data()) {
			return fmt.Errorf("pretrained %q has %d values, the model's parameter %d", p.Name, len(v), len(p.Data()))
		}
		copy(p.Data(), v)
	}
	return nil
}
