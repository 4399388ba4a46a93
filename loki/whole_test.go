package loki

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/timeline"
)

func TestSplitSelector(t *testing.T) {
	for _, tc := range []struct {
		q, sel, rest string
		ok, filters  bool
	}{
		{`{job="x"}`, `{job="x"}`, ``, true, true},
		{`  {job=~"a|b}"} |= "x" |~ ` + "`a|b`" + ` != "|" !~ "q"`, `{job=~"a|b}"}`, ` |= "x" |~ ` + "`a|b`" + ` != "|" !~ "q"`, true, true},
		{`{job="a\"}"} | json`, `{job="a\"}"}`, ` | json`, true, false},
		{`{job="x"} |= "a" | line_format "{{.x}}"`, `{job="x"}`, ` |= "a" | line_format "{{.x}}"`, true, false},
		{`{job="x"} |`, `{job="x"}`, ` |`, true, false},
		{`{job="x"} |= "unterminated`, `{job="x"}`, ` |= "unterminated`, true, false},
		{`job="x"`, ``, ``, false, false},
		{`{job="x`, ``, ``, false, false},
		{"{job=`x}`}", "{job=`x}`}", ``, true, true},
	} {
		sel, rest, ok := splitSelector(tc.q)
		if sel != tc.sel || rest != tc.rest || ok != tc.ok {
			t.Errorf("splitSelector(%q) = %q, %q, %v; want %q, %q, %v", tc.q, sel, rest, ok, tc.sel, tc.rest, tc.ok)
		}
		if ok && onlyLineFilters(rest) != tc.filters {
			t.Errorf("onlyLineFilters(%q) = %v", rest, !tc.filters)
		}
	}
}

func TestStreamQuery(t *testing.T) {
	ls := map[string]string{"job": "ss", "host": "a\"b\\c\n\xff", "service.name": "x"}
	if got, want := streamQuery(ls, `{job=~".+"}`, ` |= "a"`), `{host="a\"b\\c\n\xff", job="ss"} |= "a"`; got != want {
		t.Errorf("streamQuery = %s, want %s", got, want)
	}
	if got, want := streamQuery(map[string]string{"a.b": "x"}, `{job=~".+"}`, ``), `{job=~".+"}`; got != want {
		t.Errorf("no nameable label: %s, want %s", got, want)
	}
	if got, want := labelFilterQuery(ls, `{job=~".+"}`, ` |= "a" `), `{job=~".+"} |= "a" | host="a\"b\\c\n\xff" | job="ss"`; got != want {
		t.Errorf("labelFilterQuery = %s, want %s", got, want)
	}
	if got := lineFilter("a`b"); got != ` |~ "a`+"`"+`b"` {
		t.Errorf("lineFilter = %s", got)
	}
}

// wholeFake is a Loki that answers count_over_time with the streams in
// found, and log queries with every entry whose labels include the
// equality matchers of the query's selector (=~ matchers match anything;
// line and label filters are ignored, so the filtered query returns the
// lines of the whole streams too). failWhole makes the fetch of a whole
// stream fail with 400.
type wholeFake struct {
	entries   []fakeEntry
	found     []map[string]string
	failWhole bool
	mu        sync.Mutex
	queries   []string
}

var eqMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")`)

