// Package rulesrun condenses the findings of a rule pack over an archive
// into one summary per rule (count, first and last time, backends, sample
// evidence) and writes it as an aligned table, JSON, or JUnit XML.
package rulesrun

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Summary is what `rules run` reports.
type Summary struct {
	// Window is the span of the data read (set by the caller).
	Window timeline.Window `json:"window"`
	// Timezone is the zone times are shown in.
	Timezone string `json:"timezone"`
	// Files, Lines and Unrecognized count the physical files read and their
	// lines.
	Files        int   `json:"files"`
	Lines        int64 `json:"lines"`
	Unrecognized int64 `json:"unrecognized"`
	// Prefiltered counts the lines the prefilter skipped unparsed (they
	// held no literal of a signal the rules use); they are not counted as
	// unrecognised.
	Prefiltered int64 `json:"prefiltered"`
	// Rules has one entry per rule of the pack, in pack order.
	Rules []Rule `json:"rules"`
	// Warnings are run-level and per-file warnings ("file: warning").
	Warnings []string `json:"warnings,omitempty"`

	loc *time.Location
}

// Rule summarises the findings of one rule.
type Rule struct {
	Rule string `json:"rule"`
	Case string `json:"case"`
	// Severity is the highest severity among the findings, or the rule's
	// own severity when it found nothing.
	Severity rules.Severity `json:"severity"`
	Count    int            `json:"count"`
	First    time.Time      `json:"first,omitzero"`
	Last     time.Time      `json:"last,omitzero"`
	Backends []string       `json:"backends"`
	Findings []Finding      `json:"findings"`
	// Evidence is a sample of the cited lines, at most the requested number.
	Evidence []Evidence `json:"evidence"`
	// Why says, when the rule found nothing, which condition failed first.
	Why string `json:"why,omitempty"`
}

// Finding is one finding of a rule, without its prose.
type Finding struct {
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end"`
	Backend    string         `json:"backend,omitempty"`
	Severity   rules.Severity `json:"severity"`
	Confidence float64        `json:"confidence"`
	Summary    string         `json:"summary"`
}

// Evidence is a cited line: "file:line", its role and text.
type Evidence struct {
	At   string `json:"at"`
	Role string `json:"role"`
	Text string `json:"text"`
}

// Summarize builds the summary of res (findings and checks of pack over the
// sources read), keeping at most samples evidence lines per rule. Rules are
// listed in pack order; a rule of the pack with no check is listed with no
// finding.
func Summarize(pack *rules.Pack, res rules.Result, sources []timeline.Source, warnings []string, loc *time.Location, samples int) *Summary {
	if loc == nil {
		loc = time.UTC
	}
	s := &Summary{Timezone: loc.String(), loc: loc, Warnings: append([]string(nil), warnings...)}
	srcs := append([]timeline.Source(nil), sources...)
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].Path < srcs[j].Path })
	for _, src := range srcs {
		s.Files++
		s.Lines += src.Lines
		s.Unrecognized += src.Unrecognized
		s.Prefiltered += src.Prefiltered
		for _, w := range src.Warnings {
			s.Warnings = append(s.Warnings, src.Path+": "+w)
		}
	}
	byRule := map[string][]rules.Finding{}
	for _, f := range res.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	why := map[string]string{}
	for _, c := range res.Checks {
		why[c.Rule] = c.Why
	}
	for _, r := range pack.Rules {
		fs := byRule[r.ID]
		sort.SliceStable(fs, func(i, j int) bool {
			if !fs[i].Start.Equal(fs[j].Start) {
				return fs[i].Start.Before(fs[j].Start)
			}
			return fs[i].Backend < fs[j].Backend
		})
		rs := Rule{Rule: r.ID, Case: r.Case, Severity: rules.Severity(r.Severity), Count: len(fs), Backends: []string{}, Findings: []Finding{}, Evidence: []Evidence{}}
		if rs.Case == "" {
			rs.Case = r.ID
		}
		if len(fs) == 0 {
			rs.Why = why[r.ID]
		}
		seen := map[string]bool{}
		for i, f := range fs {
			if i == 0 || f.Severity.Rank() > rs.Severity.Rank() {
				rs.Severity = f.Severity
			}
			if rs.First.IsZero() || f.Start.Before(rs.First) {
				rs.First = f.Start.In(loc)
			}
			end := f.End
			if end.IsZero() {
				end = f.Start
			}
			if end.After(rs.Last) {
				rs.Last = end.In(loc)
			}
			if f.Backend != "" && !seen[f.Backend] {
				seen[f.Backend] = true
				rs.Backends = append(rs.Backends, f.Backend)
			}
			rs.Findings = append(rs.Findings, Finding{
				Start: f.Start.In(loc), End: f.End.In(loc), Backend: f.Backend,
				Severity: f.Severity, Confidence: f.Confidence, Summary: f.Summary,
			})
		}
		sort.Strings(rs.Backends)
		rs.Evidence = sampleEvidence(fs, samples)
		s.Rules = append(s.Rules, rs)
	}
	return s
}

