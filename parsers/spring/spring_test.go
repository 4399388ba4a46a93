package spring

import (
	"flag"
	"os"
	"testing"
	"time"

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
	data, err := os.ReadFile("testdata/boot3.log")
	if err != nil {
		t.Fatal(err)
	}
	parsertest.Run(t, Format(), string(data))
}

func TestParse(t *testing.T) {
	kst := time.FixedZone("", 9*3600)
	tests := []struct {
		name, line string
		ok         bool
		time       time.Time
		phase      string
		metric     timeline.Metric
		value      float64
	}{
		{"boot3 metrics", "2026-05-01T00:01:00.000+09:00  INFO 4242 --- [   ws-metrics-1] c.e.shop.ws.SessionMetrics               : [app] ws_sessions=453, avg_age=10m 14s",
			true, time.Date(2026, 5, 1, 0, 1, 0, 0, kst), "", timeline.MetricWSSessions, 453},
		{"boot3.4 app thread", "2026-05-01T00:01:00.000+09:00  INFO 4242 --- [shop] [ws-metrics-1] c.e.shop.ws.SessionMetrics : ws_sessions=7",
			true, time.Date(2026, 5, 1, 0, 1, 0, 0, kst), "", timeline.MetricWSSessions, 7},
		{"boot2 shutdown", "2026-05-01 03:08:35.012  INFO 4242 --- [ionShutdownHook] o.s.b.w.e.tomcat.GracefulShutdown        : Commencing graceful shutdown. Waiting for active requests to complete",
			true, time.Date(2026, 5, 1, 3, 8, 35, 12e6, time.UTC), "shutdown_start", "", 0},
		{"logback started", "2026-05-01 03:08:47,990 [main] INFO  c.e.shop.ShopApplication - Started ShopApplication in 9.021 seconds (process running for 10.325)",
			true, time.Date(2026, 5, 1, 3, 8, 47, 990e6, time.UTC), "started", "", 0},
		{"noise", "2026-05-01T00:00:32.600+09:00  INFO 4242 --- [io-8080-exec-22] c.e.shop.api.OrderController             : Fetched order id=9877886 user=u-759278 in 41ms",
			true, time.Time{}, "", "", 0},
		{"stack before header", "\tat com.example.Foo.bar(Foo.java:1)", false, time.Time{}, "", "", 0},
		{"kv line", "2026-05-01T14:02:02+09:00 [lb] backend vm-c removed from pool abruptly", false, time.Time{}, "", "", 0},
		{"nginx error", "2026/05/01 14:02:02 [error] 123#0: *1 recv() failed", false, time.Time{}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Format().New(parsertest.DefaultConfig())
			rec := &parsertest.Recorder{}
			if ok := p.Parse([]byte(tc.line), timeline.Pos{File: "a", Line: 1}, rec); ok != tc.ok {
				t.Fatalf("Parse = %v, want %v", ok, tc.ok)
			}
			if tc.phase != "" {
				if len(rec.Events) != 1 || rec.Events[0].Attr("phase") != tc.phase || !rec.Events[0].Time.Equal(tc.time) {
					t.Errorf("events %+v, want phase %s at %v", rec.Events, tc.phase, tc.time)
				}
			}
			if tc.metric != "" {
				if len(rec.Samples) == 0 || rec.Samples[0].Metric != tc.metric || rec.Samples[0].Value != tc.value || !rec.Samples[0].Time.Equal(tc.time) {
					t.Errorf("samples %+v, want %s=%v at %v", rec.Samples, tc.metric, tc.value, tc.time)
				}
			}
			if tc.phase == "" && tc.metric == "" && len(rec.Events)+len(rec.Samples) > 0 {
				t.Errorf("unexpected output %+v %+v", rec.Events, rec.Samples)
			}
		})
	}
}

func TestStackTraceAfterHeader(t *testing.T) {
	text := "2026-05-01 16:07:01.000  ERROR 1 --- [x] a.B : boom\njava.lang.IllegalStateException: bad\n\tat a.B.c(B.java:1)\nCaused by: java.io.IOException: x\n\t... 3 more\n"
	_, rejected := parsertest.Feed(Format().New(parsertest.DefaultConfig()), "s", text)
	if rejected != 0 {
		t.Errorf("rejected %d stack trace lines", rejected)
	}
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

func BenchmarkParse(b *testing.B) {
	line := []byte("2026-05-01T00:00:32.600+09:00  INFO 4242 --- [io-8080-exec-22] c.e.shop.api.OrderController             : Fetched order id=9877886 user=u-759278 in 41ms")
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
