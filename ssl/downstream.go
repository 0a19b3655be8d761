package ssl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

// downstream trains and tests one method on the labels idx of run r of the budget nl, or
// returns the saved result of a finished run.
func (pl *plan) downstream(ctx context.Context, method string, nl, r int, idx []int, pre *pretrained, mean []float32) (RunResult, error) {
	cfg, dir := &pl.down, pl.cfg.ckptDir
	fp := pl.runFingerprint(method, nl, r, idx, pre)
	log := pl.cfg.logger.With("stage", method, "n_labels", nl, "run", r)
	tag := fmt.Sprintf("ssl: %s, n_labels=%d, run %d", method, nl, r)
	// start identifies what the run starts from: the pretrained backbone (SSL+SL) and the
	// mean image every input is centred with (both methods).
	var start string
	if dir != "" {
		if method == MethodSSL {
			start = weightsHash(pre.backbone, mean)
		} else {
			start = weightsHash(nil, mean)
		}
	}
	path, lastPath := "", ""
	if dir != "" {
		path, lastPath = pl.runPath(method, nl, r), pl.runLastPath(method, nl, r)
		res, stale, err := pl.readRun(path, fp, start, tag)
		if err != nil {
			return RunResult{}, err
		}
		if stale != "" {
			log.Warn("redoing a finished run: it started from other pretrained weights or another mean image than this pipeline's", "file", path,
				"start_there", stale, "start_now", start)
		}
		if res != nil {
			if err := os.Remove(lastPath); err != nil && !errors.Is(err, os.ErrNotExist) {
				return RunResult{}, fmt.Errorf("%s: %w", tag, err)
			}
			log.Info("run already finished", "test_accuracy", short(res.TestAccuracy))
			return *res, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return RunResult{}, fmt.Errorf("%s: %w", tag, err)
	}
	if method == MethodSSL && pl.p.transfer.knn {
		return pl.knnRun(ctx, nl, r, idx, pre, path, fp, start)
	}
	t0 := time.Now()
	frozen := method == MethodSSL && pl.p.transfer.probe
	per := pl.c * pl.h * pl.w
	B := min(cfg.batch, nl)
	ps := nn.NewParams(derive(pl.cfg.seed, tagRunParams, uint64(nl), uint64(r)))
	spec := train.Spec{Params: ps, Training: true, Input: []int{B, pl.c, pl.h, pl.w}, Targets: []int{B}, Build: pl.classifierBuild(frozen)}
	if frozen {
		spec.Trainable = func(p *nn.Param) bool { return inScope(p, ClassifierScope) }
	}
	trg, err := train.Compile(spec)
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: compiling the training network: %w", tag, err)
	}
	evg, err := train.Compile(train.Spec{Params: ps, Input: []int{min(cfg.batch, pl.test.Len()), pl.c, pl.h, pl.w}, Build: pl.classifierBuild(frozen)})
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: compiling the test network: %w", tag, err)
	}
	if method == MethodSSL {
		if err := restore(ps, BackboneScope, pre.backbone); err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
	}
	steps := nl / B
	opt, err := cfg.newOpt()
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: optimizer: %w", tag, err)
	}
	sched, err := cfg.newSched(cfg.lr, cfg.epochs, steps)
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: schedule: %w", tag, err)
	}
	tr, err := train.NewTrainer(trg, opt, sched)
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: %w", tag, err)
	}
	res := RunResult{Method: method, NLabels: nl, Run: r}
	for _, p := range trg.Params() {
		res.TrainedParams += len(p.Data())
	}
	// startLoss is the loss of the run's first step, the reference of the divergence rule.
	var startLoss float64
	haveStart := false
	first, prior := 0, 0.0
	if lastPath != "" {
		if first, prior, err = pl.resumeRun(lastPath, start, ps, opt, sched, tr, &res, &startLoss); err != nil {
			return RunResult{}, fmt.Errorf("%s: resuming: %w", tag, err)
		}
		switch {
		case first >= cfg.epochs:
			haveStart = true
			log.Info("resuming run: training had finished, testing", "epochs", cfg.epochs)
		case first > 0:
			haveStart = true
			log.Info("resuming run", "from_epoch", first+1, "of", cfg.epochs)
		}
	}
	save := func(e int) error {
		hist, err := json.Marshal(res.Epochs)
		if err != nil {
			return err
		}
		extra := map[string]string{"fingerprint": fp, metaStart: start, "history": string(hist),
			metaStartLoss: strconv.FormatFloat(startLoss, 'g', -1, 64),
			"seconds":     strconv.FormatFloat(prior+time.Since(t0).Seconds(), 'g', -1, 64)}
		if pl.runData != "" {
			extra[metaData] = pl.runData
		}
		if p, ok := sched.(plateauLike); ok {
			extra["schedule_state"] = encodePlateau(p.State())
		}
		meta := checkpoint.Meta{Architecture: pl.p.backbone.Name(), Epoch: e, Step: tr.Steps, Seed: pl.cfg.seed, Extra: extra}
		return checkpoint.Save(lastPath, ps.All(), meta, checkpoint.WithOptimizer(opt))
	}
	bufs := [2]*stepBuf{newStepBuf(B, per, 0, 0), newStepBuf(B, per, 0, 0)}
	geom := Geometry{N: B, Views: 1, Valid: B}
	for e := first; e < cfg.epochs; e++ {
		te := time.Now()
		perm := slices.Clone(idx)
		newRand(pl.cfg.seed, tagRunShuffle, uint64(nl), uint64(r), uint64(e)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		st := EpochStats{Epoch: e, LR: float64(sched.LR(e, int(tr.Steps)))}
		produce := func(s int, sb *stepBuf) error {
			if err := fillRaw(pl.train, sb.images, sb.labels, perm[s*B:(s+1)*B]); err != nil {
				return fmt.Errorf("%s: reading images: %w", tag, err)
			}
			if a := cfg.augment; a != nil {
				// Centred with the mean image augmented along with each image, so that the
				// input is the augmentation of the centred image (Batch.Means).
				seed := derive(pl.cfg.seed, tagRunAugment, uint64(nl), uint64(r), uint64(e), uint64(s))
				if err := sb.augmentWithMeans(a, mean, B, pl.c, pl.h, pl.w, seed); err != nil {
					return fmt.Errorf("%s: augmentation %s: %w", tag, a.Name(), err)
				}
				for j, m := range sb.means {
					sb.images[j] -= m
				}
				return nil
			}
			subtractMean(sb.images, mean)
			return nil
		}
		consume := func(s int, sb *stepBuf) error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%s: epoch %d, step %d: %w", tag, e+1, s, err)
			}
			copy(trg.Input(), sb.images)
			t := trg.Targets()
			for k, l := range sb.labels {
				t[k] = float32(l)
			}
			loss, err := tr.Step(ctx, e)
			if err != nil {
				return stepError(method, nl, r, e, s, err)
			}
			if !finite(loss) {
				return &NonFiniteError{Stage: method, NLabels: nl, Run: r, Epoch: e + 1, What: fmt.Sprintf("training loss of step %d", s+1), Value: loss}
			}
			if !haveStart {
				startLoss, haveStart = loss, true
			}
			out, err := trg.Output()
			if err != nil {
				return fmt.Errorf("%s: %w", tag, err)
			}
			st.Loss += loss
			st.Accuracy += Accuracy(out, t, geom)
			if pl.cfg.progress != nil {
				pl.cfg.progress(Progress{Stage: method, NLabels: nl, Run: r, Epoch: e, Epochs: cfg.epochs, Step: s + 1, Steps: steps, Loss: st.Loss / float64(s+1)})
			}
			return nil
		}
		if err := pipelined(steps, bufs, produce, consume); err != nil {
			return RunResult{}, err
		}
		st.Loss /= float64(steps)
		st.Accuracy /= float64(steps)
		if err := checkEpoch(method, nl, r, st, startLoss); err != nil {
			return RunResult{}, err
		}
		if o, ok := sched.(optim.Observer); ok {
			o.Observe(st.Loss)
		}
		st.Seconds = time.Since(te).Seconds()
		res.Epochs = append(res.Epochs, st)
		if lastPath != "" {
			if err := save(e); err != nil {
				return RunResult{}, fmt.Errorf("%s: epoch %d: saving the run's checkpoint: %w", tag, e+1, err)
			}
		}
		log.Debug("epoch", epochAttrs(st, cfg.epochs, true, false)...)
		if pl.cfg.progress != nil {
			done := st
			pl.cfg.progress(Progress{Stage: method, NLabels: nl, Run: r, Epoch: e, Epochs: cfg.epochs, Step: steps, Steps: steps, Loss: st.Loss, Done: &done})
		}
	}
	if res.TestAccuracy, res.TestLoss, err = pl.test1(ctx, evg, mean); err != nil {
		var nf *NonFiniteError
		if errors.As(err, &nf) {
			nf.Stage, nf.NLabels, nf.Run = method, nl, r
			return RunResult{}, nf
		}
		return RunResult{}, fmt.Errorf("%s: testing: %w", tag, err)
	}
	res.Seconds = prior + time.Since(t0).Seconds()
	if path != "" {
		cpath := filepath.Join(dir, RunsDir, ClassifierFile(method, nl, r))
		if err := saveClassifier(cpath, pl.p.backbone, ps, mean, pl.c, pl.h, pl.w, pl.classes, pl.train.Classes(), pl.cfg.seed); err != nil {
			return RunResult{}, fmt.Errorf("%s: saving the classifier: %w", tag, err)
		}
		if err := writeJSONAtomic(path, runFile{Fingerprint: fp, Data: pl.runData, Start: start, Result: res}); err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
		// The finished run's file supersedes its per-epoch checkpoint.
		if err := os.Remove(lastPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
	}
	log.Info("run done", "test_accuracy", short(res.TestAccuracy), "test_loss", short(res.TestLoss), "seconds", short(res.Seconds))
	return res, nil
}

