package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/internal/prefilter"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// filteringLoki is a fake Loki that, unlike lokiFixture, applies the
// stream selector of a query (=, !=, =~, !~ matchers), its `|~` line
// filters (with Go's RE2, as Loki does) before the page limit, and its
// label filters (| name="value"); it answers instant count_over_time
// queries with one series per stream that has a line in the range. It
// records the queries and how many lines it served. With noDiscovery it
// answers count_over_time with no series, as if no stream had matched.
type filteringLoki struct {
	*httptest.Server
	mu          sync.Mutex
	queries     []string
	served      int
	noDiscovery bool
}

var (
	lineFilter   = regexp.MustCompile("(\\|~|!~) `([^`]*)`")
	matcherRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")`)
	labelFilter  = regexp.MustCompile(`\| ([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")`)
	countOverRE  = regexp.MustCompile(`^count_over_time\((.*) \[([0-9]+)s\]\)$`)
	selectorHead = regexp.MustCompile(`^\{[^}]*\}`)
)

// fakeQuery is a parsed log query of filteringLoki.
type fakeQuery struct {
	match  []func(map[string]string) bool
	lines  []*regexp.Regexp
	nots   []bool            // lines[i] is a !~ filter
	labels map[string]string // label filters
}

func parseFakeQuery(q string) (*fakeQuery, error) {
	fq := &fakeQuery{labels: map[string]string{}}
	sel := selectorHead.FindString(q)
	if sel == "" {
		return nil, fmt.Errorf("no stream selector in %q", q)
	}
	for _, m := range matcherRE.FindAllStringSubmatch(sel, -1) {
		name, op := m[1], m[2]
		val, err := strconv.Unquote(m[3])
		if err != nil {
			return nil, err
		}
		var f func(string) bool
		switch op {
		case "=", "!=":
			f = func(v string) bool { return v == val }
		default:
			re, err := regexp.Compile("^(?:" + val + ")$")
			if err != nil {
				return nil, err
			}
			f = re.MatchString
		}
		neg := op[0] == '!'
		fq.match = append(fq.match, func(ls map[string]string) bool { return f(ls[name]) != neg })
	}
	rest := q[len(sel):]
	for _, m := range lineFilter.FindAllStringSubmatch(rest, -1) {
		re, err := regexp.Compile(m[2])
		if err != nil {
			return nil, err
		}
		fq.lines = append(fq.lines, re)
		fq.nots = append(fq.nots, m[1] == "!~")
	}
	for _, m := range labelFilter.FindAllStringSubmatch(rest, -1) {
		v, err := strconv.Unquote(m[2])
		if err != nil {
			return nil, err
		}
		fq.labels[m[1]] = v
	}
	return fq, nil
}

func (fq *fakeQuery) keeps(ls map[string]string, line string) bool {
	for _, m := range fq.match {
		if !m(ls) {
			return false
		}
	}
	for k, v := range fq.labels {
		if ls[k] != v {
			return false
		}
	}
	for i, re := range fq.lines {
		if re.MatchString(line) == fq.nots[i] {
			return false
		}
	}
	return true
}

// newFilteringLoki serves the .log and .txt files under dir as streams
// labelled job (first directory), filename and, two levels down, host.
func newFilteringLoki(t *testing.T, dir string) *filteringLoki {
	t.Helper()
	es := lokiEntries(t, dir, ".log", ".txt")
	fl := &filteringLoki{}
	fl.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		query := q.Get("query")
		bad := func(err error) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("parse error: " + err.Error()))
		}
		if r.URL.Path == "/loki/api/v1/query" {
			m := countOverRE.FindStringSubmatch(query)
			if m == nil {
				bad(fmt.Errorf("not a count_over_time: %q", query))
				return
			}
			fq, err := parseFakeQuery(m[1])
			if err != nil {
				bad(err)
				return
			}
			at, _ := strconv.ParseInt(q.Get("time"), 10, 64)
			secs, _ := strconv.ParseInt(m[2], 10, 64)
			from := at - secs*int64(time.Second)
			counts := map[string]int{}
			labels := map[string]map[string]string{}
			for _, e := range es {
				if e.ts > from && e.ts <= at && fq.keeps(e.labels, e.line) {
					counts[e.labels["filename"]]++
					labels[e.labels["filename"]] = e.labels
				}
			}
			fl.mu.Lock()
			fl.queries = append(fl.queries, query)
			fl.mu.Unlock()
			result := []any{}
			for k, n := range counts {
				if !fl.noDiscovery {
					result = append(result, map[string]any{"metric": labels[k], "value": []any{float64(at) / 1e9, strconv.Itoa(n)}})
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
			return
		}
		fq, err := parseFakeQuery(query)
		if err != nil {
			bad(err)
			return
		}
		start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		type stream struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		}
		streams := map[string]*stream{}
		n := 0
		for _, e := range es {
			if e.ts < start || e.ts >= end || n == limit || !fq.keeps(e.labels, e.line) {
				continue
			}
			n++
			k := e.labels["filename"]
			if streams[k] == nil {
				streams[k] = &stream{Stream: e.labels}
			}
			streams[k].Values = append(streams[k].Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
		}
		fl.mu.Lock()
		fl.queries = append(fl.queries, query)
		fl.served += n
		fl.mu.Unlock()
		var result []any
		for _, s := range streams {
			result = append(result, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": result}})
	}))
	t.Cleanup(fl.Close)
	return fl
}

