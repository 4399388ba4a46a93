package metrics

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

func TestSniff(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"status":"success","data":{"resultType":"matrix","result":[]}}`, FormatQueryRange},
		{"{\n  \"status\": \"success\",\n  \"data\": {\n    \"resultType\": \"matrix\"", FormatQueryRange},
		{`{"time":"2026-05-01T14:00:00Z","level":"info","msg":"data status"}`, ""},
		{"# HELP node_sockstat_TCP_tw x\n# TYPE node_sockstat_TCP_tw gauge\n", FormatText},
		{"time,metric,labels,value\n", FormatCSV},
		{"Time, Metric, Labels, Value\r\n", FormatCSV},
		{"2026/05/01 14:00:00 [error] 1#1: recv() failed", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("Sniff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseQueryRangeLabFile(t *testing.T) {
	f, err := os.Open("testdata/only/node_sockstat_TCP_tw.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raws, warns, err := ParseQueryRange(f)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v, warnings %v", err, warns)
	}
	if len(raws) != 1 || raws[0].Name != "node_sockstat_TCP_tw" || len(raws[0].Points) < 50 {
		t.Fatalf("got %d series, first %+v", len(raws), raws[0].Labels)
	}
	p := raws[0].Points
	if p[0].Time.Unix() != 1795467030 || p[0].Value != 1294 {
		t.Errorf("first point %v %v, want 1795467030 1294", p[0].Time.Unix(), p[0].Value)
	}
}

func TestParseQueryRangeErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
		warn    string
	}{
		{`{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`, "bad_data: parse error", ""},
		{`{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`, "result type", ""},
		{`{"status":"success","warnings":["too many samples"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"],[2,"3"],[3,"NaN"]]}]}}`, "", "prometheus warning: too many samples"},
		{`not json`, "not a Prometheus API answer", ""},
	}
	for _, tc := range tests {
		raws, warns, err := ParseQueryRange(strings.NewReader(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !strings.Contains(strings.Join(warns, "|"), tc.warn) {
			t.Errorf("%s: warnings %v, want %q", tc.in, warns, tc.warn)
		}
		if len(raws) != 1 || len(raws[0].Points) != 1 || raws[0].Points[0].Value != 3 {
			t.Errorf("%s: got %+v, want the one good point", tc.in, raws)
		}
	}
}

func TestParseText(t *testing.T) {
	in := `# HELP x y
# TYPE node_sockstat_TCP_tw gauge
node_sockstat_TCP_tw{instance="vm-a:9100",job="node"} 1200 1777644000
node_sockstat_TCP_tw{instance="vm-a:9100",job="node"} 1300 1777644005000
node_sockstat_TCP_tw{instance="vm-b:9100",job="node",note="a \"q\" b"} 7 1777644000.5 # {trace_id="1"} 1
no_timestamp 5
bad{ 1 2
# EOF
`
	raws, warns, err := ParseText(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 2 {
		t.Fatalf("got %d series: %+v", len(raws), raws)
	}
	a := raws[0]
	if a.Labels["instance"] != "vm-a:9100" || len(a.Points) != 2 || a.Points[1].Time.Unix() != 1777644005 || a.Points[1].Line != 4 {
		t.Errorf("series a: %+v", a)
	}
	if b := raws[1]; b.Labels["note"] != `a "q" b` || b.Points[0].Time.UnixMilli() != 1777644000500 {
		t.Errorf("series b: %+v", b)
	}
	if w := strings.Join(warns, "|"); !strings.Contains(w, "1 line(s) not in exposition") || !strings.Contains(w, "1 sample(s) without a timestamp") {
		t.Errorf("warnings %v", warns)
	}
}

func TestParseCSV(t *testing.T) {
	f, err := os.Open("testdata/tw.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raws, warns, err := ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 1 || len(raws[0].Points) != 3 || raws[0].Labels["host"] != "vm-a" {
		t.Fatalf("got %+v", raws)
	}
	if raws[0].Points[2].Value != 1190 || raws[0].Points[2].Line != 4 {
		t.Errorf("last point %+v", raws[0].Points[2])
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "1 row(s)") {
		t.Errorf("warnings %v", warns)
	}
}

func TestLoadQueries(t *testing.T) {
	yml := `
queries:
  - name: node_sockstat_TCP_tw
    query: node_sockstat_TCP_tw{job="node"}
    signal: timewait
    backend_labels: [instance]
    backends: {"10.0.0.5:9100": vm-a}
  - name: app_ws
    query: app_websocket_open_sessions
    signal: ws_sessions
`
	qs, err := LoadQueries("q.yaml", []byte(yml), DefaultQueries())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(DefaultQueries())+1 {
		t.Errorf("got %d queries, want defaults + 1", len(qs))
	}
	for _, q := range qs {
		if q.Name == "node_sockstat_TCP_tw" {
			if q.backend(map[string]string{"instance": "10.0.0.5:9100"}) != "vm-a" {
				t.Errorf("backend mapping not applied")
			}
		}
	}
	qs, err = LoadQueries("q.yaml", []byte("replace: true\n"+yml), DefaultQueries())
	if err != nil || len(qs) != 2 {
		t.Errorf("replace: %d queries, %v", len(qs), err)
	}
	for _, bad := range []string{"queries: [{name: x, query: y, signal: Bad-Name}]", "queries: [{query: y, signal: timewait}]", "queries: [{name: x, signal: timewait}]", "nope: 1"} {
		if _, err := LoadQueries("q.yaml", []byte(bad), nil); err == nil || !strings.HasPrefix(err.Error(), "q.yaml") {
			t.Errorf("%q: err %v, want an error naming the file", bad, err)
		}
	}
}

func TestBackendFromLabels(t *testing.T) {
	q := Query{}
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"server": "vm-c", "proxy": "be_app"}, "vm-c"},
		{map[string]string{"instance": "web-02:9100"}, "web-02"},
		{map[string]string{"instance": "10.0.0.5:9100"}, ""},
		{map[string]string{"instance": "localhost:9100"}, ""},
		{map[string]string{}, ""},
	} {
		if got := q.backend(tc.labels); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.labels, got, tc.want)
		}
	}
}

func TestCounterRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pts := []RawPoint{{Time: t0, Value: 10}, {Time: t0.Add(2 * time.Second), Value: 30}, {Time: t0.Add(4 * time.Second), Value: 4}}
	got := counterRate(pts)
	if len(got) != 2 || got[0].Value != 10 || got[1].Value != 2 {
		t.Errorf("got %+v, want rates 10 and 2 (reset)", got)
	}
}

// TestDegradedPrometheus: a Prometheus that is down, too slow or failing
// never fails the run; a warning names the failed queries.
func TestDegradedPrometheus(t *testing.T) {
	logs := timeline.Window{Start: time.Unix(1777644000, 0), End: time.Unix(1777644600, 0)}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"TSDB not ready"}`))
	}))
	defer failing.Close()
	badQuery := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"1:1: parse error"}`))
	}))
	defer badQuery.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct{ name, url, reason string }{
		{"down", down, "refused"},
		{"slow", slow.URL, "deadline"},
		{"5xx", failing.URL, "503"},
		{"bad query", badQuery.URL, "parse error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Source{Queries: DefaultQueries()[:3], Prom: &Prom{URL: tc.url, Timeout: 300 * time.Millisecond, QueryTimeout: 200 * time.Millisecond}}
			part, srcs, warns, err := s.Run(context.Background(), time.UTC, logs)
			if err != nil {
				t.Fatalf("Run error %v: a failing Prometheus must not fail the run", err)
			}
			if part == nil || len(srcs) != 1 {
				t.Fatalf("part %v, sources %v", part, srcs)
			}
			all := strings.Join(warns, "\n")
			if !strings.Contains(all, "3 of 3 queries failed") || !strings.Contains(all, "haproxy_server_current_sessions, haproxy_server_sessions_rate, haproxy_server_aborts_rate") {
				t.Errorf("warnings do not name the failed queries:\n%s", all)
			}
			if !strings.Contains(strings.ToLower(all+strings.Join(srcs[0].Warnings, "\n")), strings.ToLower(tc.reason)) {
				t.Errorf("warnings do not give the reason %q:\n%s\n%v", tc.reason, all, srcs[0].Warnings)
			}
		})
	}
}

func TestPromWindow(t *testing.T) {
	p := &Prom{}
	if _, err := p.Window(timeline.Window{}); err == nil {
		t.Error("no logs and no --from/--to: want an error")
	}
	logs := timeline.Window{Start: time.Unix(10000, 0), End: time.Unix(20000, 0)}
	w, err := p.Window(logs)
	if err != nil || w.Start.Unix() != 10000-900 || w.End.Unix() != 20000+900 {
		t.Errorf("got %v %v", w, err)
	}
	if AutoStep(3*time.Minute) != time.Second || AutoStep(24*time.Hour) != time.Minute {
		t.Errorf("AutoStep: %v %v", AutoStep(3*time.Minute), AutoStep(24*time.Hour))
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/tw.csv", "testdata/timewait.om", "testdata/only/haproxy_server_current_sessions.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []string{FormatQueryRange, FormatText, FormatCSV} {
			raws, _, _ := Parse(format, strings.NewReader(string(b)))
			for _, r := range raws {
				for i := 1; i < len(r.Points); i++ {
					if r.Points[i].Time.Before(r.Points[i-1].Time) {
						t.Fatalf("%s: points not sorted", format)
					}
				}
			}
		}
	})
}
