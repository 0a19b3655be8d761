package embedding

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The reference of testdata/knn_reference.json, written by testdata/gen_knn_reference.py.
type refKNNRun struct {
	K           int     `json:"k"`
	T           float64 `json:"t"`
	KUsed       int     `json:"k_used"`
	Predictions []int   `json:"predictions"`
	Accuracy    float64 `json:"accuracy"`
}

type refKNNCase struct {
	Name          string      `json:"name"`
	Rows          int         `json:"rows"`
	TestRows      int         `json:"test_rows"`
	Dim           int         `json:"dim"`
	Classes       int         `json:"classes"`
	Train         []float32   `json:"train"`
	TrainLabels   []int       `json:"train_labels"`
	Test          []float32   `json:"test"`
	TestLabels    []int       `json:"test_labels"`
	Runs          []refKNNRun `json:"runs"`
	CollapseTrain float64     `json:"collapse_train"`
	CollapseTest  float64     `json:"collapse_test"`
}

type refCollapse struct {
	Name     string    `json:"name"`
	Rows     int       `json:"rows"`
	Dim      int       `json:"dim"`
	Data     []float32 `json:"data"`
	Collapse float64   `json:"collapse"`
}

type reference struct {
	KNN      []refKNNCase  `json:"knn"`
	Collapse []refCollapse `json:"collapse"`
}

func readReference(t *testing.T) reference {
	t.Helper()
	path := filepath.Join("testdata", "knn_reference.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(ref.KNN) < 2 || len(ref.Collapse) < 3 {
		t.Fatalf("%s: %d kNN cases, %d collapse cases", path, len(ref.KNN), len(ref.Collapse))
	}
	return ref
}

func mustMatrix(t testing.TB, rows, dim int, data []float32) Matrix {
	t.Helper()
	m, err := NewMatrix(rows, dim, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// shrinkBlocks makes Predict use tiny blocks (a few test rows, 64 training columns, depth
// chunks of depth dimensions) so that small data crosses every block boundary.
func shrinkBlocks(t *testing.T, rows, depth int) {
	t.Helper()
	br, md, tm := blockRows, maxDepth, targetMACs
	t.Cleanup(func() { blockRows, maxDepth, targetMACs = br, md, tm })
	blockRows, maxDepth, targetMACs = rows, depth, 1
}

// TestKNNReference checks the predictions against numpy's exactly and the accuracy to
// 1e-6, with the default blocking, with tiny blocks (several training chunks, depth split
// in two), and with 1 and 2 workers.
func TestKNNReference(t *testing.T) {
	ref := readReference(t)
	for _, blocks := range []string{"default", "tiny"} {
		t.Run(blocks, func(t *testing.T) {
			if blocks == "tiny" {
				shrinkBlocks(t, 7, 5)
			}
			for _, c := range ref.KNN {
				train := mustMatrix(t, c.Rows, c.Dim, c.Train)
				test := mustMatrix(t, c.TestRows, c.Dim, c.Test)
				for _, r := range c.Runs {
					for _, workers := range []int{1, 2} {
						knn, err := NewKNN(train, c.TrainLabels, c.Classes, Neighbors(r.K), Temperature(r.T), Workers(workers))
						if err != nil {
							t.Fatal(err)
						}
						if knn.Neighbors() != r.KUsed {
							t.Errorf("%s k=%d: Neighbors() = %d, want %d", c.Name, r.K, knn.Neighbors(), r.KUsed)
						}
						pred, err := knn.Predict(test)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(pred, r.Predictions) {
							for i := range pred {
								if pred[i] != r.Predictions[i] {
									t.Errorf("%s k=%d t=%v workers=%d: row %d predicted %d, numpy %d", c.Name, r.K, r.T, workers, i, pred[i], r.Predictions[i])
								}
							}
						}
						acc, err := knn.Accuracy(test, c.TestLabels)
						if err != nil {
							t.Fatal(err)
						}
						if math.Abs(acc-r.Accuracy) > 1e-6 {
							t.Errorf("%s k=%d t=%v: accuracy %v, numpy %v", c.Name, r.K, r.T, acc, r.Accuracy)
						}
					}
				}
			}
		})
	}
}

func TestCollapseReference(t *testing.T) {
	ref := readReference(t)
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: Collapse = %.9f, numpy %.9f", name, got, want)
		}
	}
	for _, c := range ref.Collapse {
		check(c.Name, Collapse(mustMatrix(t, c.Rows, c.Dim, c.Data)), c.Collapse)
	}
	for _, c := range ref.KNN {
		check(c.Name+" train", Collapse(mustMatrix(t, c.Rows, c.Dim, c.Train)), c.CollapseTrain)
		check(c.Name+" test", Collapse(mustMatrix(t, c.TestRows, c.Dim, c.Test)), c.CollapseTest)
	}
	// The metric separates the two regimes it is for.
	for _, c := range ref.Collapse {
		got := Collapse(mustMatrix(t, c.Rows, c.Dim, c.Data))
		switch c.Name {
		case "collapsed":
			if got > 0.05 {
				t.Errorf("collapsed: %v, want near 0", got)
			}
		case "healthy":
			if got < 0.95 || got > 1.05 {
				t.Errorf("healthy: %v, want near 1", got)
			}
		}
	}
}
