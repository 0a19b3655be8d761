package backbone

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// stTensor is one float32 tensor of a safetensors file.
type stTensor struct {
	shape []int
	data  []float32
}

// readSafetensors reads a safetensors file of F32 tensors: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}} and the data.
func readSafetensors(path string) (map[string]stTensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: %d bytes, too short for a header length", path, len(b))
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: header length %d beyond the file's %d bytes", path, hl, len(b))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &hdr); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	data := b[8+hl:]
	out := map[string]stTensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			Dtype   string   `json:"dtype"`
			Shape   []int    `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		if e.Dtype != "F32" {
			return nil, fmt.Errorf("%s: tensor %q has dtype %s, want F32", path, name, e.Dtype)
		}
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || hi-lo != int64(4*n) {
			return nil, fmt.Errorf("%s: tensor %q: offsets [%d, %d) do not hold %d float32 values in %d data bytes", path, name, lo, hi, n, len(data))
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+int64(4*i):]))
		}
		out[name] = stTensor{shape: e.Shape, data: v}
	}
	return out, nil
}

// loadParams copies every parameter of ps from ref, which must hold it with the same shape.
func loadParams(t *testing.T, ps *nn.Params, ref map[string]stTensor) {
	t.Helper()
	for _, p := range ps.All() {
		r, ok := ref[p.Name]
		if !ok {
			t.Fatalf("reference has no tensor %q", p.Name)
		}
		if !slices.Equal(r.shape, []int(p.Value.Shape())) {
			t.Fatalf("%s: reference shape %v, parameter shape %v", p.Name, r.shape, p.Value.Shape())
		}
		copy(p.Data(), r.data)
	}
}

// relErr returns ||got-want|| / ||want|| and max|got-want| / max|want|.
func relErr(got, want []float32) (norm, maxAbs float64) {
	var d2, w2, dm, wm float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		d2 += d * d
		w2 += float64(want[i]) * float64(want[i])
		dm = math.Max(dm, math.Abs(d))
		wm = math.Max(wm, math.Abs(float64(want[i])))
	}
	if w2 == 0 {
		return math.Sqrt(d2), dm
	}
	return math.Sqrt(d2 / w2), dm / wm
}

// errTable collects per-tensor errors and checks them against a tolerance.
type errTable struct {
	t        *testing.T
	tol      float64
	worst    float64
	worstMax float64
	worstN   string
}

func (e *errTable) check(name string, got, want []float32) {
	e.t.Helper()
	if len(got) != len(want) {
		e.t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	n, m := relErr(got, want)
	if !(n <= e.tol) { // also catches NaN
		e.t.Errorf("%s: relative error %.3g (max element %.3g of the largest), want <= %g", name, n, m, e.tol)
	}
	if n > e.worst || math.IsNaN(n) {
		e.worst, e.worstN = n, name
	}
	e.worstMax = math.Max(e.worstMax, m)
}

func (e *errTable) report(what string) {
	e.t.Logf("%s: worst norm-wise relative error %.3g (%s); worst max element-wise error / max|ref| %.3g",
		what, e.worst, e.worstN, e.worstMax)
}

func input(g *G.ExprGraph, name string, data []float32, shape ...int) *G.Node {
	return G.NodeFromAny(g, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), G.WithName(name))
}

// classifier is a backbone with a Dense head and a softmax cross-entropy loss (plus the
// L2 penalty when withL2), differentiated with respect to every trainable parameter.
type classifier struct {
	s            *nn.Scope
	x, y         *G.Node
	features     *G.Node
	logits, loss *G.Node
	params       []*nn.Param
	grads        G.Nodes
	xData, yData []float32
}

func newClassifier(t *testing.T, b ssl.Backbone, ps *nn.Params, n, c, hw, classes int, training, withL2 bool) *classifier {
	t.Helper()
	return newClassifierIn(t, "", b, ps, n, c, hw, classes, training, withL2)
}

// newClassifierIn is newClassifier with the backbone and the head under the scope prefix
// (none when prefix is "").
func newClassifierIn(t *testing.T, prefix string, b ssl.Backbone, ps *nn.Params, n, c, hw, classes int, training, withL2 bool) *classifier {
	t.Helper()
	cl := &classifier{s: nn.NewScope(G.NewGraph(), ps, training)}
	s := cl.s
	if prefix != "" {
		s = s.In(prefix)
	}
	cl.xData = make([]float32, n*c*hw*hw)
	cl.yData = make([]float32, n)
	cl.x = input(s.Graph(), "input", cl.xData, n, c, hw, hw)
	cl.y = input(s.Graph(), "labels", cl.yData, n)
	cl.features = b.Build(s, cl.x)
	cl.logits = nn.Dense(s.In("head"), cl.features, classes, nn.Init(nn.HeNormal))
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !training {
		return cl
	}
	s = cl.s
	cl.loss = nn.SoftmaxCrossEntropy(s, cl.logits, cl.y)
	if withL2 {
		cl.loss = nn.Add(s, cl.loss, nn.L2Penalty(s))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	for _, p := range ps.Trainable() {
		cl.params = append(cl.params, p)
		wrt = append(wrt, s.Node(p))
	}
	var err error
	if cl.grads, err = G.Grad(cl.loss, wrt...); err != nil {
		t.Fatal(err)
	}
	return cl
}

// machine plans the classifier's graph for the loss, the logits and the gradients.
func (cl *classifier) machine(t *testing.T) *exec.Machine {
	t.Helper()
	outs := G.Nodes{cl.logits}
	if cl.loss != nil {
		outs = append(outs, cl.loss)
		outs = append(outs, cl.grads...)
	}
	m, err := exec.New(cl.s.Graph(), exec.Outputs(outs...))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// adam is Adam (Kingma & Ba) over a list of parameters, with Keras' defaults.
type adam struct {
	lr, b1, b2, eps float64
	step            int
	m, v            [][]float32
}

func newAdam(lr float64, ps []*nn.Param) *adam {
	a := &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-7}
	for _, p := range ps {
		a.m = append(a.m, make([]float32, len(p.Data())))
		a.v = append(a.v, make([]float32, len(p.Data())))
	}
	return a
}

func (a *adam) update(ps []*nn.Param, grads [][]float32) {
	a.step++
	lr := a.lr * math.Sqrt(1-math.Pow(a.b2, float64(a.step))) / (1 - math.Pow(a.b1, float64(a.step)))
	b1, b2 := float32(a.b1), float32(a.b2)
	for i, p := range ps {
		w, g, m, v := p.Data(), grads[i], a.m[i], a.v[i]
		for j := range w {
			m[j] = b1*m[j] + (1-b1)*g[j]
			v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
			w[j] -= float32(lr * float64(m[j]) / (math.Sqrt(float64(v[j])) + a.eps))
		}
	}
}

// step runs m once and applies opt; it returns the loss.
func (cl *classifier) step(t *testing.T, m *exec.Machine, opt *adam) float64 {
	t.Helper()
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	loss, err := m.Scalar(cl.loss)
	if err != nil {
		t.Fatal(err)
	}
	gs := make([][]float32, len(cl.grads))
	for i, g := range cl.grads {
		if gs[i], err = m.Float32s(g); err != nil {
			t.Fatal(err)
		}
	}
	opt.update(cl.params, gs)
	return loss
}

// randomBatch fills the classifier's input with uniform [0,1) pixels and random labels.
func (cl *classifier) randomBatch(rng *rand.Rand, classes int) {
	for i := range cl.xData {
		cl.xData[i] = rng.Float32()
	}
	for i := range cl.yData {
		cl.yData[i] = float32(rng.IntN(classes))
	}
}

// paramNames returns the sorted names of ps.
func paramNames(ps *nn.Params) []string {
	var names []string
	for _, p := range ps.All() {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}
