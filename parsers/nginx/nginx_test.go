package nginx

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustRead(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden parses testdata/<name>.log with f and compares the JSON of what it
// emitted with testdata/<name>.golden.
func golden(t *testing.T, f parsers.Format, name string) {
	t.Helper()
	cfg := parsertest.DefaultConfig()
	cfg.Backend = "vm-a"
	cfg.Loc = time.FixedZone("KST", 9*3600)
	t.Run(name, func(t *testing.T) {
		parsertest.GoldenFile(t, f, cfg, filepath.Join("testdata", name+".log"), *update)
	})
}

func TestGolden(t *testing.T) {
	golden(t, AccessFormat(), "access")
	golden(t, ErrorFormat(), "error")
	lf, err := NewAccessFormat("custom", combinedExtras)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, lf, "custom")
}

func TestConformance(t *testing.T) {
	t.Run("access", func(t *testing.T) { parsertest.Run(t, AccessFormat(), mustRead(t, "access.log")) })
	t.Run("error", func(t *testing.T) { parsertest.Run(t, ErrorFormat(), mustRead(t, "error.log")) })
	t.Run("log_format", func(t *testing.T) {
		lf, err := NewAccessFormat("custom", combinedExtras)
		if err != nil {
			t.Fatal(err)
		}
		parsertest.Run(t, lf, mustRead(t, "custom.log"))
	})
}

func feedOne(t *testing.T, f parsers.Format, line string) (*parsertest.Recorder, bool) {
	t.Helper()
	cfg := parsertest.DefaultConfig()
	cfg.Backend = "vm-c"
	p := f.New(cfg)
	rec := &parsertest.Recorder{}
	ok := p.Parse([]byte(line), timeline.Pos{File: "x", Line: 1}, rec)
	parsers.Flush(p, rec)
	return rec, ok
}

func metrics(rec *parsertest.Recorder) string {
	var m []string
	for _, s := range rec.Samples {
		m = append(m, string(s.Metric))
	}
	return strings.Join(m, ",")
}

func TestAccessLines(t *testing.T) {
	const pre = `42.244.197.183 - - [01/May/2026:06:25:16 +0900] "GET /x HTTP/2.0" `
	const ua = ` "https://shop.example.com/" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X)"`
	tests := []struct {
		name    string
		line    string
		ok      bool
		metrics string
		status  string // "" = no event
		uct     float64
	}{
		{"ok no upstream", pre + `304 0` + ua + ` rt=0.001 uct=- urt=- us=- ua=-`, true, "http_requests", "", 0},
		{"ok upstream", pre + `200 10` + ua + ` rt=0.037 uct=0.250 urt=0.036 us=200 ua=10.0.0.3:8080`, true, "http_requests,upstream_connect_seconds_sum", "", 0.25},
		{"404", pre + `404 10` + ua + ` rt=0.001 uct=- urt=- us=- ua=-`, true, "http_requests,http_4xx", "", 0},
		{"502 from upstream", pre + `502 10` + ua + ` rt=0.037 uct=0.000 urt=0.036 us=502 ua=10.0.0.3:8080`, true, "http_requests,upstream_5xx,upstream_connect_seconds_sum", "502", 0},
		{"retries", pre + `502 10` + ua + ` rt=0.037 uct=0.001, 0.002 : 0.003 urt=0.036, 0.1 : 0.2 us=200, 502 : 504 ua=10.0.0.3:8080, 10.0.0.1:8080 : 10.0.0.2:8080`, true, "http_requests,upstream_5xx,upstream_connect_seconds_sum", "502", 0.006},
		{"quoted extras", pre + `504 10` + ua + ` rt=60.001 uct="-" us="504"`, true, "http_requests,upstream_5xx", "504", 0},
		{"plain combined", pre + `500 10` + ua, true, "http_requests", "500", 0},
		{"common", pre + `200 10`, true, "http_requests", "", 0},
		{"escaped request", `1.2.3.4 - - [01/May/2026:16:16:47 +0900] "\x16\x03\x01" 400 157 "-" "-"`, true, "http_requests,http_4xx", "", 0},
		{"bad status", pre + `2x0 10` + ua, false, "", "", 0},
		{"bad month", strings.Replace(pre, "May", "Mai", 1) + `200 10` + ua, false, "", "", 0},
		{"bad zone", strings.Replace(pre, "+0900", "+09xx", 1) + `200 10` + ua, false, "", "", 0},
		{"error log line", `2026/05/01 06:25:00 [notice] 1100#1100: reopening logs`, false, "", "", 0},
		{"truncated", pre[:30], false, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, ok := feedOne(t, AccessFormat(), tc.line)
			if ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			if got := metrics(rec); got != tc.metrics {
				t.Errorf("metrics = %q, want %q", got, tc.metrics)
			}
			for _, s := range rec.Samples {
				if s.Metric == timeline.MetricConnectSum && (s.Value < tc.uct-1e-9 || s.Value > tc.uct+1e-9) {
					t.Errorf("connect sum = %v, want %v", s.Value, tc.uct)
				}
				if s.Backend != "vm-c" {
					t.Errorf("backend = %q", s.Backend)
				}
			}
			if tc.status == "" && len(rec.Events) != 0 || tc.status != "" && (len(rec.Events) != 1 || rec.Events[0].Attr("status") != tc.status) {
				t.Errorf("events = %+v, want status %q", rec.Events, tc.status)
			}
			if tc.ok {
				want := time.Date(2026, 5, 1, 6, 25, 16, 0, time.FixedZone("", 9*3600))
				if tc.name == "escaped request" {
					want = time.Date(2026, 5, 1, 16, 16, 47, 0, time.FixedZone("", 9*3600))
				}
				if !rec.Samples[0].Time.Equal(want) {
					t.Errorf("time = %v, want %v", rec.Samples[0].Time, want)
				}
				if _, off := rec.Samples[0].Time.Zone(); off != 9*3600 {
					t.Errorf("zone offset = %d", off)
				}
			}
		})
	}
}

