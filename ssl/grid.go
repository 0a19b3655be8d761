package ssl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RunKey names one downstream run of a pipeline's grid.
//
// The grid of a pipeline is every (label budget, run, method) of an Evaluate, in the
// order of a report's Runs: the budgets in the order LabelBudgets.Sizes gives them, then
// the runs of each budget, then the methods in table order (MethodSL before MethodSSL).
// Index is the run's position in that order, from 0; it depends only on the budgets,
// their number of runs and the methods, so every process that builds the same pipeline
// numbers the grid the same way.
type RunKey struct {
	Method  string `json:"method"`
	NLabels int    `json:"n_labels"`
	Run     int    `json:"run"`
	Index   int    `json:"index"`
}

// String is "SL n_labels=50 run 1 (grid index 2)".
func (k RunKey) String() string {
	return fmt.Sprintf("%s n_labels=%d run %d (grid index %d)", k.Method, k.NLabels, k.Run, k.Index)
}

// ErrNotPretrained is matched (errors.Is) by the error of a pipeline that selects runs
// (Shard, SelectRuns) or gathers them (Gather) while its CheckpointDir holds no finished
// pretraining: pretraining is a stage of its own that must finish before the shards
// start, so that they never write the same file.
var ErrNotPretrained = errors.New("pretraining has not finished in the checkpoint directory")

// Shard makes Evaluate run only the downstream runs of shard index of count (0 <= index <
// count): the runs of the grid (see RunKey) whose Index modulo count is index. The runs
// are dealt round-robin, so every shard gets a share of every budget and method and the
// shards' sizes differ by at most one run. The count shards of a grid together run every
// run exactly once; each run's files carry the run's name, so two shards never write the
// same file, and a shard run again (say, a preempted job) reads back its finished runs
// and continues its others from their last finished epoch.
//
// A selecting pipeline needs a CheckpointDir, shared by the shards, in which pretraining
// (if the pipeline has Pretrain) has finished (run Pipeline.Encoder first, or an Evaluate
// without a selection); otherwise Evaluate fails before any training with an error
// matching ErrNotPretrained. The report of a shard holds its runs only; Gather merges the
// finished runs of all shards. Pipeline only.
func Shard(index, count int) Option {
	return Option{"Shard", pipelineOnly, func(c *config) error {
		if count < 1 {
			return fmt.Errorf("count %d: want at least 1", count)
		}
		if index < 0 || index >= count {
			return fmt.Errorf("index %d of %d: want 0 <= index < %d", index, count, count)
		}
		c.addSelection(func(k RunKey) bool { return k.Index%count == index })
		return nil
	}}
}

// SelectRuns makes Evaluate run only the downstream runs for which keep returns true, for
// a scheduler of one's own that deals the grid (see RunKey) out differently from Shard.
// keep must give the same answer for the same key every time. Several selections
// (SelectRuns, Shard) combine: a run is evaluated when every one keeps it. The
// requirements of Shard (a CheckpointDir holding finished pretraining) apply. Pipeline
// only.
func SelectRuns(keep func(RunKey) bool) Option {
	return Option{"SelectRuns", pipelineOnly, func(c *config) error {
		if keep == nil {
			return errors.New("nil function")
		}
		c.addSelection(keep)
		return nil
	}}
}

// addSelection adds a run selection; all of them must keep a run.
func (c *config) addSelection(keep func(RunKey) bool) {
	if prev := c.selectRun; prev != nil {
		c.selectRun = func(k RunKey) bool { return prev(k) && keep(k) }
		return
	}
	c.selectRun = keep
}

// gridRun is one run of the grid and its labeled indices.
type gridRun struct {
	key RunKey
	idx []int
}

// grid lists the runs of the grid in order, selected or not.
func (pl *plan) grid() []gridRun {
	var out []gridRun
	for bi, nl := range pl.sizes {
		for r, idx := range pl.runs[bi] {
			for _, m := range pl.methods {
				out = append(out, gridRun{RunKey{Method: m, NLabels: nl, Run: r, Index: len(out)}, idx})
			}
		}
	}
	return out
}

