package ssl_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/ssl"
)

// swapped returns a copy of d with the pixels of images i and j exchanged: the same
// count, shapes and labels, other content.
func swapped(d *synth, i, j int) *synth {
	c := *d
	c.pix = append([]uint8(nil), d.pix...)
	per := 3 * d.size * d.size
	a, b := c.pix[i*per:(i+1)*per], c.pix[j*per:(j+1)*per]
	tmp := append([]uint8(nil), a...)
	copy(a, b)
	copy(b, tmp)
	return &c
}

// Results computed on other images (same sizes and labels) are refused before any
// training, naming the file and saying that the data differ; nothing on disk changes.
func TestResumeRefusesOtherData(t *testing.T) {
	f := newFixture()
	dir := t.TempDir()
	if _, err := f.evaluate(context.Background(), f.pipeline(ssl.CheckpointDir(dir))); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ssl.PretrainResultFile))
	steps := 0
	g := f
	g.pool = swapped(f.pool, 0, 1)
	_, err := g.evaluate(context.Background(), g.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(ssl.Progress) { steps++ })))
	var me *ssl.MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ssl.ErrMismatch) || me.Kind != ssl.MismatchData || !strings.Contains(err.Error(), "other images or labels") {
		t.Fatalf("resuming on swapped images: %v, want a data MismatchError", err)
	}
	if steps != 0 {
		t.Errorf("trained %d steps on other data", steps)
	}
	// The test set alone differs: the downstream runs are refused.
	g = f
	g.test = swapped(f.test, 0, 1)
	_, err = g.evaluate(context.Background(), g.pipeline(ssl.CheckpointDir(dir)))
	if !errors.As(err, &me) || me.Kind != ssl.MismatchData || !strings.Contains(me.Path, ssl.RunsDir) {
		t.Fatalf("resuming on another test set: %v, want a data MismatchError naming a run file", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ssl.PretrainResultFile))
	if string(before) != string(after) {
		t.Errorf("a refused resume changed %s", ssl.PretrainResultFile)
	}
	// A run file written before content hashes existed (no "data" key) is read back
	// with a warning.
	path := filepath.Join(dir, ssl.RunsDir, "sl-n16-r0.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "data")
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := f.evaluate(context.Background(), f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(ssl.Progress) { steps++ })))
	if err != nil || steps != 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "before content hashes") {
		t.Fatalf("old-format run file: err %v, %d steps, warnings %q", err, steps, rep.Warnings)
	}
}

// A downstream run stopped in the middle continues from its last finished epoch and ends
// with the numbers of an uninterrupted run, bit for bit.
func TestDownstreamRunResumesFromItsLastEpoch(t *testing.T) {
	f := newFixture()
	f.budgets = folds.Stratified(64)
	ref, err := f.evaluate(context.Background(), f.pipeline())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = f.evaluate(ctx, f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(p ssl.Progress) {
		if p.Stage == ssl.MethodSSL && p.Epoch == 3 && p.Step == 1 {
			cancel()
		}
	})))
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	first := -1
	rep, err := f.evaluate(context.Background(), f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(p ssl.Progress) {
		if p.Stage == ssl.MethodSSL && p.Run == 0 && first < 0 {
			first = p.Epoch
		}
	})))
	if err != nil {
		t.Fatal(err)
	}
	if first != 3 {
		t.Errorf("the interrupted run restarted at epoch %d, want 3 (0-based): more than the epoch in flight was lost", first)
	}
	equalNumbers(t, "resumed mid-run against uninterrupted", numbersOf(ref), numbersOf(rep))
	for i := range ref.Runs {
		for e := range ref.Runs[i].Epochs {
			a, b := ref.Runs[i].Epochs[e], rep.Runs[i].Epochs[e]
			if a.Loss != b.Loss || a.Accuracy != b.Accuracy || a.LR != b.LR {
				t.Fatalf("run %d epoch %d: %+v against %+v", i, e, a, b)
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ssl.RunsDir, "*-last.safetensors")); len(left) != 0 {
		t.Errorf("per-epoch checkpoints left after the runs finished: %v", left)
	}
}
