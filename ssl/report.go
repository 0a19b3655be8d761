package ssl

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// The methods a report compares, the row labels of its table.
const (
	// MethodSL is the supervised baseline: the network trained from random initialisation
	// on the labels only.
	MethodSL = "SL"
	// MethodSSL is self-supervised pretraining followed by the transfer to the labels.
	MethodSSL = "SSL+SL"
)

// EpochStats are the numbers of one training epoch.
type EpochStats struct {
	// Epoch is the 0-based epoch index.
	Epoch int `json:"epoch"`
	// LR is the learning rate of the epoch's first step.
	LR float64 `json:"lr"`
	// Loss is the mean task loss (without the L2 penalty) over the epoch's steps.
	Loss float64 `json:"loss"`
	// Accuracy is the mean training accuracy over the epoch's steps (for a pretext task,
	// its Score; 0 for a task without a Scorer).
	Accuracy float64 `json:"accuracy"`
	// ValLoss and ValScore are the pretext task's loss and score on the validation images
	// after the epoch (0 when there is no validation set or, for ValScore, no Scorer).
	ValLoss  float64 `json:"val_loss"`
	ValScore float64 `json:"val_score"`
	// KNNAccuracy is the kNN accuracy of the backbone's representations after the
	// epoch (MonitorKNN); 0 without the monitor.
	KNNAccuracy float64 `json:"knn_accuracy,omitempty"`
	// Collapse is the collapse metric (embedding.Collapse: about 1 healthy, near 0
	// collapsed) of the backbone's features of the validation images (or, without
	// validation images, of MonitorKNN's query images) after the epoch; 0 when neither
	// is there.
	Collapse float64 `json:"collapse,omitempty"`
	// Seconds is the epoch's wall time, validation and monitors included.
	Seconds float64 `json:"seconds"`
}

