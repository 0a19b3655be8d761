package ssl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// NamedReport is the report of one pipeline and the name its method takes in a combined
// table: "rotation" becomes the row "rotation+SL".
type NamedReport struct {
	Name   string
	Report *Report
}

// Combine merges the reports of pipelines that differ only in their pretraining (the
// same backbone, transfer, seed, data and label budgets, so the same labeled runs) into
// one table with a row per method: SL (taken from the first report that has the
// supervised baseline), then "<name>+SL" for each report's SSL+SL runs, in the order
// given. The pretraining of each method is kept in Pretrains under its row's name, and
// the gain of each method over SL gets its own row. The combined report is complete when
// every part is; its Missing lists the parts' missing runs, renamed like their rows (a
// RunKey's Index stays the index in its own pipeline's grid). Reports of other settings are an error naming the field.
func Combine(parts ...NamedReport) (*Report, error) {
	if len(parts) == 0 {
		return nil, errors.New("ssl: Combine: no reports")
	}
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p.Report == nil:
			return nil, fmt.Errorf("ssl: Combine: report %d (%q) is nil", i, p.Name)
		case p.Name == "" || strings.ContainsAny(p.Name, "|\n"):
			return nil, fmt.Errorf("ssl: Combine: report %d has the name %q; want a non-empty name without | or a line break", i, p.Name)
		case seen[p.Name]:
			return nil, fmt.Errorf("ssl: Combine: two reports are named %q", p.Name)
		}
		seen[p.Name] = true
	}
	first := parts[0].Report
	out := &Report{
		Backbone: first.Backbone, Transfer: first.Transfer, Seed: first.Seed, Classes: first.Classes,
		TrainImages: first.TrainImages, TestImages: first.TestImages, Budgets: slices.Clone(first.Budgets),
		Runs: []RunResult{}, Complete: true, Pretrains: map[string]*PretrainResult{},
	}
	var names []string
	haveSL := false
	for _, p := range parts {
		r := p.Report
		for _, c := range []struct {
			field     string
			got, want any
		}{{"backbone", r.Backbone, first.Backbone}, {"transfer", r.Transfer, first.Transfer}, {"seed", r.Seed, first.Seed},
			{"classes", r.Classes, first.Classes}, {"train images", r.TrainImages, first.TrainImages},
			{"test images", r.TestImages, first.TestImages}, {"budgets", fmt.Sprint(r.Budgets), fmt.Sprint(first.Budgets)}} {
			if c.got != c.want {
				return nil, fmt.Errorf("ssl: Combine: report %q has %s %v, report %q %v", p.Name, c.field, c.got, parts[0].Name, c.want)
			}
		}
		method := p.Name + "+SL"
		names = append(names, p.Name)
		takeSL := !haveSL && r.hasMethod(MethodSL)
		// rename gives the row a run (finished or missing) of r takes, false to leave it out.
		rename := func(m string) (string, bool) {
			switch m {
			case MethodSL:
				return m, takeSL
			case MethodSSL:
				return method, true
			}
			return "", false
		}
		for _, run := range r.Runs {
			if m, ok := rename(run.Method); ok {
				run.Method = m
				out.Runs = append(out.Runs, run)
			}
		}
		for _, k := range r.Missing {
			if m, ok := rename(k.Method); ok {
				k.Method = m
				out.Missing = append(out.Missing, k)
			}
		}
		if takeSL {
			haveSL = true
			out.Methods = append([]string{MethodSL}, out.Methods...)
		}
		if r.hasMethod(MethodSSL) {
			out.Methods = append(out.Methods, method)
			if r.Pretrain != nil {
				pre := *r.Pretrain
				out.Pretrains[method] = &pre
			}
		}
		for _, w := range r.Warnings {
			if !slices.Contains(out.Warnings, w) {
				out.Warnings = append(out.Warnings, w)
			}
		}
		out.Seconds += r.Seconds
		out.Complete = out.Complete && r.Complete
	}
	out.Task = strings.Join(names, ", ")
	// Runs in table order: by budget, then run, then method, as Evaluate orders them.
	order := map[string]int{}
	for i, m := range out.Methods {
		order[m] = i
	}
	budget := map[int]int{}
	for i, n := range out.Budgets {
		budget[n] = i
	}
	slices.SortStableFunc(out.Runs, func(a, b RunResult) int {
		if d := budget[a.NLabels] - budget[b.NLabels]; d != 0 {
			return d
		}
		if d := a.Run - b.Run; d != 0 {
			return d
		}
		return order[a.Method] - order[b.Method]
	})
	return out, nil
}

// GainOf returns the mean test accuracy of method minus that of SL on the budget
// nLabels, and false unless both have finished runs. Gain is GainOf(MethodSSL, n).
func (r *Report) GainOf(method string, nLabels int) (float64, bool) {
	m, ok1 := r.Summary(method, nLabels)
	sl, ok2 := r.Summary(MethodSL, nLabels)
	if !ok1 || !ok2 {
		return 0, false
	}
	return m.MeanAccuracy - sl.MeanAccuracy, true
}

// pretrainings lists the report's pretraining results by row: SSL+SL's Pretrain, or a
// combined report's Pretrains in table order.
func (r *Report) pretrainings() (methods []string, results []*PretrainResult) {
	if r.Pretrain != nil {
		return []string{MethodSSL}, []*PretrainResult{r.Pretrain}
	}
	for _, m := range r.Methods {
		if p := r.Pretrains[m]; p != nil {
			methods, results = append(methods, m), append(results, p)
		}
	}
	return methods, results
}
