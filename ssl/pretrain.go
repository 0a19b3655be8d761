package ssl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

// Metric names of PretrainResult.Metric.
const (
	MetricValScore  = "val_score"
	MetricValLoss   = "val_loss"
	MetricLastEpoch = "last_epoch"
)

// plateauLike is a schedule whose state a checkpoint can carry (optim.Plateau).
type plateauLike interface {
	State() optim.PlateauState
	SetState(optim.PlateauState) error
}

func encodePlateau(s optim.PlateauState) string {
	return fmt.Sprintf("%s %s %d %d %d", strconv.FormatFloat(float64(s.LR), 'g', -1, 32),
		strconv.FormatFloat(s.Best, 'g', -1, 64), s.Wait, s.Cooldown, s.Drops)
}

func decodePlateau(v string) (optim.PlateauState, error) {
	var lr, best string
	var s optim.PlateauState
	if _, err := fmt.Sscanf(v, "%s %s %d %d %d", &lr, &best, &s.Wait, &s.Cooldown, &s.Drops); err != nil {
		return s, fmt.Errorf("schedule state %q: %w", v, err)
	}
	l, err1 := strconv.ParseFloat(lr, 32)
	b, err2 := strconv.ParseFloat(best, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, fmt.Errorf("schedule state %q: %w", v, err)
	}
	s.LR, s.Best = float32(l), b
	return s, nil
}

