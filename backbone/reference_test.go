package backbone

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/nn"
)

// refTol is the norm-wise relative error allowed against the PyTorch reference.
const refTol = 1e-4

// TestResNet20MatchesPyTorch loads the weights of testdata/resnet20_ref.safetensors (written by
// testdata/resnet20_ref.py) into ResNetV1(20) with a 10-class head "head", and checks, against
// PyTorch: the inference logits (moving statistics), the training logits (batch statistics),
// the loss, the gradient of every trainable parameter, and the moving statistics after one
// training run (moving·0.99 + batch·0.01, the variance unbiased as nn.BatchNorm documents).
// The training graph is run by internal/exec and then, the moving statistics restored, by
// gorgonia's TapeMachine, which must agree.
func TestResNet20MatchesPyTorch(t *testing.T) {
	ref, err := readSafetensors("testdata/resnet20_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) stTensor {
		t.Helper()
		v, ok := ref[name]
		if !ok {
			t.Fatalf("reference has no tensor %q", name)
		}
		return v
	}
	in, labels := get("input"), get("labels")
	if !slices.Equal(in.shape, []int{8, 3, 32, 32}) || !slices.Equal(labels.shape, []int{8}) {
		t.Fatalf("reference input %v, labels %v", in.shape, labels.shape)
	}
	bb := Must(ResNetV1(20))
	ps := nn.NewParams(1)
	ctx := context.Background()

	// Inference first, while the moving statistics are those of the file.
	inf := newClassifier(t, bb, ps, 8, 3, 32, 10, false, false)
	loadParams(t, ps, ref)
	if tr, non := ps.Count(); tr != 273066 || non != 1376 {
		t.Fatalf("parameters: %d trainable, %d non-trainable; want 273066, 1376", tr, non)
	}
	var fileNames []string
	for name := range ref {
		if !strings.Contains(name, "/") || strings.HasPrefix(name, "grad/") || strings.HasPrefix(name, "batch_") {
			continue
		}
		fileNames = append(fileNames, name)
	}
	slices.Sort(fileNames)
	if got := paramNames(ps); !slices.Equal(got, fileNames) {
		t.Fatalf("parameter names differ from the reference's:\n got %v\nwant %v", got, fileNames)
	}
	copy(inf.xData, in.data)
	mi := inf.machine(t)
	if err := mi.Run(ctx); err != nil {
		t.Fatal(err)
	}
	evalLogits, err := mi.Float32s(inf.logits)
	if err != nil {
		t.Fatal(err)
	}
	e := &errTable{t: t, tol: refTol}
	e.check("logits_eval", evalLogits, get("logits_eval").data)
	for _, p := range ps.All() {
		if !p.Trainable && !slices.Equal(p.Data(), get(p.Name).data) {
			t.Fatalf("the inference run changed %s", p.Name)
		}
	}

	// Training: batch statistics, loss, gradients.
	tr := newClassifier(t, bb, ps, 8, 3, 32, 10, true, false)
	copy(tr.xData, in.data)
	copy(tr.yData, labels.data)
	m := tr.machine(t)
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	logits, err := m.Float32s(tr.logits)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := m.Scalar(tr.loss)
	if err != nil {
		t.Fatal(err)
	}
	e.check("logits_train", logits, get("logits_train").data)
	e.check("loss", []float32{float32(loss)}, get("loss").data)
	execGrads := map[string][]float32{}
	for i, p := range tr.params {
		g, err := m.Float32s(tr.grads[i])
		if err != nil {
			t.Fatal(err)
		}
		execGrads[p.Name] = slices.Clone(g)
		if _, ok := followingBN(p.Name); ok {
			continue // checked below, against the scale of the batch norm's gradient
		}
		e.check("grad/"+p.Name, g, get("grad/"+p.Name).data)
	}
	// A conv bias followed by a training-mode batch norm has a zero gradient in exact
	// arithmetic (the batch mean absorbs it): both sides hold rounding noise, ~1e-6 of the
	// gradients around it. Check that ours is as small, on the scale of the gradient of
	// the batch norm's beta.
	zeroes := &errTable{t: t, tol: refTol}
	for _, p := range tr.params {
		beta, ok := followingBN(p.Name)
		if !ok {
			continue
		}
		scale := norm(get("grad/" + beta).data)
		zeroes.check("grad/"+p.Name+" / ||grad/"+beta+"||", scaled(execGrads[p.Name], 1/scale), make([]float32, len(execGrads[p.Name])))
		zeroes.check("reference grad/"+p.Name+" / ||grad/"+beta+"||", scaled(get("grad/"+p.Name).data, 1/scale), make([]float32, len(execGrads[p.Name])))
	}
	execLogits, execLoss := slices.Clone(logits), loss

	// Moving statistics after one training run.
	st := &errTable{t: t, tol: 1e-6}
	implied := &errTable{t: t, tol: refTol}
	execMoving := map[string][]float32{}
	for _, p := range ps.All() {
		if p.Trainable {
			continue
		}
		cut := strings.LastIndex(p.Name, "/")
		layer, stat := p.Name[:cut], p.Name[cut+1:]
		old := get(p.Name).data
		var batch []float32
		corr := float32(1)
		if stat == "moving_mean" {
			batch = get("batch_mean/" + layer).data
		} else {
			batch = get("batch_var/" + layer).data
			cnt := float32(8 * bnPlane(layer))
			corr = cnt / (cnt - 1)
		}
		want := make([]float32, len(old))
		impl := make([]float32, len(old))
		wantBatch := make([]float32, len(old))
		for i := range old {
			want[i] = 0.99*old[i] + 0.01*batch[i]*corr
			impl[i] = (p.Data()[i] - 0.99*old[i]) / 0.01
			wantBatch[i] = batch[i] * corr
		}
		st.check(p.Name, p.Data(), want)
		implied.check("batch statistic of "+p.Name, impl, wantBatch)
		execMoving[p.Name] = slices.Clone(p.Data())
	}
	e.report("exec vs PyTorch (logits, loss, gradients)")
	zeroes.report("gradients of conv biases before a batch norm (zero in exact arithmetic), norm relative to the batch norm's beta gradient")
	st.report("moving statistics after one training run vs moving·0.99 + batch·0.01")
	implied.report("batch statistics implied by the moving-statistic update")

	// The same graph on gorgonia's TapeMachine, from the same moving statistics.
	for _, p := range ps.All() {
		if !p.Trainable {
			copy(p.Data(), get(p.Name).data)
		}
	}
	tm := G.NewTapeMachine(tr.s.Graph())
	defer tm.Close()
	if err := tm.RunAll(); err != nil {
		t.Fatal(err)
	}
	tt := &errTable{t: t, tol: 1e-5}
	tt.check("logits_train", tr.logits.Value().Data().([]float32), execLogits)
	tt.check("loss", []float32{float32(*tr.loss.Value().(*G.F32))}, []float32{float32(execLoss)})
	for i, p := range tr.params {
		tt.check("grad/"+p.Name, tr.grads[i].Value().(*tensor.Dense).Float32s(), execGrads[p.Name])
	}
	for name, v := range execMoving {
		tt.check(name, ps.Get(name).Data(), v)
	}
	tt.report("TapeMachine vs exec on the same graph")
}

