package ssl

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// plotReport is a small report with pretext curves and one budget of two methods.
func plotReport() *Report {
	ep := func(n int, f func(i int) EpochStats) []EpochStats {
		out := make([]EpochStats, n)
		for i := range out {
			out[i] = f(i)
			out[i].Epoch = i
		}
		return out
	}
	r := &Report{Budgets: []int{10}, Methods: []string{MethodSL, MethodSSL}}
	r.Pretrain = &PretrainResult{Task: "rotation", ValidationImages: 5, Scored: true,
		Epochs: ep(4, func(i int) EpochStats {
			return EpochStats{Loss: 2 - 0.3*float64(i), Accuracy: 0.2 * float64(i), ValLoss: 2.1 - 0.2*float64(i), ValScore: 0.15 * float64(i)}
		})}
	for _, m := range r.Methods {
		r.Runs = append(r.Runs, RunResult{Method: m, NLabels: 10, Epochs: ep(3, func(i int) EpochStats {
			return EpochStats{Loss: 1.5 / float64(i+1), Accuracy: 0.3 * float64(i)}
		})})
	}
	return r
}

// failAfter passes on the first left bytes, then fails: a disk that fills up part-way.
type failAfter struct {
	w    io.Writer
	left int
}

var errDiskFull = errors.New("no space left on device (injected)")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, errDiskFull
	}
	f.left -= len(p)
	return f.w.Write(p)
}

// TestPlotCurvesAtomic makes the PNG encoding fail part-way (as a full disk would): the
// error must say so and name the file, the plot written before must be left byte for byte,
// and no partial or temporary file may remain.
func TestPlotCurvesAtomic(t *testing.T) {
	dir := t.TempDir()
	rep := plotReport()
	files, err := rep.PlotCurves(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("PlotCurves wrote %v, want 4 files", files)
	}
	before := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: not a PNG: %v", f, err)
		}
		before[f] = b
	}
	// Another report, so that a successful write would change the files.
	rep.Pretrain.Epochs[0].Loss = 9
	for _, after := range []int{0, 100, len(before[files[0]]) / 2} {
		plotWriter = func(w io.Writer) io.Writer { return &failAfter{w: w, left: after} }
		_, err := rep.PlotCurves(dir)
		plotWriter = nil
		if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), files[0]) {
			t.Fatalf("failing after %d bytes: %v, want the injected error naming %s", after, err, files[0])
		}
		for _, f := range files {
			if b, _ := os.ReadFile(f); !bytes.Equal(b, before[f]) {
				t.Fatalf("failing after %d bytes: %s changed", after, f)
			}
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, filepath.Join(dir, e.Name()))
		}
		slices.Sort(names)
		want := slices.Sorted(slices.Values(files))
		if !slices.Equal(names, want) {
			t.Fatalf("failing after %d bytes: the folder holds %v, want only %v", after, names, want)
		}
	}
	// A plot that never existed is not created by a failed write.
	fresh := t.TempDir()
	plotWriter = func(w io.Writer) io.Writer { return &failAfter{w: w, left: 50} }
	_, err = rep.PlotCurves(fresh)
	plotWriter = nil
	if err == nil {
		t.Fatal("the injected failure was not reported")
	}
	if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
		t.Fatalf("a failed PlotCurves left %v", entries)
	}
	// And without the failure the files are replaced.
	if _, err := rep.PlotCurves(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(files[0]); bytes.Equal(b, before[files[0]]) {
		t.Error("a successful PlotCurves did not replace the plot")
	}
}
