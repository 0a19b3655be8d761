package contrastive

import (
	"math"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// small are the methods with toy widths, so that a few steps take milliseconds.
func small() map[string]func() ssl.PretextTask {
	return map[string]func() ssl.PretextTask{
		"simclr":      func() ssl.PretextTask { return SimCLR(Projector(32, 16)) },
		"simsiam":     func() ssl.PretextTask { return SimSiam(Projector(32, 16), Predictor(8)) },
		"barlowtwins": func() ssl.PretextTask { return BarlowTwins(Projector(32, 16)) },
		"vicreg":      func() ssl.PretextTask { return VICReg(Projector(32, 16)) },
		"byol":        func() ssl.PretextTask { return BYOL(Projector(32, 16), Predictor(8)) },
		"mocov2":      func() ssl.PretextTask { return MoCoV2(Projector(32, 16), QueueSize(24)) },
		"nnclr":       func() ssl.PretextTask { return NNCLR(Projector(32, 16), Predictor(8), QueueSize(12)) },
		"supcon":      func() ssl.PretextTask { return SupCon(Projector(32, 16)) },
	}
}

// Every method pretrains through the real pipeline: finite losses, weights that move,
// the same numbers for the same seed.
func TestPretrainThroughPipeline(t *testing.T) {
	ds := blobs{n: 40, seed: 3}
	for name, mk := range small() {
		t.Run(name, func(t *testing.T) {
			a := pretrain(t, mk(), ds, 1)
			if len(a.losses) == 0 {
				t.Fatal("no step reported")
			}
			for i, l := range a.losses {
				if math.IsNaN(l) || math.IsInf(l, 0) {
					t.Fatalf("step %d: loss %v", i, l)
				}
			}
			t.Logf("%s: losses %v", a.rec.Name(), a.losses)
			last := a.rec.steps[len(a.rec.steps)-1]
			moved := 0
			for n, v := range a.rec.initial {
				if strings.HasPrefix(n, ssl.BackboneScope+"/") && maxDiff(v, last[n]) > 0 {
					moved++
				}
			}
			if moved == 0 {
				t.Error("no backbone parameter changed")
			}
			b := pretrain(t, mk(), ds, 1)
			if len(b.losses) != len(a.losses) {
				t.Fatalf("%d and %d steps", len(a.losses), len(b.losses))
			}
			for i := range a.losses {
				if a.losses[i] != b.losses[i] {
					t.Fatalf("same seed, step %d: loss %v then %v", i, a.losses[i], b.losses[i])
				}
			}
		})
	}
}
