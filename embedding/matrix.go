package embedding

import (
	"fmt"
	"math"
)

// Matrix is a read-only view of n embeddings of dim float32 values each, stored row-major:
// row i is Data()[i*dim : (i+1)*dim]. Build one with NewMatrix or FromRows; the zero Matrix
// is empty (no rows, dimension 0). A Matrix shares its slice with the caller and nothing in
// this package writes to it.
type Matrix struct {
	rows, dim int
	data      []float32
}

// NewMatrix returns a Matrix of rows embeddings of dim values over data, which must hold
// exactly rows*dim values (row-major) and is used in place, not copied. It returns an error
// naming the problem when rows < 0, dim < 1, len(data) != rows*dim, or a value is NaN or
// infinite (naming its row and column). Zero rows are allowed.
func NewMatrix(rows, dim int, data []float32) (Matrix, error) {
	switch {
	case rows < 0:
		return Matrix{}, fmt.Errorf("embedding: NewMatrix: rows = %d < 0", rows)
	case dim < 1:
		return Matrix{}, fmt.Errorf("embedding: NewMatrix: dim = %d < 1", dim)
	case rows > math.MaxInt/dim:
		return Matrix{}, fmt.Errorf("embedding: NewMatrix: rows*dim = %d*%d overflows int", rows, dim)
	case len(data) != rows*dim:
		return Matrix{}, fmt.Errorf("embedding: NewMatrix: len(data) = %d, want rows*dim = %d*%d = %d", len(data), rows, dim, rows*dim)
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Matrix{}, fmt.Errorf("embedding: NewMatrix: data[%d] (row %d, column %d) = %v is not finite", i, i/dim, i%dim, v)
		}
	}
	return Matrix{rows: rows, dim: dim, data: data}, nil
}

// FromRows copies rows, which must all have the same length of at least 1, into a new
// Matrix. It returns an error naming the first row whose length differs from row 0's, or
// the first value that is NaN or infinite. An empty rows gives an error too, since the
// dimension would be unknown.
func FromRows(rows [][]float32) (Matrix, error) {
	if len(rows) == 0 {
		return Matrix{}, fmt.Errorf("embedding: FromRows: no rows (the dimension would be unknown)")
	}
	dim := len(rows[0])
	if dim == 0 {
		return Matrix{}, fmt.Errorf("embedding: FromRows: row 0 is empty")
	}
	data := make([]float32, 0, len(rows)*dim)
	for i, r := range rows {
		if len(r) != dim {
			return Matrix{}, fmt.Errorf("embedding: FromRows: row %d has %d values, row 0 has %d", i, len(r), dim)
		}
		data = append(data, r...)
	}
	m, err := NewMatrix(len(rows), dim, data)
	if err != nil {
		return Matrix{}, fmt.Errorf("embedding: FromRows: %w", err)
	}
	return m, nil
}

// Rows returns the number of embeddings.
func (m Matrix) Rows() int { return m.rows }

// Dim returns the number of values per embedding (0 for the zero Matrix).
func (m Matrix) Dim() int { return m.dim }

// Row returns embedding i, a view into the Matrix's data (do not modify it). It panics when
// i is out of range, like a slice index.
func (m Matrix) Row(i int) []float32 {
	if i < 0 || i >= m.rows {
		panic(fmt.Sprintf("embedding: Matrix.Row(%d) out of range [0, %d)", i, m.rows))
	}
	return m.data[i*m.dim : (i+1)*m.dim : (i+1)*m.dim]
}

// Data returns the row-major values, the slice the Matrix was built over.
func (m Matrix) Data() []float32 { return m.data }

// normEps is the floor of a row's norm in normalisation, as in PyTorch's
// F.normalize(x, dim=1) (eps = 1e-12): a row is divided by max(‖row‖, normEps), so a zero
// row stays zero.
const normEps = 1e-12

// invNorm returns 1/max(‖row‖₂, normEps), the norm accumulated in float64.
func invNorm(row []float32) float64 {
	var s float64
	for _, v := range row {
		s += float64(v) * float64(v)
	}
	return 1 / math.Max(math.Sqrt(s), normEps)
}
