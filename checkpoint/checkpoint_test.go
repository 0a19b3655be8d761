package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
	"gorgonia.org/tensor"
)

// model builds a small model's parameters: a conv kernel, a bias, batch-norm scale and
// moving statistics (non-trainable), drawn from seed.
func model(t testing.TB, seed uint64) []*nn.Param {
	t.Helper()
	ps := nn.NewParams(seed)
	for _, v := range []struct {
		name      string
		shape     []int
		init      nn.Initializer
		trainable bool
	}{
		{"conv1/kernel", []int{4, 3, 3, 3}, nn.HeNormal, true},
		{"conv1/bias", []int{4}, nn.GlorotUniform, true},
		{"bn1/gamma", []int{4}, nn.Ones, true},
		{"bn1/moving_mean", []int{4}, nn.GlorotUniform, false},
		{"bn1/moving_variance", []int{4}, nn.Ones, false},
		{"dense/kernel", []int{4, 10}, nn.GlorotUniform, true},
	} {
		if _, err := ps.Variable(v.name, v.shape, v.init, v.trainable); err != nil {
			t.Fatal(err)
		}
	}
	return ps.All()
}

func grads(ps []*nn.Param, step int) [][]float32 {
	var gs [][]float32
	for k, p := range ps {
		g := make([]float32, len(p.Value.Float32s()))
		for i := range g {
			g[i] = float32(math.Sin(float64(i*7+k*13+step))) * 0.1
		}
		gs = append(gs, g)
	}
	return gs
}

func bits(ps []*nn.Param) [][]uint32 {
	var out [][]uint32
	for _, p := range ps {
		var b []uint32
		for _, v := range p.Value.Float32s() {
			b = append(b, math.Float32bits(v))
		}
		out = append(out, b)
	}
	return out
}

