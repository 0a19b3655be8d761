package folds

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// StratifiedBudgets are label budgets in the sense of the seed experiment: for a budget of n_labels
// labeled samples out of N, run r trains on the held-out (Test) part of fold r of
// scikit-learn's StratifiedKFold(n_splits=N/n_labels, shuffle=True, random_state=seed) over
// the N labels, for the first Runs() folds. Each such part holds exactly n_labels samples,
// stratified by class, and the runs of one budget are disjoint.
//
// Build one with Stratified and refine it with the With... methods, which return a
// modified copy; Plan turns it into index lists for given labels.
type StratifiedBudgets struct {
	sizes      []int
	runs       int
	runsOf     map[int]int // per-budget run counts (WithRunsOf), shared only read-only
	seed       int64
	unbalanced bool
}

// Stratified returns budgets of the given sizes (n_labels values) with 1 run per budget,
// seed 0, and exactly class-balanced runs required (see AllowUnbalanced). Sizes are checked
// by Plan, not here.
func Stratified(sizes ...int) StratifiedBudgets {
	return StratifiedBudgets{sizes: append([]int(nil), sizes...), runs: 1}
}

// WithRuns returns a copy of b with runs runs per budget (the folds 0..runs-1). Plan
// rejects runs < 1 and runs greater than a budget's n_splits.
func (b StratifiedBudgets) WithRuns(runs int) StratifiedBudgets {
	b.runs = runs
	return b
}

// WithRunsOf returns a copy of b in which the budget of nLabels labels has runs runs (its
// folds 0..runs-1) instead of Runs(); the other budgets keep Runs(). A budget's runs do not
// depend on how many there are: run i is fold i. Plan rejects runs < 1, runs greater than the
// budget's n_splits, and an nLabels that is not one of the budgets.
func (b StratifiedBudgets) WithRunsOf(nLabels, runs int) StratifiedBudgets {
	m := maps.Clone(b.runsOf)
	if m == nil {
		m = map[int]int{}
	}
	m[nLabels] = runs
	b.runsOf = m
	return b
}

// RunsOf returns the number of runs of the budget of nLabels labels: its WithRunsOf count,
// else Runs().
func (b StratifiedBudgets) RunsOf(nLabels int) int {
	if r, ok := b.runsOf[nLabels]; ok {
		return r
	}
	return b.runs
}

// WithSeed returns a copy of b that shuffles with scikit-learn's random_state=seed, which
// must be in [0, 2^32-1] (checked by Plan).
func (b StratifiedBudgets) WithSeed(seed int64) StratifiedBudgets {
	b.seed = seed
	return b
}

// AllowUnbalanced returns a copy of b that accepts budgets whose runs cannot be exactly
// class-balanced, which scikit-learn allows: when a class's count is not a multiple of
// n_splits = N/n_labels, some runs get one member more of it than others (every run still
// holds n_labels samples). The plan then carries a warning for such a budget instead of Plan
// failing. The seed experiment's 625-label budget on CIFAR-10 (5000 per class, n_splits=80)
// is such a case. See CheckBalanced.
func (b StratifiedBudgets) AllowUnbalanced() StratifiedBudgets {
	b.unbalanced = true
	return b
}

// Sizes returns a copy of the budget sizes (n_labels values), in the order given.
func (b StratifiedBudgets) Sizes() []int { return append([]int(nil), b.sizes...) }

// Runs returns the number of runs of every budget not given its own by WithRunsOf.
func (b StratifiedBudgets) Runs() int { return b.runs }

// Seed returns the random_state used for the shuffled splits.
func (b StratifiedBudgets) Seed() int64 { return b.seed }

// Unbalanced reports whether AllowUnbalanced was applied.
func (b StratifiedBudgets) Unbalanced() bool { return b.unbalanced }

// Plan is the outcome of StratifiedBudgets.Plan: for each budget, the labeled indices of each run.
// It is what WriteJSON and WriteCSV write and ReadPlanJSON reads back.
type Plan struct {
	// Seed is the random_state of the splits.
	Seed int64 `json:"seed"`
	// N is the number of labeled samples the budgets were drawn from.
	N int `json:"n"`
	// Budgets lists the budgets in the order they were given.
	Budgets []BudgetRuns `json:"budgets"`
}

