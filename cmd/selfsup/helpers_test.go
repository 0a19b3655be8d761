package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// makeFolder writes a tiny labelled image folder for folder:PATH: root/train/<class>/*.png
// (perTrain images per class) and root/test/<class>/*.png (perTest), size x size pixels.
// Class k is a bright square in quadrant k on noise, so the classes are learnable.
func makeFolder(t *testing.T, root string, classes, perTrain, perTest, size int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, part := range []struct {
		name string
		n    int
	}{{"train", perTrain}, {"test", perTest}} {
		for c := range classes {
			dir := filepath.Join(root, part.name, fmt.Sprintf("class%d", c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range part.n {
				img := image.NewRGBA(image.Rect(0, 0, size, size))
				qx, qy := (c%2)*size/2, (c/2%2)*size/2
				for y := range size {
					for x := range size {
						v := uint8(rng.IntN(96))
						if x >= qx && x < qx+size/2 && y >= qy && y < qy+size/2 {
							v += 150
						}
						img.Set(x, y, color.RGBA{v, uint8(rng.IntN(256)), v / 2, 255})
					}
				}
				var buf bytes.Buffer
				if err := png.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.png", i)), buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// run runs the command line args in-process and returns its standard output and error.
func run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = dispatch(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}
