package nn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/internal/exec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refCase is one case of testdata/contrastive_losses.json (gen_contrastive_losses.py).
type refCase struct {
	Name   string `json:"name"`
	Inputs map[string]struct {
		Shape []int     `json:"shape"`
		Data  []float32 `json:"data"`
	} `json:"inputs"`
	Params map[string]float32   `json:"params"`
	Loss   float64              `json:"loss"`
	Grads  map[string][]float64 `json:"grads"`
	Index  []int                `json:"index"`
}

func loadRefCases(t *testing.T) map[string]refCase {
	t.Helper()
	b, err := os.ReadFile("testdata/contrastive_losses.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []refCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("testdata/contrastive_losses.json: %v", err)
	}
	m := make(map[string]refCase)
	for _, c := range f.Cases {
		m[c.Name] = c
	}
	return m
}

// closeRel reports whether got is within tol of want relative to |want|, with a floor of
// 1% of the largest magnitude in the vector (gradient entries near zero).
func closeRel(got []float32, want []float64, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	var big float64
	for _, w := range want {
		big = math.Max(big, math.Abs(w))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > tol*math.Max(math.Abs(w), 0.01*big) || math.IsNaN(d) {
			return fmt.Errorf("[%d] = %v, want %v", i, got[i], w)
		}
	}
	return nil
}

// TestContrastiveLossesAgainstPyTorch builds each loss with this package, differentiates
// it, runs it on the project's executor and compares the loss and the input gradients
// with PyTorch's (relative 1e-4).
func TestContrastiveLossesAgainstPyTorch(t *testing.T) {
	cases := loadRefCases(t)
	builds := map[string]func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node{
		"supcon-2views": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return SupConLoss(s, in["z"], in["labels"], p["t"])
		},
		"supcon-lonely": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return SupConLoss(s, in["z"], in["labels"], p["t"])
		},
		"barlow": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return BarlowTwinsLoss(s, in["z1"], in["z2"], p["lam"])
		},
		"vicreg": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return VICRegLoss(s, in["z1"], in["z2"], p["sim_w"], p["var_w"], p["cov_w"])
		},
		"infonce": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return InfoNCE(s, in["q"], in["k"], in["queue"], p["t"])
		},
		"diagonal-ce": func(s *Scope, in map[string]*G.Node, p map[string]float32) *G.Node {
			return DiagonalCrossEntropy(s, in["a"], in["b"], p["t"])
		},
	}
	for name, build := range builds {
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("no case %q in testdata/contrastive_losses.json", name)
			}
			s := NewScope(G.NewGraph(), NewParams(1), true)
			in := make(map[string]*G.Node)
			for k, v := range c.Inputs {
				in[k] = input(s.Graph(), k, slices.Clone(v.Data), v.Shape...)
			}
			loss := build(s, in, c.Params)
			if s.Err() != nil {
				t.Fatal(s.Err())
			}
			var names []string
			var wrt G.Nodes
			for k := range c.Grads {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				wrt = append(wrt, in[k])
			}
			grads, err := G.Grad(loss, wrt...)
			if err != nil {
				t.Fatal(err)
			}
			m, err := exec.New(s.Graph(), exec.Outputs(append(G.Nodes{loss}, grads...)...))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := m.Scalar(loss)
			if err != nil {
				t.Fatal(err)
			}
			if err := closeRel([]float32{float32(got)}, []float64{c.Loss}, 1e-4); err != nil {
				t.Errorf("loss: %v", err)
			}
			for i, k := range names {
				g, err := m.Float32s(grads[i])
				if err != nil {
					t.Fatal(err)
				}
				if err := closeRel(g, c.Grads[k], 1e-4); err != nil {
					t.Errorf("d loss/d %s: %v", k, err)
				}
			}
		})
	}
}

