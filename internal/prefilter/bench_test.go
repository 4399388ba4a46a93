package prefilter

import (
	"fmt"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/kv"
	"github.com/postmortem-tool/postmortem/parsers/nginx"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

type nopSink struct{}

func (nopSink) Event(timeline.Event)   {}
func (nopSink) Sample(timeline.Sample) {}

// errorLog returns n nginx error-log lines of a quiet day: client-side
// closes at info, buffering and missing-file warnings, and 1 line in 50 a
// reset or refused upstream.
func errorLog(n int) [][]byte {
	noise := []string{
		`[info] 1101#1101: *%d client 203.0.113.7 closed keepalive connection`,
		`[warn] 1101#1101: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 203.0.113.7, server: shop.example.com, request: "GET /api/v1/catalog HTTP/1.1", upstream: "http://10.0.0.3:8080/api/v1/catalog", host: "shop.example.com"`,
		`[error] 1101#1101: *%d open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 203.0.113.7, server: shop.example.com, request: "GET /favicon.ico HTTP/1.1", host: "shop.example.com"`,
		`[info] 1101#1101: *%d client prematurely closed connection while sending response to client, client: 203.0.113.7, server: shop.example.com`,
		`[warn] 1101#1101: *%d a client request body is buffered to a temporary file /var/cache/nginx/client_temp/0000000002, client: 203.0.113.7, server: shop.example.com, request: "POST /api/v1/upload HTTP/1.1", host: "shop.example.com"`,
	}
	signal := []string{
		`[error] 1101#1101: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: "GET /api/v1/cart HTTP/1.1", upstream: "http://10.0.0.3:8080/api/v1/cart", host: "shop.example.com"`,
		`[error] 1101#1101: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: "GET /api/v1/cart HTTP/1.1", upstream: "http://10.0.0.3:8080/api/v1/cart", host: "shop.example.com"`,
	}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		msg := noise[i%len(noise)]
		if i%50 == 49 {
			msg = signal[i/50%len(signal)]
		}
		out[i] = []byte(t0.Add(time.Duration(i)*100*time.Millisecond).Format("2006/01/02 15:04:05 ") + fmt.Sprintf(msg, 100000+i))
	}
	return out
}

// appLog returns n kv lines of an application: request and cache chatter,
// and 1 line in 50 a controller or deploy line.
func appLog(n int) [][]byte {
	noise := []string{
		`level=info msg="request served" path=/api/v1/cart status=200 duration_ms=12 user=4711`,
		`level=debug msg="cache hit" key=catalog:page:3 size=18342`,
		`level=info msg="scheduled job finished" job=cleanup items=12`,
		`level=warn msg="slow query" table=orders duration_ms=812`,
	}
	signal := []string{
		`level=info msg="backend removed from pool" backend=vm-c`,
		`level=info msg="ws stats" ws_sessions=1200 avg_age=2h11m`,
	}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		msg := noise[i%len(noise)]
		if i%50 == 49 {
			msg = signal[i/50%len(signal)]
		}
		out[i] = []byte("time=" + t0.Add(time.Duration(i)*100*time.Millisecond).Format(time.RFC3339) + " " + msg)
	}
	return out
}

// BenchmarkPrefilter parses an nginx error log and an application kv log
// with the default rules' prefilter and without, and matches the literals
// alone. lines/s is the figure to compare; skipped% says how many lines
// the prefilter kept from the parser.
func BenchmarkPrefilter(b *testing.B) {
	want := WantOf(rules.Default())
	for _, tc := range []struct {
		name  string
		f     parsers.Format
		lines [][]byte
	}{
		{"nginx-error", nginx.ErrorFormat(), errorLog(20000)},
		{"kv", kv.Format(), appLog(20000)},
	} {
		cfg := parsers.Config{Loc: time.UTC, Year: 2026, Path: "bench.log"}
		var bytesN int64
		for _, l := range tc.lines {
			bytesN += int64(len(l)) + 1
		}
		run := func(b *testing.B, p parsers.Parser) {
			b.SetBytes(bytesN)
			for i := 0; i < b.N; i++ {
				for j, l := range tc.lines {
					p.Parse(l, timeline.Pos{File: "bench.log", Line: int64(j + 1)}, nopSink{})
				}
			}
			b.ReportMetric(float64(len(tc.lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		}
		b.Run(tc.name+"/parse-all", func(b *testing.B) { run(b, tc.f.New(cfg)) })
		b.Run(tc.name+"/prefiltered", func(b *testing.B) {
			lits, _ := tc.f.(parsers.Prefilterable).Literals(want)
			p := &Parser{p: tc.f.New(cfg), m: NewMatcher(lits), skipped: map[string]*int64{}}
			run(b, p)
			b.ReportMetric(100*float64(*p.skipped["bench.log"])/float64(len(tc.lines)*b.N), "skipped%")
		})
		b.Run(tc.name+"/match-only", func(b *testing.B) {
			lits, _ := tc.f.(parsers.Prefilterable).Literals(want)
			m := NewMatcher(lits)
			b.SetBytes(bytesN)
			for i := 0; i < b.N; i++ {
				for _, l := range tc.lines {
					m.Match(l)
				}
			}
			b.ReportMetric(float64(len(tc.lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// Example-sized check that the benchmark inputs are what they claim: the
// signal lines emit and the prefilter skips most of the rest.
func TestBenchInputs(t *testing.T) {
	want := WantOf(rules.Default())
	for _, f := range []parsers.Format{nginx.ErrorFormat(), kv.Format()} {
		lines := errorLog(1000)
		if f.Name() == "kv" {
			lines = appLog(1000)
		}
		lits, _ := f.(parsers.Prefilterable).Literals(want)
		p := &Parser{p: f.New(parsers.Config{Loc: time.UTC, Year: 2026}), m: NewMatcher(lits), skipped: map[string]*int64{}}
		c := &countSink{}
		for j, l := range lines {
			if !p.Parse(l, timeline.Pos{File: "x", Line: int64(j + 1)}, c) {
				t.Fatalf("%s: line %d not recognised: %s", f.Name(), j+1, l)
			}
		}
		skipped := *p.skipped["x"]
		if c.n < 20 || skipped < 900 {
			t.Errorf("%s: %d signals, %d of 1000 lines skipped", f.Name(), c.n, skipped)
		}
	}
}

type countSink struct{ n int }

func (c *countSink) Event(timeline.Event)   { c.n++ }
func (c *countSink) Sample(timeline.Sample) { c.n++ }