// sampleEvidence takes evidence round-robin over the findings (the first
// cited line of each finding, then the second, ...) so the sample shows
// every finding before it shows a second line of one.
func sampleEvidence(fs []rules.Finding, n int) []Evidence {
	out := []Evidence{}
	seen := map[string]bool{}
	ordered := make([][]rules.Evidence, len(fs))
	for i, f := range fs {
		// The anchor first: it is the line that says what happened.
		for _, ev := range f.Evidence {
			if ev.Role == "anchor" {
				ordered[i] = append(ordered[i], ev)
			}
		}
		for _, ev := range f.Evidence {
			if ev.Role != "anchor" {
				ordered[i] = append(ordered[i], ev)
			}
		}
	}
	for k := 0; len(out) < n; k++ {
		any := false
		for _, evs := range ordered {
			if len(out) >= n {
				break
			}
			if k >= len(evs) {
				continue
			}
			any = true
			ev := evs[k]
			at := ev.Pos.String()
			if ev.Pos.IsZero() || seen[at] {
				continue
			}
			seen[at] = true
			out = append(out, Evidence{At: at, Role: ev.Role, Text: ev.Text})
		}
		if !any {
			break
		}
	}
	return out
}

// AtLeast returns how many findings reach severity level.
func (s *Summary) AtLeast(level rules.Severity) int {
	n := 0
	for _, r := range s.Rules {
		for _, f := range r.Findings {
			if f.Severity.Rank() >= level.Rank() {
				n++
			}
		}
	}
	return n
}

// WriteJSON writes the summary as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

func (s *Summary) clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(s.loc).Format("2006-01-02 15:04:05")
}

// WriteTable writes one row per rule, then the findings and the evidence
// sample of each rule that found something.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RULE\tSEVERITY\tFINDINGS\tFIRST\tLAST\tBACKENDS\n")
	for _, r := range s.Rules {
		b := strings.Join(r.Backends, ",")
		if b == "" {
			b = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.Rule, r.Severity, r.Count, s.clock(r.First), s.clock(r.Last), b)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range s.Rules {
		if r.Count == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s)\n", r.Rule, r.Case)
		for _, f := range r.Findings {
			b := f.Backend
			if b == "" {
				b = "-"
			}
			fmt.Fprintf(w, "  %s .. %s  %-8s %s\n", s.clock(f.Start), s.clock(f.End), f.Severity, b)
		}
		for _, ev := range r.Evidence {
			fmt.Fprintf(w, "    %s  [%s] %s\n", ev.At, ev.Role, oneLine(ev.Text, 160))
		}
	}
	fmt.Fprintf(w, "\n%d file(s), %d line(s) (%d unrecognised, %d skipped by the prefilter), times in %s\n", s.Files, s.Lines, s.Unrecognized, s.Prefiltered, s.Timezone)
	if len(s.Warnings) > 0 {
		fmt.Fprintf(w, "%d warning(s); the JSON output lists them\n", len(s.Warnings))
	}
	return nil
}

// oneLine trims text to n runes and makes control characters visible, as
// log text is untrusted and must not drive the terminal.
func oneLine(text string, n int) string {
	var sb strings.Builder
	i := 0
	for _, r := range text {
		if i == n {
			sb.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&sb, "\\x%02x", r)
		} else {
			sb.WriteRune(r)
		}
		i++
	}
	return sb.String()
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: one test case per rule, failing when the
// rule has a finding at level or above (a rule with findings below it
// passes and lists them in system-out).
func (s *Summary) WriteJUnit(w io.Writer, level rules.Severity) error {
	suite := junitSuite{Name: "postmortem rules run"}
	for _, r := range s.Rules {
		c := junitCase{Name: r.Rule, Classname: "postmortem.rules." + r.Case}
		var body strings.Builder
		failing := 0
		for _, f := range r.Findings {
			if f.Severity.Rank() >= level.Rank() {
				failing++
			}
			b := f.Backend
			if b == "" {
				b = "-"
			}
			fmt.Fprintf(&body, "%s %s..%s on %s: %s\n", f.Severity, s.clock(f.Start), s.clock(f.End), b, f.Summary)
		}
		for _, ev := range r.Evidence {
			fmt.Fprintf(&body, "  %s [%s] %s\n", ev.At, ev.Role, oneLine(ev.Text, 400))
		}
		if failing > 0 {
			c.Failure = &junitFailure{
				Message: fmt.Sprintf("%d finding(s) at %s or above on %s", failing, level, strings.Join(r.Backends, ",")),
				Type:    string(r.Severity),
				Body:    xmlSafe(body.String()),
			}
			suite.Failures++
		} else if body.Len() > 0 {
			c.SystemOut = xmlSafe(body.String())
		}
		suite.Cases = append(suite.Cases, c)
		suite.Tests++
	}
	out := junitSuites{Name: "postmortem", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// xmlSafe drops characters XML 1.0 cannot carry (the encoder would write
// them as invalid character references).
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return -1
	}, s)
}
