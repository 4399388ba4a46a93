package kernel

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	parsertest.Golden(t, Format(), parsertest.DefaultConfig(), *update)
}

func TestConformance(t *testing.T) {
	data, err := os.ReadFile("testdata/kernel.log")
	if err != nil {
		t.Fatal(err)
	}
	parsertest.Run(t, Format(), string(data))
}

func TestParse(t *testing.T) {
	tests := []struct {
		line, reason, backend string
		ok                    bool
		time                  time.Time
	}{
		{"[Fri May  1 18:12:00 2026] TCP: time wait bucket table overflow", "tw_bucket_overflow", "dflt", true, time.Date(2026, 5, 1, 18, 12, 0, 0, time.UTC)},
		{"May 01 18:12:00 vm-b kernel: nf_conntrack: table full, dropping packet", "conntrack_full", "vm-b", true, time.Date(2026, 5, 1, 18, 12, 0, 0, time.UTC)},
		{"2026-05-01T18:12:00,5+09:00 TCP: Possible SYN flooding on port 443. Sending cookies.", "syn_flood", "dflt", true, time.Date(2026, 5, 1, 9, 12, 0, 5e8, time.UTC)},
		{"[Fri May  1 18:12:05 2026] eth0: link up", "", "", true, time.Time{}},
		{"[12345.678901] TCP: time wait bucket table overflow", "", "", false, time.Time{}},
		{"May 01 18:12:00 vm-b sshd[1]: hello", "", "", false, time.Time{}},
	}
	for _, tc := range tests {
		cfg := parsertest.DefaultConfig()
		cfg.Backend = "dflt"
		rec := &parsertest.Recorder{}
		ok := Format().New(cfg).Parse([]byte(tc.line), timeline.Pos{File: "k", Line: 1}, rec)
		if ok != tc.ok {
			t.Errorf("Parse(%q) = %v, want %v", tc.line, ok, tc.ok)
			continue
		}
		if tc.reason == "" {
			if len(rec.Events) != 0 {
				t.Errorf("Parse(%q) emitted %+v", tc.line, rec.Events)
			}
			continue
		}
		if len(rec.Events) != 1 || rec.Events[0].Attr("reason") != tc.reason || rec.Events[0].Backend != tc.backend || !rec.Events[0].Time.Equal(tc.time) {
			t.Errorf("Parse(%q) = %+v, want %s on %s at %v", tc.line, rec.Events, tc.reason, tc.backend, tc.time)
		}
	}
}

func TestParseBody(t *testing.T) {
	p := Format().New(parsertest.DefaultConfig()).(parsers.BodyParser)
	env := parsers.Envelope{Time: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), Host: "vm-c", Program: "kernel",
		Line: []byte("<4>May  1 18:00:00 vm-c kernel: TCP: too many orphaned sockets")}
	rec := &parsertest.Recorder{}
	if !p.ParseBody([]byte("TCP: too many orphaned sockets"), env, timeline.Pos{File: "s", Line: 3}, rec) {
		t.Fatal("ParseBody rejected a kernel body")
	}
	if len(rec.Events) != 1 || rec.Events[0].Backend != "vm-c" || rec.Events[0].Attr("reason") != "orphans" || rec.Events[0].Text != string(env.Line) {
		t.Errorf("ParseBody = %+v", rec.Events)
	}
	env.Program = "sshd"
	if p.ParseBody([]byte("x"), env, timeline.Pos{}, rec) {
		t.Errorf("ParseBody accepted sshd")
	}
}

func TestDetect(t *testing.T) {
	f := Format()
	if s := f.Detect([]byte("May 01 18:12:00 vm-b kernel: TCP: x")); s < 80 {
		t.Errorf("Detect(journal) = %d", s)
	}
	if s := f.Detect([]byte("[12345.678901] TCP: x")); s != 0 {
		t.Errorf("Detect(boot) = %d", s)
	}
	if h, ok := f.Hints([]byte(f.Example())); !ok || h.Year != 2026 {
		t.Errorf("Hints = %+v %v", h, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range parsertest.Seeds(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := Format().New(parsertest.DefaultConfig())
		p.Parse([]byte(line), timeline.Pos{File: "f", Line: 1}, &parsertest.Recorder{})
		_ = Format().Detect([]byte(line))
		_, _ = Format().Hints([]byte(line))
	})
}
