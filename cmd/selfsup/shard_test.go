//go:build unix

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The scheduler's index: --shard, a SLURM array task (ids from 0 or from MIN, in steps),
// a Kubernetes Indexed Job (index and completions); anything inconsistent is an error
// naming the variable or flag.
func TestShardOf(t *testing.T) {
	for _, c := range []struct {
		flag   string
		shards int
		env    map[string]string
		i, n   int
		err    string
	}{
		{flag: "1/3", i: 1, n: 3},
		{flag: "2/3", env: map[string]string{envSlurmID: "0", envSlurmCount: "3"}, i: 2, n: 3},
		{flag: "3/3", err: "--shard"},
		{flag: "x", err: "--shard"},
		{env: map[string]string{envSlurmID: "2", envSlurmCount: "3", envSlurmMin: "0", envSlurmMax: "2"}, i: 2, n: 3},
		{env: map[string]string{envSlurmID: "5", envSlurmCount: "3", envSlurmMin: "4", envSlurmMax: "6"}, i: 1, n: 3},
		{env: map[string]string{envSlurmID: "7", envSlurmCount: "3", envSlurmMin: "3", envSlurmMax: "7", envSlurmStep: "2"}, i: 2, n: 3},
		{env: map[string]string{envSlurmID: "4", envSlurmCount: "3", envSlurmMin: "3", envSlurmMax: "7", envSlurmStep: "2"}, err: "regular range"},
		{env: map[string]string{envSlurmID: "5", envSlurmCount: "3", envSlurmMin: "1", envSlurmMax: "9"}, err: "regular range"},
		{env: map[string]string{envSlurmID: "1"}, err: envSlurmCount},
		{env: map[string]string{envK8sIndex: "2", envShards: "3"}, i: 2, n: 3},
		{shards: 4, env: map[string]string{envK8sIndex: "3", envShards: "3"}, i: 3, n: 4},
		{env: map[string]string{envK8sIndex: "3", envShards: "3"}, err: "below the 3 shards"},
		{env: map[string]string{envK8sIndex: "0"}, err: envShards},
		{env: map[string]string{envK8sIndex: "a", envShards: "3"}, err: envK8sIndex},
		{err: "no shard given"},
	} {
		i, n, _, err := shardOf(c.flag, c.shards, func(k string) string { return c.env[k] })
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q %d %v: got %d/%d, %v; want an error naming %s", c.flag, c.shards, c.env, i, n, err, c.err)
		case c.err == "" && (err != nil || i != c.i || n != c.n):
			t.Errorf("%q %d %v: got %d/%d, %v; want %d/%d", c.flag, c.shards, c.env, i, n, err, c.i, c.n)
		}
	}
}