// pretrain runs (or resumes, or skips when finished) the pretraining stage. rep.Pretrain
// is kept up to date, so a failed stage leaves its history in the report.
func (pl *plan) pretrain(ctx context.Context, rep *Report) (*pretrained, error) {
	task, cfg, dir := pl.p.task, &pl.pre, pl.cfg.ckptDir
	scorer, scored := task.(Scorer)
	res := &PretrainResult{Task: task.Name(), Images: len(pl.preTrain), ValidationImages: len(pl.preVal),
		Scored: scored, BestEpoch: -1, Metric: MetricLastEpoch}
	switch {
	case len(pl.preVal) > 0 && scored:
		res.Metric = MetricValScore
	case len(pl.preVal) > 0:
		res.Metric = MetricValLoss
	}
	rep.Pretrain = res
	log := pl.cfg.logger.With("stage", "pretrain", "task", task.Name())

	// A finished stage is not redone.
	if dir != "" {
		path := filepath.Join(dir, PretrainResultFile)
		if b, err := os.ReadFile(path); err == nil {
			var f pretrainFile
			if err := json.Unmarshal(b, &f); err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: %s: %w", path, err)
			}
			pre, err := pl.loadPretrained(filepath.Join(dir, PretrainedFile))
			if err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: resuming: %w", err)
			}
			*res = f.Result
			pre.result, pre.fp = f.Result, pl.preFP
			log.Info("pretraining already finished", "dir", dir, "best_epoch", res.BestEpoch+1)
			return pre, nil
		}
	}

	mean, err := PixelMean(ctx, pl.p.unlabeled)
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: mean image of the unlabeled images: %w", err)
	}
	meanParam := &nn.Param{Name: PixelMeanParam, Value: tensor.New(tensor.WithShape(pl.c, pl.h, pl.w), tensor.WithBacking(mean))}

	V, B := task.Views(), cfg.batch
	per := pl.c * pl.h * pl.w
	ps := nn.NewParams(derive(pl.cfg.seed, tagPretrainParams))
	trainNet, evalNet := &pretextNet{}, &pretextNet{}
	spec := train.Spec{Params: ps, Training: true, Input: []int{B * V, pl.c, pl.h, pl.w}, Targets: task.TargetShape(B * V),
		Build: pl.pretextBuild(trainNet), Keep: trainNet.keep}
	trg, err := train.Compile(spec)
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: compiling the training network: %w", err)
	}
	var evg *train.Graph
	if len(pl.preVal) > 0 {
		spec.Training, spec.Build, spec.Keep = false, pl.pretextBuild(evalNet), evalNet.keep
		if evg, err = train.Compile(spec); err != nil {
			return nil, fmt.Errorf("ssl: Pretrain: compiling the validation network: %w", err)
		}
	}
	if init, ok := task.(ParamsInitializer); ok {
		if err := init.InitParams(ps); err != nil {
			return nil, fmt.Errorf("ssl: Pretrain: task %s: InitParams: %w", task.Name(), err)
		}
	}
	steps := len(pl.preTrain) / B
	opt, err := cfg.newOpt()
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: optimizer: %w", err)
	}
	sched, err := cfg.newSched(cfg.lr, cfg.epochs, steps)
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: schedule: %w", err)
	}
	tr, err := train.NewTrainer(trg, opt, sched)
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: %w", err)
	}

	best := snapshot(ps, BackboneScope)
	start := 0
	// startLoss is the loss of the stage's first step, the reference of the divergence
	// rule (DivergenceFactor).
	var startLoss float64
	haveStart := false
	lastPath := filepath.Join(dir, PretrainLastFile)
	if dir != "" {
		if _, err := os.Stat(lastPath); err == nil {
			meta, err := checkpoint.Load(lastPath, append(ps.All(), meanParam), checkpoint.WithOptimizer(opt),
				checkpoint.RequireArchitecture(pl.p.backbone.Name()))
			if err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: resuming: %w", err)
			}
			if err := json.Unmarshal([]byte(meta.Extra["history"]), &res.Epochs); err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: resuming: %s: history: %w", lastPath, err)
			}
			res.BestEpoch, _ = strconv.Atoi(meta.Extra["best_epoch"])
			res.Best, _ = strconv.ParseFloat(meta.Extra["best"], 64)
			res.Seconds, _ = strconv.ParseFloat(meta.Extra["seconds"], 64)
			if v, err := strconv.ParseFloat(meta.Extra[metaStartLoss], 64); err == nil {
				startLoss, haveStart = v, true
			} else if len(res.Epochs) > 0 {
				// Written before the key existed: the first epoch's mean stands in.
				startLoss, haveStart = res.Epochs[0].Loss, true
			}
			if s, ok := meta.Extra["schedule_state"]; ok {
				if p, ok := sched.(plateauLike); ok {
					st, err := decodePlateau(s)
					if err == nil {
						err = p.SetState(st)
					}
					if err != nil {
						return nil, fmt.Errorf("ssl: Pretrain: resuming: %s: %w", lastPath, err)
					}
				}
			}
			if res.BestEpoch >= 0 {
				kept, err := pl.loadPretrained(filepath.Join(dir, PretrainedFile))
				if err != nil {
					return nil, fmt.Errorf("ssl: Pretrain: resuming: %w", err)
				}
				best = kept.backbone
			}
			start, tr.Steps = meta.Epoch+1, meta.Step
			log.Info("resuming pretraining", "from_epoch", start+1, "of", cfg.epochs)
		}
	}

	save := func(path string, params []*nn.Param, epoch int, extra map[string]string, opts ...checkpoint.Option) error {
		extra["fingerprint"] = pl.preFP
		if pl.preData != "" {
			extra[metaData] = pl.preData
		}
		extra["task"] = task.Name()
		extra["metric"] = res.Metric
		extra["best"] = strconv.FormatFloat(res.Best, 'g', -1, 64)
		extra[metaInputShape] = shapeString(pl.c, pl.h, pl.w)
		meta := checkpoint.Meta{Architecture: pl.p.backbone.Name(), Epoch: epoch, Step: tr.Steps, Seed: pl.cfg.seed, Extra: extra}
		return checkpoint.Save(path, params, meta, opts...)
	}
	backboneOf := func() []*nn.Param {
		var out []*nn.Param
		for _, p := range ps.All() {
			if inScope(p, BackboneScope) {
				out = append(out, p)
			}
		}
		return append(out, meanParam)
	}

	mon, err := pl.newMonitor(ps, mean)
	if err != nil {
		return nil, err
	}
	hook, hooked := task.(StepHook)
	info := &StepInfo{Params: ps, Epochs: cfg.epochs, Steps: int64(cfg.epochs * steps),
		Geometry: Geometry{N: B, Views: V, Valid: B}, value: trainNet.value(trg)}
	bufs := [2]*stepBuf{newStepBuf(B, per, len(trg.Input()), len(trg.Targets())), newStepBuf(B, per, len(trg.Input()), len(trg.Targets()))}
	for e := start; e < cfg.epochs; e++ {
		t0 := time.Now()
		perm := slices.Clone(pl.preTrain)
		newRand(pl.cfg.seed, tagPretrainShuffle, uint64(e)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		rng := newRand(pl.cfg.seed, tagPretrainPrepare, uint64(e))
		st := EpochStats{Epoch: e, LR: float64(sched.LR(e, int(tr.Steps)))}
		produce := func(s int, sb *stepBuf) error {
			idx := perm[s*B : (s+1)*B]
			if err := fillRaw(pl.p.unlabeled, sb.images, sb.labels, idx); err != nil {
				return fmt.Errorf("ssl: Pretrain: reading images: %w", err)
			}
			var means []float32
			if a := cfg.augment; a != nil {
				if err := sb.augmentWithMeans(a, mean, B, pl.c, pl.h, pl.w, derive(pl.cfg.seed, tagPretrainAugment, uint64(e), uint64(s))); err != nil {
					return fmt.Errorf("ssl: Pretrain: augmentation %s: %w", a.Name(), err)
				}
				means = sb.means
			}
			b := Batch{N: B, C: pl.c, H: pl.h, W: pl.w, Views: V, Valid: B, Images: sb.images, Labels: sb.labels, Mean: mean,
				Means: means, Inputs: sb.inputs, Targets: sb.targets, Rand: rng, Training: true}
			if err := task.Prepare(&b); err != nil {
				return fmt.Errorf("ssl: Pretrain: task %s: Prepare: %w", task.Name(), err)
			}
			return nil
		}
		consume := func(s int, sb *stepBuf) error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("ssl: Pretrain: epoch %d, step %d: %w", e+1, s, err)
			}
			copy(trg.Input(), sb.inputs)
			copy(trg.Targets(), sb.targets)
			loss, err := tr.Step(ctx, e)
			if err != nil {
				return stepError("pretrain", 0, 0, e, s, err)
			}
			if !finite(loss) {
				return &NonFiniteError{Stage: "pretrain", Epoch: e + 1, What: fmt.Sprintf("training loss of step %d", s+1), Value: loss}
			}
			if !haveStart {
				startLoss, haveStart = loss, true
			}
			st.Loss += loss
			if scored {
				out, err := trg.Output()
				if err != nil {
					return fmt.Errorf("ssl: Pretrain: %w", err)
				}
				st.Accuracy += scorer.Score(out, trg.Targets(), info.Geometry)
			}
			if hooked {
				info.Epoch, info.Step = e, tr.Steps
				if err := hook.AfterStep(info); err != nil {
					return fmt.Errorf("ssl: Pretrain: task %s: AfterStep (epoch %d, step %d): %w", task.Name(), e+1, s, err)
				}
			}
			if pl.cfg.progress != nil {
				pl.cfg.progress(Progress{Stage: "pretrain", Epoch: e, Epochs: cfg.epochs, Step: s + 1, Steps: steps, Loss: st.Loss / float64(s+1)})
			}
			return nil
		}
		if err := pipelined(steps, bufs, produce, consume); err != nil {
			return nil, err
		}
		st.Loss /= float64(steps)
		st.Accuracy /= float64(steps)
		metric := st.Loss
		improved := true
		var feats []float32
		if evg != nil {
			if st.ValLoss, st.ValScore, feats, err = pl.validatePretext(ctx, evg, evalNet.features, mean, bufs[0]); err != nil {
				return nil, err
			}
			for _, v := range []struct {
				what string
				v    float64
			}{{"validation loss", st.ValLoss}, {"validation score", st.ValScore}} {
				if !finite(v.v) {
					return nil, &NonFiniteError{Stage: "pretrain", Epoch: e + 1, What: v.what, Value: v.v}
				}
			}
			metric = st.ValLoss
			improved = res.BestEpoch < 0 || st.ValLoss < res.Best
			if scored {
				metric = st.ValScore
				improved = res.BestEpoch < 0 || st.ValScore > res.Best
			}
		}
		if mon != nil {
			var q []float32
			if st.KNNAccuracy, q, err = mon.measure(ctx); err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: MonitorKNN: %w", err)
			}
			if feats == nil {
				feats = q
			}
		}
		if f := trainNet.features.Shape()[1]; feats != nil && len(feats) >= 2*f {
			m, err := embedding.NewMatrix(len(feats)/f, f, feats)
			if err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: collapse metric: %w", err)
			}
			st.Collapse = embedding.Collapse(m)
		}
		if err := checkEpoch("pretrain", 0, 0, st, startLoss); err != nil {
			return nil, err
		}
		if o, ok := sched.(optim.Observer); ok {
			o.Observe(metric)
		}
		if improved {
			best, res.BestEpoch, res.Best = snapshot(ps, BackboneScope), e, metric
			if dir != "" {
				if err := save(filepath.Join(dir, PretrainedFile), backboneOf(), e, map[string]string{}); err != nil {
					return nil, fmt.Errorf("ssl: Pretrain: %w", err)
				}
			}
		}
		if k := cfg.snapshotEvery; k > 0 && dir != "" && (e+1)%k == 0 {
			if err := save(filepath.Join(dir, SnapshotFile(e+1)), backboneOf(), e, map[string]string{}); err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: snapshot: %w", err)
			}
		}
		st.Seconds = time.Since(t0).Seconds()
		res.Epochs = append(res.Epochs, st)
		res.Seconds += st.Seconds
		if dir != "" {
			hist, err := json.Marshal(res.Epochs)
			if err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: epoch %d: history: %w", e+1, err)
			}
			extra := map[string]string{"history": string(hist), "best_epoch": strconv.Itoa(res.BestEpoch),
				"seconds": strconv.FormatFloat(res.Seconds, 'g', -1, 64), metaStartLoss: strconv.FormatFloat(startLoss, 'g', -1, 64)}
			if p, ok := sched.(plateauLike); ok {
				extra["schedule_state"] = encodePlateau(p.State())
			}
			if err := save(lastPath, append(ps.All(), meanParam), e, extra, checkpoint.WithOptimizer(opt)); err != nil {
				return nil, fmt.Errorf("ssl: Pretrain: %w", err)
			}
		}
		log.Info("epoch", epochAttrs(st, cfg.epochs, scored, evg != nil, "kept", improved)...)
		if pl.cfg.progress != nil {
			done := st
			pl.cfg.progress(Progress{Stage: "pretrain", Epoch: e, Epochs: cfg.epochs, Step: steps, Steps: steps, Loss: st.Loss, Done: &done})
		}
	}
	pre := &pretrained{backbone: best, mean: mean, result: *res, fp: pl.preFP}
	if dir != "" {
		res.Checkpoint = filepath.Join(dir, PretrainedFile)
		pre.result = *res
		if err := writeJSONAtomic(filepath.Join(dir, PretrainResultFile), pretrainFile{Fingerprint: pl.preFP, Data: pl.preData, Result: *res}); err != nil {
			return nil, fmt.Errorf("ssl: Pretrain: %w", err)
		}
	}
	// Without validation images the kept epoch is the last one and Best its training loss.
	value := res.Metric
	if res.Metric == MetricLastEpoch {
		value = "loss"
	}
	log.Info("pretraining done", "best_epoch", res.BestEpoch+1, "kept_by", res.Metric, value, short(res.Best), "seconds", short(res.Seconds))
	return pre, nil
}

