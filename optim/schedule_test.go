package optim

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/nn"
)

// kerasResNetLR is lr_schedule from Keras' ResNet CIFAR-10 example, written out.
func kerasResNetLR(epoch int) float64 {
	lr := 1e-3
	switch {
	case epoch > 180:
		lr *= 0.5e-3
	case epoch > 160:
		lr *= 1e-3
	case epoch > 120:
		lr *= 1e-2
	case epoch > 80:
		lr *= 1e-1
	}
	return lr
}

func TestResNetCIFARBoundaries(t *testing.T) {
	s := ResNetCIFAR(1e-3)
	for _, e := range []int{0, 1, 79, 80, 81, 82, 119, 120, 121, 159, 160, 161, 179, 180, 181, 199, 500} {
		if got, want := s.LR(e, 12345), kerasResNetLR(e); !near(float64(got), want, 1e-6) {
			t.Errorf("epoch %d: %v, want %v", e, got, want)
		}
	}
	if s.LR(80, 0) != 1e-3 || !near(float64(s.LR(81, 0)), 1e-4, 1e-6) {
		t.Error("the first drop must come after epoch 80")
	}
}

func TestStepsErrors(t *testing.T) {
	for _, c := range []struct {
		base  float32
		drops []Drop
		sub   string
	}{
		{1, []Drop{{5, 0.1}, {5, 0.2}}, "two drops after epoch 5"},
		{1, []Drop{{-1, 0.1}}, "negative"},
		{1, []Drop{{3, float32(math.NaN())}}, "factor NaN after epoch 3"},
		{float32(math.Inf(1)), nil, "base rate +Inf"},
	} {
		if _, err := Steps(c.base, c.drops...); err == nil || !strings.Contains(err.Error(), c.sub) {
			t.Errorf("%v: error %v, want %q", c.drops, err, c.sub)
		}
	}
	// Order of the drops does not matter; factors are relative to base.
	s, err := Steps(2, Drop{10, 0.25}, Drop{5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for e, want := range map[int]float32{0: 2, 5: 2, 6: 1, 10: 1, 11: 0.5} {
		if got := s.LR(e, 0); got != want {
			t.Errorf("epoch %d: %v, want %v", e, got, want)
		}
	}
}

func TestCosine(t *testing.T) {
	c, err := Cosine(1, 10, 110, 0)
	if err != nil {
		t.Fatal(err)
	}
	for step, want := range map[int]float64{0: 0, 5: 0.5, 9: 0.9, 10: 1, 35: 0.5 * (1 + math.Cos(math.Pi/4)), 60: 0.5, 110: 0, 500: 0} {
		if got := c.LR(3, step); !near(float64(got), want, 1e-6) {
			t.Errorf("step %d: %v, want %v", step, got, want)
		}
	}
	c, _ = Cosine(2, 0, 100, 0.1)
	for step, want := range map[int]float64{0: 2, 50: 2 * 0.55, 100: 0.2, 1000: 0.2} {
		if got := c.LR(0, step); !near(float64(got), want, 1e-6) {
			t.Errorf("alpha 0.1, step %d: %v, want %v", step, got, want)
		}
	}
	for _, bad := range [][3]float64{{1, 10, 10}, {1, -1, 10}, {-1, 0, 10}} {
		if _, err := Cosine(float32(bad[0]), int(bad[1]), int(bad[2]), 0); err == nil {
			t.Errorf("Cosine%v: no error", bad)
		}
	}
	if _, err := Cosine(1, 0, 10, 1.5); err == nil {
		t.Error("alpha 1.5: no error")
	}
	if Constant(0.3).LR(7, 9) != 0.3 {
		t.Error("Constant")
	}
}

func TestPlateauKerasTrace(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    []PlateauOption
		metrics []float64
		lrs     []float32 // rate after each Observe
	}{
		{"patience 2, cooldown 1", []PlateauOption{Patience(2), Factor(0.5), MinDelta(0), Cooldown(1)},
			[]float64{1, 1, 1, 1, 1, 0.5, 0.6, 0.6},
			[]float32{1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125}},
		{"cooldown 2 suspends counting", []PlateauOption{Patience(2), Factor(0.5), MinDelta(0), Cooldown(2)},
			[]float64{1, 1, 1, 1, 1, 1, 1},
			[]float32{1, 1, 0.5, 0.5, 0.5, 0.25, 0.25}},
		{"min lr", []PlateauOption{Patience(0), Factor(0.1), MinLR(0.05)},
			[]float64{1, 1, 1, 1},
			[]float32{1, 0.1, 0.05, 0.05}},
		{"min delta", []PlateauOption{Patience(1), Factor(0.5), MinDelta(0.1)},
			[]float64{1, 0.95, 0.85, 0.8}, // 0.05 below best is no improvement, 0.15 is
			[]float32{1, 0.5, 0.5, 0.25}},
		{"max mode", []PlateauOption{Patience(1), Factor(0.5), Monitor(Max)},
			[]float64{0.5, 0.6, 0.6, 0.7, 0.7},
			[]float32{1, 1, 0.5, 0.5, 0.25}},
		{"NaN is no improvement", []PlateauOption{Patience(1), Factor(0.5)},
			[]float64{math.NaN(), 1, math.NaN()},
			[]float32{0.5, 0.5, 0.25}},
		{"defaults: patience 10", nil,
			[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			[]float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.1}},
	} {
		p, err := NewPlateau(1, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var sched Observer = p
		for i, m := range c.metrics {
			before := sched.LR(i, 0)
			dropped := p.Observe(m)
			got := sched.LR(i+1, 0)
			if !near(float64(got), float64(c.lrs[i]), 1e-7) || dropped != (got < before) {
				t.Errorf("%s: epoch %d (metric %v): rate %v (dropped %v), want %v", c.name, i, m, got, dropped, c.lrs[i])
			}
		}
	}
}

func TestPlateauStateAndErrors(t *testing.T) {
	p, _ := NewPlateau(1, Patience(1), Factor(0.5), Cooldown(3))
	p.Observe(1)
	p.Observe(2)
	st := p.State()
	if st.LR != 0.5 || st.Best != 1 || st.Cooldown != 3 || st.Drops != 1 {
		t.Fatalf("state %+v", st)
	}
	q, _ := NewPlateau(1, Patience(1), Factor(0.5), Cooldown(3))
	if err := q.SetState(st); err != nil {
		t.Fatal(err)
	}
	for _, m := range []float64{3, 3, 3, 3, 3, 0.5, 4} {
		if p.Observe(m) != q.Observe(m) || p.LR(0, 0) != q.LR(0, 0) {
			t.Fatal("restored plateau diverges")
		}
	}
	if err := q.SetState(PlateauState{LR: -1}); err == nil {
		t.Error("negative rate accepted")
	}
	for _, c := range []struct {
		o    PlateauOption
		want string
	}{{Factor(1), "Factor(1)"}, {Factor(0), "Factor(0)"}, {Patience(-1), "Patience(-1)"}, {MinDelta(-1), "MinDelta(-1)"},
		{Cooldown(-1), "Cooldown(-1)"}, {MinLR(float32(math.NaN())), "MinLR(NaN)"}, {Monitor(Mode(7)), "Monitor(7)"}, {nil, "option 0 is nil"}} {
		if _, err := NewPlateau(1, c.o); err == nil || !strings.Contains(err.Error(), "optim: NewPlateau: "+c.want) {
			t.Errorf("NewPlateau(1, %s): err = %v, want one naming the option", c.want, err)
		}
	}
	if _, err := NewPlateau(float32(math.NaN())); err == nil {
		t.Error("NaN base accepted")
	}
}

func TestCheckFinite(t *testing.T) {
	k := param(t, "conv1/kernel", []float32{1, 2, 3, 4, 5})
	b := param(t, "conv1/bias", []float32{1})
	ps := []*nn.Param{k, b}
	if err := CheckFinite(3, 0.5, ps, [][]float32{{1, 2, 3, 4, 5}, nil}); err != nil {
		t.Fatal(err)
	}
	err := CheckFinite(42, float32(math.NaN()), ps, nil)
	var nf *NonFiniteStepError
	if !errors.As(err, &nf) || nf.Step != 42 || nf.What != "loss" || err.Error() != "optim: step 42: loss is NaN" {
		t.Errorf("NaN loss: %v", err)
	}
	for n := 1; n <= 9; n++ { // bad value in the unrolled body and in the tail
		for at := 0; at < n; at++ {
			g := make([]float32, n)
			g[at] = float32(math.Inf(-1))
			err := CheckFinite(7, 0.1, []*nn.Param{param(t, "w", make([]float32, n))}, [][]float32{g})
			if !errors.As(err, &nf) || nf.Index != at || nf.Step != 7 {
				t.Fatalf("len %d, -Inf at %d: %v", n, at, err)
			}
		}
	}
	err = CheckFinite(9, 0.1, ps, [][]float32{{1, 2, float32(math.NaN()), 4, 5}, {0}})
	if err == nil || err.Error() != `optim: step 9: gradient of "conv1/kernel" is NaN at element 2` {
		t.Errorf("NaN gradient: %v", err)
	}
	if err := CheckFinite(9, 0.1, nil, [][]float32{{0}, {float32(math.Inf(1))}}); err == nil || !strings.Contains(err.Error(), "gradient 1 is +Inf") {
		t.Errorf("unnamed gradient: %v", err)
	}
	if err := CheckFinite(9, 0.1, ps, [][]float32{{0}}); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := CheckFinite(9, 0.1, nil, [][]float32{{math.MaxFloat32, -math.MaxFloat32, math.MaxFloat32, math.MaxFloat32, 1}}); err != nil {
		t.Errorf("large finite values reported as non-finite: %v", err)
	}
}
