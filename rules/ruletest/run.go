package ruletest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Options tune a test run.
type Options struct {
	// Pack is the base pack the tests run against; nil means rules.Default().
	// A file's rule_files replace rules of the same id and add the others;
	// with default_rules: false the base pack is left out.
	Pack *rules.Pack
}

// Outcome is the result of one test.
type Outcome struct {
	File string // test file path
	Name string
	Line int
	// Err is set when the test could not run (unreadable input, bad rule
	// file); such a test fails.
	Err error
	// Matched are the findings that met an expectation; Missing the
	// expectations no finding met; Unexpected the findings no expectation
	// asked for.
	Matched    []rules.Finding
	Missing    []Expect
	Unexpected []rules.Finding
	// Loc is the zone times are shown in.
	Loc *time.Location
}

// Pass reports whether the test passed.
func (o *Outcome) Pass() bool {
	return o.Err == nil && len(o.Missing) == 0 && len(o.Unexpected) == 0
}

// Diff returns the expected findings against what came out, one per line:
// "- " an expectation no finding met, "+ " a finding nobody expected,
// "  " a finding that met an expectation. It is "" for a passing test.
func (o *Outcome) Diff() string {
	if o.Pass() {
		return ""
	}
	if o.Err != nil {
		return "  error: " + o.Err.Error() + "\n"
	}
	loc := o.Loc
	if loc == nil {
		loc = time.UTC
	}
	var sb strings.Builder
	sb.WriteString("  expected (-) and got (+) findings:\n")
	for _, e := range o.Missing {
		sb.WriteString("  - ")
		sb.WriteString(describeExpect(e, loc))
		sb.WriteByte('\n')
	}
	for _, f := range o.Unexpected {
		sb.WriteString("  + ")
		sb.WriteString(describeFinding(f, loc))
		sb.WriteByte('\n')
	}
	for _, f := range o.Matched {
		sb.WriteString("    ")
		sb.WriteString(describeFinding(f, loc))
		sb.WriteString("  (as expected)\n")
	}
	if len(o.Missing)+len(o.Unexpected)+len(o.Matched) == 0 {
		sb.WriteString("    (none)\n")
	}
	return sb.String()
}

func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05Z07:00")
}

func describeExpect(e Expect, loc *time.Location) string {
	var sb strings.Builder
	sb.WriteString(e.Rule)
	if e.Backend != "" {
		sb.WriteString(" on " + e.Backend)
	} else {
		sb.WriteString(" on any backend")
	}
	sb.WriteString(" starting " + clock(e.Start, loc))
	if !e.End.IsZero() {
		sb.WriteString(", ending " + clock(e.End, loc))
	}
	fmt.Fprintf(&sb, " (±%s)", e.Tolerance)
	if e.Severity != "" {
		sb.WriteString(", " + e.Severity)
	}
	if e.Confidence.Set() {
		sb.WriteString(", confidence " + e.Confidence.String())
	}
	if e.Line > 0 {
		fmt.Fprintf(&sb, "  [line %d]", e.Line)
	}
	return sb.String()
}

func describeFinding(f rules.Finding, loc *time.Location) string {
	b := f.Backend
	if b == "" {
		b = "no backend"
	}
	name := f.Rule
	if f.Case != "" && f.Case != f.Rule {
		name += " (case " + f.Case + ")"
	}
	return fmt.Sprintf("%s on %s from %s to %s, %s, confidence %.2f", name, b, clock(f.Start, loc), clock(f.End, loc), f.Severity, f.Confidence)
}

