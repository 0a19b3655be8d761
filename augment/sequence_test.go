package augment

import (
	"runtime"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

var _ ssl.Augmentation = (*Sequence)(nil)

// pipelinesUnderTest are the pipelines the generic tests run on.
func pipelinesUnderTest(t *testing.T) map[string]*Sequence {
	t.Helper()
	shift, err := Compose(KerasShift(0.2, 0.1))
	if err != nil {
		t.Fatal(err)
	}
	_, byol2 := BYOLCIFAR()
	return map[string]*Sequence{
		"KerasShiftFlip": KerasShiftFlip(),
		"CIFARCrop":      CIFARCrop(),
		"shift":          shift,
		"SimCLRCIFAR":    SimCLRCIFAR(),
		"BYOLCIFAR2":     byol2,
		"SimCLRSTL10":    SimCLRSTL10(),
	}
}

// TestThreadsBitIdentical: the same seed gives bit-identical batches with 1, 2 and 5
// goroutines, and through Augment with GOMAXPROCS 1 and 2.
func TestThreadsBitIdentical(t *testing.T) {
	const n, c, h, w = 37, 3, 32, 32
	src := randomBatch(n, c, h, w, 1)
	for name, p := range pipelinesUnderTest(t) {
		one := make([]float32, len(src))
		if err := p.augment(one, src, n, c, h, w, 42, 1); err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{2, 5} {
			got := make([]float32, len(src))
			if err := p.augment(got, src, n, c, h, w, 42, threads); err != nil {
				t.Fatal(err)
			}
			if !equalBits(got, one) {
				t.Errorf("%s: %d goroutines differ from 1 (max |diff| %g)", name, threads, maxAbsDiff(got, one))
			}
		}
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			got := make([]float32, len(src))
			err := p.Augment(got, src, n, c, h, w, 42)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			if !equalBits(got, one) {
				t.Errorf("%s: GOMAXPROCS(%d) differs from 1 goroutine", name, procs)
			}
		}
		if maxAbsDiff(one, src) == 0 {
			t.Errorf("%s: the batch came back unchanged", name)
		}
	}
}

// TestSeeds: same seed same output; different seeds differ; image i depends only on
// (seed, i), not on the batch around it; dst may be src.
func TestSeeds(t *testing.T) {
	const n, c, h, w = 16, 3, 16, 16
	size := c * h * w
	src := randomBatch(n, c, h, w, 2)
	for name, p := range pipelinesUnderTest(t) {
		a := make([]float32, len(src))
		b := make([]float32, len(src))
		if err := p.Augment(a, src, n, c, h, w, 7); err != nil {
			t.Fatal(err)
		}
		if err := p.Augment(b, src, n, c, h, w, 7); err != nil {
			t.Fatal(err)
		}
		if !equalBits(a, b) {
			t.Errorf("%s: same seed, different output", name)
		}
		if err := p.Augment(b, src, n, c, h, w, 8); err != nil {
			t.Fatal(err)
		}
		if equalBits(a, b) {
			t.Errorf("%s: seeds 7 and 8 gave the same batch", name)
		}
		// Image i alone in a batch prefix gives the same result.
		pre := make([]float32, 5*size)
		if err := p.Augment(pre, src[:5*size], 5, c, h, w, 7); err != nil {
			t.Fatal(err)
		}
		if !equalBits(pre, a[:5*size]) {
			t.Errorf("%s: the first 5 images depend on the batch size", name)
		}
		// In place.
		inPlace := append([]float32(nil), src...)
		if err := p.Augment(inPlace, inPlace, n, c, h, w, 7); err != nil {
			t.Fatal(err)
		}
		if !equalBits(inPlace, a) {
			t.Errorf("%s: dst == src gives another result", name)
		}
		// Images of the same batch get different draws: the same image repeated does not
		// come out identical everywhere.
		rep := make([]float32, n*size)
		for i := range n {
			copy(rep[i*size:], src[:size])
		}
		out := make([]float32, len(rep))
		if err := p.Augment(out, rep, n, c, h, w, 7); err != nil {
			t.Fatal(err)
		}
		distinct := 0
		for i := 1; i < n; i++ {
			if !equalBits(out[i*size:(i+1)*size], out[:size]) {
				distinct++
			}
		}
		if distinct < n/2 {
			t.Errorf("%s: only %d of %d copies of one image differ from the first", name, distinct, n-1)
		}
	}
}

