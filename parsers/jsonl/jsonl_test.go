package jsonl

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	cfg := parsertest.DefaultConfig()
	cfg.Backend = "vm-a"
	parsertest.Golden(t, Format(), cfg, *update)
}

func TestConformance(t *testing.T) {
	data, err := os.ReadFile("testdata/ws-metrics.log")
	if err != nil {
		t.Fatal(err)
	}
	parsertest.Run(t, Format(), string(data))
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, line string
		ok         bool
		want       string
	}{
		{"metrics", `{"@timestamp":"2026-05-01T00:00:00.000+09:00","avg_age":"10m 0s","avg_age_s":600,"host":"vm-a","p99_age_s":1860,"ws_sessions":400}`, true,
			"ws_avg_age_seconds@vm-a=600 ws_p99_age_seconds@vm-a=1860 ws_sessions@vm-a=400"},
		{"duration string only", `{"time":"2026-05-01T00:00:00Z","avg_age":"2h 11m"}`, true, "ws_avg_age_seconds@dflt=7860"},
		{"epoch millis and message", `{"ts":1777644122000,"msg":"[lb] backend vm-c removed from pool abruptly"}`, true, "E:backend_state@vm-c"},
		{"slog", `{"time":"2026-05-01T00:00:00.123456789+02:00","level":"INFO","msg":"draining backend","backend":"web-1"}`, true, "E:deploy_step@web-1"},
		{"no time", `{"msg":"x"}`, false, ""},
		{"array", `[1,2]`, false, ""},
		{"truncated", `{"time":"2026-05-01T00:00:00Z"`, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parsertest.DefaultConfig()
			cfg.Backend = "dflt"
			p := Format().New(cfg)
			rec := &parsertest.Recorder{}
			if ok := p.Parse([]byte(tc.line), timeline.Pos{File: "a", Line: 1}, rec); ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			var got []string
			for _, e := range rec.Events {
				got = append(got, "E:"+string(e.Kind)+"@"+e.Backend)
			}
			for _, s := range rec.Samples {
				got = append(got, fmt.Sprintf("%s@%s=%v", s.Metric, s.Backend, s.Value))
				if s.Time.IsZero() {
					t.Errorf("sample without time")
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	line := []byte(Format().Example())
	p := Format().New(parsertest.DefaultConfig())
	rec := &parsertest.Recorder{}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(line, timeline.Pos{}, rec)
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

func TestDetect(t *testing.T) {
	f := Format()
	if s := f.Detect([]byte(f.Example())); s < 80 {
		t.Errorf("Detect(example) = %d", s)
	}
	if s := f.Detect([]byte("2026-05-01T14:02:02+09:00 [lb] backend vm-c removed")); s != 0 {
		t.Errorf("Detect(kv) = %d", s)
	}
	h, ok := f.Hints([]byte(f.Example()))
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v %v", h, ok)
	}
}