// matches reports whether finding f meets expectation e, and how far its
// start is from the expected one.
func matches(e Expect, f rules.Finding) (time.Duration, bool) {
	if e.Rule != f.Rule && e.Rule != f.Case {
		return 0, false
	}
	if e.Backend != "" && e.Backend != f.Backend {
		return 0, false
	}
	if e.Severity != "" && e.Severity != string(f.Severity) {
		return 0, false
	}
	if !e.Confidence.Holds(f.Confidence) {
		return 0, false
	}
	d := absDur(f.Start.Sub(e.Start))
	if d > e.Tolerance {
		return 0, false
	}
	if !e.End.IsZero() && absDur(f.End.Sub(e.End)) > e.Tolerance {
		return 0, false
	}
	return d, true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Compare splits got into the findings that meet the expectations and those
// that do not, and lists the expectations nothing met. Each finding meets at
// most one expectation; an expectation takes the closest unclaimed finding.
func Compare(expect []Expect, got []rules.Finding) (matched []rules.Finding, missing []Expect, unexpected []rules.Finding) {
	used := make([]bool, len(got))
	for _, e := range expect {
		best, bestD := -1, time.Duration(math.MaxInt64)
		for i, f := range got {
			if used[i] {
				continue
			}
			if d, ok := matches(e, f); ok && d < bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			missing = append(missing, e)
			continue
		}
		used[best] = true
	}
	for i, f := range got {
		if used[i] {
			matched = append(matched, f)
		} else {
			unexpected = append(unexpected, f)
		}
	}
	return matched, missing, unexpected
}

// PackFor returns the pack a file's tests run against: base (or the
// default pack when base is nil) unless the file says default_rules: false,
// with the file's rule_files on top (replacing rules of the same id).
func PackFor(f *File, base *rules.Pack) (*rules.Pack, error) {
	if base == nil {
		base = rules.Default()
	}
	var packs []*rules.Pack
	if f.DefaultRules {
		packs = append(packs, base)
	}
	if len(f.RuleFiles) > 0 {
		p, err := rules.LoadFiles(f.RuleFiles...)
		if err != nil {
			return nil, err
		}
		packs = append(packs, p)
	}
	out := rules.Combine(packs...)
	if len(out.Rules) == 0 {
		return nil, fmt.Errorf("%s: no rules to test (default_rules: false and no rule_files)", f.Path)
	}
	return out, nil
}

// Run runs every test of f. The error is set only when the file's rules
// cannot be loaded; per-test problems are in each Outcome's Err.
func Run(ctx context.Context, f *File, opts Options) ([]Outcome, error) {
	pack, err := PackFor(f, opts.Pack)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, 0, len(f.Tests))
	for _, t := range f.Tests {
		o := Outcome{File: f.Path, Name: t.Name, Line: t.Line, Loc: t.Zone}
		got, loc, err := Eval(ctx, t, pack)
		if o.Loc == nil {
			o.Loc = loc
		}
		if err != nil {
			o.Err = err
		} else {
			o.Matched, o.Missing, o.Unexpected = Compare(t.Expect, got)
		}
		out = append(out, o)
	}
	return out, nil
}

// Eval runs the inputs of t through the analysis pipeline with pack and
// returns the findings and the zone used for zone-less timestamps. Inline
// logs are written to a temporary directory, removed afterwards.
func Eval(ctx context.Context, t *Test, pack *rules.Pack) ([]rules.Finding, *time.Location, error) {
	reg, err := builtin.Registry()
	if err != nil {
		return nil, nil, err
	}
	cfg := pipeline.Config{Registry: reg, Zone: t.Zone, Pack: pack, Workers: 1}
	if len(t.Logs) > 0 {
		dir, err := os.MkdirTemp("", "postmortem-ruletest-")
		if err != nil {
			return nil, nil, err
		}
		defer os.RemoveAll(dir)
		for _, p := range slices.Sorted(maps.Keys(t.Logs)) {
			dst := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, nil, err
			}
			if err := os.WriteFile(dst, []byte(t.Logs[p]), 0o644); err != nil {
				return nil, nil, err
			}
		}
		cfg.Inputs = append(cfg.Inputs, dir)
	}
	cfg.Inputs = append(cfg.Inputs, t.Files...)
	if len(t.Series) > 0 || len(t.Changes) > 0 {
		part := SyntheticTimeline(t.Series, t.Changes)
		cfg.Extra = append(cfg.Extra, func(context.Context, *time.Location, timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
			return part, nil, nil, nil
		})
	}
	res, err := pipeline.Run(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return res.Rules.Findings, res.Loc, nil
}

