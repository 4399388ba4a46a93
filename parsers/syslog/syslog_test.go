package syslog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/haproxy"
	"github.com/postmortem-tool/postmortem/parsers/nginx"
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

func full() parsers.Format {
	return Format(nginx.AccessFormat(), nginx.ErrorFormat(), haproxy.Format())
}

func TestGolden(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Loc = time.FixedZone("KST", 9*3600)
	parsertest.Golden(t, full(), cfg, *update)
}

func TestConformance(t *testing.T) {
	parsertest.Run(t, full(), mustRead(t, "syslog.log"))
}

func TestLines(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		ok      bool
		kind    timeline.Kind // "" = no event
		backend string
		time    string
	}{
		{"3164 haproxy", `May  1 14:02:02 lb01 haproxy[2345]: Server be_app/vm-c is going DOWN for maintenance.`, true, timeline.KindBackendState, "vm-c", "2026-05-01T14:02:02Z"},
		{"3164 no host", `<134>May  1 14:02:02 haproxy[2345]: backend be_app has no server available!`, true, timeline.KindUpstreamError, "", "2026-05-01T14:02:02Z"},
		{"nginx inner time", `<11>May  1 14:02:06 vm-b nginx: 2026/05/01 14:02:05 [error] 1107#1107: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.10`, true, timeline.KindUpstreamError, "vm-b", "2026-05-01T14:02:05Z"},
		{"nginx no inner time", `<11>May  1 14:02:06 vm-b nginx: [error] 1107#1107: *5 recv() failed (104: Connection reset by peer) while proxying upgraded connection, client: 10.0.0.10`, true, timeline.KindConnReset, "vm-b", "2026-05-01T14:02:06Z"},
		{"5424", `<165>1 2026-05-01T14:02:07.003+09:00 lb01 haproxy 2345 - [a b="]"][c d="e"] Server be_ws/vm-a is DRAIN. 1 sessions active`, true, timeline.KindBackendState, "vm-a", "2026-05-01T05:02:07.003Z"},
		{"5424 no sd", `<165>1 2026-05-01T14:02:07Z lb01 - - - - Server be_ws/vm-a is DRAIN.`, true, timeline.KindBackendState, "vm-a", "2026-05-01T14:02:07Z"},
		{"detected by body", `May  1 14:02:02 lb01 hap: Server be_ws/vm-a is DRAIN.`, true, timeline.KindBackendState, "vm-a", "2026-05-01T14:02:02Z"},
		{"other program", `May  1 14:02:10 vm-a sshd[812]: Accepted publickey for deploy`, true, "", "", ""},
		{"keepalived removes a real server", `May  1 14:02:02 lb01 Keepalived_healthcheckers[1234]: Removing service [10.0.0.3]:tcp:8080 from VS [10.0.0.100]:tcp:80`, true, timeline.KindBackendState, "10.0.0.3:8080", "2026-05-01T14:02:02Z"},
		{"deploy agent through syslog", `May  1 14:10:00 ci01 deploy-agent[999]: [deploy] vm-c: rollback start release=2026.04.30-3`, true, timeline.KindDeployStep, "vm-c", "2026-05-01T14:10:00Z"},
		{"nginx foreign body", `May  1 14:02:10 vm-a nginx: hello`, true, "", "", ""},
		{"5424 no time", `<165>1 - lb01 haproxy 2345 - - Server be_ws/vm-a is DRAIN.`, false, "", "", ""},
		{"bad pri", `<999>May  1 14:02:02 lb01 haproxy[2345]: x`, false, "", "", ""},
		{"bad day", `May 32 14:02:02 lb01 haproxy[2345]: x`, false, "", "", ""},
		{"not syslog", `2026/05/01 14:02:05 [error] 1101#1101: x`, false, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &parsertest.Recorder{}
			ok := full().New(parsertest.DefaultConfig()).Parse([]byte(tc.line), timeline.Pos{File: "s", Line: 1}, rec)
			if ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			if tc.kind == "" {
				if len(rec.Events) != 0 {
					t.Fatalf("events %+v", rec.Events)
				}
				return
			}
			if len(rec.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(rec.Events))
			}
			e := rec.Events[0]
			if e.Kind != tc.kind || e.Backend != tc.backend || e.Text != tc.line {
				t.Errorf("event %s on %q, want %s on %q", e.Kind, e.Backend, tc.kind, tc.backend)
			}
			if got := e.Time.UTC().Format(time.RFC3339Nano); got != tc.time {
				t.Errorf("time %s, want %s", got, tc.time)
			}
		})
	}
}

func TestYearRollover(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Year = 2025
	in := "Dec 31 23:59:59 lb01 haproxy[1]: Server be/a is DRAIN.\nJan  1 00:00:01 lb01 haproxy[1]: Server be/a is UP\n"
	rec, rej := parsertest.Feed(Format(haproxy.Format()).New(cfg), "s", in)
	if rej != 0 || len(rec.Events) != 2 {
		t.Fatalf("rejected %d, %d events", rej, len(rec.Events))
	}
	if y := rec.Events[1].Time.Year(); y != 2026 {
		t.Errorf("year after rollover = %d", y)
	}
}

func TestDetectRanksBelowSpecific(t *testing.T) {
	reg := parsers.NewRegistry(full(), haproxy.Format(), nginx.ErrorFormat())
	lines := bytes.Split([]byte(strings.TrimSpace(mustRead(t, "syslog.log"))), []byte("\n"))
	d, ok := reg.Detect(lines[:3])
	if !ok || d.Format.Name() != "haproxy" {
		t.Errorf("haproxy lines detected as %v", d.Format)
	}
	d, ok = reg.Detect(lines[8:11])
	if !ok || d.Format.Name() != "syslog" {
		t.Errorf("generic lines detected as %v", d.Format)
	}
	for _, l := range lines[:8] {
		if s, hs := full().Detect(l), haproxy.Format().Detect(l); s > 60 || s < 40 {
			t.Errorf("syslog Detect(%q) = %d (haproxy %d)", l, s, hs)
		}
	}
	h, ok := full().Hints(lines[5])
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v, %v", h, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range strings.Split(mustRead(f, "syslog.log"), "\n") {
		f.Add(l)
	}
	fm := full()
	f.Fuzz(func(t *testing.T, line string) {
		rec := &parsertest.Recorder{}
		ok := fm.New(parsertest.DefaultConfig()).Parse([]byte(line), timeline.Pos{File: "f", Line: 1}, rec)
		if !ok && len(rec.Events)+len(rec.Samples) > 0 {
			t.Fatal("rejected line emitted")
		}
		for _, e := range rec.Events {
			if e.Time.IsZero() || e.Text != line {
				t.Fatalf("bad event %+v", e)
			}
		}
		fm.Detect([]byte(line))
		fm.Hints([]byte(line))
	})
}

type discard struct{}

func (discard) Event(timeline.Event)   {}
func (discard) Sample(timeline.Sample) {}

func BenchmarkParse(b *testing.B) {
	line := []byte(`May  1 14:02:10 vm-a sshd[812]: Accepted publickey for deploy from 10.0.0.10 port 50122 ssh2`)
	p := full().New(parsertest.DefaultConfig())
	b.SetBytes(int64(len(line) + 1))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(line, timeline.Pos{}, discard{})
	}
}
