package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchPrintsItsFields(t *testing.T) {
	var out, errb bytes.Buffer
	err := dispatch(context.Background(), []string{"bench", "--model", "resnet8", "--batch", "4", "--steps", "2", "--warmup", "1"}, &out, &errb)
	if err != nil {
		t.Fatalf("bench: %v (%s)", err, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("bench printed %q, not one JSON object: %v", out.String(), err)
	}
	for _, k := range []string{"train_img_per_s", "eval_img_per_s", "peak_rss_bytes", "params", "trainable_params"} {
		v, ok := m[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, m[k])
		}
	}
	if m["model"] != "resnet8" {
		t.Errorf("model = %v", m["model"])
	}
	// The executor's layout of a training step stays close to the values live at once
	// (recycling whole buffers in execution order planned 1.6x for this graph).
	planned, live := m["planned_bytes"].(float64), m["peak_live_bytes"].(float64)
	if live <= 0 || planned < live || planned > 1.1*live {
		t.Errorf("planned %v bytes for %v bytes live at once: want between 1x and 1.1x", planned, live)
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--batch", "0"},
		{"bench", "--model", "resnet21"},
		{"bench", "--model", "vgg"},
		{"bench", "--model", "convnet", "--peer"},
		{"bench", "--model", "resnet56v2", "--peer"},
		{"bench", "--size", "0"},
	} {
		var out, errb bytes.Buffer
		err := dispatch(context.Background(), args, &out, &errb)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if !strings.Contains(err.Error(), "bench") && !strings.Contains(err.Error(), "depth") {
			t.Errorf("%v: error %q does not say what is wrong", args, err)
		}
	}
}

func TestBenchTaskRunsThePipeline(t *testing.T) {
	for _, task := range []string{"simclr", "byol"} {
		var out, errb bytes.Buffer
		err := dispatch(context.Background(), []string{"bench", "--task", task, "--batch", "4", "--steps", "2", "--augmented"}, &out, &errb)
		if err != nil {
			t.Fatalf("bench --task %s: %v (%s)", task, err, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("bench --task %s printed %q, not one JSON object: %v", task, out.String(), err)
		}
		if v, ok := m["img_per_s"].(float64); !ok || v <= 0 {
			t.Errorf("%s: img_per_s = %v, want a positive number", task, m["img_per_s"])
		}
		if name, _ := m["task"].(string); !strings.HasPrefix(name, task) || strings.Contains(name, "identity") {
			t.Errorf("--task %s --augmented measured task %q", task, name)
		}
	}
	var out, errb bytes.Buffer
	if err := dispatch(context.Background(), []string{"bench", "--task", "rotation"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "simclr, simsiam or byol") {
		t.Fatalf("--task rotation: %v", err)
	}
}

func TestPeerModelName(t *testing.T) {
	for name, want := range map[string]string{
		"resnet20": "resnet20", "resnet56v1": "resnet56", "resnet50v2": "resnet50v2", "conv4x128": "conv4x128",
		"resnet56v2": "", "convnet": "", "convnet:8-16": "", "resnet20-w32": "", "resnet50v2-w32": "",
	} {
		bb, err := parseModel(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := peerModelName(bb); got != want {
			t.Errorf("peerModelName(%s) = %q, want %q", name, got, want)
		}
	}
}

// TestBenchRunsThePeerBeside runs bench --peer with a stand-in for peer_backbones.py (a
// shell script that echoes its --model and --size), at a size other than 32.
func TestBenchRunsThePeerBeside(t *testing.T) {
	script := filepath.Join(t.TempDir(), "peer_backbones.sh")
	body := `#!/bin/sh
m=; s=
while [ $# -gt 0 ]; do case "$1" in --model) m=$2;; --size) s=$2;; esac; shift; done
sleep 0.1
echo "{\"peer\": \"pytorch\", \"model\": \"$m\", \"version\": \"0\", \"size\": $s, \"train_img_per_s\": 1000.0, \"eval_img_per_s\": 2000.0}"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := dispatch(context.Background(), []string{"bench", "--model", "conv4x128", "--size", "40", "--batch", "2", "--steps", "1", "--warmup", "0",
		"--peer", "--python", "/bin/sh", "--peer-script", script}, &out, &errb)
	if err != nil {
		t.Fatalf("bench: %v (%s)", err, errb.String())
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench printed %q: %v", out.String(), err)
	}
	if res.Size != 40 || res.PeerTrainImgPerS != 1000 || res.PeerEvalImgPerS != 2000 || !strings.Contains(res.Peer, "--model conv4x128") {
		t.Errorf("result %+v", res)
	}
	// The shell's own peak, not ours (which the child's rusage would report).
	if res.PeerPeakRSSBytes <= 0 || res.PeerPeakRSSBytes >= res.PeakRSSBytes/2 {
		t.Errorf("peer peak RSS %d bytes, ours %d: want the small shell's own", res.PeerPeakRSSBytes, res.PeakRSSBytes)
	}
	if want := round3(res.TrainImgPerS / 1000); res.TrainRatio != want {
		t.Errorf("train_ratio %v, want %v", res.TrainRatio, want)
	}
	if want := round3(res.EvalImgPerS / 2000); res.EvalRatio != want {
		t.Errorf("eval_ratio %v, want %v", res.EvalRatio, want)
	}
}
