package haproxy

import (
	"flag"
	"os"
	"path/filepath"
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

func TestGolden(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Loc = time.FixedZone("KST", 9*3600)
	parsertest.Golden(t, Format(), cfg, *update)
}

func TestConformance(t *testing.T) {
	parsertest.Run(t, Format(), mustRead(t, "haproxy.log"))
}

type want struct {
	kind    timeline.Kind
	backend string
	attrs   map[string]string
}

func TestLines(t *testing.T) {
	const env = "May  1 14:02:02 lb01 haproxy[2345]: "
	tests := []struct {
		name string
		line string
		ok   bool
		want []want
	}{
		{"tcplog SD", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_ws be_ws/vm-c 1/0/2708055 180927 SD 5235/5205/5195/1695/0 0/0`, true,
			[]want{{timeline.KindAbortedSession, "vm-c", map[string]string{"flags": "SD", "pool": "be_ws"}}}},
		{"tcplog normal", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_ws be_ws/vm-c 1/0/2708055 180927 -- 5235/5205/5195/1695/0 0/0`, true, nil},
		{"httplog 502", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_https~ be_app/vm-b 0/0/0/65/66 502 337 - - ---- 2097/2067/2047/659/0 0/0 "GET / HTTP/1.1"`, true,
			[]want{{timeline.KindHTTPError, "vm-b", map[string]string{"status": "502", "pool": "be_app"}}}},
		{"httplog CD -1", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_https~ be_app/vm-a 0/0/0/-1/45 -1 180 - - CD-- 4056/4026/4006/1312/0 0/0 "POST / HTTP/1.1"`, true,
			[]want{{timeline.KindAbortedSession, "vm-a", map[string]string{"flags": "CD--", "pool": "be_app"}}, {timeline.KindHTTPError, "vm-a", map[string]string{"status": "-1", "pool": "be_app"}}}},
		{"httplog captures", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_https~ be_app/vm-a 0/0/0/5/6 200 180 - - ---- 1/1/1/1/0 0/0 {shop.example.com|curl} "GET / HTTP/1.1"`, true, nil},
		{"redirect LR", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_https~ fe_https/<NOSRV> 0/-1/-1/-1/0 302 122 - - LR-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`, true, nil},
		{"maintenance", env + `Server be_app/vm-c is going DOWN for maintenance. 2 active and 0 backup servers left. 287 sessions active, 0 requeued, 0 remaining in queue.`, true,
			[]want{{timeline.KindBackendState, "vm-c", map[string]string{"state": "removed", "reason": "maintenance", "pool": "be_app", "sessions": "287"}}}},
		{"down", env + `Server be_app/vm-b is DOWN, reason: Layer4 timeout, check duration: 2001ms. 1 active and 0 backup servers left. 3 sessions active, 0 requeued, 0 remaining in queue.`, true,
			[]want{{timeline.KindBackendState, "vm-b", map[string]string{"state": "down", "reason": "Layer4 timeout", "pool": "be_app", "sessions": "3"}}}},
		{"drain", env + `Server be_ws/vm-a is DRAIN. 2 active and 0 backup servers left. 348 sessions active, 0 requeued, 0 remaining in queue.`, true,
			[]want{{timeline.KindBackendState, "vm-a", map[string]string{"state": "draining", "pool": "be_ws", "sessions": "348"}}}},
		{"enters drain", env + `Server be_ws/vm-a enters drain state. 2 active and 0 backup servers left. 1790 sessions active, 0 requeued, 0 remaining in queue.`, true,
			[]want{{timeline.KindBackendState, "vm-a", map[string]string{"state": "draining", "pool": "be_ws", "sessions": "1790"}}}},
		{"to drain", env + `Server be_ws/vm-a changed its weight... state changed to DRAIN by admin.`, true,
			[]want{{timeline.KindBackendState, "vm-a", map[string]string{"state": "draining", "pool": "be_ws"}}}},
		{"leaving drain", env + `Server be_ws/vm-a is UP/READY (leaving forced drain).`, true,
			[]want{{timeline.KindBackendState, "vm-a", map[string]string{"state": "up", "pool": "be_ws"}}}},
		{"leaving maint", env + `Server be_ws/vm-c is UP/READY (leaving forced maintenance).`, true,
			[]want{{timeline.KindBackendState, "vm-c", map[string]string{"state": "up", "pool": "be_ws"}}}},
		{"health", env + `Health check for server be_app/vm-b failed, reason: Layer4 timeout, check duration: 2001ms, status: 2/3 UP.`, true, nil},
		{"no server", env + `backend be_app has no server available!`, true,
			[]want{{timeline.KindUpstreamError, "lb01-be", map[string]string{"reason": "no_server", "pool": "be_app"}}}},
		{"reload", env + `[NOTICE]   (2345) : Loading success.`, true,
			[]want{{timeline.KindConfigReload, "lb01-be", map[string]string{"program": "haproxy"}}}},
		{"other haproxy message", env + `something new`, true, nil},
		{"other program", `May  1 14:02:02 lb01 sshd[1]: Accepted key`, false, nil},
		{"raw message without time", `Server be_app/vm-c is going DOWN for maintenance.`, false, nil},
		{"nginx line", `2026/05/01 14:02:05 [error] 1101#1101: *1 recv() failed`, false, nil},
		{"bad flags", env + `1.2.3.4:5 [01/May/2026:14:02:01.000] fe_ws be_ws/vm-c 1/0/27 180927 S! 5235/5205/5195/1695/0 0/0`, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parsertest.DefaultConfig()
			cfg.Backend = "lb01-be"
			rec := &parsertest.Recorder{}
			ok := Format().New(cfg).Parse([]byte(tc.line), timeline.Pos{File: "h", Line: 1}, rec)
			if ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			if len(rec.Events) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d", len(rec.Events), rec.Events, len(tc.want))
			}
			for i, w := range tc.want {
				e := rec.Events[i]
				if e.Kind != w.kind || e.Backend != w.backend || e.Text != tc.line {
					t.Errorf("event %d: %s on %q, want %s on %q", i, e.Kind, e.Backend, w.kind, w.backend)
				}
				if len(e.Attrs) != len(w.attrs) {
					t.Errorf("attrs %v, want %v", e.Attrs, w.attrs)
				}
				for k, v := range w.attrs {
					if e.Attrs[k] != v {
						t.Errorf("attr %s = %q, want %q", k, e.Attrs[k], v)
					}
				}
				if !e.Time.Equal(time.Date(2026, 5, 1, 14, 2, 2, 0, time.UTC)) {
					t.Errorf("time %v", e.Time)
				}
			}
		})
	}
}