// lokiFindings is what must not change when the filter is pushed down:
// per rule, the findings and the quoted evidence (not its position: a
// Loki line is numbered among the lines fetched).
func lokiFindings(t *testing.T, out string) string {
	t.Helper()
	var r runJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	var b strings.Builder
	for _, ru := range r.Rules {
		b.WriteString(ru.Rule + " " + strconv.Itoa(ru.Count) + " " + ru.First + " " + ru.Last + " " + strings.Join(ru.Backends, ",") + " " + ru.Why + "\n")
		for _, f := range ru.Findings {
			b.WriteString("  " + f.Backend + " " + f.Start.UTC().Format(time.RFC3339) + " " + f.End.UTC().Format(time.RFC3339) + " " + f.Severity + "\n")
		}
		for _, e := range ru.Evidence {
			b.WriteString("  " + e.Role + ": " + e.Text + "\n")
		}
	}
	return b.String()
}

// TestPrefilterPushedIntoLogQL: with --loki, the prefilter's literals go
// into the query as one `|~` filter, the fake Loki serves fewer lines, and
// the findings and quoted evidence are those of the run that fetched every
// line. A run that uses TIME_WAIT (timewait-explosion) is pushed down too:
// its ss snapshot streams are fetched whole.
func TestPrefilterPushedIntoLogQL(t *testing.T) {
	for _, tc := range []struct {
		fixture, pack string
		pushed        bool
	}{
		{"hard-cut", "hard-cut-without-drain.yaml", true},
		{"websocket-drain-stuck", "websocket-drain-stuck.yaml", true},
		{"timewait-explosion", "timewait-explosion.yaml", true},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := filepath.Join(repoRoot(t), "testdata", "incidents", tc.fixture)
			run := func(extra ...string) (string, *filteringLoki) {
				fl := newFilteringLoki(t, dir)
				args := append([]string{"rules", "run", "--format", "json", "--no-default-rules",
					"--rules", filepath.Join(repoRoot(t), "rules", "pack", tc.pack),
					"--loki", fl.URL, "--logql", `{job=~".+"}`, "--loki-limit", "300",
					"--from", "2026-05-01T04:00:00Z", "--to", "2026-05-01T15:00:00Z"}, extra...)
				out, errOut, st := runCLI(t, args...)
				if st != 0 {
					t.Fatalf("status %d: %s", st, errOut)
				}
				return out, fl
			}
			off, flOff := run("--no-prefilter")
			on, flOn := run()
			for _, q := range flOff.queries {
				if q != `{job=~".+"}` {
					t.Fatalf("--no-prefilter sent %q", q)
				}
			}
			pushed := strings.Contains(flOn.queries[len(flOn.queries)-1], "|~ `(?i)")
			if pushed != tc.pushed {
				t.Fatalf("pushed down %v, want %v: %s", pushed, tc.pushed, flOn.queries[0])
			}
			if pushed && flOn.served >= flOff.served {
				t.Errorf("with the filter %d lines travelled, without %d", flOn.served, flOff.served)
			}
			if !pushed && !strings.Contains(on, "sent without a line filter") {
				t.Errorf("no note saying why the query was sent as given")
			}
			a, b := lokiFindings(t, off), lokiFindings(t, on)
			if tc.pushed && !strings.Contains(a, "  vm-") {
				t.Errorf("no finding to compare:\n%s", a)
			}
			if a != b {
				t.Errorf("findings differ with the filter pushed down\n--- all lines\n%s\n--- filtered\n%s", a, b)
			}
			t.Logf("%d lines fetched without the filter, %d with it", flOff.served, flOn.served)
		})
	}
}

