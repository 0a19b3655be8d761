package datasets

import (
	"slices"
	"testing"
)

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		split Split
		n     int
	}{{Train, 5000}, {Test, 1000}} {
		d, err := Default(tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != tc.n {
			t.Fatalf("%v: Len = %d, want %d", tc.split, d.Len(), tc.n)
		}
		if c, h, w := d.Shape(); c != 3 || h != 16 || w != 16 {
			t.Fatalf("Shape = %d %d %d", c, h, w)
		}
		if !slices.Equal(d.Classes(), cifar10Names) {
			t.Fatalf("Classes = %q", d.Classes())
		}
		var count [10]int
		for i := 0; i < d.Len(); i++ {
			count[d.Label(i)]++
		}
		for c, k := range count {
			if k != tc.n/10 {
				t.Fatalf("%v: class %d has %d images, want %d", tc.split, c, k, tc.n/10)
			}
		}
		// Real photos: neither flat nor noise. The mean is mid-range and the spread is wide.
		var sum, sq float64
		for _, v := range d.pix {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		m := sum / float64(len(d.pix))
		if sd := sq/float64(len(d.pix)) - m*m; m < 90 || m > 150 || sd < 40*40 {
			t.Fatalf("%v: pixel mean %.1f, variance %.0f", tc.split, m, sd)
		}
	}
	if _, err := Default(Unlabeled); err == nil {
		t.Fatal("Default(Unlabeled) did not fail")
	}
}

// TestDefaultMatchesCIFAR10 rebuilds the default set from the real CIFAR-10 and compares.
func TestDefaultMatchesCIFAR10(t *testing.T) {
	train, test := realCIFAR(t)
	for _, tc := range []struct {
		full *Images
		sp   Split
		k    int
	}{{train, Train, 500}, {test, Test, 100}} {
		d, err := Default(tc.sp)
		if err != nil {
			t.Fatal(err)
		}
		var count [10]int
		j := 0
		for i := 0; i < tc.full.Len() && j < d.Len(); i++ {
			l := tc.full.Label(i)
			if count[l] == tc.k {
				continue
			}
			count[l]++
			if d.Label(j) != l {
				t.Fatalf("%v image %d: label %d, CIFAR-10 image %d has %d", tc.sp, j, d.Label(j), i, l)
			}
			src := tc.full.pix[i*3072 : (i+1)*3072]
			got := d.pix[j*768 : (j+1)*768]
			for c := 0; c < 3; c++ {
				for y := 0; y < 16; y++ {
					for x := 0; x < 16; x++ {
						p := src[c*1024:]
						s := int(p[2*y*32+2*x]) + int(p[2*y*32+2*x+1]) + int(p[(2*y+1)*32+2*x]) + int(p[(2*y+1)*32+2*x+1])
						if want := byte((s + 2) / 4); got[c*256+y*16+x] != want {
							t.Fatalf("%v image %d c%d (%d,%d) = %d, want %d", tc.sp, j, c, y, x, got[c*256+y*16+x], want)
						}
					}
				}
			}
			j++
		}
		if j != d.Len() {
			t.Fatalf("%v: matched %d of %d images", tc.sp, j, d.Len())
		}
	}
}

// BenchmarkDefault measures decoding the embedded set.
func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(Train); err != nil {
			b.Fatal(err)
		}
	}
}
