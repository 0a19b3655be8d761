package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/internal/blas"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
	"github.com/selfsup/selfsup/ssl"
)

// benchResult is the JSON object selfsup bench prints.
type benchResult struct {
	Model           string  `json:"model"`
	Size            int     `json:"size"`
	Batch           int     `json:"batch"`
	Steps           int     `json:"steps"`
	Threads         int     `json:"threads"`
	BLAS            string  `json:"blas"`
	Params          int     `json:"params"`
	TrainableParams int     `json:"trainable_params"`
	TrainImgPerS    float64 `json:"train_img_per_s"`
	EvalImgPerS     float64 `json:"eval_img_per_s"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	// RSS after the warm-up and the 20th timed training step, and after the last one: flat
	// memory means these stay close.
	RSSStep20Bytes int64 `json:"rss_step20_bytes,omitempty"`
	RSSLastBytes   int64 `json:"rss_last_bytes"`
	PlannedBytes   int64 `json:"planned_bytes"`
	// The most bytes the training graph's values hold at once: the floor under planned_bytes.
	PeakLiveBytes int64 `json:"peak_live_bytes"`

	Peer             string  `json:"peer,omitempty"` // the peer script and the model it ran
	PeerVersion      string  `json:"peer_version,omitempty"`
	PeerTrainImgPerS float64 `json:"peer_train_img_per_s,omitempty"`
	PeerEvalImgPerS  float64 `json:"peer_eval_img_per_s,omitempty"`
	PeerPeakRSSBytes int64   `json:"peer_peak_rss_bytes,omitempty"`
	TrainRatio       float64 `json:"train_ratio,omitempty"`
	EvalRatio        float64 `json:"eval_ratio,omitempty"`
	PeakRSSRatio     float64 `json:"peak_rss_ratio,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "resnet20", "the backbone, with a 10-class head: "+modelHelp)
	size := fs.Int("size", 32, "side of the square random input images (conv4x128 needs at least 31)")
	batch := fs.Int("batch", 128, "batch size")
	steps := fs.Int("steps", 20, "timed training steps (and inference steps)")
	warmup := fs.Int("warmup", 3, "untimed steps before timing")
	threads := fs.Int("threads", 2, "threads (GOMAXPROCS and the peer's torch threads)")
	seed := fs.Uint64("seed", 1, "seed of the weights and the random batch")
	peer := fs.Bool("peer", false, "also run the PyTorch peer in this run and report ratios; "+peerHelp)
	peerScript := fs.String("peer-script", "", "path of peer_backbones.py (default: ../shared/bench/peer_backbones.py above the module root); a script named peer_resnet20.py is run the old way, one process per mode, for resnet20 at 32x32")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of our timed training and inference steps to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (pprof) taken after the timed training steps to this file")
	python := fs.String("python", "/usr/bin/python3", "Python with torch, for --peer (Debian: apt-get install python3-torch)")
	task := fs.String("task", "", "time a contrastive pretraining step instead: simclr, simsiam or byol on ResNet20, in source images/s through the pipeline (the peer is peer_contrastive.py beside --peer-script's default)")
	augmented := fs.Bool("augmented", false, "with --task: make the views with the method's augmentation alongside the step (the peer times its step on ready-made views)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *task != "" {
		return benchTask(ctx, *task, *batch, *steps, *threads, *seed, *augmented, *peer, *python, *peerScript, stdout)
	}
	switch {
	case *batch < 1:
		return fmt.Errorf("bench: --batch %d must be at least 1", *batch)
	case *steps < 1:
		return fmt.Errorf("bench: --steps %d must be at least 1", *steps)
	case *warmup < 0:
		return fmt.Errorf("bench: --warmup %d must not be negative", *warmup)
	case *threads < 1:
		return fmt.Errorf("bench: --threads %d must be at least 1", *threads)
	case *size < 1:
		return fmt.Errorf("bench: --size %d must be at least 1", *size)
	}
	bb, err := benchModel(*model)
	if err != nil {
		return err
	}
	var peerModel string
	if *peer {
		if peerModel = peerModelName(bb); peerModel == "" {
			return fmt.Errorf("bench: the peer has no %s (--model %s); %s", bb.Name(), *model, peerHelp)
		}
		if *peerScript == "" {
			if *peerScript, err = findPeerScript(); err != nil {
				return err
			}
		}
		if filepath.Base(*peerScript) == "peer_resnet20.py" && (peerModel != "resnet20" || *size != 32) {
			return fmt.Errorf("bench: %s runs resnet20 at 32x32 only, not --model %s --size %d", *peerScript, *model, *size)
		}
	}
	runtime.GOMAXPROCS(*threads)
	blas.SetThreads(*threads)

	res := benchResult{Model: *model, Size: *size, Batch: *batch, Steps: *steps, Threads: *threads, BLAS: blas.Backend()}
	var prof io.WriteCloser
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer f.Close()
		prof = f
	}
	var memProf io.WriteCloser
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fmt.Errorf("bench: --memprofile: %w", err)
		}
		defer f.Close()
		memProf = f
	}
	if err := benchOurs(ctx, bb, *size, *batch, *steps, *warmup, *seed, prof, memProf, &res); err != nil {
		return err
	}
	if memProf != nil {
		if err := memProf.Close(); err != nil {
			return fmt.Errorf("bench: --memprofile: %w", err)
		}
	}
	if prof != nil {
		if err := prof.Close(); err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
	}
	if *peer {
		res.Peer = filepath.Base(*peerScript) + " --model " + peerModel
		if err := benchPeer(ctx, *python, *peerScript, peerModel, *size, *batch, *steps, *warmup, *threads, &res); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(res)
}

