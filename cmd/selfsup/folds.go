package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/ssl"
)

const foldsUsage = `usage: selfsup folds [flags]

Writes the label budgets "selfsup run" trains on, for use elsewhere: for each n_labels, the
first --runs held-out folds of scikit-learn's StratifiedKFold(n_splits=N/n_labels,
shuffle=True, random_state=--seed) over the N training labels of --labels-from (the same
folds scikit-learn computes). JSON: {"seed", "n", "budgets": [{"n_labels", "n_splits",
"balanced", "runs": [[indices]...], "warnings"}]}. CSV: one row "n_labels,run,index" per
labeled image.

Flags:
`

// runFolds is "selfsup folds".
func runFolds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("folds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("labels-from", dataDefault, "the labels to split: the training labels of default, cifar10:PATH, stl10:PATH or folder:PATH (see selfsup run -h)")
	budgetsFlag := fs.String("budgets", "", "label budgets n_labels, comma-separated; each must divide N and every class count; n_labels:runs gives one budget its own number of runs (default: those of selfsup run for the data)")
	runs := fs.Int("runs", 0, "runs (folds) per budget (default: that of selfsup run for the data)")
	seed := fs.Int64("seed", int64(ssl.DefaultSeed), "scikit-learn random_state, in [0, 2^32-1]")
	unbalanced := fs.Bool("allow-unbalanced", false, "accept budgets whose runs cannot hold exactly the same number of each class (scikit-learn's nearly balanced folds)")
	format := fs.String("format", "json", "json or csv")
	outPath := fs.String("o", "-", "output file (- for standard output)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), foldsUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("folds: unexpected argument %q (flags only; see selfsup folds -h)", fs.Arg(0))}
	}
	if *format != "json" && *format != "csv" {
		return fmt.Errorf("--format %q: want json or csv", *format)
	}
	src, err := parseDataSource(*from)
	if err != nil {
		return fmt.Errorf("--labels-from %w", err)
	}
	if *budgetsFlag == "" {
		*budgetsFlag = presets[src.kind].budgets
	}
	if *budgetsFlag == budgetsFolds {
		return fmt.Errorf("--budgets: give n_labels values for %s (its predefined folds are in its fold_indices.txt already)", src)
	}
	sizes, perBudget, err := parseBudgets(*budgetsFlag)
	if err != nil {
		return fmt.Errorf("--budgets %w", err)
	}
	if *runs == 0 {
		*runs = presets[src.kind].runs
	}
	if *runs < 1 {
		return fmt.Errorf("--runs %d: want at least 1", *runs)
	}
	if *seed < 0 || *seed > 1<<32-1 {
		return fmt.Errorf("--seed %d: want a value in [0, 2^32-1]", *seed)
	}
	data, err := openData(src, openOptions{labeledOnly: true})
	if err != nil {
		return fmt.Errorf("--labels-from %s: %w", src, err)
	}
	defer data.Close()
	labels := ssl.Labels(data.train)
	b := folds.Stratified(sizes...).WithSeed(*seed)
	if *unbalanced {
		b = b.AllowUnbalanced()
	}
	if _, err := b.Plan(labels); err != nil {
		return fmt.Errorf("--budgets %s (over the %d training labels of %s): %w", *budgetsFlag, len(labels), src, err)
	}
	b, _ = withRuns(b.WithRuns(*runs), sizes, perBudget)
	plan, err := b.Plan(labels)
	if err != nil {
		return fmt.Errorf("--runs %d or --budgets %s: %w", *runs, *budgetsFlag, err)
	}
	write := plan.WriteJSON
	if *format == "csv" {
		write = plan.WriteCSV
	}
	if *outPath == "-" {
		return write(stdout)
	}
	if err := checkpoint.WriteFileAtomic(*outPath, write); err != nil {
		return fmt.Errorf("-o %s: %w", *outPath, err)
	}
	for _, br := range plan.Budgets {
		for _, w := range br.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
	fmt.Fprintf(stderr, "wrote %d budgets x %d runs over %d labels of %s to %s\n", len(plan.Budgets), *runs, len(labels), src, *outPath)
	return nil
}
