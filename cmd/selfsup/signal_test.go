//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selfsup/selfsup/ssl"
)

// TestMain lets a test run the real program: with SELFSUP_TEST_MAIN=1 the test binary is
// selfsup, its arguments the command line.
func TestMain(m *testing.M) {
	switch os.Getenv("SELFSUP_TEST_MAIN") {
	case "1":
		main()
		os.Exit(0)
	case "slowstop":
		slowStop()
	case "progress":
		// The program, printing a line at the end of every epoch of every stage (after
		// its checkpoint is saved), for the kill test to see what was done.
		testProgress = func(p ssl.Progress) {
			if p.Done != nil {
				fmt.Fprintf(os.Stderr, "test-epoch-done %s %d %d %d\n", p.Stage, p.NLabels, p.Run, p.Epoch)
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// slowStop stands for a command whose graceful stop takes long: it waits for a stop signal,
// says so, and then takes a minute to finish, unless a second signal kills it.
func slowStop() {
	ctx, stop := withStopSignals(context.Background())
	defer stop()
	fmt.Fprintln(os.Stderr, "ready")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "stopping:", context.Cause(ctx))
	time.Sleep(time.Minute)
	os.Exit(exitStatus(ctx, ctx.Err()))
}

// A stop signal during training, SIGINT (Ctrl-C) or SIGTERM (timeout, Docker, Kubernetes,
// SLURM), stops the program with status 130 or 143, keeps the finished runs, writes the
// partial report and says how to resume.
func TestStopSignalsStopCleanly(t *testing.T) {
	for _, c := range []struct {
		sig  os.Signal
		code int
	}{{os.Interrupt, exitInterrupted}, {syscall.SIGTERM, exitTerminated}} {
		t.Run(c.sig.String(), func(t *testing.T) { stopCleanly(t, c.sig, c.code) })
	}
}

func stopCleanly(t *testing.T, sig os.Signal, code int) {
	root, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	makeFolder(t, root, 4, 10, 5, 8)
	args := tinyArgs(root, out, "--finetune-epochs", "400")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SELFSUP_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if !signalled && strings.Contains(line, `msg="run done"`) {
			// One run has finished: stop the next.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running a minute after %v:\n%s", sig, log.String())
	}
	if !signalled {
		t.Fatalf("no run finished:\n%s", log.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != code {
		t.Fatalf("exit: %v, want status %d\n%s", err, code, log.String())
	}
	if !strings.Contains(log.String(), "selfsup run --resume --out "+out) || !strings.Contains(log.String(), "interrupted") ||
		!strings.Contains(log.String(), "received "+sig.String()) {
		t.Errorf("no resume hint or no word of the signal:\n%s", log.String())
	}
	runs, _ := filepath.Glob(filepath.Join(out, "checkpoints", "runs", "*.json"))
	if len(runs) == 0 || len(runs) == 8 {
		t.Errorf("%d of 8 runs kept", len(runs))
	}
	// The partial report: written, marked incomplete, with the finished runs.
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no partial report: %v\n%s", err, log.String())
	}
	var rep struct {
		Complete bool              `json:"complete"`
		Runs     []json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Complete || len(rep.Runs) == 0 || len(rep.Runs) == 8 {
		t.Errorf("partial report: complete %v, %d runs, %v", rep.Complete, len(rep.Runs), err)
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Errorf("no partial report.md: %v", err)
	}
}

// A second stop signal, while the first one's graceful stop is under way, kills the
// program at once, whichever of the two signals comes first.
func TestSecondSignalKills(t *testing.T) {
	for _, pair := range [][2]syscall.Signal{{syscall.SIGTERM, syscall.SIGINT}, {syscall.SIGINT, syscall.SIGTERM}, {syscall.SIGTERM, syscall.SIGTERM}} {
		t.Run(pair[0].String()+" then "+pair[1].String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "SELFSUP_TEST_MAIN=slowstop")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			sc := bufio.NewScanner(stderr)
			var log strings.Builder
			for sc.Scan() {
				line := sc.Text()
				log.WriteString(line + "\n")
				switch {
				case line == "ready":
					cmd.Process.Signal(pair[0])
				case strings.HasPrefix(line, "stopping:"):
					if !strings.Contains(line, "received "+pair[0].String()) {
						t.Errorf("cause %q, want the first signal", line)
					}
					cmd.Process.Signal(pair[1])
				}
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("exit: %v\n%s", err, log.String())
			}
			ws := exit.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != pair[1] {
				t.Fatalf("exit %v (status %d), want death by %v\n%s", err, exit.ExitCode(), pair[1], log.String())
			}
			if d := time.Since(t0); d > 30*time.Second {
				t.Errorf("took %v to die", d)
			}
		})
	}
}
