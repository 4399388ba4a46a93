package loki

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzQueryRangeBody feeds arbitrary response bodies to the client: it must
// return an error or entries, never panic or loop.
func FuzzQueryRangeBody(f *testing.F) {
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"nginx"},"values":[["1714539600000000000","2026/05/01 14:02:03 [error] 2121#2121: *1 recv() failed (104: Connection reset by peer)"]]}]}}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["x","y"],["1","z"]]}]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		body.Store(b)
		c := &Client{URL: srv.URL, Limit: 1, Retries: 1, sleep: func(context.Context, time.Duration) error { return nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n := 0
		st, _ := c.QueryRange(ctx, `{job="x"}`, t0, t0.Add(time.Hour), func(map[string]string, Entry) error {
			n++
			return nil
		})
		if st.Pages > 1000 {
			t.Fatalf("%d pages for one fixed body", st.Pages)
		}
	})
}
