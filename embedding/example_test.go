package embedding_test

import (
	"fmt"

	"github.com/selfsup/selfsup/embedding"
)

// Evaluate embeddings by kNN accuracy and check them for collapse. The training rows are
// the feature bank (features of labeled images, one row each); each test row is classified
// by its 3 most similar bank rows. Lengths do not matter, only directions: the rows are
// L2-normalised inside.
func Example() {
	bank, err := embedding.FromRows([][]float32{
		{1, 0.1, 0}, {2, 0.3, 0.1}, {0.9, 0, 0.2}, // class 0: along x
		{0, 1, 0.1}, {0.2, 3, 0}, {0.1, 0.8, 0.3}, // class 1: along y
		{0, 0.1, 1}, {0.3, 0, 2}, {0.1, 0.2, 0.7}, // class 2: along z
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	labels := []int{0, 0, 0, 1, 1, 1, 2, 2, 2}
	knn, err := embedding.NewKNN(bank, labels, 3, embedding.Neighbors(3))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The third test row, labeled 2, points away from class 2 (along -z): its nearest bank
	// rows are of class 0, so it is misclassified.
	test, _ := embedding.FromRows([][]float32{{5, 1, 0}, {0, 0.5, 0.4}, {0.1, 0, -1}})
	pred, err := knn.Predict(test)
	fmt.Println("predicted:", pred, err)
	acc, err := knn.Accuracy(test, []int{0, 1, 2})
	fmt.Printf("accuracy: %.3f %v\n", acc, err)

	// Labels outside [0, classes) are errors that name the offending index.
	_, err = embedding.NewKNN(bank, []int{0, 0, 0, 1, 1, 1, 2, 2, 3}, 3)
	fmt.Println(err)

	// Collapse: about 1 when the rows spread over the sphere, 0 when they all point the
	// same way.
	collapsed, _ := embedding.FromRows([][]float32{{1, 1, 0}, {2, 2, 0}, {0.5, 0.5, 0}})
	fmt.Printf("collapse: bank %.2f, collapsed %.2f\n", embedding.Collapse(bank), embedding.Collapse(collapsed))
	// Output:
	// predicted: [0 1 0] <nil>
	// accuracy: 0.667 <nil>
	// embedding: NewKNN: labels[8] = 3 is outside [0, classes=3)
	// collapse: bank 0.78, collapsed 0.00
}