func (f *wholeFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("query")
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if r.URL.Path == "/loki/api/v1/query" {
		var res []any
		for _, ls := range f.found {
			res = append(res, map[string]any{"metric": ls, "value": []any{1, "1"}})
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": res}})
		return
	}
	sel := q[:strings.IndexByte(q, '}')+1]
	want := map[string]string{}
	for _, m := range eqMatcher.FindAllStringSubmatch(sel, -1) {
		v, err := strconv.Unquote(m[2])
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		want[m[1]] = v
	}
	if f.failWhole && len(want) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"no"}`))
		return
	}
	byKey := map[string]*stream{}
	var order []string
	for _, e := range f.entries {
		ok := true
		for k, v := range want {
			ok = ok && e.labels[k] == v
		}
		if !ok {
			continue
		}
		k := labelKey(e.labels)
		if byKey[k] == nil {
			byKey[k] = &stream{Stream: e.labels}
			order = append(order, k)
		}
		byKey[k].Values = append(byKey[k].Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
	}
	var res []*stream
	for _, k := range order {
		res = append(res, byKey[k])
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": res}})
}

// TestSourceWhole: the stream found by the discovery is fetched by its own
// selector (its odd label value quoted), its lines are read once although
// the filtered query returns them too, and a stream with more labels that
// the selector also matches is read once, from the filtered query. When
// the discovery or a whole fetch fails, the query as given is sent alone,
// with a warning, and no line is read twice.
func TestSourceWhole(t *testing.T) {
	reg, _ := builtin.Registry()
	snap := map[string]string{"job": "ss", "host": `vm"a\`}
	wider := map[string]string{"job": "ss", "host": `vm"a\`, "extra": "1"}
	other := map[string]string{"job": "app"}
	var es []fakeEntry
	for i, l := range []string{"### 2026-05-01T05:00:00Z vm-a ss -s", "TCP:   3 (estab 1, closed 2, orphaned 0, timewait 7)", "", "sockets: used 3"} {
		es = append(es, fakeEntry{labels: snap, ts: t0.UnixNano() + int64(i), line: l})
		es = append(es, fakeEntry{labels: wider, ts: t0.UnixNano() + int64(i), line: l})
	}
	es = append(es, fakeEntry{labels: other, ts: t0.UnixNano() + 9, line: "2026-05-01T05:00:00Z level=error msg=x"})
	lines := func(srcs []timeline.Source) map[string]int64 {
		m := map[string]int64{}
		for _, s := range srcs {
			m[s.Path] = s.Lines
		}
		return m
	}
	want := map[string]int64{"loki:" + labelKey(snap): 4, "loki:" + labelKey(wider): 4, "loki:" + labelKey(other): 1}
	for _, tc := range []struct {
		name      string
		found     []map[string]string
		failWhole bool
		query     string
		warn      string
	}{
		{"whole", []map[string]string{snap}, false, `{job=~".+"} |~ "x"`, ""},
		{"whole fetch fails", []map[string]string{snap}, true, `{job=~".+"} |~ "x"`, "fetching the ss snapshot stream"},
		{"stages", []map[string]string{snap}, false, `{job=~".+"} | json`, "stages other than line filters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &wholeFake{entries: es, found: tc.found, failWhole: tc.failWhole}
			srv := httptest.NewServer(f)
			defer srv.Close()
			src := &Source{Client: &Client{URL: srv.URL}, Query: tc.query + " |~ `filtered`", Registry: reg,
				Window: timeline.Window{Start: t0, End: t0.Add(time.Minute)},
				Whole:  &Whole{Query: tc.query, Pattern: `^TCP:`}}
			_, srcs, warns, err := src.Run(context.Background(), time.UTC, timeline.Window{})
			if err != nil {
				t.Fatal(err)
			}
			got := lines(srcs)
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%s: %d lines, want %d (all %v)", k, got[k], n, got)
				}
			}
			if w := strings.Join(warns, "\n"); (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q, want one with %q", w, tc.warn)
			}
			last := f.queries[len(f.queries)-1]
			if tc.warn == "" {
				if exact := `{host="vm\"a\\", job="ss"} |~ "x"`; !strings.Contains(strings.Join(f.queries, "\n"), exact) {
					t.Errorf("no query %s in %q", exact, f.queries)
				}
				if !strings.HasSuffix(last, "|~ `filtered` !~ `^TCP:`") {
					t.Errorf("last query %s", last)
				}
			} else if last != tc.query {
				t.Errorf("after a failure the last query is %s, want the query as given", last)
			}
		})
	}
	// No count_over_time (the plain fake answers 404): the query as given.
	f, srv := newFake(t, es)
	src := &Source{Client: &Client{URL: srv.URL}, Query: `{job=~".+"} |~ "x"`, Registry: reg,
		Window: timeline.Window{Start: t0, End: t0.Add(time.Minute)}, Whole: &Whole{Query: `{job=~".+"}`, Pattern: `^TCP:`}}
	_, srcs, warns, err := src.Run(context.Background(), time.UTC, timeline.Window{})
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "finding the ss snapshot streams failed") {
		t.Fatalf("warnings %q, err %v", warns, err)
	}
	if got := lines(srcs); got["loki:"+labelKey(snap)] != 4 || len(f.reqs) != 2 || f.reqs[1].URL.Query().Get("query") != `{job=~".+"}` {
		t.Errorf("lines %v, %d requests", got, len(f.reqs))
	}
}
