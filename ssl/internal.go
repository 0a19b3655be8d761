package ssl

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/nn"
)

// Tags that separate the random streams derived from the pipeline's seed.
const (
	tagSplit uint64 = iota + 1
	tagPretrainParams
	tagPretrainShuffle
	tagPretrainPrepare
	tagPretrainValidate
	tagRunParams
	tagRunShuffle
	tagPretrainAugment
	tagRunAugment
)

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// derive returns a seed derived from seed and parts.
func derive(seed uint64, parts ...uint64) uint64 {
	h := mix(seed)
	for _, p := range parts {
		h = mix(h ^ mix(p))
	}
	return h
}

// newRand returns a PCG source seeded from seed and parts.
func newRand(seed uint64, parts ...uint64) *rand.Rand {
	a := derive(seed, parts...)
	return rand.New(rand.NewPCG(a, mix(a^0x5851f42d4c957f2d)))
}

// feeder writes images of a dataset, mean-subtracted, into batch buffers.
type feeder struct {
	ds   Dataset
	mean []float32
	per  int
}

// fill writes images idx into dst (len(idx)*per values) and subtracts the mean image.
func (f *feeder) fill(dst []float32, idx []int) error {
	if err := FillBatch(f.ds, dst, idx); err != nil {
		return err
	}
	subtractMean(dst[:len(idx)*f.per], f.mean)
	return nil
}

// subtractMean subtracts the mean image from every image of imgs, in place.
func subtractMean(imgs, mean []float32) {
	per := len(mean)
	for k := 0; k+per <= len(imgs); k += per {
		img := imgs[k : k+per]
		for j, m := range mean {
			img[j] -= m
		}
	}
}

// fillRaw writes the raw images idx of ds (scaled to [0, 1]) into images and their
// labels into labels.
func fillRaw(ds Dataset, images []float32, labels []int, idx []int) error {
	if err := FillBatch(ds, images, idx); err != nil {
		return err
	}
	for k, i := range idx {
		labels[k] = ds.Label(i)
	}
	return nil
}

// stepBuf holds one batch on its way to a training step: the source images and labels,
// and the network inputs and targets made from them.
type stepBuf struct {
	images  []float32
	labels  []int
	inputs  []float32
	targets []float32
	means   []float32 // the mean image augmented along with each image; nil unaugmented
}

func newStepBuf(n, per, inputs, targets int) *stepBuf {
	return &stepBuf{images: make([]float32, n*per), labels: make([]int, n), inputs: make([]float32, inputs), targets: make([]float32, targets)}
}

// augmentWithMeans applies a to the n images of sb with seed, and to n copies of mean
// with the same seed, so that image k's augmented mean is sb.means[k] (Batch.Means).
func (sb *stepBuf) augmentWithMeans(a Augmentation, mean []float32, n, c, h, w int, seed uint64) error {
	per := len(mean)
	if len(sb.means) != n*per {
		sb.means = make([]float32, n*per)
	}
	for k := range n {
		copy(sb.means[k*per:(k+1)*per], mean)
	}
	if err := a.Augment(sb.images[:n*per], sb.images[:n*per], n, c, h, w, seed); err != nil {
		return err
	}
	return a.Augment(sb.means, sb.means, n, c, h, w, seed)
}

// pipelined runs produce(k, buf) for k = 0..n-1 on a goroutine of its own, one batch
// ahead of consume(k, buf), which runs on the caller's: reading and augmenting the next
// batch overlaps the current training step. Both see the batches in order, so the
// results do not depend on the timing. It returns the first error of either side.
func pipelined(n int, bufs [2]*stepBuf, produce, consume func(k int, b *stepBuf) error) error {
	free := make(chan *stepBuf, len(bufs))
	for _, b := range bufs {
		free <- b
	}
	ready := make(chan *stepBuf, len(bufs))
	quit := make(chan struct{})
	done := make(chan struct{})
	var perr error
	go func() {
		defer close(done)
		defer close(ready)
		for k := 0; k < n; k++ {
			var b *stepBuf
			select {
			case b = <-free:
			case <-quit:
				return
			}
			if err := produce(k, b); err != nil {
				perr = err
				return
			}
			select {
			case ready <- b:
			case <-quit:
				return
			}
		}
	}()
	var cerr error
	for k := 0; k < n; k++ {
		b, ok := <-ready
		if !ok {
			break
		}
		if cerr = consume(k, b); cerr != nil {
			break
		}
		free <- b
	}
	close(quit)
	<-done
	if cerr != nil {
		return cerr
	}
	return perr
}

