package backbone

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// counted builds b (and a Dense head of the given classes and initializer when classes > 0)
// on 2 images of hw×hw and returns the parameter counts and the feature node's shape.
func counted(t *testing.T, b ssl.Backbone, hw, classes int, headInit nn.Initializer) (trainable, fixed int, features tensor.Shape) {
	t.Helper()
	ps := nn.NewParams(1)
	s := nn.NewScope(G.NewGraph(), ps, true)
	x := G.NewTensor(s.Graph(), tensor.Float32, 4, G.WithShape(2, 3, hw, hw), G.WithName("x"))
	f := b.Build(s, x)
	if classes > 0 {
		nn.Dense(s.In("head"), f, classes, nn.Init(headInit))
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	trainable, fixed = ps.Count()
	return trainable, fixed, f.Shape()
}

// TestParamCountsMatchKeras checks parameter counts against Keras' published ones
// (ResNet20 v1 of the CIFAR-10 example, ResNet50V2 of Keras applications with and
// without its 1000-class top) and against counts worked out from the Keras CIFAR-10
// example's resnet_v2 and from ConvNet's layout.
func TestParamCountsMatchKeras(t *testing.T) {
	cases := []struct {
		b               ssl.Backbone
		hw, classes     int
		trainable, non  int
		features        int
		name, reference string
	}{
		{Must(ResNetV1(20)), 32, 10, 273066, 1376, 64, "resnet20v1", "Keras cifar10_resnet ResNet20v1 summary"},
		{Must(ResNetV1(20)), 32, 0, 272416, 1376, 64, "resnet20v1", "the same without the 650-parameter head"},
		{Must(ResNetV1(56)), 32, 10, 857706, 4064, 64, "resnet56v1", "a Keras ResNet56v1 summary: 861,770 in all"},
		{Must(ResNetV1(8)), 16, 0, 77536, 480, 64, "resnet8v1", "layout: 1+2n convs per stage"},
		{Must(ResNetV1(20, BaseFilters(32))), 32, 0, 1084480, 2752, 128, "resnet20v1-w32", "layout: kernels ×4, BN ×2"},
		{Must(ResNetV2(56)), 32, 10, 1663338, 10400, 256, "resnet56v2", "Keras cifar10_resnet resnet_v2(depth=56) layout"},
		{Must(ResNetV2(11)), 32, 10, 297418, 1760, 256, "resnet11v2", "Keras cifar10_resnet resnet_v2(depth=11) layout"},
		{Must(ResNet50V2()), 96, 0, 23519360, 45440, 2048, "resnet50v2", "Keras ResNet50V2(include_top=False): 23,564,800"},
		{Must(ResNet50V2()), 32, 1000, 25568360, 45440, 2048, "resnet50v2", "Keras ResNet50V2 with top: 25,613,800, 25,568,360 trainable"},
		{Must(ConvNet()), 32, 0, 93696, 448, 128, "convnet-32-64-128", "layout"},
		{Must(ConvNet(Filters(8, 16))), 32, 10, 224 + 16 + 1168 + 32 + 170, 48, 16, "convnet-8-16", "layout"},
		{Must(Conv4x128()), 96, 0, 3584 + 3*147584 + 3200*128 + 128, 0, 128, "conv4x128", "layout: 3x3x3x128+128, 3 x (3x3x128x128+128), 5x5x128x128+128"},
	}
	for _, c := range cases {
		tr, non, fs := counted(t, c.b, c.hw, c.classes, nn.HeNormal)
		if tr != c.trainable || non != c.non {
			t.Errorf("%s (+%d-class head): %d trainable, %d non-trainable; want %d, %d (%s)",
				c.b.Name(), c.classes, tr, non, c.trainable, c.non, c.reference)
		}
		if c.b.Name() != c.name {
			t.Errorf("Name() = %q, want %q", c.b.Name(), c.name)
		}
		if !slices.Equal([]int(fs), []int{2, c.features}) {
			t.Errorf("%s: features %v, want [2 %d]", c.name, fs, c.features)
		}
		if f := c.b.(interface{ Features() int }).Features(); f != c.features {
			t.Errorf("%s: Features() = %d, want %d", c.name, f, c.features)
		}
	}
}

// TestParamNames checks the layout of ResNetV1 by its parameter names: projection
// shortcuts exactly where the stride or the width changes, and the prefix of the scope.
func TestParamNames(t *testing.T) {
	ps := nn.NewParams(1)
	s := nn.NewScope(G.NewGraph(), ps, false)
	x := G.NewTensor(s.Graph(), tensor.Float32, 4, G.WithShape(1, 3, 8, 8), G.WithName("x"))
	Must(ResNetV1(14)).Build(s.In("enc"), x)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var shortcuts []string
	for _, p := range ps.All() {
		if !strings.HasPrefix(p.Name, "enc/") {
			t.Errorf("parameter %q is not under the scope's prefix", p.Name)
		}
		if strings.Contains(p.Name, "shortcut/kernel") {
			shortcuts = append(shortcuts, p.Name)
		}
	}
	if want := []string{"enc/stack1/block0/shortcut/kernel", "enc/stack2/block0/shortcut/kernel"}; !slices.Equal(shortcuts, want) {
		t.Errorf("shortcuts %v, want %v", shortcuts, want)
	}
	for _, name := range []string{"enc/stem/conv/kernel", "enc/stem/bn/moving_variance", "enc/stack2/block1/bn2/beta", "enc/stack1/block0/shortcut/bias"} {
		if ps.Get(name) == nil {
			t.Errorf("no parameter %q", name)
		}
	}
	if p := ps.Get("enc/stack0/block0/conv1/kernel"); p.L2 != 1e-4 || !slices.Equal([]int(p.Value.Shape()), []int{16, 16, 3, 3}) {
		t.Errorf("conv1 kernel: L2 %g, shape %v", p.L2, p.Value.Shape())
	}
	if p := ps.Get("enc/stack1/block0/shortcut/kernel"); p.L2 != 1e-4 || !slices.Equal([]int(p.Value.Shape()), []int{32, 16, 1, 1}) {
		t.Errorf("shortcut kernel: L2 %g, shape %v", p.L2, p.Value.Shape())
	}
	ps2 := nn.NewParams(1)
	s2 := nn.NewScope(G.NewGraph(), ps2, false)
	x2 := G.NewTensor(s2.Graph(), tensor.Float32, 4, G.WithShape(1, 3, 8, 8), G.WithName("x"))
	Must(ResNetV1(14, L2(0))).Build(s2, x2)
	for _, p := range ps2.All() {
		if p.L2 != 0 {
			t.Errorf("L2(0): %s has L2 %g", p.Name, p.L2)
		}
	}
	ps3 := nn.NewParams(1)
	s3 := nn.NewScope(G.NewGraph(), ps3, false)
	x3 := G.NewTensor(s3.Graph(), tensor.Float32, 4, G.WithShape(1, 3, 8, 8), G.WithName("x"))
	Must(ResNet50V2(BaseFilters(4))).Build(s3, x3)
	for name, bias := range map[string]bool{"stem/conv": true, "stack0/block0/shortcut": true, "stack0/block0/conv1": false,
		"stack0/block0/conv2": false, "stack0/block0/conv3": true, "stack0/block1/shortcut": false} {
		if got := ps3.Get(name+"/bias") != nil; got != bias {
			t.Errorf("ResNet50V2: %s has a bias: %v, want %v", name, got, bias)
		}
	}
	if ps3.Get("stack0/block0/preact_bn/gamma") == nil || ps3.Get("post_bn/moving_mean") == nil || ps3.Get("stack3/block2/bn2/beta") == nil {
		t.Errorf("ResNet50V2: missing names in %v", paramNames(ps3))
	}
}

// TestForwardShapes runs each family forward, in training and in inference mode on the
// same Params, on sizes that are not powers of two, and checks the features.
func TestForwardShapes(t *testing.T) {
	cases := []struct {
		b     ssl.Backbone
		n, hw int
	}{
		{Must(ResNetV1(8)), 3, 15},
		{Must(ResNetV2(11, BaseFilters(8))), 2, 13},
		{Must(ResNet50V2(BaseFilters(8))), 2, 96},
		{Must(ResNet50V2(BaseFilters(8))), 1, 35},
		{Must(ConvNet(Filters(8, 8, 8, 16))), 2, 7},
	}
	ctx := context.Background()
	for _, c := range cases {
		ps := nn.NewParams(2)
		var feats [2][]float32
		for i, training := range []bool{true, false} {
			s := nn.NewScope(G.NewGraph(), ps, training)
			data := make([]float32, c.n*3*c.hw*c.hw)
			for j := range data {
				data[j] = float32(j%17) / 17
			}
			x := input(s.Graph(), "x", data, c.n, 3, c.hw, c.hw)
			before := len(ps.All())
			f := c.b.Build(s, x)
			if err := s.Err(); err != nil {
				t.Fatalf("%s on %dx%d: %v", c.b.Name(), c.hw, c.hw, err)
			}
			if i == 1 && len(ps.All()) != before {
				t.Errorf("%s: the inference build created %d parameters instead of sharing", c.b.Name(), len(ps.All())-before)
			}
			m, err := exec.New(s.Graph(), exec.Outputs(f))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Run(ctx); err != nil {
				t.Fatalf("%s: %v", c.b.Name(), err)
			}
			v, err := m.Tensor(f)
			if err != nil {
				t.Fatal(err)
			}
			feat := c.b.(interface{ Features() int }).Features()
			if !slices.Equal([]int(v.Shape()), []int{c.n, feat}) {
				t.Fatalf("%s on %dx%d: features %v, want [%d %d]", c.b.Name(), c.hw, c.hw, v.Shape(), c.n, feat)
			}
			feats[i] = slices.Clone(v.Float32s())
			for _, e := range feats[i] {
				if math.IsNaN(float64(e)) || math.IsInf(float64(e), 0) {
					t.Fatalf("%s: non-finite feature %v", c.b.Name(), e)
				}
			}
		}
		if slices.Equal(feats[0], feats[1]) {
			t.Errorf("%s: training and inference features are equal; batch and moving statistics should differ", c.b.Name())
		}
	}
}

// TestConstructorErrors checks that bad depths and options are errors from the
// constructors, with messages that name the problem.
func TestConstructorErrors(t *testing.T) {
	cases := []struct {
		name string
		make func() (ssl.Backbone, error)
		want string
	}{
		{"v1 depth 21", func() (ssl.Backbone, error) { return ResNetV1(21) }, "6n+2"},
		{"v1 depth 2", func() (ssl.Backbone, error) { return ResNetV1(2) }, "6n+2"},
		{"v1 depth -4", func() (ssl.Backbone, error) { return ResNetV1(-4) }, "depth -4"},
		{"v2 depth 20+1", func() (ssl.Backbone, error) { return ResNetV2(21) }, "9n+2"},
		{"v2 depth 2", func() (ssl.Backbone, error) { return ResNetV2(2) }, "9n+2"},
		{"v2 depth 50", func() (ssl.Backbone, error) { return ResNetV2(50) }, "9n+2"},
		{"Filters on a ResNet", func() (ssl.Backbone, error) { return ResNetV1(20, Filters(8)) }, "does not take option(s) Filters"},
		{"BaseFilters on ConvNet", func() (ssl.Backbone, error) { return ConvNet(BaseFilters(8)) }, "does not take option(s) BaseFilters"},
		{"BaseFilters(0)", func() (ssl.Backbone, error) { return ResNetV2(11, BaseFilters(0)) }, "BaseFilters(0)"},
		{"L2(-1)", func() (ssl.Backbone, error) { return ResNet50V2(L2(-1)) }, "L2(-1)"},
		{"L2(NaN)", func() (ssl.Backbone, error) { return ConvNet(L2(float32(math.NaN()))) }, "L2(NaN)"},
		{"InputChannels(0)", func() (ssl.Backbone, error) { return ResNetV1(20, InputChannels(0)) }, "InputChannels(0)"},
		{"KernelInit(nil)", func() (ssl.Backbone, error) { return ResNetV1(20, KernelInit(nil)) }, "KernelInit(nil)"},
		{"Filters()", func() (ssl.Backbone, error) { return ConvNet(Filters()) }, "at least one block"},
		{"Filters(8, 0)", func() (ssl.Backbone, error) { return ConvNet(Filters(8, 0)) }, "block 1 has 0 filters"},
		{"nil option", func() (ssl.Backbone, error) { return ResNetV1(20, nil) }, "option 0 is nil"},
	}
	for _, c := range cases {
		b, err := c.make()
		if err == nil {
			t.Errorf("%s: no error (got %v)", c.name, b)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Must did not panic on an error")
		}
	}()
	Must(ResNetV1(9))
}

// TestBuildErrors checks that inputs Build cannot take are recorded in the scope, not panics.
func TestBuildErrors(t *testing.T) {
	type mk func(g *G.ExprGraph) *G.Node
	f32 := func(shape ...int) mk {
		return func(g *G.ExprGraph) *G.Node {
			return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName("x"))
		}
	}
	cases := []struct {
		name string
		b    ssl.Backbone
		x    mk
		want string
	}{
		{"3-D input", Must(ResNetV1(20)), f32(3, 32, 32), "[N,C,H,W]"},
		{"2-D input", Must(ConvNet()), func(g *G.ExprGraph) *G.Node {
			return G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"))
		}, "[N,C,H,W]"},
		{"float64 input", Must(ResNetV2(11)), func(g *G.ExprGraph) *G.Node {
			return G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
		}, "float64"},
		{"channels", Must(ResNet50V2(InputChannels(3))), f32(2, 1, 32, 32), "has 1 channels"},
		{"nil input", Must(ResNetV1(8)), func(*G.ExprGraph) *G.Node { return nil }, "nil input"},
	}
	for _, c := range cases {
		s := nn.NewScope(G.NewGraph(), nn.NewParams(1), true)
		var out *G.Node
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: Build panicked: %v", c.name, r)
				}
			}()
			out = c.b.Build(s, c.x(s.Graph()))
		}()
		if out != nil || s.Err() == nil {
			t.Errorf("%s: Build returned %v, error %v", c.name, out, s.Err())
			continue
		}
		if !strings.Contains(s.Err().Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, s.Err(), c.want)
		}
	}

	// A second build on the same Params with another channel count meets the stem's shape.
	ps := nn.NewParams(1)
	b := Must(ResNetV1(8))
	s := nn.NewScope(G.NewGraph(), ps, true)
	b.Build(s, f32(2, 3, 8, 8)(s.Graph()))
	s2 := nn.NewScope(G.NewGraph(), ps, false)
	if b.Build(s2, f32(2, 1, 8, 8)(s2.Graph())) != nil || s2.Err() == nil || !strings.Contains(s2.Err().Error(), "stem/conv/kernel") {
		t.Errorf("a 1-channel build on 3-channel weights: error %v", s2.Err())
	}
	// A scope that has failed already makes Build a no-op.
	s3 := nn.NewScope(G.NewGraph(), nn.NewParams(1), true)
	s3.Fail(errString("earlier"))
	if b.Build(s3, f32(2, 3, 8, 8)(s3.Graph())) != nil || !strings.Contains(s3.Err().Error(), "earlier") {
		t.Errorf("build on a failed scope: error %v", s3.Err())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestFromNameRebuildsEveryName(t *testing.T) {
	for _, b := range []ssl.Backbone{
		Must(ResNetV1(20)), Must(ResNetV1(32, BaseFilters(8))), Must(ResNetV2(11)), Must(ResNet50V2()),
		Must(ResNet50V2(BaseFilters(16))), Must(ConvNet()), Must(ConvNet(Filters(8, 16))), Must(Conv4x128()), Must(Conv4x128()),
	} {
		got, err := FromName(b.Name())
		if err != nil {
			t.Fatalf("FromName(%q): %v", b.Name(), err)
		}
		if got.Name() != b.Name() {
			t.Fatalf("FromName(%q) built %q", b.Name(), got.Name())
		}
	}
	for name, want := range map[string]string{"resnet20": "resnet20v1", "convnet:4-8": "convnet-4-8"} {
		if got, err := FromName(name); err != nil || got.Name() != want {
			t.Fatalf("FromName(%q) = %v, %v; want %s", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "vgg16", "resnet21", "resnetXv1", "resnet20v1-wX", "convnet:4-x"} {
		if _, err := FromName(bad); err == nil {
			t.Fatalf("FromName(%q) did not fail", bad)
		}
	}
}

func TestConv4x128RefusesTooSmallInputs(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 3, 16, 16), tensor.Of(tensor.Float32)), G.WithName("x"))
	s := nn.NewScope(g, nn.NewParams(1), true)
	if f := Must(Conv4x128()).Build(s, x); f != nil || s.Err() == nil || !strings.Contains(s.Err().Error(), "at least 31x31") {
		t.Fatalf("16x16 input: features %v, error %v; want an error naming the minimum size", f, s.Err())
	}
	if _, err := Conv4x128(BaseFilters(8)); err == nil {
		t.Fatal("Conv4x128 accepted BaseFilters")
	}
}