// SyntheticTimeline builds the timeline part of metric series and
// configuration changes: one sample per non-missing step (cited as
// "series NAME", step number) and one config_change event per change
// (cited as "changes", its index).
func SyntheticTimeline(series []Series, changes []Change) *timeline.Timeline {
	var parts []*timeline.Timeline
	for _, s := range series {
		b := timeline.NewBuilder(timeline.Options{})
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			b.Sample(timeline.Sample{
				Time: s.Start.Add(time.Duration(i) * s.Interval), Metric: s.Metric, Backend: s.Backend, Value: v,
				Pos: timeline.Pos{File: "series " + s.Name, Line: int64(i + 1)},
			})
		}
		parts = append(parts, b.Timeline())
	}
	if len(changes) > 0 {
		cs := append([]Change(nil), changes...)
		idx := make([]int, len(cs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return cs[idx[a]].At.Before(cs[idx[b]].At) })
		b := timeline.NewBuilder(timeline.Options{})
		for _, i := range idx {
			c := cs[i]
			attrs := map[string]string{"setting": c.Setting, "to": c.To}
			if c.From != "" {
				attrs["from"] = c.From
			}
			if c.Program != "" {
				attrs["program"] = c.Program
			}
			text := fmt.Sprintf("config change: %s %s -> %s", c.Setting, c.From, c.To)
			b.Event(timeline.Event{
				Time: c.At, Kind: timeline.KindConfigChange, Backend: c.Backend, Attrs: attrs,
				Pos: timeline.Pos{File: "changes", Line: int64(i + 1)}, Text: text, Count: 1,
			})
		}
		parts = append(parts, b.Timeline())
	}
	return timeline.Merge(parts...)
}

// Report is the outcome of running several test files.
type Report struct {
	Outcomes []Outcome
	// Errors are files that could not be loaded or whose rules failed to
	// load; each counts as a failure.
	Errors []error
}

// Failed returns the number of failing tests plus file errors.
func (r *Report) Failed() int {
	n := len(r.Errors)
	for i := range r.Outcomes {
		if !r.Outcomes[i].Pass() {
			n++
		}
	}
	return n
}

// RunFiles loads and runs test files. A directory stands for its *.yaml and
// *.yml files (not recursive), in name order.
func RunFiles(ctx context.Context, opts Options, paths ...string) *Report {
	r := &Report{}
	for _, p := range expand(paths, &r.Errors) {
		f, err := LoadFile(p)
		if err != nil {
			r.Errors = append(r.Errors, err)
			continue
		}
		outs, err := Run(ctx, f, opts)
		if err != nil {
			r.Errors = append(r.Errors, err)
			continue
		}
		r.Outcomes = append(r.Outcomes, outs...)
	}
	return r
}

func expand(paths []string, errs *[]error) []string {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		var list []string
		for _, e := range ents {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
				list = append(list, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(list)
		out = append(out, list...)
	}
	return out
}

// Write prints one line per test (ok or FAIL with file:line), the diff of
// each failing test, the file errors, and a summary line.
func (r *Report) Write(w io.Writer) {
	for _, e := range r.Errors {
		fmt.Fprintf(w, "ERROR %v\n", e)
	}
	pass := 0
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		if o.Pass() {
			pass++
			fmt.Fprintf(w, "ok    %s:%d: %s\n", o.File, o.Line, o.Name)
			continue
		}
		fmt.Fprintf(w, "FAIL  %s:%d: %s\n%s", o.File, o.Line, o.Name, o.Diff())
	}
	fmt.Fprintf(w, "%d test(s), %d passed, %d failed", len(r.Outcomes), pass, len(r.Outcomes)-pass)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, ", %d file error(s)", len(r.Errors))
	}
	fmt.Fprintln(w)
}