func TestAccessMinuteCache(t *testing.T) {
	p := AccessFormat().New(parsertest.DefaultConfig())
	rec := &parsertest.Recorder{}
	lines := []string{
		`1.2.3.4 - - [01/May/2026:06:25:59 +0900] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/May/2026:06:25:07 +0900] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/May/2026:06:25:07 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/May/2026:06:26:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/May/2026:06:26:6x +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
	}
	for i, l := range lines {
		p.Parse([]byte(l), timeline.Pos{File: "x", Line: int64(i + 1)}, rec)
	}
	parsers.Flush(p, rec)
	want := []string{"2026-04-30T21:25:59Z", "2026-04-30T21:25:07Z", "2026-05-01T06:25:07Z", "2026-05-01T06:26:00Z"}
	if len(rec.Samples) != len(want) {
		t.Fatalf("got %d samples, want %d", len(rec.Samples), len(want))
	}
	for i, w := range want {
		if got := rec.Samples[i].Time.UTC().Format(time.RFC3339); got != w {
			t.Errorf("line %d: %s, want %s", i+1, got, w)
		}
	}
}

func TestAccessHints(t *testing.T) {
	h, ok := AccessFormat().Hints([]byte(accessExample))
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v, %v", h, ok)
	}
	if _, ok := AccessFormat().Hints([]byte("garbage")); ok {
		t.Error("hints from garbage")
	}
}

func TestAccessAllocs(t *testing.T) {
	p := AccessFormat().New(parsertest.DefaultConfig())
	lines := strings.Split(strings.TrimSpace(mustRead(t, "access.log")), "\n")
	var ok []string
	for _, l := range lines {
		if !strings.Contains(l, `" 5`) {
			ok = append(ok, l)
		}
	}
	var bs [][]byte
	for _, l := range ok {
		bs = append(bs, []byte(l))
	}
	var sink discard
	n := testing.AllocsPerRun(100, func() {
		for i, l := range bs {
			p.Parse(l, timeline.Pos{File: "x", Line: int64(i)}, sink)
		}
	})
	if n > 0 {
		t.Errorf("%v allocations per %d ordinary lines", n, len(ok))
	}
}

type discard struct{}

