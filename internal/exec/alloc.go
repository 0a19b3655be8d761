package exec

import (
	"fmt"
	"reflect"

	"gorgonia.org/tensor"
)

// Allocator provides the memory of a machine's planned buffers (see WithAllocator), so
// that a device runtime can place them where its kernels run.
//
// Alloc returns n zeroed elements of dtype dt as a Go slice of dt's element type
// ([]float32 for tensor.Float32) of length n. The slice is the buffer's handle: the
// machine never reads or writes its elements itself except through ops and through the
// copies that Stats counts (Copy and in-place steps, which run stock gorgonia ops on
// the host). Memory that the host cannot address is therefore possible as long as the
// graph's ops are all the allocator's runtime's (see the package documentation).
//
// Free releases what Alloc returned; Machine.Close calls it once per buffer.
type Allocator interface {
	Alloc(dt tensor.Dtype, n int) (any, error)
	Free(data any)
}

// HostAllocator allocates Go memory (the default).
type HostAllocator struct{}

// Alloc implements Allocator with reflect.MakeSlice.
func (HostAllocator) Alloc(dt tensor.Dtype, n int) (any, error) {
	if n < 0 {
		return nil, fmt.Errorf("exec: allocating %d elements", n)
	}
	if dt.Type == nil {
		return nil, fmt.Errorf("exec: allocating elements of dtype %v, which has no Go type", dt)
	}
	return reflect.MakeSlice(reflect.SliceOf(dt.Type), n, n).Interface(), nil
}

// Free implements Allocator; the garbage collector frees Go memory.
func (HostAllocator) Free(any) {}

// WithAllocator makes New allocate the planned buffers from a instead of Go memory
// (HostAllocator). A nil a is the default.
func WithAllocator(a Allocator) Option {
	return func(c *config) { c.alloc = a }
}

// allocate obtains the memory of every arena from the machine's allocator.
func (m *Machine) allocate() error {
	for i := range m.arenas {
		ar := &m.arenas[i]
		v, err := m.alloc.Alloc(ar.dtype, ar.size)
		if err != nil {
			m.Close()
			return fmt.Errorf("exec.New: allocating buffer %d (%d elements of %v): %w", i, ar.size, ar.dtype, err)
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice || rv.Type().Elem() != ar.dtype.Type || rv.Len() != ar.size {
			m.alloc.Free(v)
			m.Close()
			return fmt.Errorf("exec.New: the allocator returned a %T of %d elements for %d elements of %v", v, rv.Len(), ar.size, ar.dtype)
		}
		ar.data = v
	}
	return nil
}

// Close returns the planned buffers to the allocator given to New (nothing to do for
// Go memory) and makes the machine unusable: Run and Value report an error after it.
// It is safe to call more than once.
func (m *Machine) Close() {
	for i := range m.arenas {
		if d := m.arenas[i].data; d != nil {
			m.alloc.Free(d)
			m.arenas[i].data = nil
		}
	}
	m.closed, m.valid = true, false
}
