package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/selfsup/selfsup/ssl"
)

// The stages of a grid run on a cluster scheduler, each a process of its own over a
// shared --out: "selfsup pretrain", then any number of "selfsup shard" (at once, on any
// machines), then "selfsup report".
const (
	stageRun      = ""
	stagePretrain = "pretrain"
	stageShard    = "shard"
	stageReport   = "report"
)

// Environment variables a shard reads its index from.
const (
	envSlurmID    = "SLURM_ARRAY_TASK_ID"
	envSlurmCount = "SLURM_ARRAY_TASK_COUNT"
	envSlurmMin   = "SLURM_ARRAY_TASK_MIN"
	envSlurmMax   = "SLURM_ARRAY_TASK_MAX"
	envSlurmStep  = "SLURM_ARRAY_TASK_STEP"
	envK8sIndex   = "JOB_COMPLETION_INDEX"
	envShards     = "SELFSUP_SHARDS"
)

const pretrainUsage = `usage: selfsup pretrain [flags]

The first stage of a grid run on a cluster scheduler: pretrains the backbone of each --task
into --out (checkpoints/; config.json holds the settings every later stage reads). It takes
the flags of "selfsup run" and is "selfsup run --pretrain-only", except that a --out that
already holds this stage's config.json is continued (as with --resume), so that a
preempted or requeued job picks up where it stopped. Then run "selfsup shard" (any number
of times at once, on machines sharing --out) and "selfsup report".

Flags (those of selfsup run):
`

const shardUsage = `usage: selfsup shard --out DIR [--shard i/n] [flags]

Runs one shard of the downstream runs of the experiment whose settings "selfsup pretrain"
saved in --out, after its pretraining has finished (a shard without it fails at once,
training nothing). The grid is every (method, n_labels, run) of the report: the runs of the
first --task (SL, then SSL+SL, for each run of each budget in order), then the SSL+SL runs of
each further --task; grid index g belongs to shard g mod n. Shards write only their own
runs' files (checkpoints/runs/), so they run at once; a shard run again (preempted,
requeued, killed) reads its finished runs back and continues the others from their last
finished epoch. It writes no report: "selfsup report" merges the finished runs.

The shard is --shard i/n, else the scheduler's index:
  SLURM job array: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT shards; ids that do not
    start at 0 are counted from SLURM_ARRAY_TASK_MIN (in steps of SLURM_ARRAY_TASK_STEP)
  Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the Job's completions given as
    --shards N or SELFSUP_SHARDS=N

Flags:
`

const reportUsage = `usage: selfsup report --out DIR [flags]

Merges the downstream runs finished in --out (by "selfsup shard" or "selfsup run") into
report.md, report.csv, report.json and plots/, the files "selfsup run" writes, prints the
table and lists the runs still missing. It trains nothing and changes no checkpoint. With
runs missing it writes the partial report and exits with status 1, unless --partial.

Flags:
`

// stageOptions are the flags of "selfsup shard" and "selfsup report".
type stageOptions struct {
	shard   string
	shards  int
	partial bool
	data    string
}

