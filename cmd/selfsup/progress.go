package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/selfsup/selfsup/ssl"
)

// Progress modes of --progress.
const (
	progressAuto = "auto" // bar on a terminal, log lines otherwise
	progressBar  = "bar"
	progressLog  = "log"
)

// stageKey identifies one training stage: pretraining or one downstream run.
type stageKey struct {
	stage        string
	nLabels, run int
}

// tracker follows the stages the pipeline trains in this session, for the closing summary
// and for the bar. It is called from the goroutine running Evaluate.
type tracker struct {
	mu      sync.Mutex
	seen    map[stageKey]bool
	order   []stageKey
	onStage func(stageKey) // called when a new stage starts
}

func newTracker() *tracker { return &tracker{seen: map[stageKey]bool{}} }

// observe records p's stage and reports whether it is a new one.
func (t *tracker) observe(p ssl.Progress) (stageKey, bool) {
	k := stageKey{p.Stage, p.NLabels, p.Run}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen[k] {
		return k, false
	}
	t.seen[k] = true
	t.order = append(t.order, k)
	return k, true
}

// stages returns the stages that trained (or started) in this session, in order.
func (t *tracker) stages() []stageKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.order)
}

// trained returns whether pretraining ran (or continued) in this session and how many
// downstream runs trained.
func (t *tracker) trained() (pretrain bool, runs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.order {
		if k.stage == "pretrain" {
			pretrain = true
		} else {
			runs++
		}
	}
	return pretrain, runs
}

// bar draws one progress bar with an ETA for the stage being trained, on one terminal line
// redrawn in place, and prints log lines above it.
type bar struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	now   func() time.Time
	// totalRuns is the number of downstream trainings of the whole evaluation, for "(k/M)",
	// and runsPerBudget the number of runs of each budget, for "run r/R".
	totalRuns, runsPerBudget int

	cur       stageKey
	active    bool
	runIndex  int
	start     time.Time
	startDone int
	lastDraw  time.Time
	shown     string // the line on screen, "" when none
	valScore  float64
	hasVal    bool
}

// minRedraw is the shortest time between two redraws of the bar.
const minRedraw = 100 * time.Millisecond

func newBar(w io.Writer, width int) *bar {
	if width < 40 {
		width = 80
	}
	return &bar{w: w, width: width, now: time.Now}
}

// update is the pipeline's OnProgress.
func (b *bar) update(p ssl.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	k := stageKey{p.Stage, p.NLabels, p.Run}
	done, total := p.Epoch*p.Steps+p.Step, p.Epochs*p.Steps
	if !b.active || k != b.cur {
		b.cur, b.active = k, true
		b.start, b.startDone = now, done
		b.hasVal = false
		if k.stage != "pretrain" {
			b.runIndex++
		}
		b.lastDraw = time.Time{}
	}
	if p.Done != nil && k.stage == "pretrain" && p.Done.ValScore != 0 {
		b.valScore, b.hasVal = p.Done.ValScore, true
	}
	if p.Done == nil && now.Sub(b.lastDraw) < minRedraw && done < total {
		return
	}
	b.lastDraw = now
	b.draw(b.render(p, done, total, now))
}

// render formats the bar line.
func (b *bar) render(p ssl.Progress, done, total int, now time.Time) string {
	label := "pretrain"
	if b.cur.stage != "pretrain" {
		label = fmt.Sprintf("%s n=%d run %d", b.cur.stage, b.cur.nLabels, b.cur.run+1)
		if b.runsPerBudget > 0 {
			label += fmt.Sprintf("/%d", b.runsPerBudget)
		}
		if b.totalRuns > 0 {
			label += fmt.Sprintf(" (%d/%d)", b.runIndex, b.totalRuns)
		}
	}
	eta := "ETA --:--"
	elapsed := now.Sub(b.start)
	if n := done - b.startDone; n > 0 && elapsed > 0 {
		left := time.Duration(float64(elapsed) / float64(n) * float64(total-done))
		eta = "ETA " + clock(left)
	}
	if done >= total {
		eta = "in " + clock(elapsed)
	}
	tail := fmt.Sprintf(" %3d%% ep %d/%d loss %.4f", percent(done, total), p.Epoch+1, p.Epochs, p.Loss)
	if b.hasVal {
		tail += fmt.Sprintf(" val %.3f", b.valScore)
	}
	tail += " " + eta
	head := label + " "
	// The bar keeps its width through the stage: room is left for the longest tail.
	val := ""
	if b.cur.stage == "pretrain" {
		val = " val 0.000"
	}
	longest := fmt.Sprintf(" 100%% ep %d/%d loss %.4f%s ETA 00:00", p.Epochs, p.Epochs, 1.0, val)
	room := b.width - 1 - utf8.RuneCountInString(head) - max(utf8.RuneCountInString(tail), utf8.RuneCountInString(longest)) - 2
	if room < 5 {
		return truncate(head+tail, b.width-1)
	}
	fill := 0
	if total > 0 {
		fill = min(room, room*done/total)
	}
	return head + "[" + strings.Repeat("=", fill) + strings.Repeat(" ", room-fill) + "]" + tail
}

func percent(done, total int) int {
	if total <= 0 {
		return 0
	}
	return min(100, 100*done/total)
}

// clock formats d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(math.Round(d.Seconds()))
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// draw replaces the line on screen with line.
func (b *bar) draw(line string) {
	pad := ""
	if k := utf8.RuneCountInString(b.shown) - utf8.RuneCountInString(line); k > 0 {
		pad = strings.Repeat(" ", k)
	}
	fmt.Fprint(b.w, "\r"+line+pad)
	b.shown = line
}

// clear removes the bar from the screen.
func (b *bar) clear() {
	if b.shown != "" {
		fmt.Fprint(b.w, "\r"+strings.Repeat(" ", utf8.RuneCountInString(b.shown))+"\r")
		b.shown = ""
	}
}

// println prints line above the bar and redraws the bar under it.
func (b *bar) println(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	shown := b.shown
	b.clear()
	fmt.Fprintln(b.w, line)
	if shown != "" {
		b.draw(shown)
	}
}

// close removes the bar.
func (b *bar) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	b.active = false
}

// lineHandler is the slog.Handler used beside the bar: compact "msg key=value ..." lines
// printed above the bar. The per-epoch lines of downstream runs are dropped (the bar shows
// them); pretraining epochs and finished stages and runs are kept.
type lineHandler struct {
	print func(string)
	attrs []slog.Attr
	stage string
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clip(h.attrs), as...)
	for _, a := range as {
		if a.Key == "stage" {
			c.stage = a.Value.String()
		}
	}
	return &c
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "epoch" && h.stage != "pretrain" {
		return nil
	}
	var sb strings.Builder
	switch {
	case r.Level >= slog.LevelError:
		sb.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		sb.WriteString("warning: ")
	}
	sb.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		sb.WriteString(" " + a.Key + "=" + formatValue(a.Value))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.print(sb.String())
	return nil
}

// formatValue writes floats with 4 significant digits and quotes strings with spaces.
func formatValue(v slog.Value) string {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', 4, 64)
	case slog.KindDuration:
		return v.Duration().Round(time.Millisecond).String()
	case slog.KindString:
		s := v.String()
		if s == "" || strings.ContainsAny(s, " \t\"=") {
			return strconv.Quote(s)
		}
		return s
	}
	return v.String()
}