// peerHelp says which models the peer has.
const peerHelp = "the peer (peer_backbones.py) has resnet<6n+2> (v1, default width), resnet50v2 (default width) and conv4x128; it has no resnet<9n+2>v2, convnet, convnet:F1-F2-... or -w<width> variant"

// peerModelName returns the peer's --model for bb, or "" where the peer has none.
func peerModelName(bb ssl.Backbone) string {
	name := bb.Name()
	switch {
	case name == "resnet50v2", name == "conv4x128":
		return name
	case strings.HasPrefix(name, "resnet") && strings.HasSuffix(name, "v1"):
		d := strings.TrimSuffix(strings.TrimPrefix(name, "resnet"), "v1")
		if n, err := strconv.Atoi(d); err == nil && n >= 8 && (n-2)%6 == 0 {
			return "resnet" + d
		}
	}
	return ""
}

func benchModel(name string) (ssl.Backbone, error) {
	b, err := parseModel(name)
	if err != nil {
		return nil, fmt.Errorf("bench: --model %w", err)
	}
	return b, nil
}

// classifier is the benchmarked network: the backbone, a 10-class dense head (he_normal,
// as the Keras example) and softmax cross-entropy.
func classifier(bb ssl.Backbone) train.BuildFunc {
	return func(s *nn.Scope, x, y *G.Node) (*G.Node, *G.Node) {
		logits := nn.Dense(s.In("head"), bb.Build(s, x), 10, nn.Init(nn.HeNormal))
		if y == nil {
			return nil, logits
		}
		return nn.SoftmaxCrossEntropy(s, logits, y), logits
	}
}

// benchOurs times our training and inference steps on random size×size images, writes a
// CPU profile of the timed steps to prof and a heap profile taken after the training
// steps to memProf when they are not nil.
func benchOurs(ctx context.Context, bb ssl.Backbone, size, batch, steps, warmup int, seed uint64, prof, memProf io.Writer, res *benchResult) error {
	ps := nn.NewParams(seed)
	in := []int{batch, 3, size, size}
	tg, err := train.Compile(train.Spec{Params: ps, Training: true, Input: in, Targets: []int{batch}, Build: classifier(bb)})
	if err != nil {
		return err
	}
	tr, tn := ps.Count()
	res.Params, res.TrainableParams = tr+tn, tr
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := range tg.Input() {
		tg.Input()[i] = float32(rng.NormFloat64())
	}
	for i := range tg.Targets() {
		tg.Targets()[i] = float32(rng.IntN(10))
	}
	adam, err := optim.NewAdam()
	if err != nil {
		return err
	}
	trainer, err := train.NewTrainer(tg, adam, optim.Constant(1e-3))
	if err != nil {
		return err
	}
	for i := 0; i < warmup; i++ {
		if _, err := trainer.Step(ctx, 0); err != nil {
			return err
		}
	}
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("phase", "train")))
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if _, err := trainer.Step(ctx, 0); err != nil {
			return err
		}
		if i == 19 {
			res.RSSStep20Bytes = procStatus("VmRSS")
		}
	}
	res.TrainImgPerS = float64(batch*steps) / time.Since(start).Seconds()
	res.PlannedBytes = tg.PlannedBytes()
	res.PeakLiveBytes = tg.PeakLiveBytes()
	res.RSSLastBytes = procStatus("VmRSS")
	if memProf != nil {
		runtime.GC()
		if err := pprof.WriteHeapProfile(memProf); err != nil {
			return fmt.Errorf("bench: --memprofile: %w", err)
		}
	}

	eg, err := train.Compile(train.Spec{Params: ps, Input: in, Build: classifier(bb)})
	if err != nil {
		return err
	}
	copy(eg.Input(), tg.Input())
	tg, trainer = nil, nil
	if prof != nil {
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("phase", "compile")))
	}
	debug.FreeOSMemory()
	for i := 0; i < warmup; i++ {
		if err := eg.Run(ctx); err != nil {
			return err
		}
	}
	if prof != nil {
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("phase", "eval")))
	}
	start = time.Now()
	for i := 0; i < steps; i++ {
		if err := eg.Run(ctx); err != nil {
			return err
		}
	}
	res.EvalImgPerS = float64(batch*steps) / time.Since(start).Seconds()
	res.PeakRSSBytes = procStatus("VmHWM")
	return nil
}