func (discard) Event(timeline.Event)   {}
func (discard) Sample(timeline.Sample) {}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		ok    bool
		kind  timeline.Kind
		attrs map[string]string
	}{
		{"reset upstream", `2026/05/01 14:02:05 [error] 1101#1101: *100072 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://10.0.0.3:8080/x?y(1: 2)", host: "s"`,
			true, timeline.KindConnReset, map[string]string{"errno": "104", "upstream": "10.0.0.3:8080", "context": "reading response header from upstream"}},
		{"reset ws", `2026/05/01 14:02:05 [error] 1101#1101: *7 recv() failed (104: Connection reset by peer) while proxying upgraded connection, client: 1.2.3.4, server: s`,
			true, timeline.KindConnReset, map[string]string{"errno": "104", "context": "proxying upgraded connection"}},
		{"broken pipe", `2026/05/01 14:02:05 [error] 1101#1101: *7 writev() failed (32: Broken pipe) while sending request to upstream, client: 1.2.3.4`,
			true, timeline.KindConnReset, map[string]string{"errno": "32", "context": "sending request to upstream"}},
		{"refused", `2026/05/01 14:02:05 [error] 1101#1101: *7 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, upstream: "http://10.0.0.3:8080/healthz"`,
			true, timeline.KindUpstreamError, map[string]string{"errno": "111", "reason": "refused", "upstream": "10.0.0.3:8080", "context": "connecting to upstream"}},
		{"timeout", `2026/05/01 14:02:05 [error] 1101#1101: *7 upstream timed out (110: Connection timed out) while connecting to upstream, client: 1.2.3.4`,
			true, timeline.KindUpstreamError, map[string]string{"errno": "110", "reason": "timeout", "context": "connecting to upstream"}},
		{"premature", `2026/05/01 14:02:05 [error] 1101#1101: *7 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4`,
			true, timeline.KindUpstreamError, map[string]string{"reason": "premature", "context": "reading response header from upstream"}},
		{"no live", `2026/05/01 14:02:05 [error] 1101#1101: *7 no live upstreams while connecting to upstream, client: 1.2.3.4, upstream: "http://be_app/"`,
			true, timeline.KindUpstreamError, map[string]string{"reason": "no_live_upstreams", "upstream": "be_app", "context": "connecting to upstream"}},
		{"no route", `2026/05/01 14:02:05 [error] 1101#1101: *7 connect() failed (113: No route to host) while connecting to upstream, client: 1.2.3.4`,
			true, timeline.KindUpstreamError, map[string]string{"errno": "113", "reason": "unreachable", "context": "connecting to upstream"}},
		{"port exhaustion", `2026/05/01 14:02:05 [crit] 1101#1101: *7 connect() to 10.0.0.2:8080 failed (99: Cannot assign requested address) while connecting to upstream, client: 1.2.3.4`,
			true, timeline.KindUpstreamError, map[string]string{"errno": "99", "reason": "port_exhaustion", "context": "connecting to upstream"}},
		{"client reset at info", `2026/05/01 14:02:05 [info] 1101#1101: *7 recv() failed (104: Connection reset by peer) while reading client request line, client: 1.2.3.4`,
			true, "", nil},
		{"reopen", `2026/05/01 14:02:05 [notice] 1100#1100: signal 10 (SIGUSR1) received from 40528, reopening logs`, true, "", nil},
		{"graceful", `2026/05/01 14:02:05 [notice] 1108#1108: gracefully shutting down`, true, "", nil},
		{"reload", `2026/05/01 14:02:05 [notice] 1107#1107: signal 1 (SIGHUP) received from 48709, reconfiguring`, true, timeline.KindConfigReload, map[string]string{"program": "nginx"}},
		{"signal process", `2026/05/01 14:02:05 [notice] 4242#4242: signal process started`, true, timeline.KindConfigReload, map[string]string{"program": "nginx"}},
		{"404", `2026/05/01 14:02:05 [error] 1101#1101: *1 open() "/x" failed (2: No such file or directory), client: 1.2.3.4`, true, "", nil},
		{"bad level", `2026/05/01 14:02:05 [oops] 1101#1101: hi`, false, "", nil},
		{"bad date", `2026/13/01 14:02:05 [error] 1101#1101: hi`, false, "", nil},
		{"access line", accessExample, false, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, ok := feedOne(t, ErrorFormat(), tc.line)
			if ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			if tc.kind == "" {
				if len(rec.Events) != 0 {
					t.Fatalf("unexpected events %+v", rec.Events)
				}
				return
			}
			if len(rec.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(rec.Events))
			}
			e := rec.Events[0]
			if e.Kind != tc.kind || e.Backend != "vm-c" || e.Text != tc.line {
				t.Errorf("event %+v", e)
			}
			if len(e.Attrs) != len(tc.attrs) {
				t.Errorf("attrs = %v, want %v", e.Attrs, tc.attrs)
			}
			for k, v := range tc.attrs {
				if e.Attrs[k] != v {
					t.Errorf("attr %s = %q, want %q", k, e.Attrs[k], v)
				}
			}
			if want := time.Date(2026, 5, 1, 14, 2, 5, 0, time.UTC); !e.Time.Equal(want) {
				t.Errorf("time %v", e.Time)
			}
		})
	}
}

