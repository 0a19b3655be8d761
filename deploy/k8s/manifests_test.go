// Package k8s holds the Kubernetes recipe of the experiment grid (pvc.yaml,
// pretrain-job.yaml, shards-job.yaml, report-job.yaml) and its test, which decodes the
// manifests strictly into the Kubernetes API types (k8s.io/api) and checks that the
// stages fit together. It is a module of its own, so that the library does not depend
// on k8s.io/api: cd deploy/k8s && go test ./...
package k8s

import (
	"os"
	"slices"
	"strconv"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decode reads path strictly into v: an unknown or misspelt field is an error.
func decode(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// job decodes a Job manifest and checks what every stage needs: kind and version, one
// container running selfsup STAGE with --out under the shared claim's mount.
func job(t *testing.T, path, stage string) (*batchv1.Job, *corev1.Container) {
	t.Helper()
	var j batchv1.Job
	decode(t, path, &j)
	if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Name == "" {
		t.Fatalf("%s: apiVersion %q kind %q name %q, want a named batch/v1 Job", path, j.APIVersion, j.Kind, j.Name)
	}
	ps := j.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", path, len(ps.Containers))
	}
	switch ps.RestartPolicy {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		t.Errorf("%s: restartPolicy %q; a Job's Pods need OnFailure or Never", path, ps.RestartPolicy)
	}
	c := &ps.Containers[0]
	if len(c.Command) < 2 || c.Command[0] != "selfsup" || c.Command[1] != stage {
		t.Fatalf("%s: command %q, want selfsup %s ...", path, c.Command, stage)
	}
	if c.Image == "" {
		t.Errorf("%s: no image", path)
	}
	return &j, c
}

// flag returns the value of --name in args.
func flag(args []string, name string) (string, bool) {
	i := slices.Index(args, "--"+name)
	if i < 0 || i+1 >= len(args) {
		return "", false
	}
	return args[i+1], true
}

// claimMount returns the claim and the path its volume is mounted at in j's container.
func claimMount(t *testing.T, j *batchv1.Job, c *corev1.Container) (claim, mount string) {
	t.Helper()
	for _, v := range j.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				return v.PersistentVolumeClaim.ClaimName, m.MountPath
			}
		}
	}
	t.Fatalf("job %s mounts no persistent volume claim", j.Name)
	return "", ""
}

// The three Jobs decode strictly as batch/v1 Jobs and fit together: the shards are an
// Indexed Job whose SELFSUP_SHARDS equals its completions (selfsup shard reads
// JOB_COMPLETION_INDEX, which Kubernetes sets in Indexed mode, and the count from
// SELFSUP_SHARDS); every stage mounts the claim of pvc.yaml at the same path and uses the
// same --out on it; only pretraining takes the experiment's settings (the others read
// them from --out); the shard index is not fixed by a --shard flag.
func TestManifests(t *testing.T) {
	var pvc corev1.PersistentVolumeClaim
	decode(t, "pvc.yaml", &pvc)
	if pvc.Kind != "PersistentVolumeClaim" || !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Fatalf("pvc.yaml: kind %q, access modes %v; the shards on several nodes need ReadWriteMany", pvc.Kind, pvc.Spec.AccessModes)
	}

	pre, preC := job(t, "pretrain-job.yaml", "pretrain")
	sh, shC := job(t, "shards-job.yaml", "shard")
	rep, repC := job(t, "report-job.yaml", "report")

	s := sh.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("shards-job.yaml: completionMode %v, want Indexed (it sets JOB_COMPLETION_INDEX)", s.CompletionMode)
	}
	if s.Completions == nil || *s.Completions < 1 {
		t.Fatalf("shards-job.yaml: completions %v, want the number of shards", s.Completions)
	}
	if s.Parallelism == nil || *s.Parallelism < 1 || *s.Parallelism > *s.Completions {
		t.Errorf("shards-job.yaml: parallelism %v, want 1..completions (%d)", s.Parallelism, *s.Completions)
	}
	shards := ""
	for _, e := range shC.Env {
		switch e.Name {
		case "SELFSUP_SHARDS":
			shards = e.Value
		case "JOB_COMPLETION_INDEX":
			t.Errorf("shards-job.yaml sets JOB_COMPLETION_INDEX itself; Kubernetes sets it per Pod")
		}
	}
	if n, err := strconv.Atoi(shards); err != nil || int32(n) != *s.Completions {
		t.Errorf("shards-job.yaml: SELFSUP_SHARDS %q, want the completions, %d", shards, *s.Completions)
	}
	if _, ok := flag(shC.Command, "shard"); ok {
		t.Errorf("shards-job.yaml: --shard fixes one shard for every Pod: %q", shC.Command)
	}

	claim, mount := claimMount(t, pre, preC)
	if claim != pvc.Name {
		t.Errorf("pretrain-job.yaml mounts claim %q, pvc.yaml is %q", claim, pvc.Name)
	}
	out, ok := flag(preC.Command, "out")
	if !ok || len(out) <= len(mount) || out[:len(mount)] != mount {
		t.Fatalf("pretrain-job.yaml: --out %q is not under the shared mount %q", out, mount)
	}
	for _, p := range []struct {
		file string
		j    *batchv1.Job
		c    *corev1.Container
	}{{"shards-job.yaml", sh, shC}, {"report-job.yaml", rep, repC}} {
		if cl, m := claimMount(t, p.j, p.c); cl != claim || m != mount {
			t.Errorf("%s mounts %q at %q, pretraining %q at %q", p.file, cl, m, claim, mount)
		}
		if o, _ := flag(p.c.Command, "out"); o != out {
			t.Errorf("%s: --out %q, pretraining writes %q", p.file, o, out)
		}
		for _, setting := range []string{"data", "task", "budgets", "runs", "pretrain-epochs", "finetune-epochs", "seed"} {
			if _, ok := flag(p.c.Command, setting); ok {
				t.Errorf("%s: --%s; the settings come from the pretrain stage's config.json", p.file, setting)
			}
		}
		if p.c.Image != preC.Image {
			t.Errorf("%s: image %q, pretraining %q", p.file, p.c.Image, preC.Image)
		}
	}
	if _, ok := flag(preC.Command, "budgets"); !ok {
		t.Errorf("pretrain-job.yaml: no --budgets; the experiment's settings belong to the pretrain stage")
	}
}
