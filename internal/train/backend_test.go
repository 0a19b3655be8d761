package train

import (
	"context"
	"errors"
	"testing"

	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

// stagedBackend is the CPU backend pretending that its memory is not the host's, as a
// device backend's is not: a graph must then move the batch in and values out through
// CopyIn and CopyOut, which it counts, as it counts allocations.
type stagedBackend struct {
	device.CPU
	ins, outs, allocs, frees int
}

func (b *stagedBackend) Name() string { return "staged" }
func (b *stagedBackend) Host() bool   { return false }
func (b *stagedBackend) Alloc(dt tensor.Dtype, n int) (any, error) {
	b.allocs++
	return b.CPU.Alloc(dt, n)
}
func (b *stagedBackend) Free(any) { b.frees++ }
func (b *stagedBackend) CopyIn(dst, src []float32) error {
	b.ins++
	return b.CPU.CopyIn(dst, src)
}
func (b *stagedBackend) CopyOut(dst, src []float32) error {
	b.outs++
	return b.CPU.CopyOut(dst, src)
}

// TestStagedBackendSameBitsAndExplicitTraffic trains the same model on the CPU backend
// and on stagedBackend: the losses agree bit for bit, and a step on the staged backend
// copies exactly the batch in and nothing out.
func TestStagedBackendSameBitsAndExplicitTraffic(t *testing.T) {
	run := func(be device.Backend) ([]float64, []float32, *Graph) {
		ps := nn.NewParams(5)
		gr, err := Compile(Spec{Params: ps, Training: true, Input: []int{8, 3, 8, 8}, Targets: []int{8}, Build: tinyNet, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		batch(gr, 3)
		opts := []optim.Option{}
		if be != nil {
			opts = append(opts, optim.OnBackend(be))
		}
		adam, err := optim.NewAdam(opts...)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(gr, adam, optim.Constant(0.01))
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for range 5 {
			if s, ok := be.(*stagedBackend); ok {
				ins, outs := s.ins, s.outs
				l, err := tr.Step(context.Background(), 0)
				if err != nil {
					t.Fatal(err)
				}
				if s.ins-ins != 2 || s.outs != outs {
					t.Fatalf("a step copied %d buffers in and %d out; want the input and the targets in, nothing out", s.ins-ins, s.outs-outs)
				}
				losses = append(losses, l)
				continue
			}
			l, err := tr.Step(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, l)
		}
		out, err := gr.Output()
		if err != nil {
			t.Fatal(err)
		}
		return losses, append([]float32(nil), out...), gr
	}
	want, wantOut, _ := run(nil)
	sb := &stagedBackend{}
	got, gotOut, gr := run(sb)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: loss %v on the staged backend, %v on the CPU", i, got[i], want[i])
		}
	}
	for i := range wantOut {
		if gotOut[i] != wantOut[i] {
			t.Fatalf("output %d: %v on the staged backend, %v on the CPU", i, gotOut[i], wantOut[i])
		}
	}
	if sb.outs != 1 {
		t.Fatalf("%d copies out after Output, want 1", sb.outs)
	}
	if &gr.Input()[0] == &gr.x.Float32s()[0] {
		t.Fatal("on a backend whose memory is not the host's, Input is the graph's tensor, not a host buffer")
	}
	allocs := sb.allocs
	gr.Close()
	if want := allocs - 2*len(gr.params); sb.frees != want { // Adam's moments stay with Adam
		t.Fatalf("Close freed %d of the graph's %d allocations", sb.frees, want)
	}
}

// TestStagedBackendNonFinite: a NaN gradient on a backend whose memory is not the host's
// is found by the backend's reduction and named from a host copy.
func TestStagedBackendNonFinite(t *testing.T) {
	sb := &stagedBackend{}
	gr, err := Compile(Spec{Params: nn.NewParams(1), Training: true, Input: []int{4, 3, 8, 8}, Targets: []int{4}, Build: tinyNet, Backend: sb})
	if err != nil {
		t.Fatal(err)
	}
	batch(gr, 1)
	sgd, _ := optim.NewSGD(optim.OnBackend(sb))
	tr, _ := NewTrainer(gr, sgd, optim.Constant(0.1))
	gr.Input()[5] = float32(nanValue())
	_, err = tr.Step(context.Background(), 0)
	var nf *optim.NonFiniteStepError
	if !errors.As(err, &nf) || nf.Step != 0 {
		t.Fatalf("got %v, want an *optim.NonFiniteStepError for step 0", err)
	}
}