// validatePretext runs the validation images through the inference network once and
// returns the mean loss and score per source image. A partial last batch is filled up
// with copies of its images (Batch.Valid says how many are real), so the view-major
// layout holds; the score counts the real rows only, the loss (a mean over the batch
// computed by the graph) counts the copies too.
//
// It also returns the backbone's features of view 0 of every validation image (rows of
// features' width), for the collapse metric.
func (pl *plan) validatePretext(ctx context.Context, ev *train.Graph, features *G.Node, mean []float32, sb *stepBuf) (loss, score float64, feats []float32, err error) {
	task := pl.p.task
	scorer, scored := task.(Scorer)
	V, B, per := task.Views(), pl.pre.batch, pl.c*pl.h*pl.w
	rng := newRand(pl.cfg.seed, tagPretrainValidate)
	n := len(pl.preVal)
	for first := 0; first < n; first += B {
		if err := ctx.Err(); err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: validating: %w", err)
		}
		m := min(B, n-first)
		if err := fillRaw(pl.preValDS, sb.images[:m*per], sb.labels[:m], pl.preVal[first:first+m]); err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: reading validation images: %w", err)
		}
		padRows(sb.images, per, m)
		for k := m; k < B; k++ {
			sb.labels[k] = sb.labels[k%m]
		}
		b := Batch{N: B, C: pl.c, H: pl.h, W: pl.w, Views: V, Valid: m, Images: sb.images, Labels: sb.labels, Mean: mean,
			Inputs: ev.Input(), Targets: ev.Targets(), Rand: rng}
		if err := task.Prepare(&b); err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: task %s: Prepare (validation): %w", task.Name(), err)
		}
		if err := ev.Run(ctx); err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: validating: %w", err)
		}
		l, err := ev.Loss()
		if err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: validating: %w", err)
		}
		loss += l * float64(m)
		f, err := ev.Value(features)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("ssl: Pretrain: validating: %w", err)
		}
		w := len(f) / (B * V)
		feats = append(feats, f[:m*w]...)
		if scored {
			out, err := ev.Output()
			if err != nil {
				return 0, 0, nil, fmt.Errorf("ssl: Pretrain: validating: %w", err)
			}
			score += scorer.Score(out, ev.Targets(), b.Geometry()) * float64(m)
		}
	}
	return loss / float64(n), score / float64(n), feats, nil
}

// stepError names the stage, epoch and step of a failed training step; a non-finite
// loss or gradient becomes a *NonFiniteError (matching ErrNonFinite).
func stepError(stage string, nl, run, epoch, step int, err error) error {
	var oe *optim.NonFiniteStepError
	if errors.As(err, &oe) {
		return &NonFiniteError{Stage: stage, NLabels: nl, Run: run, Epoch: epoch + 1,
			What: fmt.Sprintf("training %s at step %d", oe.What, step+1), Value: float64(oe.Value), Err: err}
	}
	return fmt.Errorf("%s: epoch %d, step %d: %w", stageName(stage, nl, run), epoch+1, step+1, err)
}

// metaStartLoss is the checkpoint metadata key of the loss of a stage's first step.
const metaStartLoss = "start_loss"
