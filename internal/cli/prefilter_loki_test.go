package cli

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// filteringLoki is a fake Loki that, unlike lokiFixture, applies the
// `|~` line filters of the query (with Go's RE2, as Loki does) before the
// page limit, and records the queries and how many lines it served.
type filteringLoki struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	served  int
}

var lineFilter = regexp.MustCompile("\\|~ `([^`]*)`")

func newFilteringLoki(t *testing.T, dir string) *filteringLoki {
	t.Helper()
	type entry struct {
		labels map[string]string
		ts     int64
		line   string
	}
	base := time.Date(2026, 5, 1, 4, 0, 0, 0, time.UTC).UnixNano()
	var es []entry
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		ls := map[string]string{"job": parts[0], "filename": filepath.ToSlash(rel)}
		if len(parts) == 3 {
			ls["host"] = parts[1]
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for i := 0; sc.Scan(); i++ {
			es = append(es, entry{ls, base + int64(i)*int64(time.Millisecond), sc.Text()})
		}
		return nil
	})
	sort.SliceStable(es, func(i, j int) bool { return es[i].ts < es[j].ts })
	fl := &filteringLoki{}
	fl.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		query := q.Get("query")
		var filters []*regexp.Regexp
		for _, m := range lineFilter.FindAllStringSubmatch(query, -1) {
			re, err := regexp.Compile(m[1])
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte("parse error: " + err.Error()))
				return
			}
			filters = append(filters, re)
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
	lines:
		for _, e := range es {
			if e.ts < start || e.ts >= end || n == limit {
				continue
			}
			for _, re := range filters {
				if !re.MatchString(e.line) {
					continue lines
				}
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
// line. A run that uses TIME_WAIT (ss snapshots cannot be filtered) sends
// the query as given and says so.
func TestPrefilterPushedIntoLogQL(t *testing.T) {
	for _, tc := range []struct {
		fixture, pack string
		pushed        bool
	}{
		{"hard-cut", "hard-cut-without-drain.yaml", true},
		{"websocket-drain-stuck", "websocket-drain-stuck.yaml", true},
		{"timewait-explosion", "timewait-explosion.yaml", false},
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
			pushed := strings.Contains(flOn.queries[0], "|~ `(?i)")
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
