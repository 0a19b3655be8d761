package folds

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// balancedLabels returns perClass labels of each of nClasses classes, shuffled with seed.
func balancedLabels(nClasses, perClass int, seed uint32) []int {
	y := make([]int, nClasses*perClass)
	for i := range y {
		y[i] = i % nClasses
	}
	newMT19937(seed).shuffle(y)
	return y
}

// TestBudgetsAgainstReference checks that a budget's runs are the Test parts of scikit-learn's
// StratifiedKFold(n_splits=N/n_labels, shuffle=True, random_state=seed) on the 50,000 CIFAR-10
// labels: the shared reference has n_splits=10 with seed 42 (n_labels=5000) and n_splits=200
// with seed 0 (n_labels=250).
func TestBudgetsAgainstReference(t *testing.T) {
	path := filepath.Join(sharedDir(t), "testdata", "sklearn_stratified_kfold.json")
	var ref skfFile
	readJSON(t, path, &ref)
	checked := 0
	for _, c := range ref.Cases {
		if !c.Shuffle || len(c.Y)%c.NSplits != 0 || len(c.Y) < 50000 {
			continue
		}
		nl := len(c.Y) / c.NSplits
		runs := 3
		p, err := Stratified(nl).WithRuns(runs).WithSeed(*c.RandomState).Plan(c.Y)
		if err != nil {
			t.Fatalf("n_labels=%d: %v", nl, err)
		}
		got, err := p.Runs(nl)
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < runs; r++ {
			var want []int
			for i, f := range c.TestFold {
				if f == r {
					want = append(want, i)
				}
			}
			if len(want) != nl || !slices.Equal(got[r], want) {
				t.Errorf("n_labels=%d seed=%d run %d differs from scikit-learn's fold %d", nl, *c.RandomState, r, r)
			}
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("only %d 50,000-label shuffled cases in %s", checked, path)
	}
}

// TestBudgetsPlan checks run sizes, class balance, disjointness and determinism on
// CIFAR-shaped labels (10 classes of 500).
func TestBudgetsPlan(t *testing.T) {
	y := balancedLabels(10, 500, 9)
	b := Stratified(100, 250, 1000).WithRuns(2).WithSeed(7)
	p, err := b.Plan(y)
	if err != nil {
		t.Fatal(err)
	}
	if p.N != 5000 || p.Seed != 7 || len(p.Budgets) != 3 {
		t.Fatalf("plan header %d %d %d", p.N, p.Seed, len(p.Budgets))
	}
	for _, br := range p.Budgets {
		if br.NSplits != 5000/br.NLabels || !br.Balanced || len(br.Warnings) != 0 || len(br.Runs) != 2 {
			t.Errorf("budget %d: n_splits %d balanced %v warnings %q runs %d", br.NLabels, br.NSplits, br.Balanced, br.Warnings, len(br.Runs))
		}
		seen := map[int]bool{}
		for r, run := range br.Runs {
			if len(run) != br.NLabels {
				t.Errorf("budget %d run %d: %d samples", br.NLabels, r, len(run))
			}
			per := make([]int, 10)
			for p, i := range run {
				if p > 0 && i <= run[p-1] || seen[i] {
					t.Fatalf("budget %d run %d: index %d not ascending or in two runs", br.NLabels, r, i)
				}
				seen[i] = true
				per[y[i]]++
			}
			for c, n := range per {
				if n != br.NLabels/10 {
					t.Errorf("budget %d run %d: class %d has %d, want %d", br.NLabels, r, c, n, br.NLabels/10)
				}
			}
		}
	}
	p2, err := b.Plan(y)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Budgets {
		for r := range p.Budgets[i].Runs {
			if !slices.Equal(p.Budgets[i].Runs[r], p2.Budgets[i].Runs[r]) {
				t.Fatal("Plan is not deterministic")
			}
		}
	}
	if w, err := b.Check(y); err != nil || len(w) != 0 {
		t.Errorf("Check = %q, %v", w, err)
	}
	if _, err := p.Runs(333); err == nil || !strings.Contains(err.Error(), "n_labels=333") {
		t.Errorf("Runs(333) = %v", err)
	}
	if got := b.Sizes(); len(got) != 3 || b.Runs() != 2 || b.Seed() != 7 || b.Unbalanced() {
		t.Errorf("getters: %v %d %d %v", got, b.Runs(), b.Seed(), b.Unbalanced())
	}
}

// TestBudgetsUnbalanced: 625 labels over CIFAR-10's 50,000 (5000 per class) gives n_splits=80,
// which does not divide 5000 — the seed experiment's own budget. It is an error unless allowed,
// and then a warning with runs of 62 or 63 per class.
func TestBudgetsUnbalanced(t *testing.T) {
	y := balancedLabels(10, 5000, 3)
	_, err := Stratified(625).Plan(y)
	if err == nil || !strings.Contains(err.Error(), "n_labels=625") || !strings.Contains(err.Error(), "AllowUnbalanced") ||
		!strings.Contains(err.Error(), "62 or 63") {
		t.Fatalf("Plan(625) = %v, want the balance error", err)
	}
	if err := CheckBalanced(y, 625); err == nil || !strings.Contains(err.Error(), "500, 1000") {
		t.Errorf("CheckBalanced(625) = %v, want exact budgets 500, 1000 suggested", err)
	}
	if err := CheckBalanced(y, 250); err != nil {
		t.Errorf("CheckBalanced(250) = %v", err)
	}
	b := Stratified(625).AllowUnbalanced().WithRuns(2)
	p, err := b.Plan(y)
	if err != nil {
		t.Fatal(err)
	}
	br := p.Budgets[0]
	if br.Balanced || len(br.Warnings) != 1 {
		t.Fatalf("balanced %v warnings %q", br.Balanced, br.Warnings)
	}
	for r, run := range br.Runs {
		per := make([]int, 10)
		for _, i := range run {
			per[y[i]]++
		}
		for c, n := range per {
			if n != 62 && n != 63 {
				t.Errorf("run %d class %d: %d members", r, c, n)
			}
		}
		if len(run) != 625 {
			t.Errorf("run %d: %d samples", r, len(run))
		}
	}
	if w, err := b.Check(y); err != nil || len(w) != 1 {
		t.Errorf("Check = %q, %v", w, err)
	}
}

// TestBudgetsErrors checks each rejection and that it names the parameter and value.
func TestBudgetsErrors(t *testing.T) {
	y := balancedLabels(10, 500, 1) // N = 5000
	for _, tc := range []struct {
		b    StratifiedBudgets
		y    []int
		want string
	}{
		{Stratified(), y, "no budgets"},
		{Stratified(100).WithRuns(0), y, "runs=0"},
		{Stratified(100).WithSeed(-1), y, "seed=-1"},
		{Stratified(100).WithSeed(1 << 32), y, "seed=4294967296"},
		{Stratified(100), nil, "labels is empty"},
		{Stratified(100, 0), y, "n_labels=0"},
		{Stratified(100, 250, 100), y, "budget 2: n_labels=100 is listed twice (also budget 0)"},
		{Stratified(6000), y, "n_labels=6000 is more than the N=5000"},
		{Stratified(300), y, "n_labels=300 does not divide N=5000"},
		{Stratified(5000), y, "n_labels=5000 = N leaves n_splits=1"},
		{Stratified(5), y, "n_labels=5 is fewer than the 10 classes"},
		{Stratified(2500).WithRuns(3), y, "runs=3 is more than n_splits=N/n_labels=2"},
		{Stratified(625), y, "class label"},
	} {
		_, err := tc.b.Plan(tc.y)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Plan = %v, want an error containing %q", tc.b, err, tc.want)
		}
		if _, err2 := tc.b.Check(tc.y); (err2 == nil) != (err == nil) {
			t.Errorf("%+v: Check error %v, Plan error %v", tc.b, err2, err)
		}
	}
	// The non-divisible error lists divisors of N near the request.
	_, err := Stratified(300).Plan(y)
	if err == nil || !strings.Contains(err.Error(), "250") || !strings.Contains(err.Error(), "500") {
		t.Errorf("Plan(300) = %v, want 250 and 500 suggested", err)
	}
	for _, tc := range []struct {
		nl   int
		want string
	}{{0, "n_labels=0"}, {5001, "n_labels=5001"}, {300, "does not divide"}} {
		if err := CheckBalanced(y, tc.nl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckBalanced(%d) = %v, want %q", tc.nl, err, tc.want)
		}
	}
	if err := CheckBalanced(nil, 1); err == nil {
		t.Error("CheckBalanced(nil) accepted")
	}
}

