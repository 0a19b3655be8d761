package embedding

import (
	"testing"

	"github.com/selfsup/selfsup/internal/blas"
)

// BenchmarkKNN50k is one full evaluation at the scale of CIFAR-10: a bank of 50,000
// embeddings of dimension 64, 10,000 test rows, k = 200, t = 0.1, GOMAXPROCS workers. Run
// it once: go test -run '^$' -bench KNN50k -benchtime 1x ./embedding/; its PyTorch peer is
// testdata/peer_knn.py (run it right after, on the same machine).
func BenchmarkKNN50k(b *testing.B) {
	const n, m, dim, classes = 50000, 10000, 64, 10
	data, labels, tdata, tlabels := split(clustered(1, n+m, dim, classes, 4))(n, dim)
	train, err := NewMatrix(n, dim, data)
	if err != nil {
		b.Fatal(err)
	}
	test, err := NewMatrix(m, dim, tdata)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var acc float64
	for b.Loop() {
		knn, err := NewKNN(train, labels, classes)
		if err != nil {
			b.Fatal(err)
		}
		acc, err = knn.Accuracy(test, tlabels)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(acc, "accuracy")
	b.Logf("blas backend %s; accuracy %.4f", blas.Backend(), acc)
}
