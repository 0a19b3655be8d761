package ssl

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite is matched (errors.Is) by the error of a stage that met a NaN or infinite
// number: a training loss or gradient, a validation loss or score, a test logit, an
// embedding, a kNN accuracy. Such a number is never stored, written or averaged: the
// stage stops with a *NonFiniteError instead.
var ErrNonFinite = errors.New("non-finite value")

// ErrDiverged is matched (errors.Is) by the error of a stage whose training diverged
// (see DivergedError).
var ErrDiverged = errors.New("training diverged")

// NonFiniteError reports a NaN or infinite number met by a stage, naming where.
type NonFiniteError struct {
	// Stage is "pretrain", MethodSL or MethodSSL; NLabels and Run identify a downstream run.
	Stage        string
	NLabels, Run int
	// Epoch is the 1-based epoch, 0 for the test pass after training.
	Epoch int
	// What names the number: "validation loss", "test logits of test image 17", ...
	What string
	// Value is the offending value.
	Value float64
	// Err is the underlying error, when there is one (the optimizer's check of a step).
	Err error
}

// Error names the stage, run, epoch and number.
func (e *NonFiniteError) Error() string {
	msg := fmt.Sprintf("%s: %s is %v", stageName(e.Stage, e.NLabels, e.Run), e.What, e.Value)
	if e.Epoch > 0 {
		msg = fmt.Sprintf("%s: epoch %d: %s is %v", stageName(e.Stage, e.NLabels, e.Run), e.Epoch, e.What, e.Value)
	}
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

// Is makes a NonFiniteError match ErrNonFinite.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// Unwrap returns the underlying error.
func (e *NonFiniteError) Unwrap() error { return e.Err }

// DivergenceFactor sets the divergence rule. A stage has diverged when the mean
// training loss of a whole epoch exceeds
//
//	start + DivergenceFactor * max(|start|, 1)
//
// where start is the loss of the stage's first training step (the network as
// initialised, or as transferred). A healthy stage's epoch means stay near or below its
// starting loss (a 10-class cross-entropy starts near 2.3, so the limit is about 25); a
// learning rate far too high drives them orders of magnitude above it (a learning rate of
// 10 gives losses of millions and chance-level accuracy). The rule looks at whole epochs,
// so a spike of a few steps does not trigger it, and at the starting loss rather than at
// the first epoch's mean, so that a stage that diverges within its first epoch is caught
// too; the max(|start|, 1) keeps it meaningful for losses near 0 or negative (SimSiam).
const DivergenceFactor = 10

// DivergedError reports a stage whose training diverged, by the rule of DivergenceFactor.
// Its results would be meaningless (chance-level accuracy), so the stage stops before
// saving the epoch; lower the learning rate.
type DivergedError struct {
	// Stage is "pretrain", MethodSL or MethodSSL; NLabels and Run identify a downstream run.
	Stage        string
	NLabels, Run int
	// Epoch is the 1-based epoch whose mean training loss, Loss, exceeded Limit; Start is
	// the loss of the stage's first step.
	Epoch              int
	Loss, Start, Limit float64
}

// Error names the stage and the losses compared.
func (e *DivergedError) Error() string {
	return fmt.Sprintf("%s: epoch %d: training diverged: mean training loss %.4g, above %.4g (the first step's loss %.4g plus %d times max(|that|, 1)); lower the learning rate",
		stageName(e.Stage, e.NLabels, e.Run), e.Epoch, e.Loss, e.Limit, e.Start, DivergenceFactor)
}

// Is makes a DivergedError match ErrDiverged.
func (e *DivergedError) Is(target error) bool { return target == ErrDiverged }

// divergenceLimit is the epoch mean loss above which a stage that started at start has
// diverged.
func divergenceLimit(start float64) float64 {
	return start + DivergenceFactor*max(math.Abs(start), 1)
}

// stageName is how errors name a stage: "ssl: Pretrain" or "ssl: SL, n_labels=50, run 0".
func stageName(stage string, nl, run int) string {
	if stage == "pretrain" || stage == "" {
		return "ssl: Pretrain"
	}
	return fmt.Sprintf("ssl: %s, n_labels=%d, run %d", stage, nl, run)
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// firstNonFinite returns the index of the first NaN or infinite value of x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if v-v != 0 {
			return i
		}
	}
	return -1
}

// checkEpoch checks the numbers of a finished training epoch of stage: each must be
// finite, and the mean training loss must stay under divergenceLimit(start).
func checkEpoch(stage string, nl, run int, st EpochStats, start float64) error {
	for _, v := range []struct {
		what string
		v    float64
	}{{"mean training loss", st.Loss}, {"training accuracy (or score)", st.Accuracy}, {"validation loss", st.ValLoss},
		{"validation score", st.ValScore}, {"kNN accuracy", st.KNNAccuracy}, {"collapse metric", st.Collapse}} {
		if !finite(v.v) {
			return &NonFiniteError{Stage: stage, NLabels: nl, Run: run, Epoch: st.Epoch + 1, What: v.what, Value: v.v}
		}
	}
	if lim := divergenceLimit(start); st.Loss > lim {
		return &DivergedError{Stage: stage, NLabels: nl, Run: run, Epoch: st.Epoch + 1, Loss: st.Loss, Start: start, Limit: lim}
	}
	return nil
}

// checkRunFinite returns a *NonFiniteError for the first non-finite number of run.
func checkRunFinite(r RunResult) error {
	for _, v := range []struct {
		what string
		v    float64
	}{{"test accuracy", r.TestAccuracy}, {"test loss", r.TestLoss}, {"seconds", r.Seconds}} {
		if !finite(v.v) {
			return &NonFiniteError{Stage: r.Method, NLabels: r.NLabels, Run: r.Run, What: v.what, Value: v.v}
		}
	}
	for _, e := range r.Epochs {
		if err := checkEpoch(r.Method, r.NLabels, r.Run, e, math.Inf(1)); err != nil {
			return err
		}
	}
	return nil
}

// checkPretrainFinite returns a *NonFiniteError for the first non-finite number of r.
func checkPretrainFinite(r PretrainResult) error {
	if !finite(r.Best) {
		return &NonFiniteError{Stage: "pretrain", What: "kept epoch's " + r.Metric, Value: r.Best}
	}
	for _, e := range r.Epochs {
		if err := checkEpoch("pretrain", 0, 0, e, math.Inf(1)); err != nil {
			return err
		}
	}
	return nil
}

// checkFinite returns an error matching ErrNonFinite for the first non-finite number of
// the report (none that Evaluate made has one).
func (r *Report) checkFinite() error {
	if r.Pretrain != nil {
		if err := checkPretrainFinite(*r.Pretrain); err != nil {
			return err
		}
	}
	for _, run := range r.Runs {
		if err := checkRunFinite(run); err != nil {
			return err
		}
	}
	return nil
}
