package augment

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Transform is one per-image step of a Sequence: a geometric or photometric transform with
// its parameters and, where torchvision has one, the probability of applying it. Transforms
// are made by the constructors of this package (KerasShift, HorizontalFlip, RandomCrop,
// RandomResizedCrop, ColorJitter, RandomGrayscale, GaussianBlur, Solarize) and combined with
// Compose. A constructor given an invalid parameter still returns a Transform; Compose
// reports the error, naming the transform and the parameter. The zero Transform is invalid.
//
// A Transform is immutable and may be shared by any number of sequences and goroutines.
type Transform struct {
	name string
	err  error
	// rgb: the transform needs c == 3.
	rgb bool
	// check, if set, reports whether the transform works on c×h×w images.
	check func(c, h, w int) error
	// apply transforms f.src into f.dst and returns true, or returns false and leaves
	// f.dst unwritten when the image is left unchanged.
	apply func(f *frame) bool
}

// Name returns the transform's name with its parameters, such as "hflip(p=0.5)".
func (t Transform) Name() string { return t.name }

// Err returns the error of an invalid parameter given to the constructor, or nil.
func (t Transform) Err() error {
	if t.apply == nil && t.err == nil {
		return errors.New("augment: zero Transform (use a constructor such as HorizontalFlip)")
	}
	return t.err
}

// frame is the state of one image while a sequence works on it: its input and output
// buffers, a spare buffer, the image's random source and per-worker scratch.
type frame struct {
	c, h, w  int
	src, dst []float32 // c*h*w values each, distinct
	tmp      []float32 // c*h*w spare values any transform may overwrite
	r        *rand.Rand
	ws       *worker
}

// Sequence applies its transforms in order to every image of a batch. It implements
// ssl.Augmentation. A Sequence is immutable and safe for concurrent use; the zero Sequence
// copies src to dst.
type Sequence struct {
	label string
	ts    []Transform
	pool  sync.Pool // *worker
}

// Compose returns the sequence applying ts in order. It returns an error if a transform is
// the zero Transform or was given an invalid parameter, naming the transform (by position
// and name) and the parameter. A sequence of no transforms copies src to dst.
func Compose(ts ...Transform) (*Sequence, error) {
	for i, t := range ts {
		if err := t.Err(); err != nil {
			return nil, fmt.Errorf("%w (transform %d of Compose)", err, i)
		}
	}
	return &Sequence{ts: append([]Transform(nil), ts...)}, nil
}

// mustCompose is Compose for the presets, whose parameters are constants checked by tests.
func mustCompose(label string, ts ...Transform) *Sequence {
	p, err := Compose(ts...)
	if err != nil {
		panic(err)
	}
	p.label = label
	return p
}

// Name lists the sequence's transforms and their parameters, joined by "+", after the
// preset's label and a colon for a preset: "keras-shift-flip: kerasshift(w=0.1,h=0.1)+hflip(p=0.5)".
func (p *Sequence) Name() string {
	if p == nil {
		return "<nil>"
	}
	parts := make([]string, len(p.ts))
	for i, t := range p.ts {
		parts[i] = t.name
	}
	s := strings.Join(parts, "+")
	if s == "" {
		s = "identity"
	}
	if p.label != "" {
		return p.label + ": " + s
	}
	return s
}

// Transforms returns a copy of the pipeline's transforms, in order.
func (p *Sequence) Transforms() []Transform { return append([]Transform(nil), p.ts...) }

// Augment writes into dst the n images of src (NCHW float32, c*h*w values each, raw pixels
// in [0, 1]) transformed by the pipeline, with the same shape. dst and src must have
// n*c*h*w values and may be the same slice (but must not otherwise overlap).
//
// Image i draws its random numbers from its own PCG source (math/rand/v2) seeded from
// (seed, i) through a SplitMix64 mix, and the transforms draw from it in order, so the
// result depends only on seed and the images, not on the number of goroutines
// (runtime.GOMAXPROCS) sharing the work. Scratch buffers are reused between calls.
//
// Errors: a nil pipeline, negative n, non-positive c, h or w, buffers of the wrong length,
// c != 3 for a transform that needs RGB, or an image too small for a transform (a blur
// kernel wider than the image).
func (p *Sequence) Augment(dst, src []float32, n, c, h, w int, seed uint64) error {
	return p.augment(dst, src, n, c, h, w, seed, runtime.GOMAXPROCS(0))
}

func (p *Sequence) augment(dst, src []float32, n, c, h, w int, seed uint64, threads int) error {
	if p == nil {
		return errors.New("augment: Augment on a nil *Sequence")
	}
	if err := p.check(len(dst), len(src), n, c, h, w); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	size := c * h * w
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		ws := p.getWorker(c, h, w)
		for i := range n {
			p.one(ws, dst[i*size:(i+1)*size], src[i*size:(i+1)*size], i, seed)
		}
		p.pool.Put(ws)
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		ws := p.getWorker(c, h, w)
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				break
			}
			p.one(ws, dst[i*size:(i+1)*size], src[i*size:(i+1)*size], i, seed)
		}
		p.pool.Put(ws)
	}
	wg.Add(threads - 1)
	for range threads - 1 {
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	return nil
}