// parseStageArgs parses the flags of "selfsup shard" or "selfsup report" and reads the
// settings saved in --out by "selfsup pretrain".
func parseStageArgs(stage string, args []string, stderr io.Writer) (runConfig, runOptions, stageOptions, error) {
	o := runOptions{out: defaultOut, progress: progressAuto, resume: true, stage: stage}
	var so stageOptions
	fs := flag.NewFlagSet(stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", o.out, "the results directory shared by the stages (config.json and checkpoints/ written by selfsup pretrain)")
	fs.StringVar(&so.data, "data", "", "the data, when this machine reaches it by another path than the one saved in config.json (the images must be the same: their content hash is checked)")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: all)")
	usage := reportUsage
	if stage == stageShard {
		usage = shardUsage
		fs.StringVar(&so.shard, "shard", "", "i/n: run shard i (0-based) of n; default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
		fs.IntVar(&so.shards, "shards", 0, "the number of shards of a Kubernetes Indexed Job (its completions), for JOB_COMPLETION_INDEX (default: SELFSUP_SHARDS)")
		fs.StringVar(&o.progress, "progress", o.progress, "auto (a progress bar on a terminal, log lines otherwise), bar or log")
	} else {
		fs.BoolVar(&so.partial, "partial", false, "exit with status 0 even when runs are missing")
		o.progress = progressLog
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return runConfig{}, o, so, err
	}
	if fs.NArg() > 0 {
		return runConfig{}, o, so, &usageError{fmt.Sprintf("%s: unexpected argument %q (flags only; see selfsup %s -h)", stage, fs.Arg(0), stage)}
	}
	if o.out == "" {
		return runConfig{}, o, so, errors.New("--out: empty directory name")
	}
	cfg, err := readConfig(filepath.Join(o.out, configFile))
	if err != nil {
		return cfg, o, so, fmt.Errorf("--out %s: %w; run selfsup pretrain --out %s first", o.out, err, o.out)
	}
	if cfg.PretrainOnly {
		cfg.PretrainOnly = false
	}
	if so.data != "" {
		cfg.Data = so.data
	}
	return cfg, o, so, nil
}

// runPretrain is "selfsup pretrain".
func runPretrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stderr, pretrainUsage)
			cfg, o := runConfig{}, runOptions{}
			fs := flag.NewFlagSet("pretrain", flag.ContinueOnError)
			fs.SetOutput(stderr)
			bindRunFlags(fs, &cfg, &o)
			fs.PrintDefaults()
			return flag.ErrHelp
		}
	}
	cfg, o, err := parseRunArgs(args, stderr)
	if err != nil {
		return err
	}
	if !o.resume {
		if _, err := os.Stat(filepath.Join(o.out, configFile)); err == nil {
			// A requeued job: continue it, with the flags given (which must fit).
			if cfg, o, err = parseRunArgs(append(append([]string(nil), args...), "--resume"), stderr); err != nil {
				return err
			}
		}
	}
	if cfg.Pretrained != "" {
		return fmt.Errorf("--pretrained %s: there is nothing to pretrain; give the file to selfsup run", cfg.Pretrained)
	}
	cfg.PretrainOnly = true
	o.stage = stagePretrain
	return execute(ctx, cfg, o, stageOptions{}, stdout, stderr)
}

// runShard is "selfsup shard".
func runShard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, o, so, err := parseStageArgs(stageShard, args, stderr)
	if err != nil {
		return err
	}
	return execute(ctx, cfg, o, so, stdout, stderr)
}

// runReport is "selfsup report".
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, o, so, err := parseStageArgs(stageReport, args, stderr)
	if err != nil {
		return err
	}
	return execute(ctx, cfg, o, so, stdout, stderr)
}

// shardOf returns the shard a process runs, i of n, and where it came from: --shard
// ("i/n"), else a SLURM array task's environment, else a Kubernetes Indexed Job's
// (JOB_COMPLETION_INDEX, with shards or SELFSUP_SHARDS for n). getenv reads the
// environment.
func shardOf(flagShard string, shards int, getenv func(string) string) (i, n int, from string, err error) {
	if flagShard != "" {
		is, ns, ok := strings.Cut(flagShard, "/")
		i, err1 := strconv.Atoi(is)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
			return 0, 0, "", &usageError{fmt.Sprintf("--shard %q: want i/n with 0 <= i < n, e.g. 0/3", flagShard)}
		}
		return i, n, "--shard", nil
	}
	if shards < 0 {
		return 0, 0, "", &usageError{fmt.Sprintf("--shards %d: want a positive count", shards)}
	}
	atoi := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%q: not a whole number", name, v)
		}
		return n, nil
	}
	if getenv(envSlurmID) != "" {
		id, err := atoi(envSlurmID, 0)
		if err != nil {
			return 0, 0, "", err
		}
		count, err := atoi(envSlurmCount, 0)
		if err != nil {
			return 0, 0, "", err
		}
		if count < 1 {
			return 0, 0, "", fmt.Errorf("%s=%d but %s is not set: not a SLURM array task? pass --shard i/n", envSlurmID, id, envSlurmCount)
		}
		lo, err := atoi(envSlurmMin, 0)
		if err != nil {
			return 0, 0, "", err
		}
		step, err := atoi(envSlurmStep, 1)
		if err != nil {
			return 0, 0, "", err
		}
		step = max(step, 1)
		hi, err := atoi(envSlurmMax, lo+(count-1)*step)
		if err != nil {
			return 0, 0, "", err
		}
		if hi != lo+(count-1)*step || id < lo || id > hi || (id-lo)%step != 0 {
			return 0, 0, "", fmt.Errorf("SLURM array task %d of ids %d-%d:%d (%d tasks) is not one of a regular range of %d tasks; submit --array=0-%d, or pass --shard i/n",
				id, lo, hi, step, count, count, count-1)
		}
		i = (id - lo) / step
		return i, count, fmt.Sprintf("%s=%d of %s..%s=%d..%d (%s=%d)", envSlurmID, id, envSlurmMin, envSlurmMax, lo, hi, envSlurmCount, count), nil
	}
	if v := getenv(envK8sIndex); v != "" {
		i, err := atoi(envK8sIndex, 0)
		if err != nil {
			return 0, 0, "", err
		}
		from := "--shards"
		if shards == 0 {
			if shards, err = atoi(envShards, 0); err != nil {
				return 0, 0, "", err
			}
			from = envShards
		}
		if shards < 1 {
			return 0, 0, "", fmt.Errorf("%s=%d is set but not the number of shards: pass --shards N or set %s=N (the Indexed Job's completions)", envK8sIndex, i, envShards)
		}
		if i >= shards {
			return 0, 0, "", fmt.Errorf("%s=%d: want an index below the %d shards of %s; the Job's completions and %s must agree", envK8sIndex, i, shards, from, from)
		}
		return i, shards, fmt.Sprintf("%s=%d of %s=%d", envK8sIndex, i, from, shards), nil
	}
	return 0, 0, "", &usageError{"shard: no shard given: pass --shard i/n, or run as a SLURM array task (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"}
}

