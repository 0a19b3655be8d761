package ssl

import (
	"context"
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
)

// knnMonitor measures the kNN accuracy of the backbone being pretrained (MonitorKNN) on
// an inference graph that shares the training weights.
type knnMonitor struct {
	g                      *train.Graph
	ref, query             Dataset
	refLabels, queryLabels []int
	classes                int
	mean                   []float32
}

// newMonitor compiles the monitor's graph on ps, or returns nil without MonitorKNN.
func (pl *plan) newMonitor(ps *nn.Params, mean []float32) (*knnMonitor, error) {
	ref, q := pl.pre.monitorRef, pl.pre.monitorQuery
	if ref == nil {
		return nil, nil
	}
	b := pl.p.backbone
	build := func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) { return nil, b.Build(s.In(BackboneScope), x) }
	g, err := train.Compile(train.Spec{Params: ps, Input: []int{embedBatch, pl.c, pl.h, pl.w}, Build: build})
	if err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: MonitorKNN: compiling the backbone: %w", err)
	}
	m := &knnMonitor{g: g, ref: ref, query: q, refLabels: Labels(ref), queryLabels: Labels(q), mean: mean}
	m.classes = len(ref.Classes())
	if m.classes == 0 {
		m.classes = slices.Max(m.refLabels) + 1
	}
	return m, nil
}

// measure embeds both sets with the current weights and returns the kNN accuracy of the
// query set, and the query set's features.
func (m *knnMonitor) measure(ctx context.Context) (float64, []float32, error) {
	refRows, dim, err := inferAll(ctx, m.g, m.ref, m.mean)
	if err != nil {
		return 0, nil, err
	}
	qRows, _, err := inferAll(ctx, m.g, m.query, m.mean)
	if err != nil {
		return 0, nil, err
	}
	bank, err := embedding.NewMatrix(m.ref.Len(), dim, refRows)
	if err != nil {
		return 0, nil, err
	}
	qm, err := embedding.NewMatrix(m.query.Len(), dim, qRows)
	if err != nil {
		return 0, nil, err
	}
	knn, err := embedding.NewKNN(bank, m.refLabels, m.classes)
	if err != nil {
		return 0, nil, err
	}
	acc, err := knn.AccuracyContext(ctx, qm, m.queryLabels)
	return acc, qRows, err
}