func newAdam(t testing.TB) *optim.Adam {
	a, err := optim.NewAdam()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRoundTripBitExactAndResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	src := model(t, 1)
	// Values a lossy writer would spoil: -0, a subnormal, a NaN payload, infinities.
	k := src[0].Value.Float32s()
	opt := newAdam(t)
	for s := range 3 {
		if err := opt.Step(1e-3, src, grads(src, s)); err != nil {
			t.Fatal(err)
		}
	}
	k[0], k[1], k[2], k[3] = float32(math.Copysign(0, -1)), math.Float32frombits(1), math.Float32frombits(0x7fc00123), float32(math.Inf(-1))
	meta := Meta{Architecture: "resnet20", Epoch: 7, Step: 2730, Seed: 1<<63 + 5, Extra: map[string]string{"plateau": `{"LR":0.1}`}}
	if err := Save(path, src, meta, WithOptimizer(opt)); err != nil {
		t.Fatal(err)
	}

	dst := model(t, 2)
	if slices.Equal(bits(dst)[0], bits(src)[0]) {
		t.Fatal("the two models start equal; the test would prove nothing")
	}
	opt2 := newAdam(t)
	got, err := Load(path, dst, WithOptimizer(opt2), RequireArchitecture("resnet20"))
	if err != nil {
		t.Fatal(err)
	}
	meta.Optimizer = "adam"
	if got.Architecture != meta.Architecture || got.Epoch != meta.Epoch || got.Step != meta.Step || got.Seed != meta.Seed ||
		got.Optimizer != "adam" || got.Extra["plateau"] != meta.Extra["plateau"] || len(got.Extra) != 1 {
		t.Errorf("meta %+v, want %+v", got, meta)
	}
	for i := range src {
		if !slices.Equal(bits(src)[i], bits(dst)[i]) {
			t.Errorf("%s: not bit-exact", src[i].Name)
		}
	}
	if opt2.Iterations() != 3 {
		t.Errorf("optimizer iterations %d, want 3", opt2.Iterations())
	}
	// Resume: the same further steps give the same bits (Inf/NaN aside, on a clean copy).
	src, dst = src[1:], dst[1:]
	for s := 3; s < 6; s++ {
		if err := opt.Step(1e-3, src, grads(src, s)); err != nil {
			t.Fatal(err)
		}
		if err := opt2.Step(1e-3, dst, grads(dst, s)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range src {
		if !slices.Equal(bits(src)[i], bits(dst)[i]) {
			t.Errorf("%s: resumed training differs", src[i].Name)
		}
	}
	m, err := ReadMeta(path)
	if err != nil || m.Step != 2730 || m.Optimizer != "adam" {
		t.Errorf("ReadMeta: %+v, %v", m, err)
	}
}

// TestFileLayout decodes a written file independently: header length, JSON entries in
// the safetensors layout, padding, data order and values.
func TestFileLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	ps := model(t, 3)
	if err := Save(path, ps, Meta{Architecture: "tiny"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	if err := json.Unmarshal(hdr["__metadata__"], &md); err != nil || md["format"] != Format || md["architecture"] != "tiny" || md["epoch"] != "0" {
		t.Errorf("metadata %v, %v", md, err)
	}
	if len(hdr) != len(ps)+1 {
		t.Errorf("%d header keys for %d params", len(hdr), len(ps))
	}
	data := b[8+n:]
	var off int64
	for _, p := range ps {
		var e struct {
			DType       string  `json:"dtype"`
			Shape       []int   `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(hdr[p.Name], &e); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if e.DType != "F32" || !slices.Equal(e.Shape, []int(p.Value.Shape())) || e.DataOffsets[0] != off {
			t.Errorf("%s: entry %+v", p.Name, e)
		}
		for i, v := range p.Value.Float32s() {
			if got := binary.LittleEndian.Uint32(data[e.DataOffsets[0]+4*int64(i):]); got != math.Float32bits(v) {
				t.Fatalf("%s[%d]: stored %#x, want %#x", p.Name, i, got, math.Float32bits(v))
			}
		}
		off = e.DataOffsets[1]
	}
	if off != int64(len(data)) {
		t.Errorf("data is %d bytes, tensors cover %d", len(data), off)
	}
}

// raw builds a safetensors file from a header string and data bytes.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func twoParams() []*nn.Param {
	mk := func(name string, shape ...int) *nn.Param {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return &nn.Param{Name: name, Trainable: true, Value: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n)))}
	}
	return []*nn.Param{mk("a", 2), mk("b", 1, 2)}
}

// TestHandWrittenFile loads a file written by hand from the format description: entries
// out of data order, no padding, no metadata.
func TestHandWrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.safetensors")
	hdr := `{"b":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"a":{"shape":[2],"dtype":"F32","data_offsets":[8,16]}}`
	if err := os.WriteFile(path, raw(hdr, f32bytes(3, 4, 1, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	ps := twoParams()
	if _, err := Load(path, ps); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ps[0].Value.Float32s(), []float32{1, 2}) || !slices.Equal(ps[1].Value.Float32s(), []float32{3, 4}) {
		t.Errorf("loaded %v %v", ps[0].Value.Float32s(), ps[1].Value.Float32s())
	}
	if _, err := Load(path, ps, RequireArchitecture("resnet20")); err == nil || !strings.Contains(err.Error(), "checkpoint records no architecture, model is resnet20") {
		t.Errorf("missing architecture: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]}`
	data := f32bytes(1, 2, 3, 4)
	for _, c := range []struct {
		name string
		file []byte
		opts []Option
		sub  string
	}{
		{"short", []byte{1, 2, 3}, nil, "truncated: 3 bytes"},
		{"header past end", raw(good+`}`, data)[:40], nil, "truncated: header length"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), nil, "exceeds"},
		{"not an object", raw(`["a"]`, nil), nil, "does not start with '{'"},
		{"bad JSON", raw(`{"a":{"dtype":"F32",}}`, data), nil, "bad header JSON"},
		{"unclosed", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`, data[:8]), nil, "bad header JSON"},
		{"trailing JSON", raw(good+`}{}`, data), nil, "unexpected bytes after the JSON object"},
		{"duplicate", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, data), nil, `tensor "a" given twice`},
		{"unknown field", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, data[:8]), nil, `unknown field "x"`},
		{"missing field", raw(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, data[:8]), nil, "lacks dtype, shape or data_offsets"},
		{"unknown dtype", raw(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, data[:8]), nil, `unknown dtype "F31"`},
		{"size mismatch", raw(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data[:8]), nil, "needs 12 bytes"},
		{"offsets backwards", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, data[:8]), nil, "not 0 <= begin <= end"},
		{"offsets out of range", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]}}`, data[:12]), nil, "run past the end of the file"},
		{"overlap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]}}`, data[:12]), nil, `"b": data_offsets [4, 12] overlap`},
		{"gap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[12,20]}}`, append(data, 0, 0, 0, 0)), nil, "leave a gap after offset 8"},
		{"trailing data", raw(good+`}`, append(data, 9)), nil, "1 bytes after the last tensor"},
		{"metadata not strings", raw(good+`,"__metadata__":{"epoch":3}}`, data), nil, `value of "epoch" is not a string`},
		{"bad epoch", raw(good+`,"__metadata__":{"epoch":"x"}}`, data), nil, `metadata "epoch" = "x"`},
		{"foreign format", raw(good+`,"__metadata__":{"format":"other"}}`, data), nil, `format "other"`},
		{"dtype not F32", raw(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[16,24]}}`, append(data, data[:8]...)), nil, `tensor "a" has dtype F64, want F32`},
		{"shape mismatch", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, data), nil, `tensor "b" has shape [2], the model's parameter has (1, 2)`},
		{"missing tensor", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data[:8]), nil, `no tensor for parameter "b"`},
		{"extra tensor", raw(good+`,"c":{"dtype":"F32","shape":[],"data_offsets":[16,20]}}`, append(data, 1, 2, 3, 4)), nil, `unexpected tensor "c"`},
		{"architecture", raw(good+`,"__metadata__":{"architecture":"resnet56"}}`, data), []Option{RequireArchitecture("resnet20")}, "checkpoint is for resnet56, model is resnet20"},
		{"no optimizer state", raw(good+`}`, data), []Option{WithOptimizer(newAdam(t))}, "holds no optimizer state, adam state was asked for"},
		{"other optimizer", raw(good+`,"__metadata__":{"optimizer":"sgd"}}`, data), []Option{WithOptimizer(newAdam(t))}, "holds sgd state, the optimizer is adam"},
		{"optimizer tensors of another param", raw(good+`,"adam/m/zz":{"dtype":"F32","shape":[],"data_offsets":[16,20]},"adam/v/zz":{"dtype":"F32","shape":[],"data_offsets":[20,24]},"__metadata__":{"optimizer":"adam","optimizer_iterations":"1"}}`, append(data, f32bytes(0, 0)...)), []Option{WithOptimizer(newAdam(t))}, `"adam/m/zz" belongs to no trainable parameter`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		if err := os.WriteFile(path, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		ps := twoParams()
		ps[0].Value.Float32s()[0] = 42
		_, err := Load(path, ps, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.sub) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and containing %q", c.name, err, c.sub)
		}
		// Damage matches ErrCorrupt, a file of another model ErrArchitecture, never both.
		misfit := slices.Contains([]string{"dtype not F32", "shape mismatch", "missing tensor", "extra tensor", "architecture"}, c.name)
		damaged := !misfit && !slices.Contains([]string{"foreign format", "no optimizer state", "other optimizer", "optimizer tensors of another param"}, c.name)
		var ae *ArchitectureError
		if errors.Is(err, ErrCorrupt) != damaged || errors.Is(err, ErrArchitecture) != misfit || errors.As(err, &ae) != misfit {
			t.Errorf("%s: errors.Is(ErrCorrupt) = %v, errors.Is(ErrArchitecture) = %v, want %v and %v: %v",
				c.name, errors.Is(err, ErrCorrupt), errors.Is(err, ErrArchitecture), damaged, misfit, err)
		}
		if ps[0].Value.Float32s()[0] != 42 {
			t.Errorf("%s: a failed load changed a parameter", c.name)
		}
	}
	if _, err := Load(filepath.Join(dir, "absent"), twoParams()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

// TestEveryTruncationFails cuts a valid file at every length: none may load.
func TestEveryTruncationFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full")
	ps := twoParams()
	opt, _ := optim.NewSGD(optim.Momentum(0.9))
	if err := opt.Step(0.1, ps, [][]float32{{1, 1}, {1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, ps, Meta{Architecture: "x", Epoch: 1}, WithOptimizer(opt)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for n := range len(b) {
		if _, err := parse(b[:n]); err == nil {
			t.Fatalf("a file cut to %d of %d bytes parsed", n, len(b))
		}
	}
	if _, err := parse(b); err != nil {
		t.Fatal(err)
	}
}

func TestOptimizerStateIgnoredWithoutOptimizer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	ps := twoParams()
	opt, _ := optim.NewLARS()
	if err := opt.Step(0.1, ps, [][]float32{{1, 1}, {1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, ps, Meta{}, WithOptimizer(opt)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, twoParams()); err != nil {
		t.Errorf("weights-only load: %v", err)
	}
	sgd, _ := optim.NewSGD(optim.Momentum(0.9))
	if _, err := Load(path, twoParams(), WithOptimizer(sgd)); err == nil || !strings.Contains(err.Error(), "holds lars state, the optimizer is sgd") {
		t.Errorf("optimizer mismatch: %v", err)
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	ps := twoParams()
	f64 := &nn.Param{Name: "d", Value: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{1}))}
	for _, c := range []struct {
		ps   []*nn.Param
		meta Meta
		sub  string
	}{
		{[]*nn.Param{ps[0], ps[0]}, Meta{}, `two parameters are called "a"`},
		{[]*nn.Param{ps[0], nil}, Meta{}, "parameter 1 is nil"},
		{[]*nn.Param{f64}, Meta{}, `"d" holds float64`},
		{[]*nn.Param{{Name: "__metadata__", Value: ps[0].Value}}, Meta{}, "invalid name"},
		{ps, Meta{Extra: map[string]string{"epoch": "3"}}, `extra metadata key "epoch" is reserved`},
	} {
		if err := Save(filepath.Join(dir, "x"), c.ps, c.meta); err == nil || !strings.Contains(err.Error(), c.sub) {
			t.Errorf("error %v, want %q", err, c.sub)
		}
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir", "x"), ps, Meta{}); err == nil {
		t.Error("save into a missing directory succeeded")
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}

type failingWriter struct {
	w    io.Writer
	left int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, errors.New("disk full (injected)")
	}
	f.left -= len(p)
	return f.w.Write(p)
}

func TestAtomicSaveKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt")
	ps := model(t, 1)
	if err := Save(path, ps, Meta{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	ps[0].Value.Float32s()[0] = 123
	for _, after := range []int{0, 5, 100, len(old) - 1} {
		wrapWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, left: after} }
		err := Save(path, ps, Meta{Epoch: 2})
		wrapWriter = nil
		if err == nil || !strings.Contains(err.Error(), "disk full (injected)") {
			t.Fatalf("failing after %d bytes: %v", after, err)
		}
		now, _ := os.ReadFile(path)
		if !bytes.Equal(now, old) {
			t.Fatalf("failing after %d bytes: the old checkpoint changed", after)
		}
		if m, err := ReadMeta(path); err != nil || m.Epoch != 1 {
			t.Fatalf("old checkpoint unreadable: %+v %v", m, err)
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := Save(path, ps, Meta{Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	if m, _ := ReadMeta(path); m.Epoch != 2 {
		t.Error("the successful save did not replace the file")
	}
}

func FuzzParse(f *testing.F) {
	ps := twoParams()
	opt, _ := optim.NewAdam()
	_ = opt.Step(0.1, ps, [][]float32{{1, 1}, {1, 1}})
	path := filepath.Join(f.TempDir(), "seed")
	if err := Save(path, ps, Meta{Architecture: "x"}, WithOptimizer(opt)); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add(raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32bytes(1, 2)))
	f.Add(raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, []byte{7}))
	f.Add(raw(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parse(b)
		if err != nil {
			return
		}
		var pos int64
		for _, e := range p.entries {
			if e.Begin != pos || e.End < e.Begin || e.End > int64(len(p.data)) {
				t.Fatalf("entry %+v not contiguous at %d (data %d bytes)", e, pos, len(p.data))
			}
			n := int64(1)
			for _, d := range e.Shape {
				n *= int64(d)
			}
			if n*dtypeSize[e.DType] != e.End-e.Begin {
				t.Fatalf("entry %+v: size does not match its shape", e)
			}
			if e.DType == "F32" {
				decodeF32(make([]float32, n), p.data[e.Begin:e.End])
			}
			if p.byName[e.Name] == nil {
				t.Fatalf("entry %q missing from the index", e.Name)
			}
			pos = e.End
		}
		if pos != int64(len(p.data)) {
			t.Fatalf("data not covered: %d of %d", pos, len(p.data))
		}
	})
}

// corruptedCopy saves model(t, 1) to a fresh file, flips one bit of the byte at offset off of
// the tensor named name, and returns the path.
func corruptedCopy(t *testing.T, name string, off int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flipped.safetensors")
	if err := Save(path, model(t, 1), Meta{Architecture: "m"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	e := p.byName[name]
	if e == nil || e.Begin+off >= e.End {
		t.Fatalf("no byte %d in tensor %q", off, name)
	}
	b[p.dataBase+e.Begin+off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestChecksumCatchesFlippedByte flips one bit inside a tensor of a saved checkpoint (in the
// top byte of a batch-norm gamma of 1, 0x3f800000, which becomes +Inf, 0x7f800000; the file
// still parses): Load and ReadMeta must refuse it with ErrCorrupt, naming the tensor and
// the file, and leave the parameters alone.
func TestChecksumCatchesFlippedByte(t *testing.T) {
	for _, c := range []struct {
		tensor string
		off    int64
	}{{"bn1/gamma", 3}, {"conv1/kernel", 0}, {"dense/kernel", 4*40 - 1}} {
		path := corruptedCopy(t, c.tensor, c.off)
		dst := model(t, 2)
		before := bits(dst)
		_, err := Load(path, dst, RequireArchitecture("m"))
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrArchitecture) {
			t.Fatalf("%s: Load: %v, want ErrCorrupt", c.tensor, err)
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, `tensor "`+c.tensor+`"`) || !strings.Contains(msg, "CRC-32C") {
			t.Errorf("%s: error %q does not name the file, the tensor and the checksum", c.tensor, msg)
		}
		for i := range dst {
			if !slices.Equal(bits(dst)[i], before[i]) {
				t.Errorf("%s: a failed load changed %s", c.tensor, dst[i].Name)
			}
		}
		if _, err := ReadMeta(path); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ReadMeta: %v, want ErrCorrupt", c.tensor, err)
		}
	}
}

// TestWrongArchitectureIsNotCorruption loads an intact checkpoint into a model of another
// architecture: an *ArchitectureError, never ErrCorrupt.
func TestWrongArchitectureIsNotCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, model(t, 1), Meta{Architecture: "resnet56"}); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, model(t, 2), RequireArchitecture("resnet20"))
	var ae *ArchitectureError
	if !errors.As(err, &ae) || !errors.Is(err, ErrArchitecture) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load: %v, want an *ArchitectureError and not ErrCorrupt", err)
	}
	if ae.Path != path || ae.Want != "resnet20" || ae.Got != "resnet56" || ae.Tensor != "" {
		t.Errorf("ArchitectureError %+v", ae)
	}
	// Without RequireArchitecture, the other model's tensors do not fit.
	_, err = Load(path, twoParams())
	if !errors.As(err, &ae) || errors.Is(err, ErrCorrupt) || ae.Tensor == "" || !strings.Contains(err.Error(), ae.Tensor) {
		t.Fatalf("Load into another model: %v (%+v)", err, ae)
	}
}

// rewriteMeta rewrites the safetensors file b with its metadata changed by edit (deleting
// the checksum key makes a file look like one written before checksums existed).
func rewriteMeta(t *testing.T, b []byte, edit func(map[string]string)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	if err := json.Unmarshal(hdr[metadataKey], &md); err != nil {
		t.Fatal(err)
	}
	edit(md)
	hdr[metadataKey], _ = json.Marshal(md)
	h, _ := json.Marshal(hdr)
	return raw(string(h), b[8+n:])
}

// TestChecksumsOptionalButVerifiedWhenPresent: a file without checksums (written before
// they existed) loads; damaged, missing or surplus checksums do not.
func TestChecksumsOptionalButVerifiedWhenPresent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	src := model(t, 1)
	if err := Save(path, src, Meta{Architecture: "m", Extra: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	m, err := ReadMeta(path)
	if err != nil || len(m.Extra) != 1 || m.Extra["k"] != "v" {
		t.Fatalf("the checksum key leaks into Extra: %+v, %v", m, err)
	}
	var sums map[string]string
	md := map[string]string{}
	rewriteMeta(t, good, func(m map[string]string) { maps.Copy(md, m) })
	if err := json.Unmarshal([]byte(md[checksumKey]), &sums); err != nil || len(sums) != len(src) {
		t.Fatalf("checksums %q: %v", md[checksumKey], err)
	}
	for _, p := range src {
		if want := crc32.Checksum(f32bytes(p.Value.Float32s()...), crc32.MakeTable(crc32.Castagnoli)); sums[p.Name] != fmt.Sprintf("%08x", want) {
			t.Errorf("%s: checksum %q, want %08x", p.Name, sums[p.Name], want)
		}
	}

	legacy := rewriteMeta(t, good, func(m map[string]string) { delete(m, checksumKey) })
	legacyPath := filepath.Join(dir, "legacy")
	os.WriteFile(legacyPath, legacy, 0o644)
	dst := model(t, 2)
	if _, err := Load(legacyPath, dst, RequireArchitecture("m")); err != nil {
		t.Fatalf("a file without checksums: %v", err)
	}
	if !slices.Equal(bits(dst)[0], bits(src)[0]) {
		t.Error("the file without checksums loaded other values")
	}

	for _, c := range []struct {
		name string
		edit func(map[string]string)
		sub  string
	}{
		{"not JSON", func(m map[string]string) { m[checksumKey] = "x" }, "is not a JSON object"},
		{"one missing", func(m map[string]string) {
			m[checksumKey] = edited(sums, func(s map[string]string) { delete(s, "conv1/bias") })
		}, `tensor "conv1/bias" has no checksum`},
		{"surplus", func(m map[string]string) {
			m[checksumKey] = edited(sums, func(s map[string]string) { s["ghost"] = "00000000" })
		}, `checksum for tensor "ghost"`},
		{"not hex", func(m map[string]string) {
			m[checksumKey] = edited(sums, func(s map[string]string) { s["bn1/gamma"] = "0x123456" })
		}, `tensor "bn1/gamma": checksum "0x123456"`},
		{"wrong", func(m map[string]string) {
			m[checksumKey] = edited(sums, func(s map[string]string) { s["bn1/gamma"] = strings.Repeat("0", 8) })
		}, `tensor "bn1/gamma" (file offsets`},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		os.WriteFile(p, rewriteMeta(t, good, c.edit), 0o644)
		_, err := Load(p, model(t, 2))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.sub) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want ErrCorrupt naming the file and %q", c.name, err, c.sub)
		}
	}
	if err := Save(path, src, Meta{Extra: map[string]string{checksumKey: "{}"}}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("Extra may set the checksum key: %v", err)
	}
}

func edited(sums map[string]string, f func(map[string]string)) string {
	c := maps.Clone(sums)
	f(c)
	b, _ := json.Marshal(c)
	return string(b)
}