func TestImageSeedDistinct(t *testing.T) {
	seen := map[[2]uint64]bool{}
	for seed := range uint64(64) {
		for i := range 64 {
			a, b := imageSeed(seed, i)
			if seen[[2]uint64{a, b}] {
				t.Fatalf("imageSeed(%d, %d) repeats an earlier stream", seed, i)
			}
			seen[[2]uint64{a, b}] = true
		}
	}
}

func TestAugmentErrors(t *testing.T) {
	p := KerasShiftFlip()
	buf := make([]float32, 2*3*4*4)
	for _, tc := range []struct {
		name       string
		dst, src   []float32
		n, c, h, w int
		want       string
	}{
		{"short src", buf, buf[:10], 2, 3, 4, 4, "src has 10 values"},
		{"short dst", buf[:95], buf, 2, 3, 4, 4, "dst has 95 values"},
		{"negative n", buf, buf, -1, 3, 4, 4, "n = -1"},
		{"zero h", buf, buf, 2, 3, 0, 4, "h=0"},
	} {
		err := p.Augment(tc.dst, tc.src, tc.n, tc.c, tc.h, tc.w, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	var nilP *Sequence
	if err := nilP.Augment(buf, buf, 2, 3, 4, 4, 1); err == nil {
		t.Error("nil pipeline: no error")
	}
	if err := p.Augment(nil, nil, 0, 3, 4, 4, 1); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestComposeErrors(t *testing.T) {
	for _, tc := range []struct {
		t    Transform
		want string
	}{
		{Transform{}, "zero Transform"},
		{HorizontalFlip(1.5), "HorizontalFlip: probability p = 1.5"},
		{RandomCrop(-1), "RandomCrop: pad = -1"},
		{KerasShift(-0.1, 0.1), "KerasShift: widthFrac = -0.1"},
		{KerasShift(0.1, 1), "KerasShift: heightFrac = 1"},
	} {
		_, err := Compose(HorizontalFlip(0.5), tc.t)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "transform 1") {
			t.Errorf("Compose(..., %s): err = %v, want one naming transform 1 and %q", tc.t.Name(), err, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	got := KerasShiftFlip().Name()
	for _, want := range []string{"keras-shift-flip", "kerasshift(w=0.1,h=0.1)", "hflip(p=0.5)"} {
		if !strings.Contains(got, want) {
			t.Errorf("Name() = %q, want it to contain %q", got, want)
		}
	}
	p, _ := Compose()
	if p.Name() != "identity" {
		t.Errorf("empty pipeline Name() = %q", p.Name())
	}
}

// TestSteadyStateAllocs: after a warm-up call, Augment on one goroutine allocates (almost)
// nothing.
func TestSteadyStateAllocs(t *testing.T) {
	const n, c, h, w = 8, 3, 32, 32
	src := randomBatch(n, c, h, w, 3)
	dst := make([]float32, len(src))
	for name, p := range pipelinesUnderTest(t) {
		_ = p.augment(dst, src, n, c, h, w, 1, 1)
		allocs := testing.AllocsPerRun(20, func() { _ = p.augment(dst, src, n, c, h, w, 1, 1) })
		if allocs > 1 {
			t.Errorf("%s: %.1f allocations per call on one goroutine, want <= 1", name, allocs)
		}
		allocs = testing.AllocsPerRun(20, func() { _ = p.augment(dst, src, n, c, h, w, 1, 2) })
		if allocs > 12 {
			t.Errorf("%s: %.1f allocations per call on two goroutines, want <= 12", name, allocs)
		}
	}
}