func TestErrorReloadFolding(t *testing.T) {
	lines := `2026/05/01 18:10:00 [notice] 4242#4242: signal process started
2026/05/01 18:10:00 [notice] 1107#1107: signal 1 (SIGHUP) received from 4242, reconfiguring
2026/05/01 18:10:01 [notice] 1107#1107: reconfiguring
2026/05/01 18:30:00 [notice] 1107#1107: signal 1 (SIGHUP) received from 4250, reconfiguring
2026/05/01 18:30:00 [notice] 1107#1107: reconfiguring
`
	rec, rej := parsertest.Feed(ErrorFormat().New(parsertest.DefaultConfig()), "e", lines)
	if rej != 0 || len(rec.Events) != 2 {
		t.Fatalf("rejected %d, events %d, want 0 and 2", rej, len(rec.Events))
	}
	if rec.Events[0].Pos.Line != 1 || rec.Events[1].Pos.Line != 4 {
		t.Errorf("reloads at lines %d and %d", rec.Events[0].Pos.Line, rec.Events[1].Pos.Line)
	}
}

func TestErrorLocalZone(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Loc = time.FixedZone("KST", 9*3600)
	rec, _ := parsertest.Feed(ErrorFormat().New(cfg), "e", errorExample+"\n")
	if len(rec.Events) != 1 || rec.Events[0].Time.UTC().Format(time.RFC3339) != "2026-05-01T05:02:05Z" {
		t.Fatalf("events %+v", rec.Events)
	}
}

func TestErrorBody(t *testing.T) {
	p := ErrorFormat().New(parsertest.DefaultConfig()).(parsers.BodyParser)
	env := parsers.Envelope{Time: time.Date(2026, 5, 1, 14, 2, 6, 0, time.UTC), Host: "vm-b", Program: "nginx"}
	for _, body := range []string{
		`2026/05/01 14:02:05 [error] 1101#1101: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4`,
		`[error] 1101#1101: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4`,
	} {
		env.Line = []byte("<11>May  1 14:02:06 vm-b nginx: " + body)
		rec := &parsertest.Recorder{}
		if !p.ParseBody([]byte(body), env, timeline.Pos{File: "s", Line: 3}, rec) {
			t.Fatalf("ParseBody rejected %q", body)
		}
		if len(rec.Events) != 1 || rec.Events[0].Backend != "vm-b" || rec.Events[0].Text != string(env.Line) || rec.Events[0].Attr("reason") != "refused" {
			t.Fatalf("events %+v", rec.Events)
		}
	}
	if p.ParseBody([]byte("hello"), env, timeline.Pos{}, &parsertest.Recorder{}) {
		t.Error("ParseBody took a non-nginx body")
	}
}

func TestDetect(t *testing.T) {
	a, e := AccessFormat(), ErrorFormat()
	if a.Detect([]byte(errorExample)) != 0 || e.Detect([]byte(accessExample)) != 0 {
		t.Error("formats claim each other's lines")
	}
	if a.Detect([]byte(accessExample)) < 80 || e.Detect([]byte(errorExample)) < 80 {
		t.Error("formats do not claim their own lines")
	}
}

const combinedExtras = `log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent" rt=$request_time uct="$upstream_connect_time" us=$upstream_status ua=$upstream_addr';`

func TestNewAccessFormat(t *testing.T) {
	tests := []struct {
		name, format, line string
		metrics, status    string
		time               string
	}{
		{"combined+extras", combinedExtras,
			`1.2.3.4 - - [01/May/2026:14:02:05 +0900] "GET / HTTP/1.1" 502 157 "-" "curl/8" rt=0.010 uct="0.001, 0.002" us=502, 502 ua=10.0.0.3:8080, 10.0.0.1:8080`,
			"http_requests,upstream_5xx,upstream_connect_seconds_sum", "502", "2026-05-01T05:02:05Z"},
		{"iso8601 bare", `$time_iso8601|$host|$status|$upstream_status`,
			`2026-05-01T14:02:05+09:00|shop.example.com|404|-`, "http_requests,http_4xx", "", "2026-05-01T05:02:05Z"},
		{"msec braces", `"${msec} $status ${upstream_connect_time}"`,
			`1777611725.500 200 0.300`, "http_requests,upstream_connect_seconds_sum", "", "2026-05-01T05:02:05.5Z"},
		{"double quoted, escaped", `log_format q escape=json "{\"t\":\"$time_local\",\"s\":$status}";`,
			`{"t":"01/May/2026:14:02:05 +0900","s":503}`, "http_requests", "503", "2026-05-01T05:02:05Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewAccessFormat("x", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if f.Detect([]byte(f.Example())) < parsers.MinScore {
				t.Errorf("example %q not detected", f.Example())
			}
			rec, ok := feedOne(t, f, tc.line)
			if !ok {
				t.Fatalf("rejected %q", tc.line)
			}
			if got := metrics(rec); got != tc.metrics {
				t.Errorf("metrics = %q, want %q", got, tc.metrics)
			}
			if got := rec.Samples[0].Time.UTC().Format(time.RFC3339Nano); got != tc.time {
				t.Errorf("time = %s, want %s", got, tc.time)
			}
			if tc.status == "" && len(rec.Events) != 0 || tc.status != "" && (len(rec.Events) != 1 || rec.Events[0].Attr("status") != tc.status) {
				t.Errorf("events = %+v, want status %q", rec.Events, tc.status)
			}
			if _, ok := feedOne(t, f, tc.line[:len(tc.line)/2]); ok {
				t.Error("accepted a truncated line")
			}
		})
	}
}

func TestNewAccessFormatErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{`'$time_local $status`, "log_format:1:21: expected closing ' to match the one at column 1"},
		{"log_format main '$time_local'\n  '$status\n", "log_format:3:1: expected closing '"},
		{`'$remote_addr $status'`, "log_format:1:23: expected a time variable"},
		{`'$time_local $body_bytes_sent'`, "log_format:1:31: expected a $status variable"},
		{`'$time_local $status$body_bytes_sent'`, "log_format:1:21: expected a literal separator between $status and $body_bytes_sent"},
		{`'$time_local $ status'`, "log_format:1:14: expected a variable name"},
		{`'${time_local $status'`, "log_format:1:2: expected } to close"},
		{`log_format`, "log_format:1:11: expected a format name"},
		{``, "log_format:1:1: expected a format string"},
		{`'$time_local $status'; x`, "log_format:1:24: expected end of log_format"},
	}
	for _, tc := range tests {
		_, err := NewAccessFormat("x", tc.format)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("NewAccessFormat(%q) error = %v, want prefix %q", tc.format, err, tc.want)
		}
	}
}

func FuzzAccess(f *testing.F) {
	for _, l := range strings.Split(mustRead(f, "access.log"), "\n") {
		f.Add(l)
	}
	lf, err := NewAccessFormat("x", combinedExtras)
	if err != nil {
		f.Fatal(err)
	}
	a := AccessFormat()
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range []parsers.Format{a, lf} {
			rec := &parsertest.Recorder{}
			p := fm.New(parsertest.DefaultConfig())
			ok := p.Parse([]byte(line), timeline.Pos{File: "f", Line: 1}, rec)
			parsers.Flush(p, rec)
			if !ok && len(rec.Events)+len(rec.Samples) > 0 {
				t.Fatal("rejected line emitted")
			}
			if ok && (len(rec.Samples) == 0 || rec.Samples[0].Metric != timeline.MetricRequests) {
				t.Fatal("accepted line without a request sample")
			}
			fm.Detect([]byte(line))
			fm.Hints([]byte(line))
		}
	})
}

func FuzzError(f *testing.F) {
	for _, l := range strings.Split(mustRead(f, "error.log"), "\n") {
		f.Add(l)
	}
	e := ErrorFormat()
	f.Fuzz(func(t *testing.T, line string) {
		p := e.New(parsertest.DefaultConfig())
		rec := &parsertest.Recorder{}
		ok := p.Parse([]byte(line), timeline.Pos{File: "f", Line: 1}, rec)
		if !ok && len(rec.Events) > 0 {
			t.Fatal("rejected line emitted")
		}
		for _, ev := range rec.Events {
			if ev.Text != line || ev.Time.IsZero() {
				t.Fatalf("bad event %+v", ev)
			}
		}
		p.(parsers.BodyParser).ParseBody([]byte(line), parsers.Envelope{Time: time.Unix(1, 0)}, timeline.Pos{}, rec)
	})
}

func FuzzLogFormat(f *testing.F) {
	f.Add(combinedExtras)
	f.Add(`$time_iso8601|$status`)
	f.Add(`"${msec} $status"`)
	f.Fuzz(func(t *testing.T, format string) {
		lf, err := NewAccessFormat("x", format)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "log_format:") {
				t.Fatalf("error %q lacks a position", err)
			}
			return
		}
		lf.Detect([]byte(lf.Example()))
		lf.New(parsertest.DefaultConfig()).Parse([]byte(lf.Example()), timeline.Pos{}, discard{})
	})
}