func TestNearestNeighborAgainstPyTorch(t *testing.T) {
	c := loadRefCases(t)["nearest"]
	s := NewScope(G.NewGraph(), NewParams(1), true)
	zi, si := c.Inputs["z"], c.Inputs["support"]
	z := input(s.Graph(), "z", zi.Data, zi.Shape...)
	sup := input(s.Graph(), "support", si.Data, si.Shape...)
	y := NearestNeighbor(s, z, sup)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	m, err := exec.New(s.Graph(), exec.Outputs(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := m.Float32s(y)
	if err != nil {
		t.Fatal(err)
	}
	d := zi.Shape[1]
	for i, j := range c.Index {
		if !slices.Equal(got[i*d:(i+1)*d], si.Data[j*d:(j+1)*d]) {
			t.Errorf("row %d: got %v, want support row %d", i, got[i*d:(i+1)*d], j)
		}
	}
}

// TestRowsLayers: SplitRows of a two-view batch gives the views, and a loss on them
// differentiates back into the batch (the gradient of a row block lands in its rows).
func TestRowsLayers(t *testing.T) {
	s := NewScope(G.NewGraph(), NewParams(1), true)
	data := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	x := input(s.Graph(), "x", data, 4, 3)
	views := SplitRows(s, x, 2)
	mid := Rows(s, x, 1, 3)
	if s.Err() != nil || len(views) != 2 {
		t.Fatal(s.Err())
	}
	// loss = mean(view0) + 2·mean(mid): d/dx row r = [r<2]/6 + 2·[1<=r<3]/6.
	loss := Add(s, Mean(s, views[0]), Scale(s, Mean(s, mid), 2))
	grads, err := G.Grad(loss, x)
	if err != nil {
		t.Fatal(err)
	}
	m, err := exec.New(s.Graph(), exec.Outputs(views[0], views[1], loss, grads[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for v, want := range [][]float32{data[:6], data[6:]} {
		got, _ := m.Float32s(views[v])
		if !slices.Equal(got, want) {
			t.Errorf("view %d = %v, want %v", v, got, want)
		}
	}
	g, _ := m.Float32s(grads[0])
	for r := range 4 {
		want := float32(0)
		if r < 2 {
			want += 1.0 / 6
		}
		if r >= 1 && r < 3 {
			want += 2.0 / 6
		}
		for j := range 3 {
			if math.Abs(float64(g[r*3+j]-want)) > 1e-7 {
				t.Fatalf("grad row %d = %v, want %v", r, g[r*3:r*3+3], want)
			}
		}
	}
	if st := m.Stats(); st.Views < 2 {
		t.Errorf("the row blocks are not views: %+v", st)
	}
}

func TestContrastiveLossErrors(t *testing.T) {
	g := G.NewGraph()
	a := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithName("a"))
	b := G.NewMatrix(g, tensor.Float32, G.WithShape(5, 3), G.WithName("b"))
	q := G.NewMatrix(g, tensor.Float32, G.WithShape(7, 2), G.WithName("q"))
	one := G.NewMatrix(g, tensor.Float32, G.WithShape(1, 3), G.WithName("one"))
	lab := G.NewVector(g, tensor.Float32, G.WithShape(5), G.WithName("lab"))
	cases := []struct {
		name, want string
		build      func(s *Scope) *G.Node
	}{
		{"supcon labels", "labels", func(s *Scope) *G.Node { return SupConLoss(s, a, lab, 0.1) }},
		{"supcon temperature", "temperature", func(s *Scope) *G.Node { return SupConLoss(s, b, lab, 0) }},
		{"barlow shapes", "[N,D]", func(s *Scope) *G.Node { return BarlowTwinsLoss(s, a, b, 0.005) }},
		{"vicreg one row", "at least 2", func(s *Scope) *G.Node { return VICRegLoss(s, one, one, 25, 25, 1) }},
		{"infonce queue", "queue", func(s *Scope) *G.Node { return InfoNCE(s, a, a, q, 0.2) }},
		{"nearest width", "support", func(s *Scope) *G.Node { return NearestNeighbor(s, a, q) }},
		{"diagonal shapes", "[N,D]", func(s *Scope) *G.Node { return DiagonalCrossEntropy(s, a, b, 0.1) }},
		{"rows range", "outside", func(s *Scope) *G.Node { return Rows(s, a, 2, 9) }},
		{"split", "equal parts", func(s *Scope) *G.Node {
			if v := SplitRows(s, b, 2); v != nil {
				return v[0]
			}
			return nil
		}},
	}
	for _, c := range cases {
		s := NewScope(g, NewParams(1), true).In(c.name)
		if y := c.build(s); y != nil || s.Err() == nil || !strings.Contains(s.Err().Error(), c.want) {
			t.Errorf("%s: node %v, err %v; want nil and an error mentioning %q", c.name, y, s.Err(), c.want)
		}
	}
}
