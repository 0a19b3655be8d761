package exec

import (
	"fmt"
	"reflect"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func shapeEq(a, b tensor.Shape) bool {
	if a.IsScalar() || b.IsScalar() {
		return a.IsScalar() == b.IsScalar() && a.TotalSize() == b.TotalSize()
	}
	return slices.Equal(a, b)
}

// sameMemory reports whether v is a dense tensor whose data starts where
// buf's does.
func sameMemory(v G.Value, buf *tensor.Dense) bool {
	d, ok := v.(*tensor.Dense)
	if !ok || buf == nil || len(d.Raw) == 0 || len(buf.Raw) == 0 {
		return false
	}
	return d.Uintptr() == buf.Uintptr()
}

// copyInto copies the elements of src into dst, which must hold as many
// elements of the same dtype.
func copyInto(dst *tensor.Dense, src G.Value) error {
	switch s := src.(type) {
	case *tensor.Dense:
		if s.Dtype() != dst.Dtype() {
			return fmt.Errorf("op returned %v data, planned %v", s.Dtype(), dst.Dtype())
		}
		if n, want := s.Shape().TotalSize(), dst.Shape().TotalSize(); n != want {
			return fmt.Errorf("op returned shape %v (%d elements), planned %v (%d elements)", s.Shape(), n, dst.Shape(), want)
		}
		if s.RequiresIterator() {
			s = s.Materialize().(*tensor.Dense)
		}
		if len(s.Raw) < len(dst.Raw) {
			return fmt.Errorf("op returned %d bytes of data for shape %v, need %d", len(s.Raw), s.Shape(), len(dst.Raw))
		}
		copy(dst.Raw, s.Raw)
		return nil
	case G.Scalar:
		if s.Dtype() != dst.Dtype() {
			return fmt.Errorf("op returned a %v scalar, planned %v", s.Dtype(), dst.Dtype())
		}
		if dst.Shape().TotalSize() != 1 {
			return fmt.Errorf("op returned a scalar, planned shape %v", dst.Shape())
		}
		return dst.SetAt(s.Data(), make([]int, dst.Dims())...)
	case tensor.Tensor:
		if n, want := s.Shape().TotalSize(), dst.Shape().TotalSize(); n != want {
			return fmt.Errorf("op returned shape %v (%d elements), planned %v (%d elements)", s.Shape(), n, dst.Shape(), want)
		}
		return tensor.Copy(dst, s)
	case nil:
		return fmt.Errorf("op returned no value")
	}
	return fmt.Errorf("op returned a %T, which cannot be copied into a planned %v tensor", src, dst.Dtype())
}

// window returns data[off:off+n] for a []T held in an interface.
func window(data interface{}, off, n int) interface{} {
	return reflect.ValueOf(data).Slice(off, off+n).Interface()
}