// readRun reads the result file of a finished downstream run at path, written with the
// fingerprint fp from the weights identified by start. It returns nil when there is no
// such file, and also when the run started from other weights, whose hash it then
// returns as stale (the run is to be redone). A file of other settings or other data is a
// *MismatchError; tag prefixes the other errors.
func (pl *plan) readRun(path, fp, start, tag string) (res *RunResult, stale string, err error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", nil
	case err != nil:
		return nil, "", fmt.Errorf("%s: %w", tag, err)
	}
	var f runFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, "", fmt.Errorf("%s: %s: %w", tag, path, err)
	}
	if f.Fingerprint != fp {
		return nil, "", &MismatchError{Path: path, Kind: MismatchSettings, Detail: diffFingerprints(f.Fingerprint, fp)}
	}
	if f.Data != "" && f.Data != pl.runData {
		return nil, "", &MismatchError{Path: path, Kind: MismatchData, Detail: fmt.Sprintf("content hash %s there, %s now", f.Data, pl.runData)}
	}
	if f.Start != "" && f.Start != start {
		return nil, f.Start, nil
	}
	return &f.Result, "", nil
}

// test1 runs every test image through the inference network and returns the accuracy and
// the mean softmax cross-entropy. The last batch is padded with copies of its images;
// batch norm in inference mode treats every image on its own, so the padding changes
// nothing and is ignored.
func (pl *plan) test1(ctx context.Context, ev *train.Graph, mean []float32) (acc, loss float64, err error) {
	per := pl.c * pl.h * pl.w
	fd := &feeder{ds: pl.test, mean: mean, per: per}
	B, n, K := ev.BatchSize(), pl.test.Len(), pl.classes
	idx := make([]int, B)
	correct := 0
	for first := 0; first < n; first += B {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		m := min(B, n-first)
		for k := range m {
			idx[k] = first + k
		}
		if err := fd.fill(ev.Input()[:m*per], idx[:m]); err != nil {
			return 0, 0, err
		}
		padRows(ev.Input(), per, m)
		if err := ev.Run(ctx); err != nil {
			return 0, 0, err
		}
		logits, err := ev.Output()
		if err != nil {
			return 0, 0, err
		}
		if i := firstNonFinite(logits[:m*K]); i >= 0 {
			return 0, 0, &NonFiniteError{What: fmt.Sprintf("a test logit of test image %d", first+i/K), Value: float64(logits[i])}
		}
		for k := range m {
			row := logits[k*K : (k+1)*K]
			y := pl.testLabels[first+k]
			if argmax(row) == y {
				correct++
			}
			loss += crossEntropy(row, y)
		}
	}
	acc, loss = float64(correct)/float64(n), loss/float64(n)
	if !finite(loss) {
		return 0, 0, &NonFiniteError{What: "test loss", Value: loss}
	}
	return acc, loss, nil
}