// BudgetRuns holds the runs of one budget.
type BudgetRuns struct {
	// NLabels is the budget: the number of labeled samples of each run.
	NLabels int `json:"n_labels"`
	// NSplits = N / NLabels is the n_splits of the StratifiedKFold the runs come from.
	NSplits int `json:"n_splits"`
	// Balanced reports whether every run holds exactly NLabels*count/N members of each class
	// (every class count is a multiple of NSplits).
	Balanced bool `json:"balanced"`
	// Runs[r] is the Test part of fold r: the ascending indices of the labeled samples of run r.
	Runs [][]int `json:"runs"`
	// Warnings are the non-fatal problems of this budget (scikit-learn's warning, or runs
	// that are not exactly class-balanced when that is allowed).
	Warnings []string `json:"warnings,omitempty"`
}

// gcdInt returns the greatest common divisor of a and b (non-negative).
func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// classCounts returns the count of each class (in order of first appearance) and its label.
func classCounts(labels []int) (counts, names []int) {
	_, counts, names = classes(labels)
	return counts, names
}

// exactBudgets returns up to max n_labels values near want (closest first) that split the
// class counts exactly: n_labels = N/d for every d >= 2 dividing all class counts, with at
// least as many labels as classes.
func exactBudgets(counts []int, n, want, max int) []int {
	g := 0
	for _, c := range counts {
		g = gcdInt(g, c)
	}
	var cands []int
	for d := 2; d <= g; d++ {
		if g%d == 0 && n/d >= len(counts) {
			cands = append(cands, n/d)
		}
	}
	return closest(cands, want, max)
}

// closest returns up to max of cands, those nearest to want first, then sorted ascending.
func closest(cands []int, want, max int) []int {
	dist := func(v int) int {
		if v > want {
			return v - want
		}
		return want - v
	}
	sort.SliceStable(cands, func(i, j int) bool { return dist(cands[i]) < dist(cands[j]) })
	if len(cands) > max {
		cands = cands[:max]
	}
	sort.Ints(cands)
	return cands
}

// joinInts formats v as "a, b, c", or "none" when empty.
func joinInts(v []int) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// CheckBalanced returns an error unless a budget of nLabels labels over labels gives every
// run exactly the same number of members of each class: N = len(labels) must be a multiple
// of nLabels and every class count a multiple of n_splits = N/nLabels (equivalently, each
// class's share count*nLabels/N is a whole number). The error names the first class that
// fails and lists budgets near nLabels that would be exact.
func CheckBalanced(labels []int, nLabels int) error {
	n := len(labels)
	if n == 0 {
		return fmt.Errorf("folds: CheckBalanced: labels is empty")
	}
	if nLabels < 1 || nLabels > n {
		return fmt.Errorf("folds: CheckBalanced: n_labels=%d is out of range [1, %d]", nLabels, n)
	}
	counts, names := classCounts(labels)
	if err := checkBalanced(counts, names, n, nLabels); err != nil {
		return fmt.Errorf("folds: CheckBalanced: %w", err)
	}
	return nil
}

// checkBalanced is CheckBalanced on class counts, for 1 <= nLabels <= n.
func checkBalanced(counts, names []int, n, nLabels int) error {
	if n%nLabels != 0 {
		return fmt.Errorf("n_labels=%d does not divide N=%d; exactly balanced budgets near it: %s",
			nLabels, n, joinInts(exactBudgets(counts, n, nLabels, 4)))
	}
	k := n / nLabels
	for c, count := range counts {
		if count%k != 0 {
			return fmt.Errorf("n_labels=%d: class label %d has %d samples, not a multiple of n_splits=N/n_labels=%d, so runs would hold %d or %d of it instead of %g; exactly balanced budgets near it: %s",
				nLabels, names[c], count, k, count/k, count/k+1, float64(count)/float64(k), joinInts(exactBudgets(counts, n, nLabels, 4)))
		}
	}
	return nil
}

// Check validates b against labels without keeping the runs: it returns the error Plan
// would return, or else the warnings of all budgets. Call it before any training.
func (b StratifiedBudgets) Check(labels []int) (warnings []string, err error) {
	p, err := b.Plan(labels)
	if err != nil {
		return nil, err
	}
	for _, br := range p.Budgets {
		warnings = append(warnings, br.Warnings...)
	}
	return warnings, nil
}