// check validates the arguments of Augment.
func (p *Sequence) check(ld, ls, n, c, h, w int) error {
	if n < 0 {
		return fmt.Errorf("augment: %s: n = %d images, want >= 0", p.Name(), n)
	}
	if c < 1 || h < 1 || w < 1 {
		return fmt.Errorf("augment: %s: image shape c=%d, h=%d, w=%d, want positive sizes", p.Name(), c, h, w)
	}
	const maxInt = int(^uint(0) >> 1)
	if c > maxInt/h || c*h > maxInt/w || (n > 0 && c*h*w > maxInt/n) {
		return fmt.Errorf("augment: %s: batch %dx%dx%dx%d is too large", p.Name(), n, c, h, w)
	}
	want := n * c * h * w
	if ls != want {
		return fmt.Errorf("augment: %s: src has %d values, want n*c*h*w = %d*%d*%d*%d = %d", p.Name(), ls, n, c, h, w, want)
	}
	if ld != want {
		return fmt.Errorf("augment: %s: dst has %d values, want n*c*h*w = %d*%d*%d*%d = %d", p.Name(), ld, n, c, h, w, want)
	}
	for i, t := range p.ts {
		if t.rgb && c != 3 {
			return fmt.Errorf("augment: transform %d (%s) needs RGB images, got c = %d channels", i, t.name, c)
		}
		if t.check != nil {
			if err := t.check(c, h, w); err != nil {
				return fmt.Errorf("augment: transform %d (%s): %w", i, t.name, err)
			}
		}
	}
	return nil
}

// one transforms image i of the batch from src into dst (the same image's slices).
func (p *Sequence) one(ws *worker, dst, src []float32, i int, seed uint64) {
	ws.pcg.Seed(imageSeed(seed, i))
	f := &ws.f
	cur := src
	for _, t := range p.ts {
		out := ws.a
		if &cur[0] == &ws.a[0] {
			out = ws.b
		}
		f.src, f.dst = cur, out
		if t.apply(f) {
			cur = out
		}
	}
	if &cur[0] != &dst[0] {
		copy(dst, cur)
	}
}

// imageSeed returns the two PCG seed words of image i: the first is a bijection of seed,
// the second, for a given seed, a bijection of i, so different (seed, i) never share a
// stream.
func imageSeed(seed uint64, i int) (uint64, uint64) {
	s1 := splitmix(seed)
	return s1, splitmix(uint64(i) + splitmix(seed^0x6a09e667f3bcc909))
}

// splitmix is SplitMix64's output function applied to z plus its increment (a bijection).
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// worker is the scratch of one goroutine: the image's random source and buffers.
type worker struct {
	pcg  *rand.PCG
	f    frame
	a, b []float32
	// ints and floats are index and weight tables (resampling, blur kernels).
	ints   []int32
	floats []float32
}

func (p *Sequence) getWorker(c, h, w int) *worker {
	ws, _ := p.pool.Get().(*worker)
	if ws == nil {
		ws = &worker{pcg: rand.NewPCG(0, 0)}
		ws.f.r = rand.New(ws.pcg)
	}
	size := c * h * w
	if cap(ws.a) < size {
		ws.a = make([]float32, size)
		ws.b = make([]float32, size)
		ws.f.tmp = make([]float32, size)
	}
	ws.a, ws.b, ws.f.tmp = ws.a[:size], ws.b[:size], ws.f.tmp[:cap(ws.f.tmp)][:size]
	ws.f.c, ws.f.h, ws.f.w = c, h, w
	ws.f.ws = ws
	return ws
}

// intScratch returns n int32 values of scratch (contents undefined).
func (ws *worker) intScratch(n int) []int32 {
	if cap(ws.ints) < n {
		ws.ints = make([]int32, n)
	}
	return ws.ints[:n]
}

// floatScratch returns n float32 values of scratch (contents undefined).
func (ws *worker) floatScratch(n int) []float32 {
	if cap(ws.floats) < n {
		ws.floats = make([]float32, n)
	}
	return ws.floats[:n]
}

// uniform returns a value uniform in [lo, hi) drawn from r.
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// coin reports whether an event of probability p happens, drawing one number from r
// (torchvision's torch.rand(1) < p).
func coin(r *rand.Rand, p float64) bool { return r.Float64() < p }

// fmtF formats a parameter for a name, to 6 significant digits (4/3 is "1.33333").
func fmtF(x float64) string { return fmt.Sprintf("%.6g", x) }

// checkProb returns an error unless p is a probability.
func checkProb(name string, p float64) error {
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("augment: %s: probability p = %v, want a value in [0, 1]", name, p)
	}
	return nil
}
