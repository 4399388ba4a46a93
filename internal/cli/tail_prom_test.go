package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/promtest"
)

// fakeProm answers query_range like Prometheus: haproxy_server_current_sessions
// has one series for be_ws/vm-c at 1197 on every step; other queries are
// empty. It records the windows asked for.
type fakeProm struct {
	mu      sync.Mutex
	windows [][2]float64
	queries map[string]int
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	q := r.FormValue("query")
	start, _ := strconv.ParseFloat(r.FormValue("start"), 64)
	end, _ := strconv.ParseFloat(r.FormValue("end"), 64)
	step, err := strconv.ParseFloat(r.FormValue("step"), 64)
	if err != nil || step <= 0 || end < start {
		http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, 400)
		return
	}
	f.mu.Lock()
	if f.queries == nil {
		f.queries = map[string]int{}
	}
	f.queries[q]++
	if q == "haproxy_server_current_sessions" {
		f.windows = append(f.windows, [2]float64{start, end})
	}
	f.mu.Unlock()
	result := "[]"
	if q == "haproxy_server_current_sessions" {
		var vals []string
		for t := start; t <= end; t += step {
			vals = append(vals, `[`+strconv.FormatFloat(t, 'f', -1, 64)+`,"1197"]`)
		}
		result = `[{"metric":{"__name__":"haproxy_server_current_sessions","proxy":"be_ws","server":"vm-c"},"values":[` + strings.Join(vals, ",") + `]}]`
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":%s}}`, result)
}

// TestTailPollsPrometheus: tail polls --prometheus every --interval with
// the query set of analyze; each poll asks for the span since the previous
// one, and the samples reach the live status and the draft.
func TestTailPollsPrometheus(t *testing.T) {
	fp := &fakeProm{}
	srv := httptest.NewServer(fp)
	defer srv.Close()
	var out, errOut syncBuffer
	draft := filepath.Join(t.TempDir(), "d.json")
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	code := MainWith([]string{"tail", "--prometheus", srv.URL, "--interval", "1s", "--for", "3500ms",
		"--eval-every", "100ms", "--status-every", "100ms", "-o", draft, "--format", "json"}, d)
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	fp.mu.Lock()
	windows := append([][2]float64(nil), fp.windows...)
	nq := len(fp.queries)
	fp.mu.Unlock()
	if nq < 10 {
		t.Errorf("%d distinct queries sent, want the default set", nq)
	}
	if len(windows) < 3 {
		t.Fatalf("%d polls in 3.5s at --interval 1s", len(windows))
	}
	if w := windows[0]; w[1]-w[0] != promBackfill.Seconds() {
		t.Errorf("first poll spans %gs, want %gs", w[1]-w[0], promBackfill.Seconds())
	}
	for i := 1; i < len(windows); i++ {
		if windows[i][0] != windows[i-1][1] {
			t.Errorf("poll %d starts at %g, previous ended at %g", i, windows[i][0], windows[i-1][1])
		}
	}
	if !strings.Contains(out.String(), "status backend=vm-c") || !strings.Contains(out.String(), "active=1197") {
		t.Errorf("no status line with the polled sessions")
	}
	data, err := os.ReadFile(draft)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Sources []struct {
			Path    string `json:"path"`
			Format  string `json:"format"`
			Samples int64  `json:"samples"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range rep.Sources {
		if strings.HasPrefix(s.Path, "prometheus:") {
			found = true
			// The first poll gives 301 points (5m at 1s); later polls
			// add only points after the previous poll's end.
			if s.Format != "prometheus" || s.Samples < 301 || s.Samples > 301+int64(len(windows))*2 {
				t.Errorf("source %+v after %d polls", s, len(windows))
			}
		}
	}
	if !found {
		t.Errorf("no prometheus source in the draft: %.600s", data)
	}
	_ = time.Second
}

func TestTailPrometheusFlags(t *testing.T) {
	for _, args := range [][]string{
		{"tail", "--prometheus", "localhost:9090"},
		{"tail", "--prometheus", "http://127.0.0.1:9/", "--interval", "0s"},
	} {
		var out, errOut syncBuffer
		d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
		if code := MainWith(args, d); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestTailRealPrometheus runs a real prometheus (the Debian package) on a
// free loopback port scraping an exporter of this test every second, and
// checks that tail --prometheus shows the scraped sessions of vm-c.
func TestTailRealPrometheus(t *testing.T) {
	prom := promtest.Need(t, "prometheus")[0]
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "# TYPE haproxy_server_current_sessions gauge\n"+
			"haproxy_server_current_sessions{proxy=\"be_ws\",server=\"vm-c\"} 1197\n")
	}))
	defer exporter.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	target := strings.TrimPrefix(exporter.URL, "http://")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: haproxy\n    static_configs:\n      - targets: ['"+target+"']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := promtest.Start(t, prom, cfg, filepath.Join(dir, "data"))
	var out, errOut syncBuffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	code := MainWith([]string{"tail", "--prometheus", url, "--interval", "1s", "--for", "8s",
		"--eval-every", "100ms", "--status-every", "100ms"}, d)
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "status backend=vm-c") || !strings.Contains(out.String(), "active=1197") {
		t.Errorf("no status line with the scraped sessions")
	}
}
