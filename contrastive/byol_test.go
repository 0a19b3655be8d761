package contrastive

import (
	"math"
	"strings"
	"testing"
)

// After N steps of BYOL through the pipeline, every target parameter equals the
// exponential moving average, computed here from the online parameters recorded after
// each step, with the cosine momentum schedule written out independently.
func TestBYOLTargetIsEMAOfOnline(t *testing.T) {
	const base, fin = 0.5, 0.9 // far from 1, so that a wrong schedule shows
	task := BYOL(Projector(16, 8), Predictor(8), Momentum(base, fin))
	rec := pretrain(t, task, blobs{n: 40, seed: 5}, 2).rec
	K := len(rec.steps)
	if K < 4 {
		t.Fatalf("only %d steps", K)
	}
	for k, in := range rec.info {
		if in[0] != int64(k+1) || in[1] != int64(K) {
			t.Fatalf("hook call %d saw Step %d of %d, want %d of %d", k, in[0], in[1], k+1, K)
		}
	}

	pairs := 0
	for name, init := range rec.initial {
		rest, ok := strings.CutPrefix(name, "pretext/target/")
		if !ok {
			continue
		}
		online := "pretext/" + rest
		if strings.HasPrefix(rest, "backbone/") {
			online = rest
		}
		o0, ok := rec.initial[online]
		if !ok {
			t.Fatalf("%s has no online parameter %s", name, online)
		}
		if d := maxDiff(init, o0); d != 0 {
			t.Errorf("InitParams: %s differs from %s by %g", name, online, d)
		}
		final := rec.after[K-1][name]
		if strings.Contains(name, "moving_") {
			// Moving statistics follow the target's own batches, not the online ones.
			if maxDiff(final, init) == 0 {
				t.Errorf("%s never changed", name)
			}
			continue
		}
		pairs++
		want := make([]float64, len(init))
		for i, v := range init {
			want[i] = float64(v)
		}
		for k := 1; k <= K; k++ {
			// the update after step k uses the momentum at step k-1 (solo-learn's order)
			tau := fin - (fin-base)*(math.Cos(math.Pi*float64(k-1)/float64(K))+1)/2
			o := rec.steps[k-1][online]
			for i := range want {
				want[i] = tau*want[i] + (1-tau)*float64(o[i])
			}
		}
		for i, w := range want {
			if math.Abs(float64(final[i])-w) > 1e-5*(1+math.Abs(w)) {
				t.Fatalf("%s[%d] = %v after %d steps, want %v", name, i, final[i], K, w)
			}
		}
		if maxDiff(final, rec.after[K-1][online]) == 0 && maxDiff(rec.after[K-1][online], o0) != 0 {
			t.Errorf("%s equals its online parameter after training", name)
		}
	}
	if pairs < 10 {
		t.Fatalf("only %d target parameters checked", pairs)
	}
}