// Plan computes the runs of every budget over labels (the class of each of the N labeled
// samples; any int values). Every problem is an error before any work is done with the runs:
//
//   - no budgets, a budget < 1 or listed twice, Runs() < 1, Seed() outside [0, 2^32-1];
//   - n_labels > N, or N not a multiple of n_labels (the error lists budgets that divide N);
//   - n_labels = N, which leaves a single fold (n_splits must be at least 2);
//   - n_labels smaller than the number of classes;
//   - a budget's runs (RunsOf) greater than n_splits = N/n_labels, or WithRunsOf for a
//     size that is not a budget;
//   - runs that cannot be exactly class-balanced (see CheckBalanced), unless AllowUnbalanced;
//   - any error of StratifiedKFold for these labels.
func (b StratifiedBudgets) Plan(labels []int) (*Plan, error) {
	if len(b.sizes) == 0 {
		return nil, fmt.Errorf("folds: Stratified: no budgets given")
	}
	if b.runs < 1 {
		return nil, fmt.Errorf("folds: Stratified: runs=%d: need at least 1 run per budget", b.runs)
	}
	if err := checkSeed("seed", b.seed); err != nil {
		return nil, fmt.Errorf("folds: Stratified: %w", err)
	}
	n := len(labels)
	if n == 0 {
		return nil, fmt.Errorf("folds: Stratified: labels is empty")
	}
	counts, names := classCounts(labels)
	for nl := range b.runsOf {
		if !slices.Contains(b.sizes, nl) {
			return nil, fmt.Errorf("folds: Stratified: WithRunsOf(%d, ...): n_labels=%d is not one of the budgets %s", nl, nl, joinInts(b.sizes))
		}
	}
	seen := make(map[int]int)
	for i, nl := range b.sizes {
		if nl < 1 {
			return nil, fmt.Errorf("folds: Stratified: budget %d: n_labels=%d: need at least 1 label", i, nl)
		}
		if j, dup := seen[nl]; dup {
			return nil, fmt.Errorf("folds: Stratified: budget %d: n_labels=%d is listed twice (also budget %d)", i, nl, j)
		}
		seen[nl] = i
		if nl > n {
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d is more than the N=%d labeled samples", nl, n)
		}
		if n%nl != 0 {
			divs := []int{1}
			for d := 2; d*d <= n; d++ {
				if n%d == 0 {
					divs = append(divs, n/d)
					if d*d != n {
						divs = append(divs, d)
					}
				}
			}
			var ok []int
			for _, v := range divs {
				if v >= len(counts) {
					ok = append(ok, v)
				}
			}
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d does not divide N=%d (n_splits=N/n_labels must be a whole number); budgets near it that divide N: %s",
				nl, n, joinInts(closest(ok, nl, 4)))
		}
		if n/nl < 2 {
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d = N leaves n_splits=1; k-fold needs n_labels <= N/2=%d", nl, n/2)
		}
		if nl < len(counts) {
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d is fewer than the %d classes, so some class would have no labeled sample", nl, len(counts))
		}
		if runs := b.RunsOf(nl); runs < 1 {
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d: runs=%d: need at least 1 run per budget", nl, runs)
		} else if runs > n/nl {
			return nil, fmt.Errorf("folds: Stratified: runs=%d is more than n_splits=N/n_labels=%d, the number of disjoint runs of n_labels=%d", runs, n/nl, nl)
		}
		if !b.unbalanced {
			if err := checkBalanced(counts, names, n, nl); err != nil {
				return nil, fmt.Errorf("folds: Stratified: %w (use AllowUnbalanced to accept scikit-learn's nearly balanced folds)", err)
			}
		}
	}
	p := &Plan{Seed: b.seed, N: n, Budgets: make([]BudgetRuns, len(b.sizes))}
	for i, nl := range b.sizes {
		k := n / nl
		a, err := StratifiedKFold{NSplits: k, Shuffle: true, Seed: b.seed}.Assign(labels)
		if err != nil {
			return nil, fmt.Errorf("folds: Stratified: n_labels=%d: %w", nl, err)
		}
		runs := b.RunsOf(nl)
		br := BudgetRuns{NLabels: nl, NSplits: k, Balanced: true, Runs: make([][]int, runs), Warnings: a.Warnings}
		for c, count := range counts {
			if count%k != 0 {
				br.Balanced = false
				br.Warnings = append(br.Warnings, fmt.Sprintf("n_labels=%d: the %d members of class label %d are not a multiple of n_splits=%d, so runs hold %d or %d of them",
					nl, count, names[c], k, count/k, count/k+1))
				break
			}
		}
		for r := range br.Runs {
			br.Runs[r] = make([]int, 0, nl)
		}
		for idx, f := range a.TestFold {
			if f < runs {
				br.Runs[f] = append(br.Runs[f], idx)
			}
		}
		p.Budgets[i] = br
	}
	return p, nil
}

