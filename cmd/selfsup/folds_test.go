package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/ssl"
)

func TestFoldsJSONMatchesPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "folds.json")
	_, stderr, err := run(context.Background(), "folds", "--budgets", "50,100,250", "--runs", "3", "--seed", "7", "-o", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := folds.ReadPlanJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	train, err := datasets.Default(datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	labels := ssl.Labels(train)
	want, err := folds.Stratified(50, 100, 250).WithRuns(3).WithSeed(7).Plan(labels)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("written plan differs from folds' Plan")
	}
	// Each run is class-balanced: 1/10 of its labels from each of the 10 classes.
	for _, br := range got.Budgets {
		for r, run := range br.Runs {
			count := map[int]int{}
			for _, i := range run {
				count[labels[i]]++
			}
			for c, k := range count {
				if k != br.NLabels/10 {
					t.Errorf("n_labels=%d run %d: class %d has %d labels", br.NLabels, r, c, k)
				}
			}
		}
	}
}

func TestFoldsCSVOnAFolder(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, 4, 10, 2, 8)
	stdout, stderr, err := run(context.Background(), "folds", "--labels-from", "folder:"+root, "--budgets", "8,20", "--runs", "2", "--format", "csv")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !reflect.DeepEqual(rows[0], []string{"n_labels", "run", "index"}) {
		t.Fatalf("header %v", rows)
	}
	got := map[[2]int][]int{}
	for _, row := range rows[1:] {
		var v [3]int
		for i := range v {
			if v[i], err = strconv.Atoi(row[i]); err != nil {
				t.Fatalf("row %v: %v", row, err)
			}
		}
		got[[2]int{v[0], v[1]}] = append(got[[2]int{v[0], v[1]}], v[2])
	}
	train, err := datasets.ImageFolder(filepath.Join(root, "train"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := folds.Stratified(8, 20).WithRuns(2).WithSeed(1).Plan(ssl.Labels(train))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, br := range plan.Budgets {
		for r, run := range br.Runs {
			n++
			if !reflect.DeepEqual(got[[2]int{br.NLabels, r}], run) {
				t.Errorf("n_labels=%d run %d: %v, want %v", br.NLabels, r, got[[2]int{br.NLabels, r}], run)
			}
		}
	}
	if len(got) != n {
		t.Errorf("%d runs written, want %d", len(got), n)
	}
}

func TestFoldsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--budgets", "625"}, "--budgets 625"},
		{[]string{"--budgets", "6000"}, "more than"},
		{[]string{"--budgets", "50", "--runs", "101"}, "--runs 101"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--seed", "-1"}, "--seed"},
		{[]string{"--labels-from", "cifar10:/nonexistent/x"}, "--labels-from cifar10:/nonexistent/x"},
		{[]string{"--labels-from", "mnist"}, "--labels-from"},
	} {
		_, _, err := run(context.Background(), append([]string{"folds"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	// scikit-learn's nearly balanced folds on request, with a warning.
	path := filepath.Join(t.TempDir(), "f.json")
	_, stderr, err := run(context.Background(), "folds", "--budgets", "625", "--allow-unbalanced", "-o", path)
	if err != nil || !strings.Contains(stderr, "warning:") {
		t.Errorf("--allow-unbalanced: %v, %q", err, stderr)
	}
	// A budget's own run count, as selfsup run takes it.
	if _, _, err := run(context.Background(), "folds", "--budgets", "50:3,100", "--runs", "1", "-o", path); err != nil {
		t.Fatalf("--budgets 50:3,100: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plan, err := folds.ReadPlanJSON(f)
	if err != nil || len(plan.Budgets) != 2 || len(plan.Budgets[0].Runs) != 3 || len(plan.Budgets[1].Runs) != 1 {
		t.Errorf("--budgets 50:3,100: %v, plan %+v; want 3 runs of 50 labels and 1 of 100", err, plan)
	}
}
