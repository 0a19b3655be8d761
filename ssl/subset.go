package ssl

import (
	"fmt"
	"image"
	"slices"
)

// Subset returns the images idx of ds, in that order, as a Dataset: image k of the subset is
// image idx[k] of ds, with its label and ds's classes. Indices may repeat. idx is copied.
//
// When ds is a BatchFiller so is the subset, and its FillBatch goes straight to ds's. A subset
// of a subset refers to the original dataset directly. Every index must be in [0, ds.Len()).
func Subset(ds Dataset, idx []int) (Dataset, error) {
	if ds == nil {
		return nil, fmt.Errorf("ssl: Subset: nil dataset")
	}
	n := ds.Len()
	for k, i := range idx {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("ssl: Subset: index %d (position %d) out of range [0,%d)", i, k, n)
		}
	}
	own := slices.Clone(idx)
	if own == nil {
		own = []int{}
	}
	switch p := ds.(type) {
	case *subsetFiller:
		ds = p.parent
		for k, i := range own {
			own[k] = p.idx[i]
		}
	case *subset:
		ds = p.parent
		for k, i := range own {
			own[k] = p.idx[i]
		}
	}
	s := subset{parent: ds, idx: own}
	if bf, ok := ds.(BatchFiller); ok {
		return &subsetFiller{subset: s, bf: bf}, nil
	}
	return &s, nil
}

// subset is a view of some images of a parent dataset.
type subset struct {
	parent Dataset
	idx    []int
}

func (s *subset) Len() int                { return len(s.idx) }
func (s *subset) Image(i int) image.Image { return s.parent.Image(s.idx[i]) }
func (s *subset) Label(i int) int         { return s.parent.Label(s.idx[i]) }
func (s *subset) Classes() []string       { return s.parent.Classes() }

// subsetFiller is a subset of a BatchFiller, itself a BatchFiller.
type subsetFiller struct {
	subset
	bf BatchFiller
}

func (s *subsetFiller) Shape() (c, h, w int) { return s.bf.Shape() }

// FillBatch maps the indices to the parent's a chunk at a time and fills through it.
func (s *subsetFiller) FillBatch(dst []float32, idx []int) error {
	c, h, w := s.bf.Shape()
	per := c * h * w
	if len(dst) != len(idx)*per {
		return fmt.Errorf("ssl: FillBatch: dst has %d values, want %d (%d images of %dx%dx%d)", len(dst), len(idx)*per, len(idx), c, h, w)
	}
	for k, i := range idx {
		if i < 0 || i >= len(s.idx) {
			return fmt.Errorf("ssl: FillBatch: index %d (position %d) out of range [0,%d)", i, k, len(s.idx))
		}
	}
	var buf [256]int
	for first := 0; first < len(idx); first += len(buf) {
		m := min(len(buf), len(idx)-first)
		for k := 0; k < m; k++ {
			buf[k] = s.idx[idx[first+k]]
		}
		if err := s.bf.FillBatch(dst[first*per:(first+m)*per], buf[:m]); err != nil {
			return err
		}
	}
	return nil
}
