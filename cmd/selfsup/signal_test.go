//go:build unix

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets a test run the real program: with SELFSUP_TEST_MAIN=1 the test binary is
// selfsup, its arguments the command line.
func TestMain(m *testing.M) {
	if os.Getenv("SELFSUP_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Ctrl-C (SIGINT) during training stops the program with status 130, keeps the finished
// runs and says how to resume.
func TestCtrlCStopsCleanly(t *testing.T) {
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
			// One run has finished: interrupt the next.
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
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
		t.Fatalf("still running a minute after Ctrl-C:\n%s", log.String())
	}
	if !signalled {
		t.Fatalf("no run finished:\n%s", log.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want status %d\n%s", err, exitInterrupted, log.String())
	}
	if !strings.Contains(log.String(), "selfsup run --resume --out "+out) || !strings.Contains(log.String(), "interrupted") {
		t.Errorf("no resume hint:\n%s", log.String())
	}
	runs, _ := filepath.Glob(filepath.Join(out, "checkpoints", "runs", "*.json"))
	if len(runs) == 0 || len(runs) == 8 {
		t.Errorf("%d of 8 runs kept", len(runs))
	}
}
