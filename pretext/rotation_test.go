package pretext

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// TestRotateMatchesRot90 checks Rotate against numpy.rot90 on a 3x3 plane:
//
//	np.rot90([[1,2,3],[4,5,6],[7,8,9]], k) for k = 1, 2, 3.
func TestRotateMatchesRot90(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	want := map[int][]float32{
		0:  {1, 2, 3, 4, 5, 6, 7, 8, 9},
		1:  {3, 6, 9, 2, 5, 8, 1, 4, 7},
		2:  {9, 8, 7, 6, 5, 4, 3, 2, 1},
		3:  {7, 4, 1, 8, 5, 2, 9, 6, 3},
		-1: {7, 4, 1, 8, 5, 2, 9, 6, 3},
		5:  {3, 6, 9, 2, 5, 8, 1, 4, 7},
	}
	for k, w := range want {
		dst := make([]float32, 9)
		Rotate(dst, src, 1, 3, k)
		if !slices.Equal(dst, w) {
			t.Errorf("k=%d: %v, want %v", k, dst, w)
		}
	}
}

func TestRotateComposesPerChannel(t *testing.T) {
	const c, n = 3, 5
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, c*n*n)
	for i := range src {
		src[i] = rng.Float32()
	}
	a, b := make([]float32, len(src)), make([]float32, len(src))
	// Four quarter turns are the identity; one then two is three.
	copy(a, src)
	for range 4 {
		Rotate(b, a, c, n, 1)
		a, b = b, a
	}
	if !slices.Equal(a, src) {
		t.Fatal("four quarter turns changed the image")
	}
	Rotate(a, src, c, n, 1)
	Rotate(b, a, c, n, 2)
	three := make([]float32, len(src))
	Rotate(three, src, c, n, 3)
	if !slices.Equal(b, three) {
		t.Fatal("rotating by 1 then 2 differs from rotating by 3")
	}
	// Channels rotate independently: channel 1 of the result is channel 1 rotated.
	one := make([]float32, n*n)
	Rotate(one, src[n*n:2*n*n], 1, n, 3)
	if !slices.Equal(one, three[n*n:2*n*n]) {
		t.Fatal("channel 1 was not rotated on its own")
	}
}

func batchOf(task *RotationTask, n, size int, seed uint64) *ssl.Batch {
	per := 3 * size * size
	v := task.Views()
	b := &ssl.Batch{N: n, C: 3, H: size, W: size, Views: v, Images: make([]float32, n*per),
		Inputs: make([]float32, n*v*per), Targets: make([]float32, n*v), Rand: rand.New(rand.NewPCG(seed, 0)), Training: true}
	for i := range b.Images {
		b.Images[i] = float32(i)
	}
	b.Mean = make([]float32, per)
	for j := range b.Mean {
		b.Mean[j] = float32(j%7) * 0.5
	}
	b.Valid = n
	return b
}

// centredRotation is image i of b, centred with b.Mean and then rotated by k quarter turns.
func centredRotation(b *ssl.Batch, i, k int) []float32 {
	c := slices.Clone(b.Image(i))
	b.Normalize(c)
	out := make([]float32, len(c))
	Rotate(out, c, b.C, b.H, k)
	return out
}

func TestAllRotationsLayout(t *testing.T) {
	task := Rotation(AllRotations())
	if task.Name() != "rotation-all" || task.Views() != 4 || !slices.Equal(task.TargetShape(12), []int{12}) {
		t.Fatalf("all rotations: name %q, views %d", task.Name(), task.Views())
	}
	b := batchOf(task, 3, 4, 1)
	if err := task.Prepare(b); err != nil {
		t.Fatal(err)
	}
	for v := 0; v < 4; v++ {
		for i := 0; i < 3; i++ {
			if got := b.Targets[v*3+i]; got != float32(v) {
				t.Fatalf("target of view %d of image %d is %v, want %d (view-major)", v, i, got, v)
			}
			if want := centredRotation(b, i, v); !slices.Equal(b.Input(v, i), want) {
				t.Fatalf("view %d of image %d is not the image rotated %d times", v, i, v)
			}
		}
	}
}

func TestRandomRotationIsSeededAndCoversAll(t *testing.T) {
	task := Rotation()
	if task.Name() != "rotation-random" || task.Views() != 1 {
		t.Fatalf("default: name %q, views %d", task.Name(), task.Views())
	}
	a, b, c := batchOf(task, 200, 4, 9), batchOf(task, 200, 4, 9), batchOf(task, 200, 4, 10)
	for _, x := range []*ssl.Batch{a, b, c} {
		if err := task.Prepare(x); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(a.Targets, b.Targets) || !slices.Equal(a.Inputs, b.Inputs) {
		t.Fatal("the same seed drew different rotations")
	}
	if slices.Equal(a.Targets, c.Targets) {
		t.Fatal("different seeds drew the same 200 rotations")
	}
	count := [4]int{}
	for i, k := range a.Targets {
		count[int(k)]++
		if want := centredRotation(a, i, int(k)); !slices.Equal(a.Input(0, i), want) {
			t.Fatalf("image %d is not rotated by its target %v", i, k)
		}
	}
	for k, n := range count {
		if n < 30 {
			t.Fatalf("rotation %d drawn %d times of 200: %v", k, n, count)
		}
	}
}

func TestNonSquareImagesAreRefused(t *testing.T) {
	task := Rotation()
	if err := task.CheckShape(3, 8, 6); err == nil || !strings.Contains(err.Error(), "8x6") {
		t.Fatalf("CheckShape(3, 8, 6): %v", err)
	}
	if err := task.CheckShape(3, 8, 8); err != nil {
		t.Fatal(err)
	}
	b := &ssl.Batch{N: 1, C: 3, H: 8, W: 6, Views: 1}
	if err := task.Prepare(b); err == nil {
		t.Fatal("Prepare accepted a non-square batch")
	}
}

func TestScoreCountsRealRowsOfEveryView(t *testing.T) {
	task := Rotation()
	out := []float32{
		9, 0, 0, 0, // view 0, image 0: predicts 0
		0, 0, 9, 0, // view 0, image 1: predicts 2
		0, 9, 0, 0, // view 0, image 2 (padding): predicts 1
		0, 9, 0, 0, // view 1, image 0: predicts 1
		0, 0, 0, 9, // view 1, image 1: predicts 3
		9, 0, 0, 0, // view 1, image 2 (padding): predicts 0
	}
	targets := []float32{0, 3, 1, 1, 3, 3}
	if got := task.Score(out, targets, ssl.Geometry{N: 3, Views: 2, Valid: 2}); got != 0.75 {
		t.Fatalf("score of 2 real images in 2 views %v, want 0.75", got)
	}
	if got := task.Score(out, targets, ssl.Geometry{N: 3, Views: 2, Valid: 3}); got != 4.0/6 {
		t.Fatalf("score of all 6 rows %v, want 4/6", got)
	}
}
