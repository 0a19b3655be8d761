package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/selfsup/selfsup/ssl"
)

// fakeClock returns a clock that the test advances.
func fakeClock() (func() time.Time, func(time.Duration)) {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return t }, func(d time.Duration) { t = t.Add(d) }
}

// lastLine returns what a terminal would show on the bar's line.
func lastLine(s string) string {
	s = s[strings.LastIndex(s, "\n")+1:]
	return strings.TrimRight(s[strings.LastIndex(s, "\r")+1:], " ")
}

func TestBarETA(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, 100)
	now, advance := fakeClock()
	b.now = now
	b.totalRuns, b.runsPerBudget = 8, 2
	// Pretraining: 4 epochs of 10 steps, one second per step.
	for s := 1; s <= 10; s++ {
		b.update(ssl.Progress{Stage: "pretrain", Epoch: 0, Epochs: 4, Step: s, Steps: 10, Loss: 1.5})
		advance(time.Second)
	}
	line := lastLine(buf.String())
	// 10 of 40 steps done in 9 s after the first: 30 left at 1 s each.
	if !strings.HasPrefix(line, "pretrain [") || !strings.Contains(line, " 25% ep 1/4 loss 1.5000 ETA 0:30") {
		t.Errorf("bar %q", line)
	}
	if n := utf8.RuneCountInString(line); n > 99 {
		t.Errorf("bar is %d columns wide on a 100-column terminal", n)
	}
	room := 99 - len("pretrain ") - len(" 100% ep 4/4 loss 1.0000 val 0.000 ETA 00:00") - 2
	if strings.Count(line, "=") != room/4 || strings.Index(line, "]")-strings.Index(line, "[")-1 != room {
		t.Errorf("fill of %q", line)
	}
	// The end of the epoch shows the validation score; the bar keeps its width.
	b.update(ssl.Progress{Stage: "pretrain", Epoch: 0, Epochs: 4, Step: 10, Steps: 10, Loss: 1.4, Done: &ssl.EpochStats{ValScore: 0.5}})
	if line := lastLine(buf.String()); !strings.Contains(line, "val 0.500") || strings.Index(line, "]")-strings.Index(line, "[")-1 != room {
		t.Errorf("bar %q", line)
	}
	// A resumed stage measures its rate from where it started.
	b.update(ssl.Progress{Stage: ssl.MethodSSL, NLabels: 50, Run: 1, Epoch: 2, Epochs: 4, Step: 1, Steps: 5, Loss: 2})
	advance(2 * time.Second)
	b.update(ssl.Progress{Stage: ssl.MethodSSL, NLabels: 50, Run: 1, Epoch: 2, Epochs: 4, Step: 2, Steps: 5, Loss: 2})
	line = lastLine(buf.String())
	if !strings.HasPrefix(line, "SSL+SL n=50 run 2/2 (1/8) [") || !strings.Contains(line, "ETA 0:16") {
		t.Errorf("bar %q", line)
	}
	// Log lines go above the bar, which is redrawn.
	b.println("hello")
	if !strings.Contains(buf.String(), "hello\n") || lastLine(buf.String()) != line {
		t.Errorf("after println: %q", buf.String()[max(0, buf.Len()-200):])
	}
	b.close()
	if lastLine(buf.String()) != "" {
		t.Errorf("bar left on screen: %q", lastLine(buf.String()))
	}
}

func TestBarThrottles(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, 80)
	now, advance := fakeClock()
	b.now = now
	for s := 1; s <= 100; s++ {
		b.update(ssl.Progress{Stage: "pretrain", Epochs: 1, Step: s, Steps: 100})
		advance(time.Millisecond)
	}
	if n := strings.Count(buf.String(), "\r"); n > 5 {
		t.Errorf("%d redraws in 100 ms", n)
	}
	if !strings.Contains(lastLine(buf.String()), "100%") {
		t.Errorf("the last step was not drawn: %q", lastLine(buf.String()))
	}
}

func TestLineHandler(t *testing.T) {
	var lines []string
	log := slog.New(&lineHandler{print: func(s string) { lines = append(lines, s) }})
	log.With("stage", "pretrain").Info("epoch", "epoch", 1, "loss", 1.23456789)
	log.With("stage", ssl.MethodSL, "n_labels", 50).Info("epoch", "epoch", 1)
	log.With("stage", ssl.MethodSL, "n_labels", 50).Info("run done", "test_accuracy", 0.25)
	log.Warn("odd budget", "why", "not balanced")
	log.Debug("hidden")
	want := []string{
		"epoch stage=pretrain epoch=1 loss=1.235",
		"run done stage=SL n_labels=50 test_accuracy=0.25",
		`warning: odd budget why="not balanced"`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !log.Handler().Enabled(context.Background(), slog.LevelInfo) || log.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Error("levels")
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0:00", 59 * time.Second: "0:59", 61 * time.Second: "1:01",
		3725 * time.Second: "1:02:05", -time.Second: "0:00"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}

// The bar mode of a whole run draws bars and keeps standard output to the table.
func TestRunWithBar(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()+"/r"
	makeFolder(t, root, 4, 10, 5, 8)
	args := tinyArgs(root, out)
	for i, a := range args {
		if a == "log" {
			args[i] = "bar"
		}
	}
	stdout, stderr, err := run(context.Background(), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "\rpretrain [") || !strings.Contains(stderr, "\rSSL+SL n=20 run 2/2 (8/8) [") {
		t.Errorf("no bars on standard error:\n%q", stderr)
	}
	if strings.Contains(stderr, "stage=SL n_labels=8 run=0 epoch=") {
		t.Errorf("downstream epoch lines printed beside the bar")
	}
	if strings.Contains(stdout, "\r") || !strings.HasPrefix(stdout, "Test accuracy") {
		t.Errorf("standard output is not the report:\n%q", stdout)
	}
}