// bnPlane is the number of pixels per channel (H·W) a batch norm of ResNet20 v1 on 32×32
// images normalizes over, from its name.
func bnPlane(layer string) int {
	switch {
	case strings.HasPrefix(layer, "stack1/"):
		return 16 * 16
	case strings.HasPrefix(layer, "stack2/"):
		return 8 * 8
	case layer == "stem/bn" || strings.HasPrefix(layer, "stack0/"):
		return 32 * 32
	}
	panic(fmt.Sprintf("bnPlane: unknown layer %q", layer))
}

// followingBN returns the beta of the batch norm that directly follows the conv whose
// bias is name, if any.
func followingBN(name string) (string, bool) {
	switch {
	case name == "stem/conv/bias":
		return "stem/bn/beta", true
	case strings.HasSuffix(name, "/conv1/bias"):
		return strings.TrimSuffix(name, "conv1/bias") + "bn1/beta", true
	case strings.HasSuffix(name, "/conv2/bias"):
		return strings.TrimSuffix(name, "conv2/bias") + "bn2/beta", true
	}
	return "", false
}

func norm(v []float32) float64 {
	n, _ := relErr(v, make([]float32, len(v)))
	return n
}

func scaled(v []float32, a float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * a)
	}
	return out
}

// TestResNetV2MatchesPyTorch checks narrow versions of both v2 layouts against
// testdata/resnetv2_ref.safetensors (written by testdata/resnetv2_ref.py, computed in float64
// from float32 weights): ResNetV2(11, BaseFilters(4)) on 16×16 images and
// ResNet50V2(BaseFilters(2)) on 48×48 images, each built under a scope prefix with a 10-class
// head: the inference logits, the training logits, the loss and every gradient.
//
// Each output may be off by 1e-4 (norm-wise, relative) or by 10× the error float32 PyTorch
// makes on it, whichever is larger: the deep ResNet50V2 with 2-channel layers, 2×2 maps and
// BN epsilon 1e-5 has gradients no float32 computation gets to 1e-4. Every conv bias of a
// pre-activation network reaches the loss only through training-mode batch norms, so its
// gradient is zero in exact arithmetic; those are checked to be below 1e-5 of the norm of
// all the gradients.
func TestResNetV2MatchesPyTorch(t *testing.T) {
	ref, err := readSafetensors("testdata/resnetv2_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		prefix string
		b      *ResNet
		hw     int
	}{
		{"cifar", Must(ResNetV2(11, BaseFilters(4))), 16},
		{"imagenet", Must(ResNet50V2(BaseFilters(2))), 48},
	}
	ctx := context.Background()
	for _, c := range cases {
		get := func(name string) stTensor {
			t.Helper()
			v, ok := ref[c.prefix+"/"+name]
			if !ok {
				t.Fatalf("reference has no tensor %q", c.prefix+"/"+name)
			}
			return v
		}
		var worstErr, worstF32, worstUse float64
		var worstName, worstUseName string
		relaxed := 0
		check := func(name string, got []float32) {
			t.Helper()
			want := get(name).data
			f32 := float64(get("f32err/" + name).data[0])
			tol := max(refTol, 10*f32)
			if tol > refTol {
				relaxed++
			}
			n, m := relErr(got, want)
			if !(n <= tol) {
				t.Errorf("%s %s: relative error %.3g (max element %.3g of the largest), want <= %.3g (float32 PyTorch: %.3g)", c.prefix, name, n, m, tol, f32)
			}
			if n > worstErr || math.IsNaN(n) {
				worstErr, worstF32, worstName = n, f32, name
			}
			if u := n / tol; u > worstUse {
				worstUse, worstUseName = u, name
			}
		}
		in, labels := get("input"), get("labels")
		n := in.shape[0]
		ps := nn.NewParams(1)
		inf := newClassifierIn(t, c.prefix, c.b, ps, n, 3, c.hw, 10, false, false)
		loadParams(t, ps, ref)
		var fileNames []string
		for name := range ref {
			rest, ok := strings.CutPrefix(name, c.prefix+"/")
			if ok && strings.Contains(rest, "/") && !strings.HasPrefix(rest, "grad/") && !strings.HasPrefix(rest, "f32err/") {
				fileNames = append(fileNames, name)
			}
		}
		slices.Sort(fileNames)
		if got := paramNames(ps); !slices.Equal(got, fileNames) {
			t.Fatalf("%s: parameter names differ from the reference's:\n got %v\nwant %v", c.prefix, got, fileNames)
		}
		copy(inf.xData, in.data)
		mi := inf.machine(t)
		if err := mi.Run(ctx); err != nil {
			t.Fatal(err)
		}
		lv, err := mi.Float32s(inf.logits)
		if err != nil {
			t.Fatal(err)
		}
		check("logits_eval", lv)

		tr := newClassifierIn(t, c.prefix, c.b, ps, n, 3, c.hw, 10, true, false)
		copy(tr.xData, in.data)
		copy(tr.yData, labels.data)
		m := tr.machine(t)
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
		lt, err := m.Float32s(tr.logits)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := m.Scalar(tr.loss)
		if err != nil {
			t.Fatal(err)
		}
		check("logits_train", lt)
		check("loss", []float32{float32(loss)})
		var all []float32
		for _, p := range tr.params {
			all = append(all, get("grad/"+p.Name).data...)
		}
		scale := norm(all)
		zeroes := &errTable{t: t, tol: 1e-5}
		for i, p := range tr.params {
			g, err := m.Float32s(tr.grads[i])
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(p.Name, "/bias") && p.Name != c.prefix+"/head/bias" {
				zeroes.check("grad/"+p.Name+" / ||all gradients||", scaled(g, 1/scale), make([]float32, len(g)))
				zeroes.check("reference grad/"+p.Name+" / ||all gradients||", scaled(get("grad/"+p.Name).data, 1/scale), make([]float32, len(g)))
				continue
			}
			check("grad/"+p.Name, g)
		}
		t.Logf("%s (%s) vs PyTorch in float64: worst relative error %.3g (%s, where float32 PyTorch's is %.3g); "+
			"at most %.2g of the allowed error (%s); %d outputs allowed more than %g",
			c.b.Name(), c.prefix, worstErr, worstName, worstF32, worstUse, worstUseName, relaxed, refTol)
		zeroes.report(c.b.Name() + " gradients of conv biases (zero in exact arithmetic)")
	}
}
