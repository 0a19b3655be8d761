package optim

import (
	"runtime"
	"testing"
	"time"
)

func TestScratchParallel(t *testing.T) {
	b := &testing.B{}
	_ = b
	for _, kind := range []string{"adam", "sgd", "lars"} {
		params, grads := benchParams(nil, 1<<20)
		var o Optimizer
		switch kind {
		case "adam":
			o, _ = NewAdam()
		case "sgd":
			o, _ = NewSGD(Momentum(0.9))
		case "lars":
			o, _ = NewLARS(WeightDecay(1e-6), Exclude(nil))
		}
		best := [3]time.Duration{time.Hour, time.Hour, time.Hour}
		for r := 0; r < 60; r++ {
			for c := 1; c <= 2; c++ {
				runtime.GOMAXPROCS(c)
				st := time.Now()
				for k := 0; k < 5; k++ {
					o.Step(1e-3, params, grads)
				}
				best[c] = min(best[c], time.Since(st)/5)
			}
		}
		t.Logf("%s 1M: 1 core %v, 2 cores %v, ratio %.2f", kind, best[1], best[2], float64(best[1])/float64(best[2]))
	}
	runtime.GOMAXPROCS(2)
}
