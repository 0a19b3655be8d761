package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON (an
// object mapping tensor names to {"dtype", "shape", "data_offsets": [begin, end]} plus an
// optional "__metadata__" object of strings), then the data buffer, to which the offsets
// are relative. Tensors are row-major and little-endian.

const (
	metadataKey = "__metadata__"
	// checksumKey is the metadata key holding the CRC-32C (Castagnoli) of every tensor's
	// raw bytes, as a JSON object mapping tensor names to 8 lower-case hex digits.
	checksumKey = "tensor_crc32c"
	// maxHeader bounds the JSON header, as the reference implementation does (100 MB).
	maxHeader = 100 << 20
)

// dtypeSize gives the element size of every safetensors dtype.
var dtypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// entry is one tensor of a parsed file.
type entry struct {
	Name       string
	DType      string
	Shape      []int
	Begin, End int64 // offsets into the data buffer
}

// parsed is a parsed safetensors file: entries in data order, metadata, and the data buffer.
type parsed struct {
	entries  []entry
	byName   map[string]*entry
	meta     map[string]string
	data     []byte
	dataBase int64 // file offset of the data buffer (8 + header length)
}

type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parse checks and decodes a whole safetensors file held in b. Every error names the
// byte offset or the tensor concerned; callers add the file name.
func parse(b []byte) (*parsed, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("truncated: %d bytes, fewer than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader {
		return nil, fmt.Errorf("header length %d at offset 0 exceeds the %d-byte limit", n, maxHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("truncated: header length %d at offset 0 but only %d bytes follow", n, len(b)-8)
	}
	hdr := b[8 : 8+n]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, fmt.Errorf("header at offset 8 does not start with '{'")
	}
	if !utf8.Valid(hdr) {
		return nil, fmt.Errorf("header at offset 8 is not valid UTF-8")
	}
	p := &parsed{byName: map[string]*entry{}, meta: map[string]string{}, data: b[8+n:], dataBase: int64(8 + n)}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, headerErr(dec, err)
	}
	seen := map[string]bool{}
	sawMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, headerErr(dec, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("header at offset %d: expected a key, got %v", 8+dec.InputOffset(), tok)
		}
		if key == metadataKey {
			if sawMeta {
				return nil, fmt.Errorf("header: %q given twice", metadataKey)
			}
			sawMeta = true
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("header: %s: %v", metadataKey, headerErr(dec, err))
			}
			for k, v := range m {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("header: %s: value of %q is not a string", metadataKey, k)
				}
				p.meta[k] = s
			}
			continue
		}
		if key == "" {
			return nil, fmt.Errorf("header: a tensor has an empty name")
		}
		if seen[key] {
			return nil, fmt.Errorf("header: tensor %q given twice", key)
		}
		seen[key] = true
		var r rawEntry
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("header: tensor %q: %v", key, headerErr(dec, err))
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("header: tensor %q: %v", key, err)
		}
		e, err := checkEntry(key, r)
		if err != nil {
			return nil, err
		}
		p.entries = append(p.entries, e)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, headerErr(dec, err)
	}
	if rest := bytes.TrimLeft(hdr[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("header: unexpected bytes after the JSON object at offset %d", 8+int64(len(hdr)-len(rest)))
	}
	// The data buffer must be covered exactly: sorted by begin, each tensor starts where the
	// previous one ends, the first at 0 and the last at the end of the file.
	slices.SortStableFunc(p.entries, func(a, b entry) int {
		if a.Begin != b.Begin {
			if a.Begin < b.Begin {
				return -1
			}
			return 1
		}
		switch {
		case a.End < b.End:
			return -1
		case a.End > b.End:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	var pos int64
	for i := range p.entries {
		e := &p.entries[i]
		if e.End > int64(len(p.data)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the end of the file (data ends at %d, file offset %d)",
				e.Name, e.Begin, e.End, len(p.data), p.dataBase+int64(len(p.data)))
		}
		if e.Begin < pos {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor, which ends at %d",
				e.Name, e.Begin, e.End, pos)
		}
		if e.Begin > pos {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after offset %d", e.Name, e.Begin, e.End, pos)
		}
		pos = e.End
		p.byName[e.Name] = e
	}
	if pos != int64(len(p.data)) {
		return nil, fmt.Errorf("%d bytes after the last tensor (file offset %d): truncated header or trailing garbage",
			int64(len(p.data))-pos, p.dataBase+pos)
	}
	if err := p.verifyChecksums(); err != nil {
		return nil, err
	}
	return p, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// verifyChecksums checks every tensor's bytes against the CRC-32C the metadata records
// for it. A file without the checksum key (written before checksums were added, or by
// another writer) passes; once the key is there, every tensor must have a checksum and
// every checksum must belong to a tensor.
func (p *parsed) verifyChecksums() error {
	s, ok := p.meta[checksumKey]
	if !ok {
		return nil
	}
	var sums map[string]string
	if err := json.Unmarshal([]byte(s), &sums); err != nil {
		return fmt.Errorf("header: %s: metadata %q is not a JSON object of strings: %v", metadataKey, checksumKey, err)
	}
	for _, e := range p.entries {
		want, ok := sums[e.Name]
		if !ok {
			return fmt.Errorf("tensor %q has no checksum in metadata %q, which covers the other tensors", e.Name, checksumKey)
		}
		w, err := parseCRC(want)
		if err != nil {
			return fmt.Errorf("tensor %q: checksum %q in metadata %q: %v", e.Name, want, checksumKey, err)
		}
		if got := crc32.Checksum(p.data[e.Begin:e.End], castagnoli); got != w {
			return fmt.Errorf("tensor %q (file offsets %d to %d): CRC-32C of its bytes is %08x, the header records %08x",
				e.Name, p.dataBase+e.Begin, p.dataBase+e.End, got, w)
		}
	}
	if len(sums) != len(p.entries) {
		names := make([]string, 0, len(sums))
		for n := range sums {
			if p.byName[n] == nil {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return fmt.Errorf("metadata %q has a checksum for tensor %q, which the file does not hold", checksumKey, names[0])
	}
	return nil
}

// parseCRC reads a checksum written by formatCRC: exactly 8 hex digits.
func parseCRC(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if len(s) != 8 || err != nil {
		return 0, errors.New("not 8 hex digits")
	}
	return uint32(v), nil
}

func formatCRC(v uint32) string { return fmt.Sprintf("%08x", v) }

// crcF32 is the CRC-32C of data as it is stored: little-endian float32s.
func crcF32(data []float32) uint32 {
	var buf [4096]byte
	var sum uint32
	for len(data) > 0 {
		n := min(len(data), len(buf)/4)
		for i, v := range data[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		sum = crc32.Update(sum, castagnoli, buf[:4*n])
		data = data[n:]
	}
	return sum
}

// checksums returns the value of checksumKey for ts.
func checksums(ts []tensorOut) (string, error) {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.name] = formatCRC(crcF32(t.data))
	}
	b, err := json.Marshal(m) // sorted keys: deterministic
	return string(b), err
}

func headerErr(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("bad header JSON near offset %d: %v", 8+dec.InputOffset(), err)
}

func checkEntry(name string, r rawEntry) (entry, error) {
	if r.DType == nil || r.Shape == nil || r.DataOffsets == nil {
		return entry{}, fmt.Errorf("header: tensor %q lacks dtype, shape or data_offsets", name)
	}
	size, ok := dtypeSize[*r.DType]
	if !ok {
		return entry{}, fmt.Errorf("header: tensor %q has unknown dtype %q", name, *r.DType)
	}
	if len(*r.DataOffsets) != 2 {
		return entry{}, fmt.Errorf("header: tensor %q: data_offsets has %d numbers, want 2", name, len(*r.DataOffsets))
	}
	begin, end := (*r.DataOffsets)[0], (*r.DataOffsets)[1]
	if begin < 0 || end < begin {
		return entry{}, fmt.Errorf("header: tensor %q: data_offsets [%d, %d] are not 0 <= begin <= end", name, begin, end)
	}
	elems := int64(1)
	shape := make([]int, len(*r.Shape))
	for i, d := range *r.Shape {
		if d < 0 || d > math.MaxInt32 {
			return entry{}, fmt.Errorf("header: tensor %q: dimension %d of shape %v is out of range", name, i, *r.Shape)
		}
		shape[i] = int(d)
		if d != 0 && elems > math.MaxInt64/8/d {
			return entry{}, fmt.Errorf("header: tensor %q: shape %v is too large", name, *r.Shape)
		}
		elems *= d
	}
	if end-begin != elems*size {
		return entry{}, fmt.Errorf("header: tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] give %d",
			name, shape, *r.DType, elems*size, begin, end, end-begin)
	}
	return entry{Name: name, DType: *r.DType, Shape: shape, Begin: begin, End: end}, nil
}

// tensorOut is one tensor to write: float32 values with a shape.
type tensorOut struct {
	name  string
	shape []int
	data  []float32
}

// encodeHeader returns the padded JSON header for tensors laid out back to back, in order.
func encodeHeader(ts []tensorOut, meta map[string]string) ([]byte, error) {
	type hEntry struct {
		DType       string  `json:"dtype"`
		Shape       []int   `json:"shape"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	h := make(map[string]any, len(ts)+1)
	var off int64
	for _, t := range ts {
		shape := t.shape
		if shape == nil {
			shape = []int{}
		}
		n := int64(len(t.data)) * 4
		h[t.name] = hEntry{DType: "F32", Shape: shape, DataOffsets: []int64{off, off + n}}
		off += n
	}
	if len(meta) > 0 {
		h[metadataKey] = meta
	}
	b, err := json.Marshal(h) // map keys come out sorted: the header is deterministic
	if err != nil {
		return nil, err
	}
	for len(b)%8 != 0 { // align the data buffer to 8 bytes, as the reference writer does
		b = append(b, ' ')
	}
	return b, nil
}

// writeFile writes a complete safetensors file to w.
func writeFile(w io.Writer, ts []tensorOut, meta map[string]string) error {
	hdr, err := encodeHeader(ts, meta)
	if err != nil {
		return err
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, t := range ts {
		for _, v := range t.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// decodeF32 copies little-endian float32 data into dst (len(src) == 4*len(dst)).
func decodeF32(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}
