package device

import (
	"fmt"
	"math"
	"reflect"

	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/internal/ops"
)

// Backend is where a graph's values live and where every piece of a training step's
// math runs: the allocator of the executor's buffers and of op and optimizer state, the
// copies between host and backend memory, the ops' kernels, the optimizers' update
// kernels, and the finite check. See the package documentation for the contract.
type Backend interface {
	// Name names the backend ("cpu", "cuda:0").
	Name() string
	// Host reports whether the backend's memory is Go memory that host code may read and
	// write in place (CPU). When it is not, host code reaches that memory only through
	// CopyIn and CopyOut, and slices of it are handles for the backend's kernels.
	Host() bool

	// Alloc returns n zeroed elements of dtype dt of backend memory as a Go slice of
	// dt's element type (exec.Allocator); Free releases them.
	exec.Allocator
	// CopyIn copies host memory src into backend memory dst (equal lengths).
	CopyIn(dst, src []float32) error
	// CopyOut copies backend memory src into host memory dst (equal lengths).
	CopyOut(dst, src []float32) error

	// Kernels is the math of the graph's ops (forward, gradients, batch norm's
	// statistics, losses and scalar reductions), on backend memory.
	ops.Kernels

	// NewOptimizerKernels returns the update kernels of one optimizer. Each optimizer
	// owns its own (their scratch, or a device stream), so different optimizers may step
	// at the same time.
	NewOptimizerKernels() OptimizerKernels

	// AllFinite reports whether every element of every slice is finite: a reduction to
	// one flag, so a step's gradients need not reach the host to be checked.
	AllFinite(xs ...[]float32) (bool, error)
}

// OptimizerKernels are the per-parameter updates of package optim's optimizers, on
// backend memory: p is a parameter's data, g its gradient, the other slices its
// optimizer state, all of one length. The coefficients are computed on the host from
// the optimizer's configuration and the step count; see optim's Adam, SGD and LARS for
// the formulas.
type OptimizerKernels interface {
	// AdamKeras is Keras' Adam: g' = g + l2·p; m += (g' - m)·omb1; v += (g'² - v)·omb2;
	// p = p·keep - alpha·m/(sqrt(v) + eps).
	AdamKeras(p, g, m, v []float32, omb1, omb2, alpha, eps, keep, l2 float32) error
	// AdamTorch is torch.optim.Adam: g' = g + l2·p; m = b1·m + omb1·g'; v = b2·v +
	// omb2·g'²; p = p·keep - stepSize·m/(sqrt(v)·invSqrtBC2 + eps).
	AdamTorch(p, g, m, v []float32, b1, omb1, b2, omb2, stepSize, invSqrtBC2, eps, keep, l2 float32) error
	// SGDMomentum is Keras' SGD with momentum: g' = g + l2·p; u = mu·u - lr·g';
	// p = p·keep + u, or p·keep + mu·u - lr·g' with Nesterov.
	SGDMomentum(p, g, u []float32, mu, lr, keep, l2 float32, nesterov bool) error
	// SGDPlain is p = p·keep - lr·(g + l2·p).
	SGDPlain(p, g []float32, lr, keep, l2 float32) error
	// LARS is SimCLR's LARS step for one parameter: the trust ratio r from the norms of
	// p and g (LARSTrust; 1 when excluded), then, with g' = g + wd·p and slr = lr·r,
	// v = mu·v + slr·g' and p -= v (or p -= mu·v + slr·g' with Nesterov).
	LARS(p, g, v []float32, c LARSConfig) error
}

// LARSConfig holds the coefficients of one LARS parameter update.
type LARSConfig struct {
	// LR is the learning rate.
	LR float32
	// Momentum is the velocity's decay.
	Momentum float32
	// WeightDecay is added to the gradient (times the weight) and to the trust ratio's
	// denominator.
	WeightDecay float64
	// Eta is the trust coefficient.
	Eta float64
	// PaperTrust selects the LARS paper's denominator ||g|| + wd·||w||.
	PaperTrust bool
	// Nesterov selects Nesterov momentum.
	Nesterov bool
	// Excluded parameters get neither weight decay nor adaptation (r = 1).
	Excluded bool
}

// LARSTrust is the trust ratio eta·||w||/||g + wd·w|| (or eta·||w||/(||g|| + wd·||w||)
// with paper) from ww = Σw², gg = Σg² and wg = Σw·g; 1 when a norm is 0.
func LARSTrust(ww, gg, wg, eta, wd float64, paper bool) float64 {
	wn := math.Sqrt(ww)
	var den float64
	if paper {
		den = math.Sqrt(gg) + wd*wn
	} else {
		// ||g + wd*w||² = ||g||² + 2wd<w,g> + wd²||w||²
		den = math.Sqrt(max(0, gg+2*wd*wg+wd*wd*ww))
	}
	if wn > 0 && den > 0 {
		return eta * wn / den
	}
	return 1
}

// Dots returns Σw², Σg² and Σw·g of host slices of equal length as the CPU LARS kernel
// computes them (float64 sums per block of 32,768 elements, added in block order).
func Dots(w, g []float32) (ww, gg, wg float64) {
	if len(w) <= block {
		return dots(w, g)
	}
	for lo := 0; lo < len(w); lo += block {
		hi := min(lo+block, len(w))
		a, b, c := dots(w[lo:hi], g[lo:hi])
		ww, gg, wg = ww+a, gg+b, wg+c
	}
	return ww, gg, wg
}