// gridOffsets returns the global grid index of the first run of each method's pipeline:
// the first (with SL) has 2 x perMethod runs, the others perMethod each.
func gridOffsets(methods, perMethod int) []int {
	out := make([]int, methods)
	off := 0
	for i := range out {
		out[i] = off
		if i == 0 {
			off += 2 * perMethod
		} else {
			off += perMethod
		}
	}
	return out
}

// expt is what the shard and report stages need of the experiment execute set up.
type expt struct {
	train, test ssl.Dataset
	budgets     ssl.LabelBudgets
	out, ckpt   string
	o           runOptions
	say         func(string, ...any)
	closeBar    func()
}

// shardRun runs the shard's runs (runs of them) of every pipeline.
func shardRun(ctx context.Context, pipes []*ssl.Pipeline, e *expt, i, n, runs int) error {
	t0 := time.Now()
	var err error
	got := 0
	for _, pipe := range pipes {
		var rep *ssl.Report
		rep, err = pipe.Evaluate(ctx, e.train, e.test, e.budgets)
		if rep != nil {
			got += len(rep.Runs)
		}
		if err != nil {
			break
		}
	}
	e.closeBar()
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			e.say("shard %d/%d interrupted: %d of its %d runs finished, kept in %s; run the same shard again to continue", i, n, got, runs, e.ckpt)
			return fmt.Errorf("interrupted after %s (%w)", time.Since(t0).Round(time.Second), context.Canceled)
		}
		return fmt.Errorf("shard %d/%d: %w", i, n, err)
	}
	e.say("shard %d/%d done in %s: its %d runs are finished in %s; selfsup report --out %s merges the finished runs of all shards",
		i, n, time.Since(t0).Round(time.Second), runs, e.ckpt, e.out)
	return nil
}

// reportRun gathers the finished runs of every pipeline and writes the report.
func reportRun(ctx context.Context, pipes []*ssl.Pipeline, names []string, e *expt, partial bool, stdout io.Writer) error {
	var parts []ssl.NamedReport
	for i, pipe := range pipes {
		rep, err := pipe.Gather(ctx, e.train, e.test, e.budgets)
		if err != nil {
			if errors.Is(err, ssl.ErrNotPretrained) {
				return fmt.Errorf("--out %s: %w; the pretrain stage has not finished", e.out, err)
			}
			return configError(err, e.o)
		}
		parts = append(parts, ssl.NamedReport{Name: names[i], Report: rep})
	}
	rep := parts[0].Report
	if len(parts) > 1 {
		var err error
		if rep, err = ssl.Combine(parts...); err != nil {
			return err
		}
	}
	files, werr := writeReport(e.out, rep)
	if err := rep.WriteMarkdown(stdout); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return werr
	}
	e.say("wrote %s", strings.Join(files, ", "))
	if n := len(rep.Missing); n > 0 {
		msg := fmt.Sprintf("%d of %d downstream runs are missing (listed in %s)", n, n+len(rep.Runs), filepath.Join(e.out, reportMD))
		if !partial {
			return errors.New(msg + "; run their shards again, or pass --partial")
		}
		e.say("%s", msg)
	}
	return nil
}
