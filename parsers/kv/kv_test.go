package kv

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	parsertest.Golden(t, Format(), parsertest.DefaultConfig(), *update)
}

func TestConformance(t *testing.T) {
	data, err := os.ReadFile("testdata/lb.log")
	if err != nil {
		t.Fatal(err)
	}
	parsertest.Run(t, Format(), string(data))
}

func TestParse(t *testing.T) {
	kst := time.FixedZone("", 9*3600)
	tests := []struct {
		line   string
		ok     bool
		time   time.Time
		kind   timeline.Kind
		metric timeline.Metric
		value  float64
		bk     string
	}{
		{"2026-05-01T14:02:02+09:00 [lb] backend vm-c removed from pool abruptly", true, time.Date(2026, 5, 1, 14, 2, 2, 0, kst), timeline.KindBackendState, "", 0, "vm-c"},
		{"2026-05-01T14:02:12+09:00 [lb] reset_out=420/s active_conn dropped 1800 -> 300 in 10s", true, time.Date(2026, 5, 1, 14, 2, 12, 0, kst), "", timeline.MetricResetRate, 420, "dflt"},
		{"2026-05-01 14:02:02 [deploy] vm-a: stopping app (SIGTERM)", true, time.Date(2026, 5, 1, 14, 2, 2, 0, time.UTC), timeline.KindDeployStep, "", 0, "vm-a"},
		{"time=2026-05-01T14:02:02.5Z level=info msg=\"backend removed from pool\" backend=vm-a", true, time.Date(2026, 5, 1, 14, 2, 2, 5e8, time.UTC), timeline.KindBackendState, "", 0, "vm-a"},
		{"ts=1777644122 ws_sessions=12", true, time.Unix(1777644122, 0), "", timeline.MetricWSSessions, 12, "dflt"},
		{"[lb] backend vm-c removed from pool abruptly", false, time.Time{}, "", "", 0, ""},
		{"2026-05-01T14:02:02+09:00x", false, time.Time{}, "", "", 0, ""},
		{"2026-05-01T14:02:02+09:00 nothing known", true, time.Time{}, "", "", 0, ""},
	}
	for _, tc := range tests {
		cfg := parsertest.DefaultConfig()
		cfg.Backend = "dflt"
		p := Format().New(cfg)
		rec := &parsertest.Recorder{}
		ok := p.Parse([]byte(tc.line), timeline.Pos{File: "x", Line: 1}, rec)
		if ok != tc.ok {
			t.Errorf("Parse(%q) = %v, want %v", tc.line, ok, tc.ok)
			continue
		}
		if tc.kind != "" {
			if len(rec.Events) == 0 || rec.Events[0].Kind != tc.kind || rec.Events[0].Backend != tc.bk || !rec.Events[0].Time.Equal(tc.time) {
				t.Errorf("Parse(%q): events %+v, want %s on %s at %v", tc.line, rec.Events, tc.kind, tc.bk, tc.time)
			}
		}
		if tc.metric != "" {
			if len(rec.Samples) == 0 || rec.Samples[0].Metric != tc.metric || rec.Samples[0].Value != tc.value || rec.Samples[0].Backend != tc.bk || (!tc.time.IsZero() && !rec.Samples[0].Time.Equal(tc.time)) {
				t.Errorf("Parse(%q): samples %+v, want %s=%v on %s", tc.line, rec.Samples, tc.metric, tc.value, tc.bk)
			}
		}
		if tc.kind == "" && tc.metric == "" && len(rec.Events)+len(rec.Samples) != 0 {
			t.Errorf("Parse(%q) emitted %+v %+v", tc.line, rec.Events, rec.Samples)
		}
	}
}

func TestDeployPath(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Path = "ops/deploy.log"
	rec, _ := parsertest.Feed(Format().New(cfg), "d", "2026-05-01T14:02:02Z app stopped host=web-1\n")
	if len(rec.Events) != 1 || rec.Events[0].Attr("step") != timeline.StepStop {
		t.Errorf("deploy stream: %+v", rec.Events)
	}
	cfg.Path = "lb.log"
	rec, _ = parsertest.Feed(Format().New(cfg), "d", "2026-05-01T14:02:02Z app stopped host=web-1\n")
	if len(rec.Events) != 0 {
		t.Errorf("non-deploy stream: %+v", rec.Events)
	}
}

func TestDetectHints(t *testing.T) {
	f := Format()
	for line, min := range map[string]int{
		"2026-05-01T14:02:02+09:00 [lb] backend vm-c removed": 60,
		"time=2026-05-01T14:02:02Z level=info msg=x":          70,
	} {
		if s := f.Detect([]byte(line)); s < min {
			t.Errorf("Detect(%q) = %d, want >= %d", line, s, min)
		}
	}
	if s := f.Detect([]byte("hello world")); s != 0 {
		t.Errorf("Detect(prose) = %d", s)
	}
	h, ok := f.Hints([]byte("2026-05-01T14:02:02+09:00 [lb] x"))
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v %v", h, ok)
	}
	h, ok = f.Hints([]byte("2026-05-01 14:02:02 [lb] x"))
	if !ok || h.ZoneOK || h.Year != 2026 {
		t.Errorf("zone-less Hints = %+v %v", h, ok)
	}
	if !strings.Contains(f.Description(), "key=value") {
		t.Errorf("description %q", f.Description())
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
