package checkpoint

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
	"gorgonia.org/tensor"
)

// Format is the value of the "format" metadata key this package writes.
const Format = "selfsup-checkpoint-v1"

// Reserved metadata keys.
const (
	keyFormat       = "format"
	keyArchitecture = "architecture"
	keyEpoch        = "epoch"
	keyStep         = "step"
	keySeed         = "seed"
	keyOptimizer    = "optimizer"
	keyOptIter      = "optimizer_iterations"
)

var reserved = []string{keyFormat, keyArchitecture, keyEpoch, keyStep, keySeed, keyOptimizer, keyOptIter, checksumKey}

// Meta is what a checkpoint records besides tensors.
type Meta struct {
	// Architecture names the model, e.g. "resnet20"; Load can require it to match.
	Architecture string
	// Epoch and Step are the training position the checkpoint was taken at.
	Epoch int
	Step  int64
	// Seed is the run's seed.
	Seed uint64
	// Optimizer is the name of the optimizer whose state the file holds ("" for none).
	// Save sets it from WithOptimizer; a value set by the caller is ignored.
	Optimizer string
	// Extra holds further string metadata (e.g. a serialised optim.PlateauState). Its keys
	// must not be one of the reserved keys: format, architecture, epoch, step, seed,
	// optimizer, optimizer_iterations, tensor_crc32c.
	Extra map[string]string
}

// Option configures Save or Load.
type Option func(*config)

type config struct {
	opt  optim.Optimizer
	arch string
}

// WithOptimizer makes Save write the optimizer's state and Load restore it (Load then
// requires the file to hold state of an optimizer of the same name).
func WithOptimizer(o optim.Optimizer) Option { return func(c *config) { c.opt = o } }

// RequireArchitecture makes Load fail unless the checkpoint's architecture is arch. Save
// ignores it (Meta.Architecture is what it records).
func RequireArchitecture(arch string) Option { return func(c *config) { c.arch = arch } }

// wrapWriter lets tests make writes fail part-way.
var wrapWriter func(io.Writer) io.Writer

// Save writes params (and, with WithOptimizer, the optimizer's state) and meta to path in
// the safetensors format, atomically: it writes a temporary file in the same directory,
// syncs it, and renames it over path, so path holds either the old or the new checkpoint,
// never a partial one. The metadata records the CRC-32C of every tensor, which Load and
// ReadMeta verify.
func Save(path string, params []*nn.Param, meta Meta, opts ...Option) error {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	var ts []tensorOut
	names := map[string]bool{}
	for i, p := range params {
		d, err := paramData(p, i)
		if err != nil {
			return fmt.Errorf("checkpoint: save %s: %w", path, err)
		}
		if p.Name == "" || p.Name == metadataKey {
			return fmt.Errorf("checkpoint: save %s: parameter %d has the invalid name %q", path, i, p.Name)
		}
		if names[p.Name] {
			return fmt.Errorf("checkpoint: save %s: two parameters are called %q", path, p.Name)
		}
		names[p.Name] = true
		ts = append(ts, tensorOut{name: p.Name, shape: p.Value.Shape(), data: d})
	}
	md := map[string]string{}
	for k, v := range meta.Extra {
		if slices.Contains(reserved, k) {
			return fmt.Errorf("checkpoint: save %s: extra metadata key %q is reserved", path, k)
		}
		md[k] = v
	}
	md[keyFormat] = Format
	md[keyArchitecture] = meta.Architecture
	md[keyEpoch] = strconv.Itoa(meta.Epoch)
	md[keyStep] = strconv.FormatInt(meta.Step, 10)
	md[keySeed] = strconv.FormatUint(meta.Seed, 10)
	if c.opt != nil {
		st := c.opt.State()
		md[keyOptimizer] = c.opt.Name()
		md[keyOptIter] = strconv.FormatInt(st.Iterations, 10)
		for _, t := range st.Tensors {
			if names[t.Name] {
				return fmt.Errorf("checkpoint: save %s: optimizer state tensor %q has the name of a parameter", path, t.Name)
			}
			names[t.Name] = true
			ts = append(ts, tensorOut{name: t.Name, shape: t.Shape, data: t.Data})
		}
	}
	sums, err := checksums(ts)
	if err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	md[checksumKey] = sums
	if err := WriteFileAtomic(path, func(w io.Writer) error { return writeFile(w, ts, md) }); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	return nil
}

