package prefilter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/timeline"
)

// fixtureFiles returns the plain-text log files of the shipped fixtures.
func fixtureFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, root := range []string{"../../testdata/incidents", "../../testdata/lab", "../../parsers"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			switch filepath.Ext(p) {
			case ".log", "":
				if root == "../../parsers" && !strings.Contains(p, "/testdata/") {
					return nil
				}
				out = append(out, p)
			}
			return nil
		})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d fixture files", len(out))
	}
	return out
}

// lineSink records the kinds and metrics the current line emitted.
type lineSink struct {
	kinds   []timeline.Kind
	metrics []timeline.Metric
}

func (s *lineSink) Event(e timeline.Event)   { s.kinds = append(s.kinds, e.Kind) }
func (s *lineSink) Sample(x timeline.Sample) { s.metrics = append(s.metrics, x.Metric) }

func (s *lineSink) uses(w parsers.Want) bool {
	for _, k := range s.kinds {
		if w.Kind(k) {
			return true
		}
	}
	for _, m := range s.metrics {
		if w.Metric(m) {
			return true
		}
	}
	return false
}

// wants returns everything, and each kind and metric alone.
func wants() map[string]parsers.Want {
	out := map[string]parsers.Want{"all": parsers.WantAll()}
	for _, k := range []timeline.Kind{timeline.KindConnReset, timeline.KindUpstreamError, timeline.KindAbortedSession,
		timeline.KindHTTPError, timeline.KindBackendState, timeline.KindDeployStep, timeline.KindConfigReload,
		timeline.KindConfigChange, timeline.KindAppLifecycle, timeline.KindKernel} {
		out[string(k)] = parsers.WantOf([]timeline.Kind{k}, nil)
	}
	for _, m := range []timeline.Metric{timeline.MetricTimeWait, timeline.MetricActiveConn, timeline.MetricWSSessions, timeline.MetricResets} {
		out[string(m)] = parsers.WantOf(nil, []timeline.Metric{m})
	}
	return out
}

// TestEveryEmittingLineHoldsALiteral feeds every line of every fixture to
// every prefiltered format (whatever format the file is in) and requires
// that a line from which the parser emits a wanted signal matches that
// format's literals for that want.
func TestEveryEmittingLineHoldsALiteral(t *testing.T) {
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	files := fixtureFiles(t)
	texts := map[string][]string{}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		texts[path] = strings.Split(string(b), "\n")
	}
	loc := time.FixedZone("+09:00", 9*3600)
	ws := wants()
	checked := 0
	for _, f := range reg.Formats() {
		pf, ok := f.(parsers.Prefilterable)
		if !ok {
			continue
		}
		ms := map[string]*Matcher{}
		for name, w := range ws {
			if lits, ok := pf.Literals(w); ok {
				ms[name] = NewMatcher(lits)
			}
		}
		for _, path := range files {
			p := f.New(parsers.Config{Loc: loc, Year: 2026, Backend: "vm-x", Path: path})
			sink := &lineSink{}
			for i, line := range texts[path] {
				sink.kinds, sink.metrics = sink.kinds[:0], sink.metrics[:0]
				p.Parse([]byte(line), timeline.Pos{File: path, Line: int64(i + 1)}, sink)
				for name, m := range ms {
					if sink.uses(ws[name]) {
						checked++
						if !m.Match([]byte(line)) {
							t.Errorf("want %s, format %s: %s:%d emits but holds no literal: %q", name, f.Name(), path, i+1, line)
						}
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d emitting lines checked", checked)
	}
	t.Logf("%d (line, want) pairs checked", checked)
}
