// Package ruletest runs rule unit tests: YAML files that give a rule pack
// some inputs (log lines, metric series, configuration changes) and state
// which findings must come out, or that none may.
//
// A test file looks like this (every key not listed is an error):
//
//	rule_files: [team-rules.yaml]     # optional, relative to the test file;
//	                                  # they replace default rules of the same id
//	default_rules: true               # optional; false tests only rule_files
//	tests:
//	  - name: hard cut of vm-c during a deploy
//	    tz: "+09:00"                  # zone of zone-less timestamps (optional)
//	    date: 2026-05-01              # day for HH:MM:SS times below (optional)
//	    logs:                         # inline lines per source path
//	      lb/lb.log: |
//	        2026-05-01T14:02:02+09:00 [lb] backend vm-c removed from pool abruptly
//	    files: [../incident/]         # file or directory references, relative
//	                                  # to the test file
//	    series:                       # metric series, promtool notation
//	      - series: 'timewait{backend="vm-b"}'
//	        start: "18:00:00"
//	        interval: 10s             # default 10s
//	        values: '2000x180 2000+1000x40'
//	    changes:                      # configuration changes
//	      - at: "18:09:30"
//	        setting: keepalive_timeout
//	        from: 65s
//	        to: 2s
//	        backend: vm-b
//	    expect:                       # required; [] means no finding at all
//	      - rule: hard-cut-without-drain   # rule id or case id
//	        backend: vm-c
//	        start: "14:02:02"
//	        end: "14:03:00"           # optional
//	        tolerance: 1m             # how far start/end may be off; default 1m
//	        severity: critical        # optional
//	        confidence: "<= 0.4"      # optional threshold on the confidence
//
// Series values are promtool's expanding notation (see ExpandSeries). For a
// counter metric (http_requests, conn_resets, ...) each value is the count
// observed during that step, not a running total; for a gauge it is the
// level observed at that step.
//
// Times are RFC 3339, or HH:MM:SS (optionally with fractional seconds) on
// the test's date in its tz, which must then both be set.
package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

// File is a parsed rule test file.
type File struct {
	// Path is the file's path as given; Dir is the directory that relative
	// references are resolved against.
	Path, Dir string
	// RuleFiles are the rule files to load (resolved against Dir).
	RuleFiles []string
	// DefaultRules says whether the base pack is tested too (default true).
	DefaultRules bool
	Tests        []*Test
}

// Test is one test case of a file.
type Test struct {
	Name string
	Line int // line of the test in its file
	Zone *time.Location
	// Logs maps a source path (relative, forward slashes) to its lines.
	Logs map[string]string
	// Files are file or directory references resolved against the file's Dir.
	Files   []string
	Series  []Series
	Changes []Change
	Expect  []Expect
}

// Series is one metric series of a test, expanded.
type Series struct {
	Name     string // as written, e.g. timewait{backend="vm-b"}
	Metric   timeline.Metric
	Backend  string
	Start    time.Time
	Interval time.Duration
	Values   []float64 // NaN for a missing step
}

// Change is a configuration change of a test.
type Change struct {
	At                time.Time
	Setting, From, To string
	Backend, Program  string
	Line              int
}

// Expect is one finding a test expects.
type Expect struct {
	Rule      string // rule id or case id
	Backend   string // "" matches any backend
	Start     time.Time
	End       time.Time // zero: not checked
	Tolerance time.Duration
	Severity  string // "": not checked
	// Confidence, when set, must hold for the finding's confidence.
	Confidence rulefmt.Threshold
	Line       int
}

type rawFile struct {
	RuleFiles    []string  `yaml:"rule_files"`
	DefaultRules *bool     `yaml:"default_rules"`
	Tests        []rawTest `yaml:"tests"`
}

type rawTest struct {
	Name    string            `yaml:"name"`
	TZ      string            `yaml:"tz"`
	Date    string            `yaml:"date"`
	Logs    map[string]string `yaml:"logs"`
	Files   []string          `yaml:"files"`
	Series  []rawSeries       `yaml:"series"`
	Changes []rawChange       `yaml:"changes"`
	Expect  *[]rawExpect      `yaml:"expect"`
}

