package loki

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 5, 0, 0, 0, time.UTC)

// entriesWithTies makes n lines over two streams, several sharing a
// nanosecond (so page boundaries fall inside a timestamp).
func entriesWithTies(n int) []fakeEntry {
	var es []fakeEntry
	for i := 0; i < n; i++ {
		job := "nginx"
		if i%3 == 0 {
			job = "haproxy"
		}
		es = append(es, fakeEntry{
			labels: map[string]string{"job": job},
			ts:     t0.UnixNano() + int64(i/4)*int64(time.Millisecond),
			line:   fmt.Sprintf("line %d", i),
		})
	}
	return es
}

func collect(t *testing.T, c *Client, start, end time.Time) ([]string, Stats, error) {
	t.Helper()
	var got []string
	st, err := c.QueryRange(context.Background(), `{job=~"nginx|haproxy"}`, start, end, func(ls map[string]string, e Entry) error {
		got = append(got, ls["job"]+" "+e.Line)
		return nil
	})
	return got, st, err
}

func TestQueryRangePagesEveryLineOnce(t *testing.T) {
	// Four lines share each millisecond: every limit above that must deliver
	// each line once, whatever the page boundaries.
	for _, limit := range []int{5, 6, 7, 9, 100, 5000} {
		es := entriesWithTies(50)
		f, srv := newFake(t, es)
		c := &Client{URL: srv.URL, Limit: limit, Tenant: "team-a", BearerToken: "s3cret"}
		got, st, err := collect(t, c, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		seen := map[string]int{}
		for _, g := range got {
			seen[g]++
		}
		for _, e := range es {
			k := e.labels["job"] + " " + e.line
			if seen[k] != 1 {
				t.Errorf("limit %d: %q delivered %d times", limit, k, seen[k])
			}
		}
		if len(got) != len(es) || st.Entries != len(es) {
			t.Errorf("limit %d: got %d entries (stats %d), want %d", limit, len(got), st.Entries, len(es))
		}
		if limit < len(es) && st.Pages < 2 {
			t.Errorf("limit %d: %d page(s)", limit, st.Pages)
		}
		for _, r := range f.reqs {
			if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("Authorization") != "Bearer s3cret" {
				t.Errorf("headers %v", r.Header)
				break
			}
		}
	}
}

// A page made entirely of one nanosecond (more lines at it than the limit)
// must not loop forever.
func TestQueryRangeSameNanosecondTerminates(t *testing.T) {
	var es []fakeEntry
	for i := 0; i < 10; i++ {
		es = append(es, fakeEntry{labels: map[string]string{"job": "nginx"}, ts: t0.UnixNano(), line: fmt.Sprint("l", i)})
	}
	es = append(es, fakeEntry{labels: map[string]string{"job": "nginx"}, ts: t0.UnixNano() + 5, line: "after"})
	_, srv := newFake(t, es)
	got, st, err := collect(t, &Client{URL: srv.URL, Limit: 4}, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pages > 10 || len(got) == 0 || got[len(got)-1] != "nginx after" || st.Crowded != 1 {
		t.Errorf("pages %d, got %v", st.Pages, got)
	}
}

func TestQueryRangeBasicAuth(t *testing.T) {
	f, srv := newFake(t, entriesWithTies(3))
	if _, _, err := collect(t, &Client{URL: srv.URL, User: "ops", Password: "pw"}, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	u, p, ok := f.reqs[0].BasicAuth()
	if !ok || u != "ops" || p != "pw" || f.reqs[0].Header.Get("X-Scope-OrgID") != "" {
		t.Errorf("basic auth %q %q %v, headers %v", u, p, ok, f.reqs[0].Header)
	}
}

func TestQueryRangeRetries(t *testing.T) {
	f, srv := newFake(t, entriesWithTies(8))
	f.fail = func(n int, w http.ResponseWriter) bool {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte("Ingestion rate limit exceeded"))
			return true
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		case 2:
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	var waits []time.Duration
	c := &Client{URL: srv.URL, Backoff: 100 * time.Millisecond, sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	got, st, err := collect(t, c, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 || st.Retries != 3 {
		t.Errorf("got %d lines, %d retries", len(got), st.Retries)
	}
	want := []time.Duration{3 * time.Second, 200 * time.Millisecond, 400 * time.Millisecond}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", waits, want)
	}

	// Always failing: gives up after Retries+1 attempts with the last error.
	f.fail = func(int, http.ResponseWriter) bool { return false }
	f2, srv2 := newFake(t, nil)
	f2.fail = func(_ int, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"status":"error","errorType":"internal","error":"rpc error: code = Unavailable"}`))
		return true
	}
	c = &Client{URL: srv2.URL, Retries: 2, sleep: func(context.Context, time.Duration) error { return nil }}
	_, _, err = collect(t, c, t0, t0.Add(time.Hour))
	var le *Error
	if !errors.As(err, &le) || le.Status != 500 || le.Msg != "rpc error: code = Unavailable" || len(f2.reqs) != 3 {
		t.Errorf("err = %v (requests %d)", err, len(f2.reqs))
	}
}

func TestQueryRangeErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"text 400", 400, "parse error at line 1, col 2: syntax error: unexpected IDENTIFIER\n", "loki: HTTP 400: parse error at line 1, col 2: syntax error: unexpected IDENTIFIER"},
		{"json 400", 400, `{"status":"error","errorType":"bad_data","error":"invalid query, through: start must be before end"}`, "loki: HTTP 400: invalid query, through: start must be before end"},
		{"401", 401, "no org id\n", "loki: HTTP 401: no org id"},
		{"matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"nginx"},"values":[[1714539600,"3"]]}]}}`, `loki: query returned "matrix", not log streams`},
		{"status error", 200, `{"status":"error","errorType":"timeout","error":"query timed out"}`, "loki: HTTP 200: timeout: query timed out"},
		{"not json", 200, `<html>proxy</html>`, "loki: decoding response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t, nil)
			f.fail = func(_ int, w http.ResponseWriter) bool {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
				return true
			}
			_, _, err := collect(t, &Client{URL: srv.URL, sleep: func(context.Context, time.Duration) error { return nil }}, t0, t0.Add(time.Hour))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
			if len(f.reqs) != 1 {
				t.Errorf("%d requests: a client error must not be retried", len(f.reqs))
			}
		})
	}
}

// A server that ignores start and answers the same full page forever must
// not keep the client paging.
func TestQueryRangeStopsWhenPagingCannotAdvance(t *testing.T) {
	f, srv := newFake(t, nil)
	f.fail = func(_ int, w http.ResponseWriter) bool {
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"nginx"},"values":[["%d","same line"]]}]}}`, t0.UnixNano())
		return true
	}
	got, st, err := collect(t, &Client{URL: srv.URL, Limit: 1}, t0, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "paging made no progress") {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 1 || st.Pages > 5 {
		t.Errorf("got %v in %d pages", got, st.Pages)
	}
}
