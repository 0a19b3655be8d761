package contrastive

import (
	"context"
	"log/slog"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// Through the pipeline, MoCo's queue and NNCLR's support set hold exactly what the heads
// exposed, enqueued first in first out from the initial random rows, and the pointer
// counts the rows modulo the queue size.
func TestQueuesFilledFromExposedValues(t *testing.T) {
	for _, c := range []struct {
		task    ssl.PretextTask
		exposed string
	}{
		{MoCoV2(Projector(16, 8), QueueSize(20)), "keys"},                 // 16 keys per step: wraps unevenly
		{NNCLR(Projector(16, 8), Predictor(8), QueueSize(12)), "support"}, // 8 rows per step
	} {
		t.Run(c.exposed, func(t *testing.T) {
			rec := &recorder{PretextTask: c.task, names: []string{c.exposed}}
			_, err := ssl.New(smallNet{}, ssl.Seed(2), ssl.BatchSize(8), ssl.Logger(slog.New(slog.DiscardHandler))).
				Pretrain(rec, blobs{n: 40, seed: 4}, ssl.Epochs(1), ssl.ConstantLR()).Encoder(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			q0 := rec.initial[QueueParam]
			const d = 8
			q := len(q0) / d
			want, ptr, total := append([]float32(nil), q0...), 0, 0
			for _, v := range rec.values[c.exposed] {
				if len(v)%d != 0 || len(v) == 0 {
					t.Fatalf("exposed %d values", len(v))
				}
				for r := 0; r < len(v)/d; r++ {
					copy(want[ptr*d:(ptr+1)*d], v[r*d:(r+1)*d])
					ptr = (ptr + 1) % q
					total++
				}
			}
			if total <= q {
				t.Fatalf("only %d rows enqueued into %d: no wrap-around tested", total, q)
			}
			last := rec.after[len(rec.after)-1]
			if d := maxDiff(last[QueueParam], want); d != 0 {
				t.Errorf("queue differs from the exposed rows by %g", d)
			}
			if got := last[QueuePointerParam][0]; int(got) != ptr {
				t.Errorf("pointer %v, want %d", got, ptr)
			}
			if maxDiff(q0, want) == 0 {
				t.Error("queue never changed")
			}
		})
	}
}

// A run interrupted after its first epoch and resumed from the checkpoint directory ends
// exactly as the uninterrupted run: the key encoder, the queue and its pointer are in the
// checkpoint.
func TestMoCoResumeIsExact(t *testing.T) {
	mk := func() ssl.PretextTask { return MoCoV2(Projector(16, 8), QueueSize(20)) }
	run := func(dir string, stopAfter int) ([]float64, ssl.PretextTask, error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var losses []float64
		rec := &recorder{PretextTask: mk()}
		_, err := ssl.New(smallNet{}, ssl.Seed(3), ssl.BatchSize(8), ssl.CheckpointDir(dir), ssl.Logger(slog.New(slog.DiscardHandler)),
			ssl.OnProgress(func(p ssl.Progress) {
				if p.Done != nil {
					losses = append(losses, p.Done.Loss)
					if p.Epoch+1 == stopAfter {
						cancel()
					}
				}
			})).
			Pretrain(rec, blobs{n: 40, seed: 6}, ssl.Epochs(3), ssl.ConstantLR()).Encoder(ctx)
		return losses, rec, err
	}
	full, fullRec, err := run(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, err := run(dir, 1); err == nil {
		t.Fatal("the interrupted run did not stop")
	}
	rest, restRec, err := run(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 3 || len(rest) != 2 || rest[0] != full[1] || rest[1] != full[2] {
		t.Fatalf("epoch losses: uninterrupted %v, resumed %v", full, rest)
	}
	a := fullRec.(*recorder).after
	b := restRec.(*recorder).after
	fa, fb := a[len(a)-1], b[len(b)-1]
	for _, name := range []string{QueueParam, QueuePointerParam, TargetScope + "/projector/dense1/kernel", TargetScope + "/backbone/bn/moving_mean"} {
		if d := maxDiff(fa[name], fb[name]); d != 0 || fa[name] == nil {
			t.Errorf("%s differs by %g after resuming", name, d)
		}
	}
}
