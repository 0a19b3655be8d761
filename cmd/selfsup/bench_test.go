package main

import (
	"bytes"
	"context"
	"encoding/json"
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
}

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--batch", "0"},
		{"bench", "--model", "resnet21"},
		{"bench", "--model", "vgg"},
		{"bench", "--model", "convnet", "--peer"},
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
