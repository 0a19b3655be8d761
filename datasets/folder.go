package datasets

import (
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG for image.Decode
	_ "image/png"  // registers PNG for image.Decode
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/image/draw"
)

// maxFolderPixels bounds the pixel count of one image ImageFolder agrees to decode, so that a
// corrupt or hostile header cannot make it allocate gigabytes.
const maxFolderPixels = 1 << 26

// ImageFolder loads the caller's own images from a folder in one of two layouts, told apart
// by the entries directly in root (names starting with a dot are ignored everywhere):
//
//   - Labelled, root/<class>/<file>: root holds at least one subfolder. Classes are the
//     subfolder names in sorted order, label k being the k-th; files in nested folders count
//     for their top-level class; images are ordered by class, then path. Every class folder
//     must hold at least one image. Images directly in root are ignored in this layout, as
//     in torchvision's ImageFolder.
//   - Unlabeled, root/<file>: root holds no subfolder and at least one image. Every image is
//     labelled NoLabel and Classes is nil; images are ordered by file name. This is the
//     layout of a pile of photos to pretrain on.
//
// So a single subfolder (even one without images, which is then an error naming it) makes
// root a labelled folder. An image is a file ending in .png, .jpg or .jpeg (any case); other
// files are ignored.
//
// Every image is converted to RGB (transparent pixels are composited onto black). With the
// option Resize(h, w) each image is scaled to h x w; without it every image must have the size
// of the first one. Errors name the file: an unreadable or undecodable image, a size mismatch,
// a root with neither subfolders nor images, a class folder without images.
func ImageFolder(root string, opts ...Option) (*Images, error) {
	cfg, err := applyOptions("ImageFolder", opts, "Resize")
	if err != nil {
		return nil, err
	}
	resize := cfg.h != 0 || cfg.w != 0
	if resize && (cfg.h <= 0 || cfg.w <= 0 || cfg.h*cfg.w > maxFolderPixels) {
		return nil, fmt.Errorf("datasets: ImageFolder: Resize(%d, %d): size must be positive and at most %d pixels", cfg.h, cfg.w, maxFolderPixels)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("datasets: ImageFolder: %w", err)
	}
	var classes []string
	var files []string
	var labels []int32
	var flat []string // images directly in root: the unlabeled layout when there are no subfolders
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			if isImageName(e.Name()) {
				flat = append(flat, filepath.Join(root, e.Name()))
			}
			continue
		}
		dir := filepath.Join(root, e.Name())
		k := 0
		err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(de.Name(), ".") && p != dir {
				if de.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if de.IsDir() || !isImageName(de.Name()) {
				return nil
			}
			files = append(files, p)
			labels = append(labels, int32(len(classes)))
			k++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("datasets: ImageFolder: %w", err)
		}
		if k == 0 {
			return nil, fmt.Errorf("datasets: ImageFolder: class folder %s holds no .png, .jpg or .jpeg image", dir)
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		if len(flat) == 0 {
			return nil, fmt.Errorf("datasets: ImageFolder: %s holds neither class subfolders nor .png, .jpg or .jpeg images (want %s/<class>/<image> or %s/<image>)", root, root, root)
		}
		files, labels = flat, nil // unlabeled layout
	}
	h, w := cfg.h, cfg.w
	if !resize {
		c, err := decodeConfig(files[0])
		if err != nil {
			return nil, err
		}
		h, w = c.Height, c.Width
	}
	per := Channels * h * w
	pix := make([]byte, len(files)*per)
	errs := make([]error, len(files))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(files) {
					return
				}
				errs[j] = loadImageFile(files[j], pix[j*per:(j+1)*per], h, w, resize)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return &Images{pix: pix, labels: labels, classes: classes, n: len(files), h: h, w: w, source: "ImageFolder " + root}, nil
}

// isImageName reports whether a file name has an extension ImageFolder reads.
func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// decodeConfig reads the header of an image file and checks its size.
func decodeConfig(name string) (image.Config, error) {
	f, err := os.Open(name)
	if err != nil {
		return image.Config{}, fmt.Errorf("datasets: ImageFolder: %w", err)
	}
	defer f.Close()
	return checkConfig(f, name)
}

func checkConfig(r io.Reader, name string) (image.Config, error) {
	c, _, err := image.DecodeConfig(r)
	if err != nil {
		return c, fmt.Errorf("datasets: ImageFolder: %s: unreadable image: %w", name, err)
	}
	if c.Width <= 0 || c.Height <= 0 || c.Width*c.Height > maxFolderPixels {
		return c, fmt.Errorf("datasets: ImageFolder: %s: image size %dx%d is empty or too large", name, c.Width, c.Height)
	}
	return c, nil
}

// loadImageFile decodes one image into dst (CHW, h x w), scaling it when resize is set.
func loadImageFile(name string, dst []byte, h, w int, resize bool) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("datasets: ImageFolder: %w", err)
	}
	defer f.Close()
	c, err := checkConfig(f, name)
	if err != nil {
		return err
	}
	if !resize && (c.Width != w || c.Height != h) {
		return fmt.Errorf("datasets: ImageFolder: %s is %dx%d but the first image is %dx%d; use datasets.Resize to scale them to one size", name, c.Width, c.Height, w, h)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("datasets: ImageFolder: %s: %w", name, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("datasets: ImageFolder: %s: unreadable image: %w", name, err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	if resize {
		draw.CatmullRom.Scale(rgba, rgba.Bounds(), img, img.Bounds(), draw.Src, nil)
	} else {
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	}
	plane := h * w
	for y := 0; y < h; y++ {
		row := rgba.Pix[y*rgba.Stride:]
		for x := 0; x < w; x++ {
			p := y*w + x
			dst[p] = row[4*x]
			dst[plane+p] = row[4*x+1]
			dst[2*plane+p] = row[4*x+2]
		}
	}
	return nil
}
