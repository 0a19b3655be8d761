//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selfsup/selfsup/ssl"
)

// session is one run of the program as a child process (the test binary re-executed as
// selfsup, printing a line after every saved epoch).
type session struct {
	log string
	// done maps a stage ("pretrain", or "SL 50 0") to the last epoch it finished.
	done map[string]int
	// first maps a stage to the first epoch it trained in this session.
	first map[string]int
	// killed is whether the session was killed before it ended.
	killed bool
	err    error
}

// runChild runs selfsup with args; with killAfter >= 0 it sends SIGKILL that long after
// the program has written its configuration (the line "selfsup run"); with killInRun, as
// soon as a downstream run has finished an epoch (the run is then in flight).
func runChild(t *testing.T, args []string, killAfter time.Duration, killInRun bool) session {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SELFSUP_TEST_MAIN=progress")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := session{done: map[string]int{}, first: map[string]int{}}
	var log strings.Builder
	var timer *time.Timer
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if killAfter >= 0 && timer == nil && strings.Contains(line, `msg="selfsup run"`) {
			timer = time.AfterFunc(killAfter, func() { cmd.Process.Kill() })
		}
		if f := strings.Fields(line); len(f) == 5 && f[0] == "test-epoch-done" {
			key := f[1]
			if f[1] != "pretrain" {
				key = f[1] + " " + f[2] + " " + f[3]
			}
			e, _ := strconv.Atoi(f[4])
			if _, ok := s.first[key]; !ok {
				s.first[key] = e
			}
			s.done[key] = e
			if killInRun && f[1] != "pretrain" && timer == nil {
				timer = time.AfterFunc(0, func() { cmd.Process.Kill() })
			}
		}
	}
	s.err = cmd.Wait()
	if timer != nil && !timer.Stop() {
		s.killed = s.err != nil
	}
	s.log = log.String()
	return s
}

// reportNumbers reads report.json of out without its timings and paths.
func reportNumbers(t *testing.T, out string) *ssl.Report {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ssl.ReadReportJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	r.Seconds = 0
	r.Warnings = nil
	if r.Pretrain != nil {
		r.Pretrain.Seconds, r.Pretrain.Checkpoint = 0, ""
		for i := range r.Pretrain.Epochs {
			r.Pretrain.Epochs[i].Seconds = 0
		}
	}
	for i := range r.Runs {
		r.Runs[i].Seconds = 0
		for j := range r.Runs[i].Epochs {
			r.Runs[i].Epochs[j].Seconds = 0
		}
	}
	return r
}

// Killing "selfsup run" (SIGKILL: no chance to clean up) at random moments and resuming
// each time ends with the report of an uninterrupted run, bit for bit, and no kill loses
// more than the epoch in flight: every epoch a session reported done is not trained again.
func TestKillAnywhereAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and resumes a run several times")
	}
	tmp := t.TempDir()
	args := func(out string) []string {
		return []string{"run", "--pretrain-epochs", "2", "--finetune-epochs", "2", "--budgets", "50,100", "--runs", "1",
			"--out", out, "--progress", "log", "--threads", "1"}
	}
	refOut := filepath.Join(tmp, "ref")
	t0 := time.Now()
	ref := runChild(t, args(refOut), -1, false)
	if ref.err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", ref.err, ref.log)
	}
	total := time.Since(t0)

	out := filepath.Join(tmp, "killed")
	rng := rand.New(rand.NewPCG(11, 12))
	kills, sessions := 0, 0
	var prev *session
	for {
		sessions++
		if sessions > 12 {
			t.Fatalf("not finished after %d sessions", sessions-1)
		}
		a := args(out)
		if _, err := os.Stat(filepath.Join(out, configFile)); err == nil {
			a = []string{"run", "--resume", "--out", out, "--progress", "log", "--threads", "1"}
		}
		kill := time.Duration(-1)
		if kills > 0 && kills < 4 {
			kill = time.Duration(rng.Float64() * float64(total) * 0.8)
		}
		// The first kill lands in a downstream run; the others at random moments.
		s := runChild(t, a, kill, kills == 0)
		if prev != nil && prev.killed {
			// Nothing the killed session reported done is trained again.
			for stage, e := range prev.done {
				if f, ok := s.first[stage]; ok && f <= e {
					t.Errorf("session %d trained %s from epoch %d again, though the killed session had finished epoch %d\n%s",
						sessions, stage, f+1, e+1, s.log)
				}
			}
		}
		if s.killed {
			kills++
			prev = &s
			continue
		}
		if s.err != nil {
			t.Fatalf("session %d: %v\n%s", sessions, s.err, s.log)
		}
		break
	}
	if kills == 0 {
		t.Fatal("no session was killed")
	}
	got, want := reportNumbers(t, out), reportNumbers(t, refOut)
	if !got.Complete || !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("after %d kills the report differs from the uninterrupted run's:\n%s\nwant\n%s", kills, g, w)
	}
	t.Log(fmt.Sprintf("%d kills in %d sessions; uninterrupted run %v", kills, sessions, total.Round(time.Millisecond)))
}