// The default experiment (tiny settings) as stages in separate processes: pretrain, 3
// shards at once, report, gives the report of one "selfsup run" with the same seed,
// number for number (timings aside). A shard started before pretraining fails at once; a
// report with a shard killed (SIGKILL) mid-run lists its runs as missing; the killed shard
// run again continues and the report is the single process's again. No shard trains
// another shard's run.
func TestShardsInProcessesMatchTheSingleRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the experiment in 6 processes")
	}
	tmp := t.TempDir()
	settings := []string{"--pretrain-epochs", "1", "--finetune-epochs", "3", "--budgets", "50,100", "--runs", "2",
		"--limit-unlabeled", "1000", "--progress", "log", "--threads", "1"}
	ref := filepath.Join(tmp, "ref")
	if _, stderr, err := run(context.Background(), append(append([]string{"run"}, settings...), "--out", ref)...); err != nil {
		t.Fatalf("single run: %v\n%s", err, stderr)
	}
	out := filepath.Join(tmp, "grid")
	shard := func(i int, killInRun bool) session {
		return runChild(t, []string{"shard", "--out", out, "--progress", "log", "--threads", "1", "--shard", strings.Join([]string{string(rune('0' + i)), "3"}, "/")}, -1, killInRun)
	}
	// Before pretraining: no config, then (config but no pretraining) a clear refusal.
	if _, _, err := run(context.Background(), "shard", "--out", out, "--shard", "0/3"); err == nil || !strings.Contains(err.Error(), "selfsup pretrain --out") {
		t.Fatalf("shard before pretrain: %v", err)
	}
	if _, stderr, err := run(context.Background(), append(append([]string{"pretrain"}, settings...), "--out", out)...); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, stderr)
	}
	// A re-run pretrain job continues (here: finds it finished) instead of refusing --out.
	if _, stderr, err := run(context.Background(), append(append([]string{"pretrain"}, settings...), "--out", out)...); err != nil {
		t.Fatalf("pretrain again: %v\n%s", err, stderr)
	}

	// The 3 shards at once; shard 2 is killed as soon as one of its runs has finished an
	// epoch (it is then in flight).
	var wg sync.WaitGroup
	sessions := make([]session, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i] = shard(i, i == 2)
		}()
	}
	wg.Wait()
	for i, s := range sessions[:2] {
		if s.err != nil {
			t.Fatalf("shard %d: %v\n%s", i, s.err, s.log)
		}
	}
	if !sessions[2].killed {
		t.Fatalf("shard 2 was not killed: %v\n%s", sessions[2].err, sessions[2].log)
	}
	// Each shard trained runs of its own only: grid index g (budget, run, method order)
	// belongs to shard g mod 3.
	owner := map[string]int{}
	g := 0
	for _, nl := range []string{"50", "100"} {
		for _, r := range []string{"0", "1"} {
			for _, m := range []string{"SL", "SSL+SL"} {
				owner[m+" "+nl+" "+r] = g % 3
				g++
			}
		}
	}
	for i, s := range sessions {
		for stage := range s.first {
			if stage == "pretrain" || owner[stage] != i {
				t.Errorf("shard %d trained %s, which belongs to shard %d", i, stage, owner[stage])
			}
		}
	}
	_, stderr, err := run(context.Background(), "report", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("report with shard 2 killed: %v, want an error saying runs are missing\n%s", err, stderr)
	}
	if r := reportNumbers(t, out); r.Complete || len(r.Missing) == 0 {
		t.Fatalf("partial report: complete %v, missing %v", r.Complete, r.Missing)
	}
	if _, stderr, err := run(context.Background(), "report", "--out", out, "--partial"); err != nil {
		t.Fatalf("report --partial: %v\n%s", err, stderr)
	}

	// Shard 2 again: it continues its run in flight (no finished epoch is trained again).
	again := shard(2, false)
	if again.err != nil {
		t.Fatalf("shard 2 again: %v\n%s", again.err, again.log)
	}
	for stage, e := range sessions[2].done {
		if f, ok := again.first[stage]; ok && f <= e {
			t.Errorf("shard 2 trained %s from epoch %d again, though the killed session had finished epoch %d", stage, f+1, e+1)
		}
	}
	stdout, stderr, err := run(context.Background(), "report", "--out", out)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	got, want := reportNumbers(t, out), reportNumbers(t, ref)
	if !got.Complete || !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("the sharded report differs from the single run's:\n%s\nwant\n%s", gj, wj)
	}
	refMD, _ := os.ReadFile(filepath.Join(ref, reportMD))
	if a, b := accuracyTable(t, stdout), accuracyTable(t, string(refMD)); a != b {
		t.Errorf("accuracy tables differ:\n%s\nwant\n%s", a, b)
	}
	refPlots, _ := filepath.Glob(filepath.Join(ref, plotsDir, "*.png"))
	gotPlots, _ := filepath.Glob(filepath.Join(out, plotsDir, "*.png"))
	if len(refPlots) == 0 || len(gotPlots) != len(refPlots) {
		t.Errorf("the report stage wrote %d plots, the single run %d", len(gotPlots), len(refPlots))
	}
	if _, err := os.Stat(filepath.Join(out, reportCSV)); err != nil {
		t.Errorf("report stage: %v", err)
	}
}
