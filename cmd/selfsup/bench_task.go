package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/optim"
	"github.com/selfsup/selfsup/ssl"
)

// taskBenchResult is the JSON line of "selfsup bench --task".
type taskBenchResult struct {
	Task        string  `json:"task"`
	Model       string  `json:"model"`
	Batch       int     `json:"batch"`
	Steps       int     `json:"steps"`
	Threads     int     `json:"threads"`
	Augment     string  `json:"augment"`
	ImgPerS     float64 `json:"img_per_s"` // source images per second (each makes two views)
	EpochSecond float64 `json:"epoch_seconds"`

	PeerVersion string  `json:"peer_version,omitempty"`
	PeerImgPerS float64 `json:"peer_img_per_s,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
}

// benchTasks are the methods "selfsup bench --task" measures: those the peer
// (peer_contrastive.py) has, with its heads (BYOL with its constant tau 0.99).
var benchTasks = map[string]func(...contrastive.Option) ssl.PretextTask{
	"simclr":  func(o ...contrastive.Option) ssl.PretextTask { return contrastive.SimCLR(o...) },
	"simsiam": func(o ...contrastive.Option) ssl.PretextTask { return contrastive.SimSiam(o...) },
	"byol": func(o ...contrastive.Option) ssl.PretextTask {
		return contrastive.BYOL(append(o, contrastive.Momentum(0.99, 0.99))...)
	},
}

// benchTask times a pretraining epoch of a contrastive method through the pipeline itself
// (ssl.Pipeline.Encoder: the code users run) on steps batches of random CIFAR-sized
// images, after one untimed epoch, with the peer's optimizer (SGD, momentum 0.9, weight
// decay 1e-4, lr 0.05). Without augmented the views are the images themselves, as the
// peer times its model step on views made before timing; with it the method's own
// augmentation runs alongside the step.
func benchTask(ctx context.Context, name string, batch, steps, threads int, seed uint64, augmented, peer bool, python, script string, stdout io.Writer) error {
	mk, ok := benchTasks[name]
	if !ok {
		return fmt.Errorf("bench: --task %q: want simclr, simsiam or byol (the methods the peer has)", name)
	}
	if steps < 1 || batch < 2 {
		return fmt.Errorf("bench: --task needs --batch of at least 2 and --steps of at least 1")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	var opts []contrastive.Option
	augName := "the method's default, made alongside the step"
	if !augmented {
		none, err := augment.Compose()
		if err != nil {
			return err
		}
		opts, augName = append(opts, contrastive.AugmentViews(none, none)), "none (views made before the step, as the peer)"
	}
	task := mk(opts...)
	data, err := randomImages(batch*steps, 32, seed)
	if err != nil {
		return err
	}
	sgd := func() (optim.Optimizer, error) { return optim.NewSGD(optim.Momentum(0.9), optim.WeightDecay(1e-4)) }
	var last ssl.EpochStats
	_, err = ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(seed), ssl.BatchSize(batch), ssl.LearningRate(0.05),
		ssl.Optimizer("sgd", sgd), ssl.ConstantLR(), ssl.Logger(slog.New(slog.DiscardHandler)),
		ssl.OnProgress(func(p ssl.Progress) {
			if p.Done != nil {
				last = *p.Done
			}
		})).
		Pretrain(task, data, ssl.Epochs(2), ssl.ValidationFraction(0)).Encoder(ctx)
	if err != nil {
		return fmt.Errorf("bench: --task %s: %w", name, err)
	}
	res := taskBenchResult{Task: task.Name(), Model: "resnet20v1", Batch: batch, Steps: steps, Threads: threads, Augment: augName,
		EpochSecond: round3(last.Seconds), ImgPerS: round3(float64(batch*steps) / last.Seconds)}
	if peer {
		if script == "" {
			if script, err = findPeerScript(); err != nil {
				return err
			}
			script = filepath.Join(filepath.Dir(script), "peer_contrastive.py")
		}
		cmd := exec.CommandContext(ctx, python, script, "--method", name, "--batch", strconv.Itoa(batch),
			"--steps", strconv.Itoa(steps), "--threads", strconv.Itoa(threads), "--device", "cpu")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench: peer %s %s: %v: %s", python, script, err, strings.TrimSpace(errb.String()))
		}
		var pl struct {
			Version string  `json:"version"`
			ImgPerS float64 `json:"img_per_s"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &pl); err != nil {
			return fmt.Errorf("bench: peer printed %q, not its JSON line: %v", out.String(), err)
		}
		res.PeerVersion, res.PeerImgPerS = pl.Version, pl.ImgPerS
		if pl.ImgPerS > 0 {
			res.Ratio = round3(res.ImgPerS / pl.ImgPerS)
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

// randomImages is a dataset of n random size×size RGB images.
func randomImages(n, size int, seed uint64) (*datasets.Images, error) {
	pix := make([]uint8, n*3*size*size)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range pix {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		pix[i] = uint8(x)
	}
	return datasets.FromPixels(pix, nil, nil, size, size)
}