// PretrainResult describes the pretraining stage.
type PretrainResult struct {
	// Task is the pretext task's Name.
	Task string `json:"task"`
	// Images and ValidationImages count the source images trained and validated on.
	Images           int `json:"images"`
	ValidationImages int `json:"validation_images"`
	// Scored reports whether the task is a Scorer (Accuracy and ValScore are meaningful).
	Scored bool `json:"scored"`
	// Epochs is the per-epoch history.
	Epochs []EpochStats `json:"epochs"`
	// Metric is what chose the kept weights: "val_score", "val_loss", or "last_epoch"
	// without validation images.
	Metric string `json:"metric"`
	// BestEpoch is the epoch whose weights were kept and transferred, Best its metric (its
	// training loss when Metric is "last_epoch").
	BestEpoch int     `json:"best_epoch"`
	Best      float64 `json:"best"`
	// Seconds is the stage's wall time, summed over resumed sessions.
	Seconds float64 `json:"seconds"`
	// Checkpoint is the file holding the kept backbone weights, when the pipeline has a
	// checkpoint directory or was given FromPretrained.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// RunResult is one downstream run: a method trained on the labels of one run of one budget.
type RunResult struct {
	// Method is MethodSL or MethodSSL.
	Method string `json:"method"`
	// NLabels is the budget and Run the index of the run within it.
	NLabels int `json:"n_labels"`
	Run     int `json:"run"`
	// TestAccuracy and TestLoss (mean softmax cross-entropy) are measured on every test image.
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	// Seconds is the run's wall time, training and test evaluation.
	Seconds float64 `json:"seconds"`
	// TrainedParams is the number of scalars the optimizer updated: the whole network
	// when fine-tuning, the head only for a linear probe.
	TrainedParams int `json:"trained_params"`
	// Epochs is the per-epoch training history.
	Epochs []EpochStats `json:"epochs"`
}

// Report is the outcome of Evaluate.
type Report struct {
	// Backbone is the backbone's Name, Task the pretext task's ("" without pretraining),
	// Transfer "fine-tune" or "linear-probe".
	Backbone string `json:"backbone"`
	Task     string `json:"task,omitempty"`
	Transfer string `json:"transfer"`
	// Seed is the pipeline's seed.
	Seed uint64 `json:"seed"`
	// Classes is the number of classes; TrainImages and TestImages the sizes of the
	// labeled pool and of the test set.
	Classes     int `json:"classes"`
	TrainImages int `json:"train_images"`
	TestImages  int `json:"test_images"`
	// Budgets are the n_labels values and Methods the compared methods, in table order.
	Budgets []int    `json:"budgets"`
	Methods []string `json:"methods"`
	// Pretrain describes pretraining, nil without it (and in a combined report).
	Pretrain *PretrainResult `json:"pretrain,omitempty"`
	// Pretrains describes the pretraining behind each row of a combined report (Combine),
	// keyed by the row's method ("simclr+SL"); nil otherwise.
	Pretrains map[string]*PretrainResult `json:"pretrains,omitempty"`
	// Runs holds the finished downstream runs, by budget, then run, then method.
	Runs []RunResult `json:"runs"`
	// Warnings are non-fatal remarks about the configuration (e.g. budgets whose runs are
	// not exactly class-balanced).
	Warnings []string `json:"warnings,omitempty"`
	// Seconds is the wall time of Evaluate (for Gather, the summed seconds of the
	// pretraining and of the runs it read).
	Seconds float64 `json:"seconds"`
	// Complete is false when Evaluate stopped early (cancelled or failed): the report then
	// holds what had finished. A report of Gather is complete when no run is missing.
	Complete bool `json:"complete"`
	// Missing lists the runs asked for that have not finished: for Gather, the runs of the
	// grid without a result file; for an Evaluate with Shard or SelectRuns, the selected
	// runs it did not finish. Empty (and left out of the JSON) otherwise.
	Missing []RunKey `json:"missing,omitempty"`
}

// Summary aggregates the runs of one method on one budget.
type Summary struct {
	Method  string
	NLabels int
	// Runs is the number of finished runs.
	Runs int
	// MeanAccuracy and StdAccuracy are the mean and the sample standard deviation (n-1;
	// 0 for a single run) of the test accuracies; likewise for the test loss and seconds.
	MeanAccuracy, StdAccuracy float64
	MeanLoss, StdLoss         float64
	MeanSeconds               float64
}

// Summary returns the summary of method on the budget nLabels, and false when no run of it
// has finished. A run holding a NaN or infinite test number (Evaluate never makes one;
// a hand-made report might) is left out of every mean.
func (r *Report) Summary(method string, nLabels int) (Summary, bool) {
	var acc, loss, secs []float64
	for _, run := range r.Runs {
		if run.Method == method && run.NLabels == nLabels && finite(run.TestAccuracy) && finite(run.TestLoss) && finite(run.Seconds) {
			acc = append(acc, run.TestAccuracy)
			loss = append(loss, run.TestLoss)
			secs = append(secs, run.Seconds)
		}
	}
	if len(acc) == 0 {
		return Summary{}, false
	}
	s := Summary{Method: method, NLabels: nLabels, Runs: len(acc)}
	s.MeanAccuracy, s.StdAccuracy = meanStd(acc)
	s.MeanLoss, s.StdLoss = meanStd(loss)
	s.MeanSeconds = stat.Mean(secs, nil)
	return s, true
}

func meanStd(x []float64) (mean, std float64) {
	if len(x) == 1 {
		return x[0], 0
	}
	return stat.MeanStdDev(x, nil)
}

// Gain returns the mean test accuracy of SSL+SL minus that of SL on the budget nLabels (a
// fraction: 0.17 is 17 percentage points), and false unless both have finished runs.
func (r *Report) Gain(nLabels int) (float64, bool) { return r.GainOf(MethodSSL, nLabels) }

// hasMethod reports whether the report compares method.
func (r *Report) hasMethod(m string) bool {
	for _, x := range r.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// WriteMarkdown writes the comparison as Markdown: the test accuracy table of the seed
// (rows SL and SSL+SL, one column per n_labels, "mean% ± std" over the runs), the gain of
// SSL+SL over SL in percentage points, then the test loss and the time per run, and a line
// about pretraining. A cell without finished runs reads "–", and so does the loss of a
// transfer that has none (kNN); the runs listed in Missing follow, one per line.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	header := func(title string) {
		fmt.Fprintf(&b, "%s\n\n| n_labels |", title)
		for _, n := range r.Budgets {
			fmt.Fprintf(&b, " %d |", n)
		}
		b.WriteString("\n|---|")
		for range r.Budgets {
			b.WriteString("---|")
		}
		b.WriteString("\n")
	}
	row := func(label string, cell func(n int) string) {
		fmt.Fprintf(&b, "| %s |", label)
		for _, n := range r.Budgets {
			fmt.Fprintf(&b, " %s |", cell(n))
		}
		b.WriteString("\n")
	}
	summary := func(m string, f func(Summary) string) func(int) string {
		return func(n int) string {
			s, ok := r.Summary(m, n)
			if !ok {
				return "–"
			}
			return f(s)
		}
	}
	runs := r.runsPerBudget()
	header(fmt.Sprintf("Test accuracy (mean ± std over %s)", runs))
	for _, m := range r.Methods {
		row(m, summary(m, func(s Summary) string {
			return fmt.Sprintf("%.2f%% ± %.2f", 100*s.MeanAccuracy, 100*s.StdAccuracy)
		}))
	}
	if r.hasMethod(MethodSL) {
		for _, m := range r.Methods {
			if m == MethodSL {
				continue
			}
			label := "gain"
			if m != MethodSSL {
				label = "gain of " + m
			}
			row(label, func(n int) string {
				g, ok := r.GainOf(m, n)
				if !ok {
					return "–"
				}
				return fmt.Sprintf("%+.2f pp", 100*g)
			})
		}
	}
	b.WriteString("\n")
	header("Test loss (mean ± std)")
	for _, m := range r.Methods {
		row(m, summary(m, func(s Summary) string {
			if s.MeanLoss == 0 && s.StdLoss == 0 {
				return "–" // no loss: a kNN transfer trains and scores nothing with one
			}
			return fmt.Sprintf("%.4f ± %.4f", s.MeanLoss, s.StdLoss)
		}))
	}
	b.WriteString("\n")
	header("Seconds per run (mean)")
	for _, m := range r.Methods {
		row(m, summary(m, func(s Summary) string { return fmt.Sprintf("%.1f", s.MeanSeconds) }))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Backbone %s, transfer %s, seed %d, %d classes, %d training and %d test images.",
		r.Backbone, r.Transfer, r.Seed, r.Classes, r.TrainImages, r.TestImages)
	methods, pres := r.pretrainings()
	for i, p := range pres {
		if len(pres) > 1 || methods[i] != MethodSSL {
			fmt.Fprintf(&b, " %s:", methods[i])
		}
		if len(p.Epochs) == 0 && p.Images == 0 && p.Checkpoint != "" {
			// FromPretrained: the pretraining ran elsewhere; its file says what it kept.
			fmt.Fprintf(&b, " Pretrained backbone read from %s (pretext task %s", p.Checkpoint, p.Task)
			if p.Metric != "" {
				fmt.Fprintf(&b, ", kept epoch %d by %s %.4f", p.BestEpoch+1, p.Metric, p.Best)
			}
			b.WriteString(").")
			continue
		}
		fmt.Fprintf(&b, " Pretext task %s on %d images (%d validation), %d epochs in %.1f s", p.Task, p.Images, p.ValidationImages, len(p.Epochs), p.Seconds)
		if p.BestEpoch >= 0 && p.BestEpoch < len(p.Epochs) {
			if p.Metric == MetricLastEpoch {
				fmt.Fprintf(&b, "; kept epoch %d (the last; training loss %.4f)", p.BestEpoch+1, p.Best)
			} else {
				fmt.Fprintf(&b, "; kept epoch %d (%s %.4f)", p.BestEpoch+1, p.Metric, p.Best)
			}
			if e := p.Epochs[p.BestEpoch]; e.KNNAccuracy != 0 || e.Collapse != 0 {
				fmt.Fprintf(&b, ", whose representations have")
				if e.KNNAccuracy != 0 {
					fmt.Fprintf(&b, " kNN accuracy %.2f%%", 100*e.KNNAccuracy)
				}
				if e.Collapse != 0 {
					fmt.Fprintf(&b, " collapse metric %.3f (1 healthy, 0 collapsed)", e.Collapse)
				}
			}
		}
		b.WriteString(".")
	}
	switch {
	case len(r.Missing) > 0:
		fmt.Fprintf(&b, " Incomplete: %d runs missing.\n\nMissing runs:\n", len(r.Missing))
		for _, k := range r.Missing {
			fmt.Fprintf(&b, "\n- %s", k)
		}
	case !r.Complete:
		b.WriteString(" Incomplete: the evaluation stopped early.")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// runsPerBudget describes the number of runs behind each cell, e.g. "5 runs".
func (r *Report) runsPerBudget() string {
	lo, hi := -1, -1
	for _, m := range r.Methods {
		for _, n := range r.Budgets {
			s, _ := r.Summary(m, n)
			if lo < 0 || s.Runs < lo {
				lo = s.Runs
			}
			hi = max(hi, s.Runs)
		}
	}
	switch {
	case lo == hi && hi == 1:
		return "1 run"
	case lo == hi:
		return fmt.Sprintf("%d runs", hi)
	}
	return fmt.Sprintf("%d-%d runs", max(lo, 0), hi)
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"method", "n_labels", "run", "test_accuracy", "test_loss", "seconds", "epochs"}

// WriteCSV writes one row per finished downstream run, with the header CSVHeader, in the
// order of Runs. A report holding a NaN or infinite number is not written (ErrNonFinite).
func (r *Report) WriteCSV(w io.Writer) error {
	if err := r.checkFinite(); err != nil {
		return fmt.Errorf("ssl: WriteCSV: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, run := range r.Runs {
		rec := []string{run.Method, strconv.Itoa(run.NLabels), strconv.Itoa(run.Run),
			formatFloat(run.TestAccuracy), formatFloat(run.TestLoss), formatFloat(run.Seconds), strconv.Itoa(len(run.Epochs))}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WriteJSON writes the whole report, histories included, as indented JSON. A report
// holding a NaN or infinite number (Evaluate never makes one) is not written: the error
// matches ErrNonFinite and names the number.
func (r *Report) WriteJSON(w io.Writer) error {
	if err := r.checkFinite(); err != nil {
		return fmt.Errorf("ssl: WriteJSON: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadReportJSON reads a report written by WriteJSON.
func ReadReportJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("ssl: ReadReportJSON: %w", err)
	}
	return &r, nil
}