func TestTimes(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Loc = time.FixedZone("KST", 9*3600)
	cases := map[string]string{
		`May  1 14:02:02 lb01 haproxy[2345]: 1.2.3.4:5 [01/May/2026:14:02:01.000] fe_ws be_ws/vm-c 1/0/27 1 SD 1/1/1/1/0 0/0`:                           "2026-05-01T05:02:02Z",
		`<134>1 2026-05-01T14:06:00.250+09:00 lb01 haproxy 2345 - - 1.2.3.4:5 [01/May/2026:14:05:59.900] fe_ws be_ws/vm-a 1/0/350 900 CD 1/1/1/1/0 0/0`: "2026-05-01T05:06:00.25Z",
		`2026-05-01T14:06:01.123Z lb01 haproxy[1]: 1.2.3.4:5 [01/May/2026:14:06:01.000] fe_ws be_ws/vm-a 1/0/350 900 CD 1/1/1/1/0 0/0`:                  "2026-05-01T14:06:01.123Z",
		`1.2.3.4:5 [01/May/2026:14:06:03.000] fe_ws be_ws/vm-a 1/0/2500 900 PD 1/1/1/1/0 0/0`:                                                           "2026-05-01T05:06:05.5Z",
	}
	for line, w := range cases {
		rec := &parsertest.Recorder{}
		if !Format().New(cfg).Parse([]byte(line), timeline.Pos{File: "h", Line: 1}, rec) || len(rec.Events) != 1 {
			t.Errorf("%q: not parsed into one event", line)
			continue
		}
		if got := rec.Events[0].Time.UTC().Format(time.RFC3339Nano); got != w {
			t.Errorf("%q: time %s, want %s", line, got, w)
		}
	}
}

