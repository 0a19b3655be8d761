package embedding

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNewMatrix(t *testing.T) {
	cases := []struct {
		rows, dim int
		data      []float32
		want      string
	}{
		{-1, 2, nil, "rows = -1 < 0"},
		{2, 0, nil, "dim = 0 < 1"},
		{2, 3, make([]float32, 5), "len(data) = 5, want rows*dim = 2*3 = 6"},
		{2, 3, []float32{0, 1, 2, 3, float32(math.NaN()), 5}, "data[4] (row 1, column 1) = NaN is not finite"},
		{1, 2, []float32{float32(math.Inf(-1)), 0}, "data[0] (row 0, column 0) = -Inf"},
		{math.MaxInt / 2, 4, nil, "overflows"},
	}
	for _, c := range cases {
		_, err := NewMatrix(c.rows, c.dim, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewMatrix(%d, %d, len %d): error %v, want %q", c.rows, c.dim, len(c.data), err, c.want)
		}
	}
	data := []float32{1, 2, 3, 4, 5, 6}
	m, err := NewMatrix(3, 2, data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows() != 3 || m.Dim() != 2 || !slices.Equal(m.Row(1), []float32{3, 4}) || &m.Data()[0] != &data[0] {
		t.Errorf("Rows %d Dim %d Row(1) %v", m.Rows(), m.Dim(), m.Row(1))
	}
	if r := m.Row(2); cap(r) != 2 {
		t.Errorf("Row(2) has capacity %d: appending to it would write past the row", cap(r))
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Row(3) of 3 rows did not panic")
			}
		}()
		m.Row(3)
	}()
}

func TestFromRows(t *testing.T) {
	m, err := FromRows([][]float32{{1, 2}, {3, 4}})
	if err != nil || m.Rows() != 2 || !slices.Equal(m.Data(), []float32{1, 2, 3, 4}) {
		t.Errorf("FromRows: %v %v", m, err)
	}
	for _, c := range []struct {
		rows [][]float32
		want string
	}{
		{nil, "no rows"},
		{[][]float32{{}}, "row 0 is empty"},
		{[][]float32{{1, 2}, {3, 4}, {5}}, "row 2 has 1 values, row 0 has 2"},
		{[][]float32{{1, 2}, {3, float32(math.NaN())}}, "(row 1, column 1) = NaN"},
	} {
		if _, err := FromRows(c.rows); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromRows(%v): error %v, want %q", c.rows, err, c.want)
		}
	}
}

func TestCollapseProperties(t *testing.T) {
	if v := Collapse(Matrix{}); !math.IsNaN(v) {
		t.Errorf("empty: %v, want NaN", v)
	}
	one, _ := FromRows([][]float32{{1, 2, 3}})
	if v := Collapse(one); !math.IsNaN(v) {
		t.Errorf("one row: %v, want NaN", v)
	}
	// Rows pointing the same way (any lengths): fully collapsed.
	same, _ := FromRows([][]float32{{1, 2, 2}, {2, 4, 4}, {0.5, 1, 1}})
	if v := Collapse(same); math.Abs(v) > 1e-15 {
		t.Errorf("parallel rows: %v, want 0", v)
	}
	// ±e_i for every axis: each dimension has values ±1 twice and 0 elsewhere.
	const d = 4
	var rows [][]float32
	for i := range d {
		for _, s := range []float32{1, -1} {
			r := make([]float32, d)
			r[i] = 3 * s
			rows = append(rows, r)
		}
	}
	m, _ := FromRows(rows)
	n := float64(2 * d)
	want := math.Sqrt(2/(n-1)) * math.Sqrt(d) // mean 0, two squares of 1, divisor n-1
	if v := Collapse(m); math.Abs(v-want) > 1e-12 {
		t.Errorf("±axes: %v, want %v", v, want)
	}
	// A zero row normalises to zero: it counts as a row at the origin.
	withZero, _ := FromRows(append(rows, make([]float32, d)))
	n++ // still mean 0 and two squares of 1 per dimension, one row more
	want = math.Sqrt(2/(n-1)) * math.Sqrt(d)
	if v := Collapse(withZero); math.Abs(v-want) > 1e-12 {
		t.Errorf("±axes and a zero row: %v, want %v", v, want)
	}
	// Scaling rows changes nothing.
	data, _ := clustered(9, 100, 10, 3, 1)
	a := Collapse(mustMatrix(t, 100, 10, data))
	for i := range data {
		data[i] *= float32(1 + i/10%5)
	}
	if b := Collapse(mustMatrix(t, 100, 10, data)); math.Abs(a-b) > 1e-6 {
		t.Errorf("scaled rows: %v, unscaled %v", b, a)
	}
}