// lokiPipeline runs the default pack over fl as the CLI's rules run does
// (with the prefilter, or without it as --no-prefilter does) and returns
// the findings with their quoted evidence, the TIME_WAIT series, and the
// run's warnings.
func lokiPipeline(t *testing.T, fl *filteringLoki, pre bool) (findings, series string, warns []string) {
	t.Helper()
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	pack := rules.Default()
	cfg := pipeline.Config{Registry: reg, Pack: pack, Inputs: []string{"-"}, Window: timeline.Window{
		Start: time.Date(2026, 5, 1, 4, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 1, 15, 0, 0, 0, time.UTC)}}
	if pre {
		cfg.Prefilter = prefilter.NewSet(prefilter.WantOf(pack))
	}
	o := lokiOptions{URL: fl.URL, LogQL: `{job=~".+"}`, Limit: 300, Timeout: 30 * time.Second, BackendLabel: "host"}
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard, IsTerminal: func() bool { return false }})
	if err := o.apply(d, &cfg, true); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var f strings.Builder
	for _, x := range res.Rules.Findings {
		fmt.Fprintf(&f, "%s %s %s %s..%s %s: %s\n", x.Rule, x.Case, x.Severity, x.Start.UTC().Format(time.RFC3339), x.End.UTC().Format(time.RFC3339), x.Backend, x.Summary)
		for _, e := range x.Evidence {
			fmt.Fprintf(&f, "  %s: %s\n", e.Role, e.Text)
		}
	}
	var sb strings.Builder
	for _, s := range res.Timeline.Series {
		if s.Metric != timeline.MetricTimeWait {
			continue
		}
		fmt.Fprintf(&sb, "%s:", s.Backend)
		for _, p := range s.Points(s.Span()) {
			fmt.Fprintf(&sb, " %s=%g", p.Time.UTC().Format("15:04:05"), p.Value)
		}
		sb.WriteString("\n")
	}
	return f.String(), sb.String(), res.Warnings
}

// TestPrefilterPushdownDefaultPack: the default pack (which uses TIME_WAIT)
// over the timewait-explosion fixture served by a fake Loki gives the same
// findings, quoted evidence and TIME_WAIT series with the filter pushed
// down as without it: the fake sees one count_over_time that finds the ss
// snapshot streams, each of them fetched whole by its own selector, and the
// filtered query. When the discovery finds nothing (as if the snapshot
// streams were not fetched whole), the TIME_WAIT series and the findings
// differ, so the comparison can fail.
func TestPrefilterPushdownDefaultPack(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "incidents", "timewait-explosion")
	flOff := newFilteringLoki(t, dir)
	offF, offS, _ := lokiPipeline(t, flOff, false)
	flOn := newFilteringLoki(t, dir)
	onF, onS, warns := lokiPipeline(t, flOn, true)
	if !strings.Contains(offS, "vm-a:") || !strings.Contains(offS, "vm-c:") || !strings.Contains(offF, "timewait") {
		t.Fatalf("nothing to compare: TIME_WAIT series\n%s\nfindings\n%s", offS, offF)
	}
	if onF != offF {
		t.Errorf("findings differ with the filter pushed down\n--- all lines\n%s\n--- pushed down\n%s", offF, onF)
	}
	if onS != offS {
		t.Errorf("TIME_WAIT series differ with the filter pushed down\n--- all lines\n%s\n--- pushed down\n%s", offS, onS)
	}
	for _, w := range warns {
		if strings.Contains(w, "line filter") || strings.Contains(w, "whole") {
			t.Errorf("warning: %s", w)
		}
	}
	var discover, filtered int
	whole := map[string]bool{}
	for _, q := range flOn.queries {
		switch {
		case strings.HasPrefix(q, "count_over_time("):
			discover++
		case strings.Contains(q, "|~ `(?i)"):
			filtered++
		default:
			whole[q] = true
		}
	}
	wantWhole := map[string]bool{}
	for _, h := range []string{"vm-a", "vm-b", "vm-c"} {
		wantWhole[fmt.Sprintf(`{filename="%s/ss-s.txt", job="%s"}`, h, h)] = true
	}
	if discover != 1 || filtered == 0 || !maps.Equal(whole, wantWhole) {
		t.Errorf("queries: %d discovery, %d filtered, whole %v; want 1, some, %v", discover, filtered, slices.Sorted(maps.Keys(whole)), slices.Sorted(maps.Keys(wantWhole)))
	}
	if flOn.served >= flOff.served {
		t.Errorf("pushed down, %d lines travelled; without, %d", flOn.served, flOff.served)
	}
	t.Logf("default pack: %d lines fetched without the filter, %d with it (%d requests)", flOff.served, flOn.served, len(flOn.queries))

	// Drop the whole fetch: the comparison must fail.
	flDrop := newFilteringLoki(t, dir)
	flDrop.noDiscovery = true
	dropF, dropS, _ := lokiPipeline(t, flDrop, true)
	if dropS == offS || dropF == offF {
		t.Errorf("without the snapshot streams fetched whole, the run still matched:\nseries %q\nfindings equal %v", dropS, dropF == offF)
	}
}
