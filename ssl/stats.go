package ssl

import (
	"context"
	"fmt"
	"math"
)

// Stats summarises the pixel values of a dataset on the [0, 1] scale that FillBatch writes.
type Stats struct {
	// N is the number of images; C, H, W their shape.
	N, C, H, W int
	// ChannelMean and ChannelStd are the mean and the (population) standard deviation of each
	// channel over every pixel of every image.
	ChannelMean, ChannelStd []float32
	// PixelMean is the mean image, C*H*W values in CHW order: what per-pixel mean subtraction
	// subtracts.
	PixelMean []float32
}

// statsChunk is the number of images read per FillBatch call.
const statsChunk = 256

// ComputeStats reads every image of ds through FillBatch, a chunk at a time, and returns its
// per-channel mean and standard deviation and its per-pixel mean, accumulated in float64.
// ctx is checked between chunks. An empty dataset is an error.
func ComputeStats(ctx context.Context, ds Dataset) (*Stats, error) {
	c, h, w, err := Shape(ds)
	if err != nil {
		return nil, fmt.Errorf("ssl: ComputeStats: %w", err)
	}
	n := ds.Len()
	if n == 0 {
		return nil, fmt.Errorf("ssl: ComputeStats: dataset is empty")
	}
	per := c * h * w
	sum := make([]float64, per)
	sq := make([]float64, per)
	buf := make([]float32, min(n, statsChunk)*per)
	idx := make([]int, min(n, statsChunk))
	for first := 0; first < n; first += statsChunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ssl: ComputeStats: %w", err)
		}
		m := min(statsChunk, n-first)
		for k := range m {
			idx[k] = first + k
		}
		if err := FillBatch(ds, buf[:m*per], idx[:m]); err != nil {
			return nil, fmt.Errorf("ssl: ComputeStats: images %d..%d: %w", first, first+m-1, err)
		}
		for k := range m {
			img := buf[k*per : (k+1)*per]
			s, q := sum[:len(img)], sq[:len(img)]
			for j, v := range img {
				x := float64(v)
				s[j] += x
				q[j] += x * x
			}
		}
	}
	st := &Stats{N: n, C: c, H: h, W: w,
		ChannelMean: make([]float32, c), ChannelStd: make([]float32, c), PixelMean: make([]float32, per)}
	plane := h * w
	for ch := 0; ch < c; ch++ {
		var s, q float64
		for j := ch * plane; j < (ch+1)*plane; j++ {
			st.PixelMean[j] = float32(sum[j] / float64(n))
			s += sum[j]
			q += sq[j]
		}
		cnt := float64(n) * float64(plane)
		mean := s / cnt
		st.ChannelMean[ch] = float32(mean)
		st.ChannelStd[ch] = float32(math.Sqrt(max(q/cnt-mean*mean, 0)))
	}
	return st, nil
}

// PixelMean returns the mean image of ds (CHW float32 on the [0, 1] scale), as ComputeStats.
func PixelMean(ctx context.Context, ds Dataset) ([]float32, error) {
	st, err := ComputeStats(ctx, ds)
	if err != nil {
		return nil, err
	}
	return st.PixelMean, nil
}