// selected reports whether the run k is to be evaluated (or gathered).
func (pl *plan) selected(k RunKey) bool { return pl.cfg.selectRun == nil || pl.cfg.selectRun(k) }

// checkPretrained returns an error matching ErrNotPretrained unless the checkpoint
// directory holds finished pretraining (checkSaved has checked its fingerprint).
func (pl *plan) checkPretrained(who string) error {
	if pl.p.task == nil {
		return nil
	}
	path := filepath.Join(pl.cfg.ckptDir, PretrainResultFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("ssl: %s: no %s in %s (%w): %w; pretrain first (Pipeline.Encoder, or Evaluate without Shard or SelectRuns) into the same CheckpointDir",
			who, PretrainResultFile, pl.cfg.ckptDir, err, ErrNotPretrained)
	}
	return nil
}

// Gather builds the report of the finished downstream runs kept in the pipeline's
// CheckpointDir, evaluating nothing: the report Evaluate would return, holding the runs
// whose result files are there (written by this process or by shards elsewhere, see
// Shard) and listing the others in Report.Missing. It checks what Evaluate checks before
// training (the configuration, the data, the fingerprints of every result file it reads)
// and reads nothing else: per-epoch checkpoints of runs in flight are neither read nor
// touched, and nothing is written. The report is Complete when no run is missing; its
// Seconds is the sum of the pretraining's and the runs' seconds (compute time, not wall
// time). With Shard or SelectRuns it gathers the selected runs only.
//
// Gather needs a CheckpointDir; with Pretrain, pretraining must have finished there
// (ErrNotPretrained otherwise), since every run starts from its weights or mean image.
func (p *Pipeline) Gather(ctx context.Context, train, test Dataset, budgets LabelBudgets) (*Report, error) {
	pl, err := p.planFor(ctx, train, test, budgets, true)
	if err != nil {
		return nil, err
	}
	rep := pl.newReport()
	rep.Missing = []RunKey{}
	pre, mean, err := pl.startingPoint(ctx, rep)
	if err != nil {
		return nil, err
	}
	if pl.loaded == nil && rep.Pretrain != nil {
		rep.Seconds += rep.Pretrain.Seconds
	}
	starts := map[string]string{}
	for _, g := range pl.grid() {
		k := g.key
		if !pl.selected(k) {
			continue
		}
		start, ok := starts[k.Method]
		if !ok {
			if k.Method == MethodSSL {
				start = weightsHash(pre.backbone, mean)
			} else {
				start = weightsHash(nil, mean)
			}
			starts[k.Method] = start
		}
		fp := pl.runFingerprint(k.Method, k.NLabels, k.Run, g.idx, pre)
		tag := fmt.Sprintf("ssl: Gather: %s, n_labels=%d, run %d", k.Method, k.NLabels, k.Run)
		res, _, err := pl.readRun(pl.runPath(k.Method, k.NLabels, k.Run), fp, start, tag)
		if err != nil {
			return nil, err
		}
		if res == nil {
			rep.Missing = append(rep.Missing, k)
			continue
		}
		rep.Runs = append(rep.Runs, *res)
		rep.Seconds += res.Seconds
	}
	rep.Complete = len(rep.Missing) == 0
	pl.cfg.logger.Info("gathered", "dir", pl.cfg.ckptDir, "finished", len(rep.Runs), "missing", len(rep.Missing))
	return rep, ctx.Err()
}

// missingOf returns the selected runs of the grid that rep does not hold.
func (pl *plan) missingOf(rep *Report) []RunKey {
	have := map[[2]int]map[string]bool{}
	for _, r := range rep.Runs {
		k := [2]int{r.NLabels, r.Run}
		if have[k] == nil {
			have[k] = map[string]bool{}
		}
		have[k][r.Method] = true
	}
	out := []RunKey{}
	for _, g := range pl.grid() {
		if pl.selected(g.key) && !have[[2]int{g.key.NLabels, g.key.Run}][g.key.Method] {
			out = append(out, g.key)
		}
	}
	return out
}