// TestPlanWriteRead writes a plan as JSON and CSV and reads the JSON back.
func TestPlanWriteRead(t *testing.T) {
	y := balancedLabels(5, 20, 2) // N = 100
	p, err := Stratified(20, 50).WithRuns(2).WithSeed(11).Plan(y)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := ReadPlanJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if q.N != p.N || q.Seed != p.Seed || len(q.Budgets) != 2 {
		t.Fatalf("read back %+v", q)
	}
	for i := range p.Budgets {
		for r := range p.Budgets[i].Runs {
			if !slices.Equal(p.Budgets[i].Runs[r], q.Budgets[i].Runs[r]) {
				t.Fatalf("budget %d run %d differs after the round trip", i, r)
			}
		}
	}
	buf.Reset()
	if err := p.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*20+2*50 || strings.Join(rows[0], ",") != "n_labels,run,index" {
		t.Fatalf("%d CSV rows, header %v", len(rows), rows[0])
	}
	if rows[1][0] != "20" || rows[1][1] != "0" || rows[1][2] != strconv.Itoa(p.Budgets[0].Runs[0][0]) {
		t.Errorf("first CSV row %v", rows[1])
	}
	for _, tc := range []struct{ in, want string }{
		{`{"seed":0,"n":0,"budgets":[]}`, "n=0"},
		{`{"seed":0,"n":10,"budgets":[{"n_labels":3,"n_splits":3,"runs":[]}]}`, "budget 0"},
		{`{"seed":0,"n":10,"budgets":[{"n_labels":5,"n_splits":2,"runs":[[0,1,2,3,4],[5,6,7,8,9],[0,1,2,3,4]]}]}`, "3 runs"},
		{`{"seed":0,"n":10,"budgets":[{"n_labels":5,"n_splits":2,"runs":[[0,1,2,3]]}]}`, "run 0: holds 4"},
		{`{"seed":0,"n":10,"budgets":[{"n_labels":5,"n_splits":2,"runs":[[0,1,2,3,10]]}]}`, "position 4: index 10"},
		{`{"seed":0,"n":10,"budgets":[{"n_labels":5,"n_splits":2,"runs":[[0,1,1,3,4]]}]}`, "position 2: index 1"},
		{`{"seed":0,"n":10,"extra":1}`, "extra"},
		{`{"seed":`, "ReadPlanJSON"},
	} {
		if _, err := ReadPlanJSON(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadPlanJSON(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestLabeledRunsMatchesPlan checks that LabeledRuns returns Plan's runs in Sizes order and
// Plan's errors.
func TestLabeledRunsMatchesPlan(t *testing.T) {
	y := balancedLabels(4, 30, 7)
	b := Stratified(20, 8).WithRuns(2).WithSeed(3)
	p, err := b.Plan(y)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.LabeledRuns(y)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d budgets, want 2", len(got))
	}
	for i, br := range p.Budgets {
		if br.NLabels != b.Sizes()[i] || len(got[i]) != len(br.Runs) {
			t.Fatalf("budget %d: %d runs of n_labels=%d, plan has %d of %d", i, len(got[i]), b.Sizes()[i], len(br.Runs), br.NLabels)
		}
		for r := range br.Runs {
			if len(got[i][r]) != br.NLabels {
				t.Fatalf("budget %d run %d: %d indices, want %d", i, r, len(got[i][r]), br.NLabels)
			}
			for k := range br.Runs[r] {
				if got[i][r][k] != br.Runs[r][k] {
					t.Fatalf("budget %d run %d position %d: %d, plan has %d", i, r, k, got[i][r][k], br.Runs[r][k])
				}
			}
		}
	}
	if _, err := Stratified(1000).LabeledRuns(y); err == nil || !strings.Contains(err.Error(), "n_labels=1000") {
		t.Fatalf("a budget larger than the data: error %v, want one naming n_labels=1000", err)
	}
}

// TestBudgetsRunsOf: a budget given its own run count gets that many runs, which are the
// first folds of the same budget planned with that count for all; the others keep Runs().
func TestBudgetsRunsOf(t *testing.T) {
	y := balancedLabels(10, 100, 5)
	b := Stratified(50, 100).WithSeed(4).WithRuns(1).WithRunsOf(50, 3)
	if b.RunsOf(50) != 3 || b.RunsOf(100) != 1 || b.Runs() != 1 {
		t.Fatalf("RunsOf(50)=%d RunsOf(100)=%d Runs()=%d", b.RunsOf(50), b.RunsOf(100), b.Runs())
	}
	got, err := b.LabeledRuns(y)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Stratified(50, 100).WithSeed(4).WithRuns(3).LabeledRuns(y)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 3 || len(got[1]) != 1 {
		t.Fatalf("runs per budget %d, %d; want 3, 1", len(got[0]), len(got[1]))
	}
	for i := range got[0] {
		if !slices.Equal(got[0][i], want[0][i]) {
			t.Errorf("n_labels=50 run %d is not fold %d", i, i)
		}
	}
	if !slices.Equal(got[1][0], want[1][0]) {
		t.Errorf("n_labels=100 run 0 is not fold 0")
	}
	// The copy WithRunsOf returns does not change b.
	if c := b.WithRunsOf(100, 2); b.RunsOf(100) != 1 || c.RunsOf(100) != 2 {
		t.Errorf("WithRunsOf changed the receiver: %d, copy %d", b.RunsOf(100), c.RunsOf(100))
	}
	for _, c := range []struct {
		b    StratifiedBudgets
		want string
	}{
		{Stratified(50).WithRunsOf(50, 0), "runs=0"},
		{Stratified(50).WithRunsOf(50, 21), "runs=21 is more than n_splits=N/n_labels=20"},
		{Stratified(50).WithRunsOf(70, 2), "n_labels=70 is not one of the budgets"},
	} {
		if _, err := c.b.Plan(y); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Plan: %v, want an error with %q", err, c.want)
		}
	}
}