// WriteFileAtomic writes the file at path through write, atomically: the bytes go to a
// temporary file in the same directory, which is synced, closed and renamed over path, and
// the directory is synced. On any error the temporary file is removed and an earlier file
// at path is left as it was. The file gets mode 0644. Checkpoints, reports and settings
// files of the project are all written this way.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var w io.Writer = f
	if wrapWriter != nil {
		w = wrapWriter(w)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable. Some file systems cannot sync a directory; the
	// checkpoint is complete either way, so that error is not reported.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ReadMeta returns the metadata of the checkpoint at path without loading it, e.g. to
// build the model its architecture names before calling Load. It checks the whole file,
// the checksums of its tensors included; a damaged file gives an error matching ErrCorrupt.
func ReadMeta(path string) (Meta, error) {
	p, err := readParsed(path)
	if err != nil {
		return Meta{}, err
	}
	return metaOf(path, p)
}

func readParsed(path string) (*parsed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	p, err := parse(b)
	if err != nil {
		return nil, corrupt(path, err)
	}
	return p, nil
}

func metaOf(path string, p *parsed) (Meta, error) {
	var m Meta
	if f, ok := p.meta[keyFormat]; ok && f != Format {
		return m, fmt.Errorf("checkpoint: %s: format %q, this package reads %q", path, f, Format)
	}
	m.Architecture = p.meta[keyArchitecture]
	m.Optimizer = p.meta[keyOptimizer]
	var err error
	num := func(key string, parse func(string) error) {
		if s, ok := p.meta[key]; ok && err == nil {
			if e := parse(s); e != nil {
				err = corrupt(path, fmt.Errorf("metadata %q = %q is not a valid number", key, s))
			}
		}
	}
	num(keyEpoch, func(s string) (e error) { m.Epoch, e = strconv.Atoi(s); return })
	num(keyStep, func(s string) (e error) { m.Step, e = strconv.ParseInt(s, 10, 64); return })
	num(keySeed, func(s string) (e error) { m.Seed, e = strconv.ParseUint(s, 10, 64); return })
	num(keyOptIter, func(s string) error { _, e := strconv.ParseInt(s, 10, 64); return e })
	if err != nil {
		return Meta{}, err
	}
	for k, v := range p.meta {
		if !slices.Contains(reserved, k) {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	return m, nil
}

// Load reads the checkpoint at path into params, in place, and returns its metadata.
//
// Every parameter must have a tensor of its name, dtype F32 and its shape, and every tensor
// in the file must be a parameter or state of the optimizer the metadata names. With
// WithOptimizer the optimizer's state is restored too; without it, optimizer state in the
// file is ignored. Everything is checked before anything is changed: on error, params and
// the optimizer are as they were.
//
// A file that is damaged (a tensor whose bytes do not match its recorded CRC-32C,
// truncation, a header that does not parse) gives an error matching ErrCorrupt; an intact
// file that does not fit the model (another architecture, a missing, extra or differently
// shaped tensor) gives an *ArchitectureError, which matches ErrArchitecture. Files written
// before checksums were recorded, or by other safetensors writers, carry none and load
// unverified; a checksum that is present is always verified.
func Load(path string, params []*nn.Param, opts ...Option) (Meta, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	p, err := readParsed(path)
	if err != nil {
		return Meta{}, err
	}
	meta, err := metaOf(path, p)
	if err != nil {
		return Meta{}, err
	}
	fail := func(format string, a ...any) (Meta, error) {
		return Meta{}, fmt.Errorf("checkpoint: %s: %s", path, fmt.Sprintf(format, a...))
	}
	misfit := func(tensor, format string, a ...any) (Meta, error) {
		return Meta{}, &ArchitectureError{Path: path, Tensor: tensor, Detail: fmt.Sprintf(format, a...)}
	}
	if c.arch != "" && meta.Architecture != c.arch {
		e := &ArchitectureError{Path: path, Want: c.arch, Got: meta.Architecture,
			Detail: fmt.Sprintf("checkpoint is for %s, model is %s", meta.Architecture, c.arch)}
		if meta.Architecture == "" {
			e.Detail = fmt.Sprintf("checkpoint records no architecture, model is %s", c.arch)
		}
		return Meta{}, e
	}
	used := map[string]bool{}
	dsts := make([][]float32, len(params))
	for i, q := range params {
		d, err := paramData(q, i)
		if err != nil {
			return fail("%v", err)
		}
		if used[q.Name] {
			return fail("two parameters are called %q", q.Name)
		}
		e := p.byName[q.Name]
		if e == nil {
			return misfit(q.Name, "no tensor for parameter %q", q.Name)
		}
		if e.DType != "F32" {
			return misfit(q.Name, "tensor %q has dtype %s, want F32", q.Name, e.DType)
		}
		if shape := q.Value.Shape(); !slices.Equal(e.Shape, []int(shape)) {
			return misfit(q.Name, "tensor %q has shape %v, the model's parameter has %v", q.Name, e.Shape, shape)
		}
		used[q.Name] = true
		dsts[i] = d
	}
	var st optim.State
	prefix := ""
	if meta.Optimizer != "" {
		prefix = meta.Optimizer + "/"
	}
	for _, e := range p.entries {
		if used[e.Name] {
			continue
		}
		if prefix == "" || !strings.HasPrefix(e.Name, prefix) {
			return misfit(e.Name, "unexpected tensor %q: not a parameter of the model", e.Name)
		}
		if c.opt == nil {
			continue
		}
		if e.DType != "F32" {
			return fail("optimizer tensor %q has dtype %s, want F32", e.Name, e.DType)
		}
		data := make([]float32, (e.End-e.Begin)/4)
		decodeF32(data, p.data[e.Begin:e.End])
		st.Tensors = append(st.Tensors, optim.Tensor{Name: e.Name, Shape: e.Shape, Data: data})
	}
	if c.opt != nil {
		if meta.Optimizer == "" {
			return fail("checkpoint holds no optimizer state, %s state was asked for", c.opt.Name())
		}
		if meta.Optimizer != c.opt.Name() {
			return fail("checkpoint holds %s state, the optimizer is %s", meta.Optimizer, c.opt.Name())
		}
		st.Iterations, _ = strconv.ParseInt(p.meta[keyOptIter], 10, 64)
		if err := c.opt.LoadState(params, st); err != nil {
			return fail("%v", err)
		}
	}
	for i, q := range params {
		e := p.byName[q.Name]
		decodeF32(dsts[i], p.data[e.Begin:e.End])
	}
	return meta, nil
}

func paramData(p *nn.Param, i int) ([]float32, error) {
	switch {
	case p == nil:
		return nil, fmt.Errorf("parameter %d is nil", i)
	case p.Value == nil:
		return nil, fmt.Errorf("parameter %q has no value", p.Name)
	case p.Value.Dtype() != tensor.Float32:
		return nil, fmt.Errorf("parameter %q holds %v, not float32", p.Name, p.Value.Dtype())
	}
	return p.Value.Float32s(), nil
}