// Runs returns the runs of the budget of nLabels labels, or an error when the plan has no
// such budget.
func (p *Plan) Runs(nLabels int) ([][]int, error) {
	for _, br := range p.Budgets {
		if br.NLabels == nLabels {
			return br.Runs, nil
		}
	}
	have := make([]int, len(p.Budgets))
	for i, br := range p.Budgets {
		have[i] = br.NLabels
	}
	return nil, fmt.Errorf("folds: Plan.Runs: no budget with n_labels=%d (the plan has %s)", nLabels, joinInts(have))
}

// WriteJSON writes p as one JSON object: {"seed":…,"n":…,"budgets":[{"n_labels":…,
// "n_splits":…,"balanced":…,"runs":[[indices of run 0],…],"warnings":[…]},…]}, followed by a
// newline. ReadPlanJSON reads it back.
func (p *Plan) WriteJSON(w io.Writer) error {
	if err := json.NewEncoder(w).Encode(p); err != nil {
		return fmt.Errorf("folds: Plan.WriteJSON: %w", err)
	}
	return nil
}

// WriteCSV writes p in long form, one row per labeled sample of each run, with the header
// "n_labels,run,index" (rows ordered by budget, run, then ascending index).
func (p *Plan) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"n_labels", "run", "index"}); err != nil {
		return fmt.Errorf("folds: Plan.WriteCSV: %w", err)
	}
	row := make([]string, 3)
	for _, br := range p.Budgets {
		row[0] = strconv.Itoa(br.NLabels)
		for r, run := range br.Runs {
			row[1] = strconv.Itoa(r)
			for _, i := range run {
				row[2] = strconv.Itoa(i)
				if err := cw.Write(row); err != nil {
					return fmt.Errorf("folds: Plan.WriteCSV: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("folds: Plan.WriteCSV: %w", err)
	}
	return nil
}

// ReadPlanJSON reads a plan written by WriteJSON and checks it: N >= 1, every budget's
// n_splits = N/n_labels, and every run holds n_labels distinct ascending indices in [0, N).
// Errors name the budget, run and position.
func ReadPlanJSON(r io.Reader) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("folds: ReadPlanJSON: %w", err)
	}
	if p.N < 1 {
		return nil, fmt.Errorf("folds: ReadPlanJSON: n=%d: need at least 1 sample", p.N)
	}
	for bi, br := range p.Budgets {
		if br.NLabels < 1 || br.NLabels > p.N || p.N%br.NLabels != 0 || br.NSplits != p.N/br.NLabels {
			return nil, fmt.Errorf("folds: ReadPlanJSON: budget %d: n_labels=%d, n_splits=%d do not fit n=%d", bi, br.NLabels, br.NSplits, p.N)
		}
		if len(br.Runs) > br.NSplits {
			return nil, fmt.Errorf("folds: ReadPlanJSON: budget %d (n_labels=%d): %d runs, more than n_splits=%d", bi, br.NLabels, len(br.Runs), br.NSplits)
		}
		for ri, run := range br.Runs {
			if len(run) != br.NLabels {
				return nil, fmt.Errorf("folds: ReadPlanJSON: budget %d (n_labels=%d), run %d: holds %d indices", bi, br.NLabels, ri, len(run))
			}
			for pos, i := range run {
				if i < 0 || i >= p.N {
					return nil, fmt.Errorf("folds: ReadPlanJSON: budget %d (n_labels=%d), run %d, position %d: index %d is out of range [0, %d)", bi, br.NLabels, ri, pos, i, p.N)
				}
				if pos > 0 && i <= run[pos-1] {
					return nil, fmt.Errorf("folds: ReadPlanJSON: budget %d (n_labels=%d), run %d, position %d: index %d does not follow %d in ascending order", bi, br.NLabels, ri, pos, i, run[pos-1])
				}
			}
		}
	}
	return &p, nil
}

// LabeledRuns returns the runs of every budget over labels, in the order of Sizes: element
// [b][r] is run r of budget b, the ascending indices of its labeled samples (the Runs of
// Plan's BudgetRuns). It fails as Plan does. With Sizes and Check it makes StratifiedBudgets
// satisfy the ssl pipeline's ssl.LabelBudgets interface without ssl depending on this package.
func (b StratifiedBudgets) LabeledRuns(labels []int) ([][][]int, error) {
	p, err := b.Plan(labels)
	if err != nil {
		return nil, err
	}
	out := make([][][]int, len(p.Budgets))
	for i, br := range p.Budgets {
		out[i] = br.Runs
	}
	return out, nil
}