// procStatus reads a "kB" field of /proc/self/status in bytes, or 0 where there is none.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusField(b, field)
}

// statusField returns the "kB" field of a /proc/PID/status text in bytes, or 0.
func statusField(b []byte, field string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// findPeerScript looks for ../shared/bench/peer_backbones.py beside the module root
// above the working directory.
func findPeerScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "bench", "peer_backbones.py")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("bench: no peer script at %s; give --peer-script", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: no go.mod above the working directory to find ../shared/bench/peer_backbones.py from; give --peer-script")
		}
		dir = parent
	}
}

// peerLine is the JSON line of peer_resnet20.py (one mode per run).
type peerLine struct {
	Version string  `json:"version"`
	ImgPerS float64 `json:"img_per_s"`
	Mode    string  `json:"mode"`
	Device  string  `json:"device"`
}

// peerBackbonesLine is the JSON line of peer_backbones.py (both modes in one run).
type peerBackbonesLine struct {
	Version      string  `json:"version"`
	Model        string  `json:"model"`
	Size         int     `json:"size"`
	TrainImgPerS float64 `json:"train_img_per_s"`
	EvalImgPerS  float64 `json:"eval_img_per_s"`
}

// runPeer runs python script args and decodes its last output line into v; it returns the
// process's peak RSS in bytes (0 where unknown).
//
// The peak is the child's own VmHWM, read from /proc/PID/status every 10 ms while it runs
// (it only grows, so the last reading is at most 10 ms short of the end). The rusage of
// the finished child is no good on Linux: exec carries the high-water mark of the address
// space it replaces (ours, shared with the child by the vfork-style spawn) into the
// child's ru_maxrss, so it reports at least our own peak.
func runPeer(ctx context.Context, python, script string, args []string, v any) (int64, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("bench: peer %s %s: %v", python, script, err)
	}
	status := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "status")
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var hwm int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(status); err == nil {
				hwm = max(hwm, statusField(b, "VmHWM"))
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	hwm := <-peak
	if err != nil {
		return 0, fmt.Errorf("bench: peer %s %s %s: %v: %s", python, script, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], v); err != nil {
		return 0, fmt.Errorf("bench: peer %s %s printed %q, not its JSON line: %v", script, strings.Join(args, " "), out.String(), err)
	}
	return hwm, nil
}

// benchPeer runs the peer script for model at size×size and fills in the peer's figures
// and the ratios (ours over the peer's).
func benchPeer(ctx context.Context, python, script, model string, size, batch, steps, warmup, threads int, res *benchResult) error {
	common := []string{"--batch", strconv.Itoa(batch), "--steps", strconv.Itoa(steps),
		"--warmup", strconv.Itoa(max(warmup, 1)), "--threads", strconv.Itoa(threads), "--device", "cpu"}
	if filepath.Base(script) == "peer_resnet20.py" {
		for _, mode := range []string{"train", "eval"} {
			var pl peerLine
			rss, err := runPeer(ctx, python, script, append([]string{"--mode", mode}, common...), &pl)
			if err != nil {
				return err
			}
			res.PeerPeakRSSBytes = max(res.PeerPeakRSSBytes, rss)
			res.PeerVersion = pl.Version
			if mode == "train" {
				res.PeerTrainImgPerS = pl.ImgPerS
			} else {
				res.PeerEvalImgPerS = pl.ImgPerS
			}
		}
	} else {
		var pl peerBackbonesLine
		rss, err := runPeer(ctx, python, script, append([]string{"--model", model, "--size", strconv.Itoa(size)}, common...), &pl)
		if err != nil {
			return err
		}
		if pl.Model != model || pl.Size != size {
			return fmt.Errorf("bench: peer %s ran model %q at size %d, not %s at %d", script, pl.Model, pl.Size, model, size)
		}
		res.PeerPeakRSSBytes, res.PeerVersion = rss, pl.Version
		res.PeerTrainImgPerS, res.PeerEvalImgPerS = pl.TrainImgPerS, pl.EvalImgPerS
	}
	if res.PeerTrainImgPerS <= 0 || res.PeerEvalImgPerS <= 0 {
		return fmt.Errorf("bench: peer %s reported no rate (train %v, eval %v img/s)", script, res.PeerTrainImgPerS, res.PeerEvalImgPerS)
	}
	res.TrainRatio = round3(res.TrainImgPerS / res.PeerTrainImgPerS)
	res.EvalRatio = round3(res.EvalImgPerS / res.PeerEvalImgPerS)
	if res.PeerPeakRSSBytes > 0 {
		res.PeakRSSRatio = round3(float64(res.PeakRSSBytes) / float64(res.PeerPeakRSSBytes))
	}
	return nil
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
