package ssl

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfsup/selfsup/checkpoint"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// curve is one named line of a plot.
type curve struct {
	name string
	pts  plotter.XYs
}

// PlotCurves writes the training curves as PNG files in dir (created if needed) and
// returns their paths:
//
//   - pretext_loss.png and pretext_acc.png: the pretext task's training and validation
//     loss, and its training and validation score (accuracy for the rotation task), per
//     epoch, as the seed's plots; the accuracy plot only for a task with a Scorer;
//   - pretext_knn.png and pretext_collapse.png: the kNN accuracy (MonitorKNN) and the
//     collapse metric of the representations per epoch, when they were measured; in a
//     combined report (Combine) these four are pretext_<name>_loss.png and so on, one set
//     per pretrained method, and pretext_knn.png and pretext_collapse.png put every
//     method's line on one plot;
//   - downstream_loss_n<N>.png and downstream_acc_n<N>.png for each budget N: the
//     training loss and accuracy per epoch of each method, averaged over the budget's runs.
//
// Epochs are numbered from 1. Each file is written atomically (checkpoint.WriteFileAtomic):
// a failed write, a full disk for one, leaves an earlier file of the same name as it was
// and no partial PNG.
func (r *Report) PlotCurves(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ssl: PlotCurves: %w", err)
	}
	var files []string
	add := func(name, title, ylabel string, curves []curve) error {
		if len(curves) == 0 {
			return nil
		}
		path := filepath.Join(dir, name)
		if err := savePlot(path, title, ylabel, curves); err != nil {
			return fmt.Errorf("ssl: PlotCurves: %s: %w", path, err)
		}
		files = append(files, path)
		return nil
	}
	methods, pres := r.pretrainings()
	var allKNN, allCollapse []curve // a line per method, for a combined report
	for i, p := range pres {
		if len(p.Epochs) == 0 {
			continue
		}
		// pretext_loss.png for a single pretraining; pretext_<name>_loss.png for each row
		// of a combined report.
		prefix := "pretext_"
		if methods[i] != MethodSSL {
			prefix += strings.TrimSuffix(methods[i], "+SL") + "_"
		}
		pick := func(f func(EpochStats) float64) plotter.XYs {
			pts := make(plotter.XYs, len(p.Epochs))
			for i, e := range p.Epochs {
				pts[i] = plotter.XY{X: float64(e.Epoch + 1), Y: f(e)}
			}
			return pts
		}
		loss := []curve{{"train", pick(func(e EpochStats) float64 { return e.Loss })}}
		acc := []curve{{"train", pick(func(e EpochStats) float64 { return e.Accuracy })}}
		if p.ValidationImages > 0 {
			loss = append(loss, curve{"validation", pick(func(e EpochStats) float64 { return e.ValLoss })})
			acc = append(acc, curve{"validation", pick(func(e EpochStats) float64 { return e.ValScore })})
		}
		if err := add(prefix+"loss.png", fmt.Sprintf("Pretext task %s: loss", p.Task), "loss", loss); err != nil {
			return files, err
		}
		if p.Scored {
			if err := add(prefix+"acc.png", fmt.Sprintf("Pretext task %s: accuracy", p.Task), "accuracy", acc); err != nil {
				return files, err
			}
		}
		var knn, col []curve
		if slices.ContainsFunc(p.Epochs, func(e EpochStats) bool { return e.KNNAccuracy != 0 }) {
			knn = []curve{{"kNN accuracy", pick(func(e EpochStats) float64 { return e.KNNAccuracy })}}
		}
		if slices.ContainsFunc(p.Epochs, func(e EpochStats) bool { return e.Collapse != 0 }) {
			col = []curve{{"collapse metric", pick(func(e EpochStats) float64 { return e.Collapse })}}
		}
		name := strings.TrimSuffix(methods[i], "+SL")
		for _, c := range knn {
			allKNN = append(allKNN, curve{name, c.pts})
		}
		for _, c := range col {
			allCollapse = append(allCollapse, curve{name, c.pts})
		}
		if err := add(prefix+"knn.png", fmt.Sprintf("Pretext task %s: kNN accuracy of the representations", p.Task), "accuracy", knn); err != nil {
			return files, err
		}
		if err := add(prefix+"collapse.png", fmt.Sprintf("Pretext task %s: collapse metric (1 healthy, 0 collapsed)", p.Task), "std × sqrt(d)", col); err != nil {
			return files, err
		}
	}
	if len(pres) > 1 {
		if err := add("pretext_knn.png", "kNN accuracy of the representations, per method", "accuracy", allKNN); err != nil {
			return files, err
		}
		if err := add("pretext_collapse.png", "Collapse metric per method (1 healthy, 0 collapsed)", "std × sqrt(d)", allCollapse); err != nil {
			return files, err
		}
	}
	for _, n := range r.Budgets {
		var loss, acc []curve
		for _, m := range r.Methods {
			l, a := r.meanCurves(m, n)
			if len(l) > 0 {
				loss = append(loss, curve{m, l})
				acc = append(acc, curve{m, a})
			}
		}
		if err := add(fmt.Sprintf("downstream_loss_n%d.png", n), fmt.Sprintf("n_labels=%d: training loss", n), "loss", loss); err != nil {
			return files, err
		}
		if err := add(fmt.Sprintf("downstream_acc_n%d.png", n), fmt.Sprintf("n_labels=%d: training accuracy", n), "accuracy", acc); err != nil {
			return files, err
		}
	}
	return files, nil
}

// meanCurves averages the training loss and accuracy of method's runs on budget n per
// epoch, over the runs that reached the epoch.
func (r *Report) meanCurves(method string, n int) (loss, acc plotter.XYs) {
	var sumL, sumA []float64
	var cnt []int
	for _, run := range r.Runs {
		if run.Method != method || run.NLabels != n {
			continue
		}
		for i, e := range run.Epochs {
			for len(sumL) <= i {
				sumL, sumA, cnt = append(sumL, 0), append(sumA, 0), append(cnt, 0)
			}
			sumL[i] += e.Loss
			sumA[i] += e.Accuracy
			cnt[i]++
		}
	}
	for i := range sumL {
		loss = append(loss, plotter.XY{X: float64(i + 1), Y: sumL[i] / float64(cnt[i])})
		acc = append(acc, plotter.XY{X: float64(i + 1), Y: sumA[i] / float64(cnt[i])})
	}
	return loss, acc
}

func savePlot(path, title, ylabel string, curves []curve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	var args []any
	for _, c := range curves {
		args = append(args, c.name, c.pts)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	if ylabel == "accuracy" {
		// Accuracies rise: a fixed [0, 1] axis, the legend at the bottom, out of the way.
		p.Y.Min, p.Y.Max = 0, 1
		p.Legend.Top = false
	} else {
		p.Legend.Top = true
	}
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		if plotWriter != nil {
			w = plotWriter(w)
		}
		_, err := wt.WriteTo(w)
		return err
	})
}

// plotWriter, when set (by tests), wraps the writer a plot is encoded into, e.g. to make
// it fail part-way.
var plotWriter func(io.Writer) io.Writer