// CPU is the host backend: Go memory, ops.CPU's kernels, and the optimizer kernels
// that split big parameters over up to GOMAXPROCS goroutines (bit for bit the same
// whatever their number).
type CPU struct{ ops.CPU }

var _ Backend = CPU{}

// Name returns "cpu".
func (CPU) Name() string { return "cpu" }

// Host returns true: the CPU backend's memory is Go memory.
func (CPU) Host() bool { return true }

// Alloc implements exec.Allocator with Go memory.
func (CPU) Alloc(dt tensor.Dtype, n int) (any, error) { return exec.HostAllocator{}.Alloc(dt, n) }

// Free implements exec.Allocator; the garbage collector frees Go memory.
func (CPU) Free(any) {}

// CopyIn implements Backend.
func (CPU) CopyIn(dst, src []float32) error { return copyEqual(dst, src) }

// CopyOut implements Backend.
func (CPU) CopyOut(dst, src []float32) error { return copyEqual(dst, src) }

func copyEqual(dst, src []float32) error {
	if len(dst) != len(src) {
		return fmt.Errorf("device: copying %d elements into %d", len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

// NewOptimizerKernels implements Backend.
func (CPU) NewOptimizerKernels() OptimizerKernels { return &cpuOptim{} }

// AllFinite implements Backend: x·0 is 0 for a finite x and NaN otherwise.
func (CPU) AllFinite(xs ...[]float32) (bool, error) {
	for _, x := range xs {
		if !allFinite(x) {
			return false, nil
		}
	}
	return true, nil
}

// allFinite reports whether every element of x is finite: x*0 is 0 for a finite x and
// NaN otherwise, and a sum of such terms stays 0 unless one is NaN. Four sums run
// side by side.
func allFinite(x []float32) bool {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return !math.IsNaN(float64(s0 + s1 + s2 + s3))
}

// cpuOptim is CPU's OptimizerKernels: the loops of cpu_optim.go run over chunks by the
// runner, whose scratch the optimizer keeps.
type cpuOptim struct{ run runner }

func sameLen(n int, xs ...[]float32) error {
	for _, x := range xs {
		if len(x) != n {
			return fmt.Errorf("device: optimizer kernel on %d elements got a slice of %d", n, len(x))
		}
	}
	return nil
}

// AdamKeras implements OptimizerKernels.
func (o *cpuOptim) AdamKeras(p, g, m, v []float32, omb1, omb2, alpha, eps, keep, l2 float32) error {
	if err := sameLen(len(p), g, m, v); err != nil {
		return err
	}
	o.run.run(task{op: kAdamKeras, p: p, g: g, a: m, b: v, f: [10]float32{omb1, omb2, alpha, eps, keep, l2}}, len(p))
	return nil
}

// AdamTorch implements OptimizerKernels.
func (o *cpuOptim) AdamTorch(p, g, m, v []float32, b1, omb1, b2, omb2, stepSize, invSqrtBC2, eps, keep, l2 float32) error {
	if err := sameLen(len(p), g, m, v); err != nil {
		return err
	}
	o.run.run(task{op: kAdamTorch, p: p, g: g, a: m, b: v, f: [10]float32{b1, omb1, b2, omb2, stepSize, invSqrtBC2, eps, keep, l2}}, len(p))
	return nil
}

// SGDMomentum implements OptimizerKernels.
func (o *cpuOptim) SGDMomentum(p, g, u []float32, mu, lr, keep, l2 float32, nesterov bool) error {
	if err := sameLen(len(p), g, u); err != nil {
		return err
	}
	o.run.run(task{op: kSGDMomentum, p: p, g: g, a: u, f: [10]float32{mu, lr, keep, l2}, flag: nesterov}, len(p))
	return nil
}

// SGDPlain implements OptimizerKernels.
func (o *cpuOptim) SGDPlain(p, g []float32, lr, keep, l2 float32) error {
	if err := sameLen(len(p), g); err != nil {
		return err
	}
	o.run.run(task{op: kSGDPlain, p: p, g: g, f: [10]float32{lr, keep, l2}}, len(p))
	return nil
}

// LARS implements OptimizerKernels.
func (o *cpuOptim) LARS(p, g, v []float32, c LARSConfig) error {
	if err := sameLen(len(p), g, v); err != nil {
		return err
	}
	wd, r := float32(0), 1.0
	if !c.Excluded {
		wd = float32(c.WeightDecay)
		ww, gg, wg := o.run.dots(p, g)
		r = LARSTrust(ww, gg, wg, c.Eta, c.WeightDecay, c.PaperTrust)
	}
	o.run.run(task{op: kLARS, p: p, g: g, a: v, f: [10]float32{c.Momentum, float32(float64(c.LR) * r), wd}, flag: c.Nesterov}, len(p))
	return nil
}

// isFloat32Slice reports whether v is a []float32 of n elements.
func isFloat32Slice(v any, n int) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Float32 && rv.Len() == n
}

// AllocFloat32 allocates n zeroed float32 elements of b's memory.
func AllocFloat32(b Backend, n int) ([]float32, error) {
	v, err := b.Alloc(tensor.Float32, n)
	if err != nil {
		return nil, err
	}
	if !isFloat32Slice(v, n) {
		b.Free(v)
		return nil, fmt.Errorf("device: %s allocated a %T for %d float32 elements", b.Name(), v, n)
	}
	return v.([]float32), nil
}
