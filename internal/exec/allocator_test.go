package exec

import (
	"context"
	"errors"
	"slices"
	"testing"
	"unsafe"

	"gorgonia.org/tensor"
)

// countingAllocator hands out Go memory and records every allocation and release.
type countingAllocator struct {
	live  map[*byte]int
	total int
	fail  bool
}

func (a *countingAllocator) Alloc(dt tensor.Dtype, n int) (any, error) {
	if a.fail {
		return nil, errors.New("out of device memory")
	}
	v, err := HostAllocator{}.Alloc(dt, n)
	if err == nil && n > 0 {
		a.live[key(v)]++
		a.total++
	}
	return v, err
}

func (a *countingAllocator) Free(v any) {
	if k := key(v); k != nil {
		a.live[k]--
		if a.live[k] == 0 {
			delete(a.live, k)
		}
	}
}

func key(v any) *byte {
	switch s := v.(type) {
	case []float32:
		if len(s) > 0 {
			return (*byte)(unsafePointer(&s[0]))
		}
	case []float64:
		if len(s) > 0 {
			return (*byte)(unsafePointer(&s[0]))
		}
	}
	return nil
}

// TestWithAllocator: every planned buffer comes from the allocator, results equal
// those of Go memory, and Close returns every buffer.
func TestWithAllocator(t *testing.T) {
	g, _, out := preallocNet()
	ref, err := New(g, Outputs(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Float32s(out)
	a := &countingAllocator{live: map[*byte]int{}}
	m, err := New(g, Outputs(out), WithAllocator(a))
	if err != nil {
		t.Fatal(err)
	}
	if a.total != m.Stats().Buffers {
		t.Fatalf("%d allocations for %d planned buffers", a.total, m.Stats().Buffers)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Float32s(out)
	if !slices.Equal(got, want) {
		t.Fatal("results differ between the allocator's memory and Go memory")
	}
	m.Close()
	if len(a.live) != 0 {
		t.Fatalf("%d buffers not freed by Close", len(a.live))
	}
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("Run after Close gave no error")
	}
	m.Close() // twice is harmless

	a.fail = true
	if _, err := New(g, Outputs(out), WithAllocator(a)); err == nil {
		t.Fatal("a failing allocator gave no error from New")
	}
}

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }
