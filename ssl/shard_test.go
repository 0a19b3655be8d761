package ssl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// The grid run as 3 shards, one after another on a shared checkpoint directory, then
// gathered, gives the numbers of a single Evaluate; each shard trains exactly its runs
// (grid index modulo 3); Gather before the shards lists every run as missing.
func TestShardsGatherToTheSingleEvaluation(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	ref, err := f.evaluate(ctx, f.pipeline())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// Before pretraining: a shard and Gather fail clearly, training nothing.
	steps := 0
	count := ssl.OnProgress(func(ssl.Progress) { steps++ })
	_, err = f.evaluate(ctx, f.pipeline(ssl.CheckpointDir(dir), ssl.Shard(0, 3), count))
	if !errors.Is(err, ssl.ErrNotPretrained) || !strings.Contains(err.Error(), ssl.PretrainResultFile) {
		t.Fatalf("shard before pretraining: %v, want ErrNotPretrained naming %s", err, ssl.PretrainResultFile)
	}
	if _, err := f.pipeline(ssl.CheckpointDir(dir)).Gather(ctx, f.pool, f.test, f.budgets); !errors.Is(err, ssl.ErrNotPretrained) {
		t.Fatalf("Gather before pretraining: %v, want ErrNotPretrained", err)
	}
	if steps != 0 {
		t.Fatalf("%d steps trained before pretraining was there", steps)
	}
	if _, err := f.pipeline(ssl.CheckpointDir(dir), count).Encoder(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := f.pipeline(ssl.CheckpointDir(dir)).Gather(ctx, f.pool, f.test, f.budgets)
	if err != nil {
		t.Fatal(err)
	}
	if g.Complete || len(g.Runs) != 0 || len(g.Missing) != len(ref.Runs) || g.Pretrain == nil {
		t.Fatalf("Gather after pretraining only: complete %v, %d runs, %d missing (want %d), pretrain %v", g.Complete, len(g.Runs), len(g.Missing), len(ref.Runs), g.Pretrain)
	}
	var md strings.Builder
	if err := g.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "Missing runs") || !strings.Contains(md.String(), "SL n_labels=16 run 0 (grid index 0)") {
		t.Fatalf("the Markdown of a partial gathering does not list the missing runs (%v):\n%s", err, md.String())
	}

	// The shards: each trains its runs and only those.
	for i := range 3 {
		trained := map[string]bool{}
		p := f.pipeline(ssl.CheckpointDir(dir), ssl.Shard(i, 3), ssl.OnProgress(func(p ssl.Progress) {
			if p.Stage == "pretrain" {
				t.Errorf("shard %d trained pretraining", i)
			}
			trained[runName(p.Stage, p.NLabels, p.Run)] = true
		}))
		rep, err := f.evaluate(ctx, p)
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		var want []string
		for k, r := range ref.Runs {
			if k%3 == i {
				want = append(want, runName(r.Method, r.NLabels, r.Run))
			}
		}
		var got []string
		for _, r := range rep.Runs {
			got = append(got, runName(r.Method, r.NLabels, r.Run))
			if !trained[runName(r.Method, r.NLabels, r.Run)] {
				t.Errorf("shard %d: run %s was not trained by it", i, runName(r.Method, r.NLabels, r.Run))
			}
		}
		if !reflect.DeepEqual(got, want) || len(trained) != len(want) || !rep.Complete || len(rep.Missing) != 0 {
			t.Fatalf("shard %d ran %v (trained %d), want %v; complete %v, missing %v", i, got, len(trained), want, rep.Complete, rep.Missing)
		}
	}
	g, err = f.pipeline(ssl.CheckpointDir(dir)).Gather(ctx, f.pool, f.test, f.budgets)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Complete || len(g.Missing) != 0 {
		t.Fatalf("gathered after all shards: complete %v, missing %v", g.Complete, g.Missing)
	}
	equalNumbers(t, "3 shards gathered against one Evaluate", numbersOf(ref), numbersOf(g))
	for i := range ref.Runs {
		a, b := ref.Runs[i], g.Runs[i]
		a.Seconds, b.Seconds = 0, 0
		for e := range a.Epochs {
			if a.Epochs[e].Loss != b.Epochs[e].Loss || a.Epochs[e].Accuracy != b.Epochs[e].Accuracy {
				t.Fatalf("run %d epoch %d: %+v against %+v", i, e, a.Epochs[e], b.Epochs[e])
			}
		}
	}
	if ref.Budgets[0] != g.Budgets[0] || !reflect.DeepEqual(ref.Methods, g.Methods) || ref.Task != g.Task || ref.Classes != g.Classes {
		t.Errorf("gathered report's header differs: %+v against %+v", g, ref)
	}
	// A shard run again reads its runs back and trains nothing.
	steps = 0
	if rep, err := f.evaluate(ctx, f.pipeline(ssl.CheckpointDir(dir), ssl.Shard(1, 3), count)); err != nil || steps != 0 || len(rep.Runs) == 0 {
		t.Fatalf("shard 1 again: %v, %d steps", err, steps)
	}
	// Gather writes nothing: the directory is unchanged.
	before := listDir(t, dir)
	if _, err := f.pipeline(ssl.CheckpointDir(dir)).Gather(ctx, f.pool, f.test, f.budgets); err != nil {
		t.Fatal(err)
	}
	if after := listDir(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("Gather changed the directory:\n%v\n%v", before, after)
	}
}

func runName(method string, nl, r int) string { return fmt.Sprintf("%s n=%d run %d", method, nl, r) }

func listDir(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out[path] = info.Size() + info.ModTime().UnixNano()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Selecting runs is checked before any training: a bad Shard, a nil SelectRuns, a
// selection without a CheckpointDir.
func TestShardOptionErrors(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	for _, c := range []struct {
		opts []ssl.Option
		want string
	}{
		{[]ssl.Option{ssl.CheckpointDir(t.TempDir()), ssl.Shard(3, 3)}, "Shard: index 3 of 3"},
		{[]ssl.Option{ssl.CheckpointDir(t.TempDir()), ssl.Shard(0, 0)}, "Shard: count 0"},
		{[]ssl.Option{ssl.CheckpointDir(t.TempDir()), ssl.SelectRuns(nil)}, "SelectRuns: nil function"},
		{[]ssl.Option{ssl.Shard(0, 2)}, "needs a CheckpointDir"},
	} {
		err := f.pipeline(c.opts...).Check(ctx, f.pool, f.test, f.budgets)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
	if _, err := f.pipeline().Gather(ctx, f.pool, f.test, f.budgets); err == nil || !strings.Contains(err.Error(), "no CheckpointDir") {
		t.Errorf("Gather without a CheckpointDir: %v", err)
	}
}