func TestReloadFolding(t *testing.T) {
	rec, _ := parsertest.Feed(Format().New(parsertest.DefaultConfig()), "h", mustRead(t, "haproxy.log"))
	n := 0
	for _, e := range rec.Events {
		if e.Kind == timeline.KindConfigReload {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reload events, want 1", n)
	}
}

func TestBody(t *testing.T) {
	p := Format().New(parsertest.DefaultConfig()).(parsers.BodyParser)
	env := parsers.Envelope{Time: time.Date(2026, 5, 1, 14, 2, 2, 0, time.UTC), Host: "lb01", Program: "haproxy",
		Line: []byte("<134>May  1 14:02:02 lb01 haproxy[1]: Server be_app/vm-c is going DOWN for maintenance.")}
	rec := &parsertest.Recorder{}
	if !p.ParseBody([]byte("Server be_app/vm-c is going DOWN for maintenance."), env, timeline.Pos{File: "s", Line: 1}, rec) {
		t.Fatal("rejected")
	}
	if len(rec.Events) != 1 || rec.Events[0].Text != string(env.Line) || rec.Events[0].Attr("state") != "removed" {
		t.Fatalf("events %+v", rec.Events)
	}
	if p.ParseBody([]byte("hello"), env, timeline.Pos{}, rec) {
		t.Error("took a foreign body")
	}
}

func TestDetectHints(t *testing.T) {
	f := Format()
	for _, l := range strings.Split(strings.TrimSpace(mustRead(t, "haproxy.log")), "\n")[:10] {
		if s := f.Detect([]byte(l)); s < 70 {
			t.Errorf("Detect(%q) = %d", l, s)
		}
	}
	if s := f.Detect([]byte(`May  1 14:02:02 lb01 sshd[1]: Accepted key`)); s != 0 {
		t.Errorf("Detect(sshd) = %d", s)
	}
	h, ok := f.Hints([]byte(`<134>1 2026-05-01T14:06:00.250+09:00 lb01 haproxy 2345 - - Proxy x started.`))
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v %v", h, ok)
	}
	h, ok = f.Hints([]byte(example))
	if !ok || h.ZoneOK || h.Year != 2026 {
		t.Errorf("Hints(example) = %+v %v", h, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range strings.Split(mustRead(f, "haproxy.log"), "\n") {
		f.Add(l)
	}
	fm := Format()
	f.Fuzz(func(t *testing.T, line string) {
		p := fm.New(parsertest.DefaultConfig())
		rec := &parsertest.Recorder{}
		ok := p.Parse([]byte(line), timeline.Pos{File: "f", Line: 1}, rec)
		if !ok && len(rec.Events) > 0 {
			t.Fatal("rejected line emitted")
		}
		for _, e := range rec.Events {
			if e.Time.IsZero() || e.Text != line {
				t.Fatalf("bad event %+v", e)
			}
		}
		fm.Detect([]byte(line))
		fm.Hints([]byte(line))
		p.(parsers.BodyParser).ParseBody([]byte(line), parsers.Envelope{Time: time.Unix(1, 0)}, timeline.Pos{}, rec)
	})
}

type discard struct{}

func (discard) Event(timeline.Event)   {}
func (discard) Sample(timeline.Sample) {}

func BenchmarkParse(b *testing.B) {
	line := []byte(`May  1 14:02:03 lb01 haproxy[2345]: 203.0.113.7:51234 [01/May/2026:14:02:02.512] fe_https~ be_app/vm-c 0/0/1/12/13 200 4260 - - ---- 2097/2067/2047/659/0 0/0 "GET /api/v1/cart HTTP/1.1"`)
	p := Format().New(parsertest.DefaultConfig())
	b.SetBytes(int64(len(line) + 1))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(line, timeline.Pos{}, discard{})
	}
}