type rawSeries struct {
	Series   string `yaml:"series"`
	Start    string `yaml:"start"`
	Interval string `yaml:"interval"`
	Values   string `yaml:"values"`
}

type rawChange struct {
	At      string `yaml:"at"`
	Setting string `yaml:"setting"`
	From    string `yaml:"from"`
	To      string `yaml:"to"`
	Backend string `yaml:"backend"`
	Program string `yaml:"program"`
}

type rawExpect struct {
	Rule      string `yaml:"rule"`
	Backend   string `yaml:"backend"`
	Start     string `yaml:"start"`
	End       string `yaml:"end"`
	Tolerance string `yaml:"tolerance"`
	Severity  string `yaml:"severity"`
	// Confidence is a threshold such as "<= 0.4".
	Confidence string `yaml:"confidence"`
}

// LoadFile reads and parses a test file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a test file's content; name is its path, used in error
// positions and to resolve relative references. The error, if any, is a
// rulefmt.Errors with every problem found as file:line:col: message.
func Parse(name string, data []byte) (*File, error) {
	var errs rulefmt.Errors
	add := func(line, col int, format string, a ...any) {
		errs = append(errs, rulefmt.Error{File: name, Pos: rulefmt.Pos{Line: line, Col: col}, Msg: fmt.Sprintf(format, a...)})
	}
	var raw rawFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				l, msg := yamlLine(e)
				add(l, 1, "%s", msg)
			}
		} else {
			l, msg := yamlLine(err.Error())
			add(l, 1, "%s", msg)
		}
		return nil, errs
	}
	// A second decode into nodes gives each test and expectation its line.
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc)
	testNodes := findSeq(&doc, "tests")

	f := &File{Path: name, Dir: filepath.Dir(name), DefaultRules: true}
	if raw.DefaultRules != nil {
		f.DefaultRules = *raw.DefaultRules
	}
	for _, rf := range raw.RuleFiles {
		f.RuleFiles = append(f.RuleFiles, resolve(f.Dir, rf))
	}
	if len(raw.Tests) == 0 {
		add(1, 1, "no tests: expected a tests: list")
	}
	for i, rt := range raw.Tests {
		line := 0
		var tn *yaml.Node
		if i < len(testNodes) {
			tn = testNodes[i]
			line = tn.Line
		}
		t := &Test{Name: rt.Name, Line: line, Logs: rt.Logs}
		if t.Name == "" {
			t.Name = fmt.Sprintf("test %d", i+1)
		}
		bad := func(key string, j int, format string, a ...any) {
			l, c := line, 1
			if n := keyNode(tn, key, j); n != nil {
				l, c = n.Line, n.Column
			}
			add(l, c, "%s: %s", t.Name, fmt.Sprintf(format, a...))
		}
		if rt.TZ != "" {
			loc, err := pipeline.ParseZone(rt.TZ)
			if err != nil {
				bad("tz", -1, "%v", err)
			}
			t.Zone = loc
		}
		var day time.Time
		if rt.Date != "" {
			d, err := time.Parse("2006-01-02", rt.Date)
			if err != nil {
				bad("date", -1, "date %q: expected YYYY-MM-DD", rt.Date)
			}
			day = d
		}
		at := func(key string, j int, s string) time.Time {
			tm, err := parseTime(s, day, t.Zone)
			if err != nil {
				bad(key, j, "%v", err)
			}
			return tm
		}
		for p := range rt.Logs {
			if p == "" || filepath.IsAbs(p) || strings.Contains(filepath.ToSlash(p), "..") {
				bad("logs", -1, "log path %q: expected a relative path inside the test", p)
			}
		}
		for _, ref := range rt.Files {
			t.Files = append(t.Files, resolve(f.Dir, ref))
		}
		for j, rs := range rt.Series {
			metric, backend, err := ParseSeriesName(rs.Series)
			if err != nil {
				bad("series", j, "%v", err)
				continue
			}
			if !knownMetric(metric) {
				bad("series", j, "series %q: unknown metric %q", rs.Series, metric)
				continue
			}
			s := Series{Name: rs.Series, Metric: timeline.Metric(metric), Backend: backend, Interval: 10 * time.Second}
			if rs.Start == "" {
				bad("series", j, "series %q: start is required", rs.Series)
				continue
			}
			s.Start = at("series", j, rs.Start)
			if rs.Interval != "" {
				d, err := rulefmt.ParseDuration(rs.Interval)
				if err != nil || d <= 0 {
					bad("series", j, "series %q: bad interval %q", rs.Series, rs.Interval)
					continue
				}
				s.Interval = d
			}
			if s.Values, err = ExpandSeries(rs.Values); err != nil {
				bad("series", j, "%v", err)
				continue
			}
			t.Series = append(t.Series, s)
		}
		for j, rc := range rt.Changes {
			if rc.At == "" || rc.Setting == "" {
				bad("changes", j, "a change needs at: and setting:")
				continue
			}
			c := Change{At: at("changes", j, rc.At), Setting: rc.Setting, From: rc.From, To: rc.To, Backend: rc.Backend, Program: rc.Program}
			t.Changes = append(t.Changes, c)
		}
		if rt.Expect == nil {
			bad("name", -1, "expect: is required (write expect: [] when no finding may come out)")
		} else {
			for j, re := range *rt.Expect {
				en := keyNode(tn, "expect", j)
				e := Expect{Rule: re.Rule, Backend: re.Backend, Tolerance: time.Minute, Severity: re.Severity}
				if en != nil {
					e.Line = en.Line
				}
				if e.Rule == "" || re.Start == "" {
					bad("expect", j, "an expected finding needs rule: and start:")
					continue
				}
				e.Start = at("expect", j, re.Start)
				if re.End != "" {
					e.End = at("expect", j, re.End)
				}
				if re.Tolerance != "" {
					d, err := rulefmt.ParseDuration(re.Tolerance)
					if err != nil || d < 0 {
						bad("expect", j, "bad tolerance %q", re.Tolerance)
					}
					e.Tolerance = d
				}
				switch e.Severity {
				case "", "info", "warning", "critical":
				default:
					bad("expect", j, "severity %q: expected info, warning or critical", e.Severity)
				}
				if re.Confidence != "" {
					th, err := rulefmt.ParseThreshold(re.Confidence)
					if err != nil {
						bad("expect", j, "confidence: %v", err)
					}
					e.Confidence = th
				}
				t.Expect = append(t.Expect, e)
			}
		}
		if len(rt.Logs) == 0 && len(rt.Files) == 0 && len(rt.Series) == 0 && len(rt.Changes) == 0 {
			bad("name", -1, "no input: give logs, files, series or changes")
		}
		f.Tests = append(f.Tests, t)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			a, b := errs[i].Pos, errs[j].Pos
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, errs
	}
	return f, nil
}