// BenchmarkAccess parses corpus-like combined lines with upstream fields.
func BenchmarkAccess(b *testing.B) {
	benchFormat(b, AccessFormat())
}

// BenchmarkLogFormat parses the same lines with a compiled log_format.
func BenchmarkLogFormat(b *testing.B) {
	lf, err := NewAccessFormat("x", combinedExtras)
	if err != nil {
		b.Fatal(err)
	}
	benchFormat(b, lf)
}

func benchFormat(b *testing.B, f parsers.Format) {
	// Corpus-like mix: the ordinary lines of testdata/custom.log (which both
	// formats read), with one 5xx line in 200.
	var ok, bad [][]byte
	for _, l := range strings.Split(mustRead(b, "custom.log"), "\n") {
		switch {
		case l == "":
		case strings.Contains(l, `" 5`):
			bad = append(bad, []byte(l))
		default:
			ok = append(ok, []byte(l))
		}
	}
	var lines [][]byte
	total := 0
	for i := 0; i < 2000; i++ {
		l := ok[i%len(ok)]
		if i%200 == 199 {
			l = bad[i%len(bad)]
		}
		lines = append(lines, l)
		total += len(l) + 1
	}
	p := f.New(parsertest.DefaultConfig())
	var sink discard
	b.SetBytes(int64(total))
	b.ReportAllocs()
	rej := 0
	for b.Loop() {
		for i, l := range lines {
			if !p.Parse(l, timeline.Pos{File: "b", Line: int64(i)}, sink) {
				rej++
			}
		}
	}
	if rej > 0 {
		b.Fatalf("%d lines rejected", rej)
	}
}

// TestAccessSecondSums checks that an access parser sums each second's
// samples per metric, keeps the first line counted for each metric (not
// the second's first line), starts a new sum when the second changes, even
// back to an earlier one, and emits events at once.
func TestAccessSecondSums(t *testing.T) {
	lines := []string{
		`1.2.3.4 - - [01/May/2026:06:25:07 +0000] "GET / HTTP/1.1" 200 1 "-" "-" uct=0.010`,
		`1.2.3.4 - - [01/May/2026:06:25:07 +0000] "GET / HTTP/1.1" 404 1 "-" "-" uct=0.020`,
		`1.2.3.4 - - [01/May/2026:06:25:07 +0000] "GET / HTTP/1.1" 502 1 "-" "-" us=502 ua=10.0.0.3:8080`,
		`1.2.3.4 - - [01/May/2026:06:25:08 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/May/2026:06:25:07 +0000] "GET / HTTP/1.1" 404 1 "-" "-"`,
	}
	p := AccessFormat().New(parsertest.DefaultConfig())
	rec := &parsertest.Recorder{}
	for i, l := range lines {
		if !p.Parse([]byte(l), timeline.Pos{File: "x", Line: int64(i + 1)}, rec) {
			t.Fatalf("line %d rejected", i+1)
		}
	}
	if len(rec.Events) != 1 || rec.Events[0].Pos.Line != 3 {
		t.Fatalf("events before Flush: %+v, want the 502 at once", rec.Events)
	}
	if len(rec.Samples) != 5 {
		t.Fatalf("%d samples before Flush, want the two closed seconds' 5", len(rec.Samples))
	}
	parsers.Flush(p, rec)
	var got []string
	for _, s := range rec.Samples {
		got = append(got, fmt.Sprintf("%s %s %g n=%d line=%d", s.Time.UTC().Format("15:04:05"), s.Metric, s.Value, s.Observations(), s.Pos.Line))
	}
	want := []string{
		"06:25:07 http_requests 3 n=3 line=1",
		"06:25:07 http_4xx 1 n=1 line=2",
		"06:25:07 upstream_5xx 1 n=1 line=3",
		"06:25:07 upstream_connect_seconds_sum 0.03 n=2 line=1",
		"06:25:08 http_requests 1 n=1 line=4",
		"06:25:07 http_requests 1 n=1 line=5",
		"06:25:07 http_4xx 1 n=1 line=5",
	}
	if !slices.Equal(got, want) {
		t.Errorf("samples:\n got %q\nwant %q", got, want)
	}
	parsers.Flush(p, rec)
	if len(rec.Samples) != len(want) {
		t.Errorf("a second Flush emitted %d more samples", len(rec.Samples)-len(want))
	}
}
