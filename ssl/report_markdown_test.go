package ssl_test

import (
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// TestWriteMarkdownKNNAndLastEpoch checks two cases the table must not misstate: a kNN
// transfer has no test loss (it reads "–", not 0.0000), and a pretraining kept by the
// last epoch names the value it shows as the training loss.
func TestWriteMarkdownKNNAndLastEpoch(t *testing.T) {
	rep := &ssl.Report{
		Backbone: "b", Transfer: "knn-k200-t0.1", Budgets: []int{10}, Methods: []string{ssl.MethodSL, ssl.MethodSSL},
		Runs: []ssl.RunResult{
			{Method: ssl.MethodSL, NLabels: 10, TestAccuracy: 0.3, TestLoss: 1.9},
			{Method: ssl.MethodSSL, NLabels: 10, TestAccuracy: 0.4},
		},
		Pretrain: &ssl.PretrainResult{Task: "simclr", Images: 50, Metric: ssl.MetricLastEpoch, BestEpoch: 1, Best: 4.167,
			Epochs: []ssl.EpochStats{{Loss: 4.8}, {Loss: 4.167, KNNAccuracy: 0.48, Collapse: 0.29}}},
		Complete: true,
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	for _, want := range []string{"| SL | 1.9000 ± 0.0000 |", "| SSL+SL | – |", "kept epoch 2 (the last; training loss 4.1670)",
		"kNN accuracy 48.00%", "collapse metric 0.290"} {
		if !strings.Contains(s, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "0.0000 ± 0.0000") || strings.Contains(s, "last_epoch") {
		t.Errorf("Markdown shows a zero loss or the metric's key as a value:\n%s", s)
	}
}

// TestPlotCurvesCombinedKNN checks that a combined report with monitored pretrainings
// also plots every method's kNN accuracy and collapse metric on one plot each.
func TestPlotCurvesCombinedKNN(t *testing.T) {
	pre := func(task string, knn float64) *ssl.PretrainResult {
		return &ssl.PretrainResult{Task: task, Images: 10, Metric: ssl.MetricLastEpoch, BestEpoch: 1,
			Epochs: []ssl.EpochStats{{Epoch: 0, Loss: 2, KNNAccuracy: knn / 2, Collapse: 0.3}, {Epoch: 1, Loss: 1, KNNAccuracy: knn, Collapse: 0.2}}}
	}
	rep := &ssl.Report{Budgets: []int{10}, Methods: []string{ssl.MethodSL, "a+SL", "b+SL"},
		Pretrains: map[string]*ssl.PretrainResult{"a+SL": pre("a", 0.4), "b+SL": pre("b", 0.3)}}
	files, err := rep.PlotCurves(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(files, " ")
	for _, want := range []string{"pretext_knn.png", "pretext_collapse.png", "pretext_a_knn.png", "pretext_b_collapse.png"} {
		if !strings.Contains(got, "/"+want) {
			t.Errorf("PlotCurves wrote %s; want %s among them", got, want)
		}
	}
}