// padRows fills rows n.. of buf (rows of size row) with copies of rows 0..n-1, cyclically.
func padRows(buf []float32, row, n int) {
	if n <= 0 || row <= 0 {
		return
	}
	total := len(buf) / row
	for r := n; r < total; r++ {
		copy(buf[r*row:(r+1)*row], buf[(r%n)*row:(r%n+1)*row])
	}
}

// prod is the product of shape's dimensions (1 for an empty shape).
func prod(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}

// writeJSONAtomic writes v as indented JSON to path, atomically.
func writeJSONAtomic(path string, v any) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// fingerprint is the canonical description of the settings a saved artifact depends on;
// a checkpoint or run result is only reused under an equal fingerprint.
type fingerprint map[string]any

// encode returns the canonical JSON form of f (keys sorted by encoding/json).
func (f fingerprint) encode() string {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Sprintf("unencodable fingerprint: %v", err)
	}
	return string(b)
}

// diffFingerprints describes how the stored fingerprint differs from want.
func diffFingerprints(stored, want string) string {
	var a, b map[string]any
	if json.Unmarshal([]byte(stored), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return "unreadable settings"
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var diffs []string
	for _, k := range ks {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if string(x) != string(y) {
			diffs = append(diffs, fmt.Sprintf("%s %s there, %s now", k, x, y))
		}
	}
	if len(diffs) == 0 {
		return "same settings"
	}
	return strings.Join(diffs, "; ")
}

// snapshot copies the values of the parameters of ps in scope (all when scope is "").
func snapshot(ps *nn.Params, scope string) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range ps.All() {
		if scope == "" || inScope(p, scope) {
			out[p.Name] = append([]float32(nil), p.Data()...)
		}
	}
	return out
}

// restore writes the values of snap into the parameters of ps in scope; every one of them
// must be in snap with the same length.
func restore(ps *nn.Params, scope string, snap map[string][]float32) error {
	for _, p := range ps.All() {
		if scope != "" && !inScope(p, scope) {
			continue
		}
		v, ok := snap[p.Name]
		if !ok {
			return fmt.Errorf("no pretrained value for parameter %q", p.Name)
		}
		if len(v) != len(p.Data()) {
			return fmt.Errorf("pretrained %q has %d values, the model's parameter %d", p.Name, len(v), len(p.Data()))
		}
		copy(p.Data(), v)
	}
	return nil
}

// short rounds x to 5 significant digits, for log lines.
func short(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 5, 64), 64)
	return v
}

// epochAttrs are the log attributes of an epoch: only the numbers the stage measured
// (accuracy and score for a task that scores, validation with validation images, the
// monitors when they ran), rounded, followed by more.
func epochAttrs(st EpochStats, epochs int, scored, validated bool, more ...any) []any {
	a := []any{"epoch", st.Epoch + 1, "of", epochs, "loss", short(st.Loss)}
	if scored {
		a = append(a, "accuracy", short(st.Accuracy))
	}
	if validated {
		a = append(a, "val_loss", short(st.ValLoss))
		if scored {
			a = append(a, "val_score", short(st.ValScore))
		}
	}
	if st.KNNAccuracy != 0 {
		a = append(a, "knn_accuracy", short(st.KNNAccuracy))
	}
	if st.Collapse != 0 {
		a = append(a, "collapse", short(st.Collapse))
	}
	a = append(a, "lr", short(st.LR), "seconds", short(st.Seconds))
	return append(a, more...)
}