// crossEntropy is -log softmax(row)[y], computed stably in float64.
func crossEntropy(row []float32, y int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s) - float64(row[y])
}

// knnRun is a KNNProbe run: the labeled images idx vote for the class of every test
// image with their pretrained embeddings.
func (pl *plan) knnRun(ctx context.Context, nl, r int, idx []int, pre *pretrained, path, fp, start string) (RunResult, error) {
	t0 := time.Now()
	tag := fmt.Sprintf("ssl: %s, n_labels=%d, run %d", MethodSSL, nl, r)
	if pl.knnTrain == nil {
		enc, err := newEncoder(pl.p.backbone, pre.backbone, pre.mean, pl.c, pl.h, pl.w)
		if err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
		tr, err := enc.Embed(ctx, pl.train)
		if err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
		te, err := enc.Embed(ctx, pl.test)
		if err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
		pl.knnTrain, pl.knnTest = &tr, &te
	}
	dim := pl.knnTrain.Dim()
	rows := make([]float32, 0, len(idx)*dim)
	labels := make([]int, len(idx))
	for k, i := range idx {
		rows = append(rows, pl.knnTrain.Row(i)...)
		labels[k] = pl.trainLabels[i]
	}
	bank, err := embedding.NewMatrix(len(idx), dim, rows)
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: %w", tag, err)
	}
	knn, err := embedding.NewKNN(bank, labels, pl.classes, embedding.Neighbors(pl.p.transfer.k), embedding.Temperature(pl.p.transfer.t))
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: %w", tag, err)
	}
	acc, err := knn.AccuracyContext(ctx, *pl.knnTest, pl.testLabels)
	if err != nil {
		return RunResult{}, fmt.Errorf("%s: %w", tag, err)
	}
	if !finite(acc) {
		return RunResult{}, &NonFiniteError{Stage: MethodSSL, NLabels: nl, Run: r, What: "kNN test accuracy", Value: acc}
	}
	res := RunResult{Method: MethodSSL, NLabels: nl, Run: r, TestAccuracy: acc, Seconds: time.Since(t0).Seconds()}
	if path != "" {
		if err := writeJSONAtomic(path, runFile{Fingerprint: fp, Data: pl.runData, Start: start, Result: res}); err != nil {
			return RunResult{}, fmt.Errorf("%s: %w", tag, err)
		}
	}
	pl.cfg.logger.Info("run done", "stage", MethodSSL, "n_labels", nl, "run", r, "transfer", pl.p.transfer.Name(), "test_accuracy", short(acc))
	return res, nil
}

