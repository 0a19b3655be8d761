package defaultset

import (
	"bytes"
	"slices"
	"testing"
)

func sample() Set {
	s := Set{H: 5, W: 4, NTrain: 3, Classes: []string{"a", "bb", "ccc"}, Labels: []byte{0, 2, 1, 1}}
	s.Pix = make([]byte, 4*3*5*4)
	for i := range s.Pix {
		s.Pix[i] = byte(i*i*7 + i/3)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := sample()
	orig := bytes.Clone(s.Pix)
	var b bytes.Buffer
	if err := Encode(&b, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Pix, orig) {
		t.Fatal("Encode modified its input")
	}
	got, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.H != 5 || got.W != 4 || got.NTrain != 3 || !slices.Equal(got.Classes, s.Classes) ||
		!bytes.Equal(got.Labels, s.Labels) || !bytes.Equal(got.Pix, s.Pix) {
		t.Fatalf("round trip differs: %+v", got)
	}
}

func TestPredictionInverts(t *testing.T) {
	p := make([]byte, 7*9)
	for i := range p {
		p[i] = byte(i * 37 % 251)
	}
	q := bytes.Clone(p)
	predictPlane(q, 7, 9)
	if bytes.Equal(p, q) {
		t.Fatal("prediction changed nothing")
	}
	unpredictPlane(q, 7, 9)
	if !bytes.Equal(p, q) {
		t.Fatal("unpredictPlane does not invert predictPlane")
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, mut := range []func(*Set){
		func(s *Set) { s.H = 0 },
		func(s *Set) { s.NTrain = 5 },
		func(s *Set) { s.Pix = s.Pix[1:] },
		func(s *Set) { s.Labels[1] = 3 },
		func(s *Set) { s.Classes = nil },
	} {
		s := sample()
		mut(&s)
		if err := Encode(&bytes.Buffer{}, s); err == nil {
			t.Fatalf("bad set encoded: %+v", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, sample())
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		n := len(s.Labels)
		if s.NTrain > n || len(s.Pix) != n*3*s.H*s.W {
			t.Fatalf("inconsistent set accepted: %d labels, %d train, %d pixels", n, s.NTrain, len(s.Pix))
		}
		for _, l := range s.Labels {
			if int(l) >= len(s.Classes) {
				t.Fatalf("label %d accepted with %d classes", l, len(s.Classes))
			}
		}
	})
}

// TestDecodeChecksTrailer damages the gzip trailer (CRC-32, then length) of an encoded set:
// the data decompresses the same, so only reading to the end of the stream catches it.
func TestDecodeChecksTrailer(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, sample()); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{8, 4} { // the CRC-32 is the trailer's first 4 bytes, the length the last 4
		gz := bytes.Clone(b.Bytes())
		gz[len(gz)-off] ^= 1
		if _, err := Decode(gz); err == nil {
			t.Errorf("a set with byte %d from the end flipped decoded without error", off)
		}
	}
}
