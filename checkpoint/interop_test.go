package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"github.com/selfsup/selfsup/optim"
)

// TestInteropWithIndependentImplementation checks both directions against
// github.com/nlpodyssey/safetensors, a Go port of the reference Rust implementation:
// it must read what Save writes, and Load must read what it writes.
func TestInteropWithIndependentImplementation(t *testing.T) {
	dir := t.TempDir()
	ps := model(t, 5)
	opt, _ := optim.NewSGD(optim.Momentum(0.9))
	if err := opt.Step(0.1, ps, grads(ps, 0)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ours.safetensors")
	if err := Save(path, ps, Meta{Architecture: "m", Epoch: 4}, WithOptimizer(opt)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, err := safetensors.Deserialize(b)
	if err != nil {
		t.Fatalf("reference reader rejects our file: %v", err)
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil || md.Metadata()["architecture"] != "m" || md.Metadata()["epoch"] != "4" || md.Metadata()["optimizer"] != "sgd" {
		t.Errorf("metadata %v, %v", md.Metadata(), err)
	}
	if st.Len() != len(ps)+len(opt.State().Tensors) {
		t.Errorf("%d tensors, want %d", st.Len(), len(ps)+len(opt.State().Tensors))
	}
	check := func(name string, shape []int, vals []float32) {
		tv, ok := st.Tensor(name)
		if !ok {
			t.Fatalf("reference reader lacks %q", name)
		}
		var want []uint64
		for _, d := range shape {
			want = append(want, uint64(d))
		}
		if tv.DType() != safetensors.F32 || !slices.Equal(tv.Shape(), want) {
			t.Errorf("%s: %v %v", name, tv.DType(), tv.Shape())
		}
		for i, v := range vals {
			if binary.LittleEndian.Uint32(tv.Data()[4*i:]) != math.Float32bits(v) {
				t.Fatalf("%s[%d] differs", name, i)
			}
		}
	}
	for _, p := range ps {
		check(p.Name, p.Value.Shape(), p.Value.Float32s())
	}
	for _, x := range opt.State().Tensors {
		check(x.Name, x.Shape, x.Data)
	}

	// The other direction: a file written by the reference writer.
	views := map[string]safetensors.TensorView{}
	for _, p := range ps {
		var shape []uint64
		for _, d := range p.Value.Shape() {
			shape = append(shape, uint64(d))
		}
		data := f32bytes(p.Value.Float32s()...)
		for i := range data { // other values than ps holds
			data[i] ^= 0x01
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		views[p.Name] = tv
	}
	theirs, err := safetensors.Serialize(views, map[string]string{"architecture": "m"})
	if err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(dir, "theirs.safetensors")
	if err := os.WriteFile(path2, theirs, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := model(t, 6)
	if _, err := Load(path2, dst, RequireArchitecture("m")); err != nil {
		t.Fatalf("Load rejects the reference writer's file: %v", err)
	}
	for _, p := range dst {
		tv, _ := st.Tensor(p.Name) // our saved values, xor 1 in every byte
		for i, v := range p.Value.Float32s() {
			if math.Float32bits(v) != binary.LittleEndian.Uint32(tv.Data()[4*i:])^0x01010101 {
				t.Fatalf("%s[%d]: loaded %#x", p.Name, i, math.Float32bits(v))
			}
		}
	}
}
