// Package defaultset encodes and decodes the file format of the small dataset embedded in
// package datasets (see datasets.Default).
//
// The file is gzip-compressed; uncompressed it holds, little endian:
//
//	magic "SSLDEF1\n"; uint16 H, W; uint32 NTrain, NTest;
//	uint8 class count, then each class name as a uint8 length and its bytes;
//	NTrain+NTest label bytes;
//	then each image as 3 planes (CHW) of H rows of W bytes, each plane stored as the
//	residuals (mod 256) of a left/up/up-left gradient prediction, which compresses better.
package defaultset

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Magic starts the uncompressed file.
const Magic = "SSLDEF1\n"

// Limits that Decode enforces on a header.
const (
	MaxImages = 1 << 20
	MaxSide   = 1 << 10
)

// Set is the content of the file.
type Set struct {
	H, W    int
	NTrain  int      // the first NTrain images are the training split, the rest the test split
	Classes []string // class names, at most 255, each at most 255 bytes
	Labels  []byte   // one per image, each < len(Classes)
	Pix     []byte   // CHW per image, len(Labels)*3*H*W bytes
}

type header struct {
	Magic         [8]byte
	H, W          uint16
	NTrain, NTest uint32
	NClasses      uint8
}

// Encode writes s, gzip-compressed at the best level.
func Encode(out io.Writer, s Set) error {
	n := len(s.Labels)
	per := 3 * s.H * s.W
	switch {
	case s.H <= 0 || s.W <= 0 || s.H > MaxSide || s.W > MaxSide:
		return fmt.Errorf("defaultset: image size %dx%d out of range", s.H, s.W)
	case n == 0 || n > 2*MaxImages || s.NTrain < 0 || s.NTrain > n || s.NTrain > MaxImages || n-s.NTrain > MaxImages:
		return fmt.Errorf("defaultset: %d images with %d for training out of range", n, s.NTrain)
	case len(s.Pix) != n*per:
		return fmt.Errorf("defaultset: %d pixel bytes for %d images of 3x%dx%d", len(s.Pix), n, s.H, s.W)
	case len(s.Classes) == 0 || len(s.Classes) > 255:
		return fmt.Errorf("defaultset: %d classes, want 1..255", len(s.Classes))
	}
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, header{[8]byte([]byte(Magic)), uint16(s.H), uint16(s.W), uint32(s.NTrain), uint32(n - s.NTrain), uint8(len(s.Classes))})
	for _, c := range s.Classes {
		if len(c) > 255 {
			return fmt.Errorf("defaultset: class name %q longer than 255 bytes", c)
		}
		buf.WriteByte(byte(len(c)))
		buf.WriteString(c)
	}
	for i, l := range s.Labels {
		if int(l) >= len(s.Classes) {
			return fmt.Errorf("defaultset: label %d of image %d out of range [0,%d)", l, i, len(s.Classes))
		}
	}
	buf.Write(s.Labels)
	res := bytes.Clone(s.Pix)
	plane := s.H * s.W
	for p := 0; p < len(res); p += plane {
		predictPlane(res[p:p+plane], s.H, s.W)
	}
	buf.Write(res)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return err
	}
	return zw.Close()
}

// Decode reads a gzip-compressed file written by Encode, checking every field.
func Decode(gz []byte) (Set, error) {
	var s Set
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return s, fmt.Errorf("defaultset: %w", err)
	}
	defer zr.Close()
	var hdr header
	if err := binary.Read(zr, binary.LittleEndian, &hdr); err != nil {
		return s, fmt.Errorf("defaultset: header: %w", err)
	}
	if string(hdr.Magic[:]) != Magic {
		return s, fmt.Errorf("defaultset: bad magic %q", hdr.Magic[:])
	}
	s.H, s.W, s.NTrain = int(hdr.H), int(hdr.W), int(hdr.NTrain)
	nTest := int(hdr.NTest)
	if s.H == 0 || s.W == 0 || s.H > MaxSide || s.W > MaxSide || s.NTrain+nTest == 0 || s.NTrain > MaxImages || nTest > MaxImages || hdr.NClasses == 0 {
		return s, fmt.Errorf("defaultset: implausible header: %dx%d, %d+%d images, %d classes", s.H, s.W, s.NTrain, nTest, hdr.NClasses)
	}
	s.Classes = make([]string, hdr.NClasses)
	for k := range s.Classes {
		var l [1]byte
		if _, err := io.ReadFull(zr, l[:]); err != nil {
			return s, fmt.Errorf("defaultset: class name %d: %w", k, err)
		}
		b := make([]byte, l[0])
		if _, err := io.ReadFull(zr, b); err != nil {
			return s, fmt.Errorf("defaultset: class name %d: %w", k, err)
		}
		s.Classes[k] = string(b)
	}
	n := s.NTrain + nTest
	s.Labels = make([]byte, n)
	if _, err := io.ReadFull(zr, s.Labels); err != nil {
		return s, fmt.Errorf("defaultset: labels: %w", err)
	}
	for i, l := range s.Labels {
		if int(l) >= len(s.Classes) {
			return s, fmt.Errorf("defaultset: label %d of image %d out of range [0,%d)", l, i, len(s.Classes))
		}
	}
	plane := s.H * s.W
	// Read in steps so that a lying header costs no more memory than the data that backs it.
	s.Pix = make([]byte, 0, min(n*3*plane, 1<<22))
	want := n * 3 * plane
	for len(s.Pix) < want {
		m := min(want-len(s.Pix), 1<<22)
		s.Pix = append(s.Pix, make([]byte, m)...)
		if _, err := io.ReadFull(zr, s.Pix[len(s.Pix)-m:]); err != nil {
			return s, fmt.Errorf("defaultset: pixels: %w", err)
		}
	}
	// Read to the end of the gzip stream, which is where its CRC-32 and length are checked.
	if m, err := io.Copy(io.Discard, zr); err != nil {
		return s, fmt.Errorf("defaultset: after %d images: %w", n, err)
	} else if m != 0 {
		return s, fmt.Errorf("defaultset: trailing data after %d images", n)
	}
	for p := 0; p < len(s.Pix); p += plane {
		unpredictPlane(s.Pix[p:p+plane], s.H, s.W)
	}
	return s, nil
}

// predict is the prediction of a pixel from its left (a), upper (b) and upper-left (c)
// neighbours: a+b-c clamped to [0,255]; a alone on the first row, b alone in the first column.
func predict(a, b, c byte, x, y int) byte {
	switch {
	case x == 0 && y == 0:
		return 0
	case y == 0:
		return a
	case x == 0:
		return b
	}
	return byte(min(max(int(a)+int(b)-int(c), 0), 255))
}

func neighbours(p []byte, w, x, y int) (a, b, c byte) {
	if x > 0 {
		a = p[y*w+x-1]
	}
	if y > 0 {
		b = p[(y-1)*w+x]
		if x > 0 {
			c = p[(y-1)*w+x-1]
		}
	}
	return
}

// unpredictPlane turns residuals into pixels in place, first pixel first.
func unpredictPlane(p []byte, h, w int) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a, b, c := neighbours(p, w, x, y)
			p[y*w+x] += predict(a, b, c, x, y)
		}
	}
}

// predictPlane turns pixels into residuals in place, last pixel first so that every
// prediction still sees original neighbours.
func predictPlane(p []byte, h, w int) {
	for y := h - 1; y >= 0; y-- {
		for x := w - 1; x >= 0; x-- {
			a, b, c := neighbours(p, w, x, y)
			p[y*w+x] -= predict(a, b, c, x, y)
		}
	}
}
