package augment

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// refFile is testdata/reference.json (gen_reference.py).
type refFile struct {
	Versions map[string]string `json:"versions"`
	Inputs   []struct {
		C, H, W int
		Data    string `json:"data"`
	} `json:"inputs"`
	Cases []struct {
		Op     string         `json:"op"`
		Input  int            `json:"input"`
		Params map[string]any `json:"params"`
		Out    string         `json:"out"`
	} `json:"cases"`
	RRCFallback []struct {
		H, W                     int
		Scale, Ratio             [2]float64
		Top, Left, Height, Width int
	} `json:"rrc_fallback"`
}

func readReference(t *testing.T) *refFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref refFile
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("testdata/reference.json: %v", err)
	}
	if len(ref.Inputs) < 2 || len(ref.Cases) < 40 {
		t.Fatalf("testdata/reference.json: %d inputs, %d cases", len(ref.Inputs), len(ref.Cases))
	}
	return &ref
}

func decodeF32(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		t.Fatalf("bad base64 float32 array (%d bytes): %v", len(b), err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// refKernels applies the reference cases' fixed parameters through the package's
// deterministic kernels, by op name.
var refKernels = map[string]func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, ws *worker){
	"hflip": func(t *testing.T, _ map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		hflip(dst, src, c, h, w)
	},
	"padcrop": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		padCrop(dst, src, c, h, w, pint(t, p, "pad"), pint(t, p, "top"), pint(t, p, "left"))
	},
	"shift": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, ws *worker) {
		shift(dst, src, c, h, w, pfloat(t, p, "tx"), pfloat(t, p, "ty"), ws)
	},
	"rrc": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, ws *worker) {
		resizedCrop(dst, src, c, h, w, pint(t, p, "top"), pint(t, p, "left"), pint(t, p, "height"), pint(t, p, "width"), ws)
	},
	"brightness": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		adjustBrightness(dst, src, float32(pfloat(t, p, "factor")))
	},
	"contrast": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		adjustContrast(dst, src, h*w, float32(pfloat(t, p, "factor")))
	},
	"saturation": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		adjustSaturation(dst, src, h*w, float32(pfloat(t, p, "factor")))
	},
	"hue": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		adjustHue(dst, src, h*w, float32(pfloat(t, p, "factor")))
	},
	"jitter": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		raw, ok := p["order"].([]any)
		if !ok || len(raw) != 4 {
			t.Fatalf("jitter order %v", p["order"])
		}
		var order [4]int
		for i, v := range raw {
			order[i] = int(v.(float64))
		}
		fac := [4]float32{float32(pfloat(t, p, "brightness")), float32(pfloat(t, p, "contrast")),
			float32(pfloat(t, p, "saturation")), float32(pfloat(t, p, "hue"))}
		if !jitter(dst, src, h*w, order, [4]bool{true, true, true, true}, fac) {
			t.Fatal("jitter reported no change")
		}
	},
	"gray": func(t *testing.T, _ map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		grayscale(dst, src, h*w)
	},
	"blur": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		k := gaussianKernel(make([]float32, pint(t, p, "kernel")), pfloat(t, p, "sigma"))
		blur(dst, src, make([]float32, len(src)), c, h, w, k)
	},
	"solarize": func(t *testing.T, p map[string]any, dst, src []float32, c, h, w int, _ *worker) {
		solarize(dst, src, float32(pfloat(t, p, "threshold")))
	},
}

func pfloat(t *testing.T, p map[string]any, k string) float64 {
	t.Helper()
	v, ok := p[k].(float64)
	if !ok {
		t.Fatalf("reference parameter %q missing or not a number: %v", k, p[k])
	}
	return v
}

func pint(t *testing.T, p map[string]any, k string) int {
	v := pfloat(t, p, k)
	if v != math.Trunc(v) {
		t.Fatalf("reference parameter %q = %v, want an integer", k, v)
	}
	return int(v)
}

// TestReference applies every reference case's fixed parameters and compares with
// torchvision's (scipy's for the Keras shift) output: at most 1/255 per pixel.
func TestReference(t *testing.T) {
	ref := readReference(t)
	inputs := make([][]float32, len(ref.Inputs))
	for i, in := range ref.Inputs {
		inputs[i] = decodeF32(t, in.Data)
		if len(inputs[i]) != in.C*in.H*in.W {
			t.Fatalf("input %d: %d values for %dx%dx%d", i, len(inputs[i]), in.C, in.H, in.W)
		}
	}
	seen := map[string]int{}
	worstOf := map[string]float64{}
	ws := &worker{}
	for ci, cs := range ref.Cases {
		k, ok := refKernels[cs.Op]
		if !ok {
			t.Errorf("case %d: no kernel for op %q", ci, cs.Op)
			continue
		}
		in := ref.Inputs[cs.Input]
		src := inputs[cs.Input]
		want := decodeF32(t, cs.Out)
		if len(want) != len(src) {
			t.Fatalf("case %d (%s): %d output values, want %d", ci, cs.Op, len(want), len(src))
		}
		orig := append([]float32(nil), src...)
		got := make([]float32, len(src))
		for i := range got {
			got[i] = float32(math.NaN())
		}
		k(t, cs.Params, got, src, in.C, in.H, in.W, ws)
		worst, at := 0.0, 0
		for i := range got {
			d := math.Abs(float64(got[i]) - float64(want[i]))
			if !(d <= worst) { // NaN counts as worst
				worst, at = d, i
				if math.IsNaN(d) {
					worst = math.Inf(1)
				}
			}
		}
		if worst > 1.0/255 {
			t.Errorf("case %d: %s%v on input %d (%dx%dx%d): max |diff| %.3g at %d (got %v, want %v), want <= 1/255",
				ci, cs.Op, cs.Params, cs.Input, in.C, in.H, in.W, worst, at, got[at], want[at])
		}
		for i := range src {
			if src[i] != orig[i] {
				t.Fatalf("case %d (%s): the kernel wrote to its source", ci, cs.Op)
			}
		}
		seen[cs.Op]++
		worstOf[cs.Op] = max(worstOf[cs.Op], worst)
	}
	for op := range refKernels {
		if seen[op] == 0 {
			t.Errorf("no reference case for op %q", op)
		}
	}
	t.Logf("max |diff| per op: %v", worstOf)
	t.Logf("%d cases, ops %v, generated with %v", len(ref.Cases), seen, ref.Versions)
}