// resumeRun loads the per-epoch checkpoint of a downstream run, when there is one that
// starts from start, into the network, the optimizer, the schedule and the trainer, and
// res's history. It returns the epoch to continue from (0 without a checkpoint) and the
// seconds the run took before. A checkpoint that started from other weights (pretraining
// was redone) is ignored: the run starts again.
func (pl *plan) resumeRun(path, start string, ps *nn.Params, opt optim.Optimizer, sched optim.Schedule, tr *train.Trainer, res *RunResult, startLoss *float64) (int, float64, error) {
	meta, err := checkpoint.ReadMeta(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if meta.Extra[metaStart] != start {
		pl.cfg.logger.Warn("ignoring a downstream run's checkpoint that started from other pretrained weights; the run starts again", "file", path)
		return 0, 0, nil
	}
	if _, err := checkpoint.Load(path, ps.All(), checkpoint.WithOptimizer(opt), checkpoint.RequireArchitecture(pl.p.backbone.Name())); err != nil {
		return 0, 0, err
	}
	var hist []EpochStats
	if err := json.Unmarshal([]byte(meta.Extra["history"]), &hist); err != nil {
		return 0, 0, fmt.Errorf("%s: history: %w", path, err)
	}
	if len(hist) != meta.Epoch+1 {
		return 0, 0, fmt.Errorf("%s: %d epochs of history for epoch %d", path, len(hist), meta.Epoch+1)
	}
	sl, err1 := strconv.ParseFloat(meta.Extra[metaStartLoss], 64)
	secs, err2 := strconv.ParseFloat(meta.Extra["seconds"], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if v, ok := meta.Extra["schedule_state"]; ok {
		if p, ok := sched.(plateauLike); ok {
			st, err := decodePlateau(v)
			if err == nil {
				err = p.SetState(st)
			}
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	res.Epochs, *startLoss, tr.Steps = hist, sl, meta.Step
	return meta.Epoch + 1, secs, nil
}
