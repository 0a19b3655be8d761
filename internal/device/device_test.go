package device

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

func TestCPUAllFinite(t *testing.T) {
	var be Backend = CPU{}
	a, b := make([]float32, 37), make([]float32, 5)
	if ok, err := be.AllFinite(a, b); !ok || err != nil {
		t.Fatalf("zeros: %v, %v", ok, err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		b[4] = bad
		if ok, _ := be.AllFinite(a, b); ok {
			t.Fatalf("%v counted as finite", bad)
		}
		b[4] = 0
	}
}

func TestCPUMemory(t *testing.T) {
	var be Backend = CPU{}
	x, err := AllocFloat32(be, 10)
	if err != nil || len(x) != 10 {
		t.Fatalf("AllocFloat32: %d elements, %v", len(x), err)
	}
	if v, err := be.Alloc(tensor.Float64, 3); err != nil || len(v.([]float64)) != 3 {
		t.Fatalf("Alloc float64: %v", err)
	}
	if err := be.CopyIn(x, make([]float32, 9)); err == nil {
		t.Fatal("CopyIn of 9 elements into 10 gave no error")
	}
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if err := be.CopyIn(x, src); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 10)
	if err := be.CopyOut(out, x); err != nil || out[9] != 10 {
		t.Fatalf("CopyOut: %v, %v", out, err)
	}
}

func TestDotsMatchesRunner(t *testing.T) {
	n := 3*block + 17
	w, g := make([]float32, n), make([]float32, n)
	for i := range w {
		w[i], g[i] = float32(i%7)-3, float32(i%11)*0.1
	}
	var r runner
	a0, b0, c0 := r.dots(w, g)
	a1, b1, c1 := Dots(w, g)
	if a0 != a1 || b0 != b1 || c0 != c1 {
		t.Fatalf("Dots %v %v %v, the kernel's %v %v %v", a1, b1, c1, a0, b0, c0)
	}
	if err := (&cpuOptim{}).SGDPlain(w, g[:n-1], 1, 1, 0); err == nil {
		t.Fatal("a gradient of another length gave no error")
	}
}
