package ssl

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestComputeStats(t *testing.T) {
	m := newMemSet(600, 3, 5) // more than one chunk
	for _, ds := range []Dataset{m, &fillerSet{memSet: m}} {
		st, err := ComputeStats(context.Background(), ds)
		if err != nil {
			t.Fatal(err)
		}
		if st.N != 600 || st.C != 3 || st.H != 3 || st.W != 5 || len(st.PixelMean) != 45 {
			t.Fatalf("shape %+v", st)
		}
		// Two-pass reference straight from the pattern.
		plane := 15
		for c := 0; c < 3; c++ {
			var s float64
			for i := 0; i < 600; i++ {
				for p := 0; p < plane; p++ {
					s += float64(m.val(i, c, p)) / 255
				}
			}
			mean := s / float64(600*plane)
			var v float64
			for i := 0; i < 600; i++ {
				for p := 0; p < plane; p++ {
					d := float64(m.val(i, c, p))/255 - mean
					v += d * d
				}
			}
			std := math.Sqrt(v / float64(600*plane))
			if math.Abs(float64(st.ChannelMean[c])-mean) > 1e-6 || math.Abs(float64(st.ChannelStd[c])-std) > 1e-6 {
				t.Fatalf("channel %d: mean %v std %v, want %v %v", c, st.ChannelMean[c], st.ChannelStd[c], mean, std)
			}
			for p := 0; p < plane; p++ {
				var ps float64
				for i := 0; i < 600; i++ {
					ps += float64(m.val(i, c, p)) / 255
				}
				if got := float64(st.PixelMean[c*plane+p]); math.Abs(got-ps/600) > 1e-6 {
					t.Fatalf("pixel mean c%d p%d = %v, want %v", c, p, got, ps/600)
				}
			}
		}
		pm, err := PixelMean(context.Background(), ds)
		if err != nil || len(pm) != 45 || pm[7] != st.PixelMean[7] {
			t.Fatalf("PixelMean: %v", err)
		}
	}
}

func TestComputeStatsErrors(t *testing.T) {
	if _, err := ComputeStats(context.Background(), newMemSet(0, 2, 2)); err == nil {
		t.Fatal("empty dataset accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ComputeStats(ctx, newMemSet(5, 2, 2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
