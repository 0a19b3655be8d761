package exec

import (
	"context"
	"runtime"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkMLPStep times one training step (forward and backward) of a
// mid-size perceptron (batch 64, 256-128-128-10, float32, stock gorgonia
// ops) with this machine and with a TapeMachine (RunAll + Reset) in the same
// run, alternating, and reports both, their ratio and the bytes and
// allocations per step of each.
//
//	go test ./internal/exec -run '^$' -bench MLPStep -benchtime 200x
func BenchmarkMLPStep(b *testing.B) {
	ours := mlp(tensor.Float32, 64, 256, 128, 10, 1)
	twin := mlp(tensor.Float32, 64, 256, 128, 10, 1)
	m, err := New(ours.g, Outputs(append([]*G.Node{ours.cost}, ours.grads...)...))
	if err != nil {
		b.Fatal(err)
	}
	tm := G.NewTapeMachine(twin.g)
	defer tm.Close()
	ctx := context.Background()
	execStep := func() {
		if err := m.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	tapeStep := func() {
		if err := tm.RunAll(); err != nil {
			b.Fatal(err)
		}
		tm.Reset()
	}
	measure := func(f func()) (time.Duration, uint64, uint64) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		f()
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		return d, after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
	}
	execStep()
	tapeStep()
	var te, tt time.Duration
	var be, bt, ae, at uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, by, al := measure(execStep)
		te, be, ae = te+d, be+by, ae+al
		d, by, al = measure(tapeStep)
		tt, bt, at = tt+d, bt+by, at+al
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(te.Nanoseconds())/n, "exec-ns/step")
	b.ReportMetric(float64(tt.Nanoseconds())/n, "tape-ns/step")
	b.ReportMetric(float64(tt)/float64(te), "speedup")
	b.ReportMetric(float64(be)/n, "exec-B/step")
	b.ReportMetric(float64(bt)/n, "tape-B/step")
	b.ReportMetric(float64(ae)/n, "exec-allocs/step")
	b.ReportMetric(float64(at)/n, "tape-allocs/step")
	b.ReportMetric(float64(m.PlannedBytes()), "planned-B")
}