// yamlLine splits "yaml: line 3: msg" or "line 3: msg" into 3 and msg.
func yamlLine(s string) (int, string) {
	s = strings.TrimPrefix(s, "yaml: ")
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, s
	}
	msg = strings.ReplaceAll(msg, "ruletest.raw", "")
	return n, msg
}

func knownMetric(m string) bool {
	for _, k := range rulefmt.Metrics {
		if string(k) == m {
			return true
		}
	}
	return false
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

// parseTime reads RFC 3339, or a clock time on day in loc.
func parseTime(s string, day time.Time, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"15:04:05", "15:04:05.999999999", "15:04"} {
		c, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if day.IsZero() || loc == nil {
			return time.Time{}, fmt.Errorf("time %q: a clock time needs the test's date: and tz:", s)
		}
		return time.Date(day.Year(), day.Month(), day.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc), nil
	}
	return time.Time{}, fmt.Errorf("time %q: expected RFC 3339 or HH:MM:SS", s)
}

// findSeq returns the items of the top-level sequence under key.
func findSeq(doc *yaml.Node, key string) []*yaml.Node {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// keyNode returns the value node of key in mapping n, or its j-th item when
// j >= 0 and the value is a sequence.
func keyNode(n *yaml.Node, key string, j int) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			continue
		}
		v := n.Content[i+1]
		if j >= 0 && v.Kind == yaml.SequenceNode && j < len(v.Content) {
			return v.Content[j]
		}
		if j >= 0 {
			return v
		}
		return n.Content[i]
	}
	return nil
}
