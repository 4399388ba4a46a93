package loki

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
)

// fakeEntry is one stored line of the fake Loki.
type fakeEntry struct {
	labels map[string]string
	ts     int64
	line   string
}

// fakeLoki answers GET /loki/api/v1/query_range like Loki does for a log
// query with direction=forward: the first `limit` entries with
// start <= ts < end over all streams, grouped into streams, in the
// documented shape {"status":"success","data":{"resultType":"streams",
// "result":[{"stream":{...},"values":[["<ns>","<line>"],...]}]}}.
type fakeLoki struct {
	t       *testing.T
	entries []fakeEntry // sorted by ts
	mu      sync.Mutex
	reqs    []*http.Request
	// fail, if set, answers instead of the data for the n-th request (0-based).
	fail func(n int, w http.ResponseWriter) bool
}

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	if r.URL.Path != "/loki/api/v1/query_range" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if f.fail != nil && f.fail(n, w) {
		return
	}
	q := r.URL.Query()
	if q.Get("direction") != "forward" {
		f.t.Errorf("direction = %q", q.Get("direction"))
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	if err1 != nil || err2 != nil || err3 != nil || q.Get("query") == "" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("invalid parameters"))
		return
	}
	type st struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	byKey := map[string]*st{}
	var order []string
	count := 0
	for _, e := range f.entries {
		if e.ts < start || e.ts >= end {
			continue
		}
		if count == limit {
			break
		}
		count++
		k := labelKey(e.labels)
		s := byKey[k]
		if s == nil {
			s = &st{Stream: e.labels}
			byKey[k] = s
			order = append(order, k)
		}
		s.Values = append(s.Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
	}
	sort.Strings(order)
	result := make([]*st, 0, len(order))
	for _, k := range order {
		result = append(result, byKey[k])
	}
	body := map[string]any{
		"status": "success",
		"data": map[string]any{
			"resultType": "streams",
			"result":     result,
			"stats":      map[string]any{"summary": map[string]any{"totalEntriesReturned": count}},
		},
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (f *fakeLoki) sortEntries() {
	sort.SliceStable(f.entries, func(i, j int) bool { return f.entries[i].ts < f.entries[j].ts })
}

func newFake(t *testing.T, entries []fakeEntry) (*fakeLoki, *httptest.Server) {
	f := &fakeLoki{t: t, entries: entries}
	f.sortEntries()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}
