package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// TestExtraSource: an extra source sees the zone and the log window, its
// part is merged, and its failure becomes a warning, not an abort.
func TestExtraSource(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "deploy.log")
	if err := os.WriteFile(log, []byte("2026-05-01T14:00:00+09:00 [deploy] rolling restart start release=1 hosts=vm-a\n2026-05-01T14:05:00+09:00 [deploy] rolling restart done release=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, _ := builtin.Registry()
	var gotLoc *time.Location
	var gotWin timeline.Window
	metrics := func(ctx context.Context, loc *time.Location, w timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
		gotLoc, gotWin = loc, w
		b := timeline.NewBuilder(timeline.Options{})
		b.Sample(timeline.Sample{Time: w.Start, Metric: timeline.MetricTimeWait, Backend: "vm-a", Value: 68321})
		return b.Timeline(), []timeline.Source{{Path: "prometheus", Format: "prometheus"}}, nil, nil
	}
	broken := func(context.Context, *time.Location, timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
		return nil, nil, nil, errors.New("prometheus: connection refused")
	}
	res, err := Run(context.Background(), Config{Inputs: []string{log}, Registry: reg, Extra: []ExtraSource{metrics, broken}})
	if err != nil {
		t.Fatal(err)
	}
	if gotLoc == nil || gotLoc.String() != "+09:00" {
		t.Errorf("extra source saw zone %v, want +09:00", gotLoc)
	}
	if want := time.Date(2026, 5, 1, 5, 0, 0, 0, time.UTC); !gotWin.Start.Equal(want) || gotWin.Duration() != 5*time.Minute {
		t.Errorf("extra source saw window %v, want 5m from %v", gotWin, want)
	}
	if s := res.Timeline.Find(timeline.MetricTimeWait, "vm-a"); s == nil {
		t.Errorf("the extra source's series was not merged")
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != "prometheus: connection refused" {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if n := len(res.Sources); n != 2 {
		t.Errorf("%d sources, want the log and prometheus", n)
	}
}

// TestProgress: the deltas add up to the bytes read, and a big stream
// reports more than once.
func TestProgress(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "deploy.log")
	line := "2026-05-01T14:00:00+09:00 [deploy] vm-a: still draining elapsed=300s new_conn=0 active_conn=1797\n"
	var data []byte
	for len(data) < 10<<20 {
		data = append(data, line...)
	}
	if err := os.WriteFile(log, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reg, _ := builtin.Registry()
	var sum, calls atomic.Int64
	_, err := Run(context.Background(), Config{Inputs: []string{log}, Registry: reg,
		Progress: func(d int64) { sum.Add(d); calls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Load() != int64(len(data)) {
		t.Errorf("progress summed to %d bytes, want %d", sum.Load(), len(data))
	}
	if calls.Load() < 2 {
		t.Errorf("progress reported %d time(s) over 10 MiB, want several", calls.Load())
	}
}

// TestPiecesEqualWhole parses a large access log (with a rotated gzip
// before it) cut into many small pieces on three workers and on one, and
// whole on one worker. The two cut runs must be identical, and equal to the
// whole run: events (bursts of 502 and 504 across the cuts, lines a little
// out of order, an over-long line), the per-file sources, the findings of
// the default rules, and every series, except that a sum of fractions
// (connect seconds) may differ in its last float32 bits where a second was
// cut, as floating-point sums depend on their order.
func TestPiecesEqualWhole(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(5))
	t0 := time.Date(2026, 5, 1, 14, 0, 0, 0, time.FixedZone("", 9*3600))
	var old, live strings.Builder
	for i := 0; i < 60000; i++ {
		sec := i / 40
		if rng.Intn(30) == 0 {
			sec -= rng.Intn(3) // logged when the request ended
		}
		status, us := 200, "200"
		if burst := sec % 300; burst > 120 && burst < 150 && rng.Intn(3) == 0 {
			status = 502 + 2*rng.Intn(2)
			us = fmt.Sprint(status)
		}
		line := fmt.Sprintf(`10.1.%d.%d - - [%s] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "curl/8.0" rt=0.0%02d uct=0.00%d urt=0.0%02d us=%s ua=10.0.0.3:8080`,
			i%250, i%200, t0.Add(time.Duration(sec)*time.Second).Format("02/Jan/2006:15:04:05 -0700"), i, status, 100+i%900, i%90, i%10, i%90, us)
		w := &live
		if i < 10000 {
			w = &old
		}
		w.WriteString(line)
		if i == 33333 {
			w.WriteString("\n" + strings.Repeat("x", 2<<20)) // an over-long line
		}
		w.WriteString("\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(old.String()))
	zw.Close()
	os.MkdirAll(filepath.Join(dir, "nginx", "vm-c"), 0o755)
	os.WriteFile(filepath.Join(dir, "nginx", "vm-c", "access.log.1.gz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "nginx", "vm-c", "access.log"), []byte(live.String()), 0o644)
	reg, _ := builtin.Registry()
	run := func(pieceBytes int64, workers int) *Result {
		res, err := Run(context.Background(), Config{Inputs: []string{dir}, Registry: reg, Pack: rules.Default(),
			PieceBytes: pieceBytes, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	whole, cut, cut1 := run(-1, 1), run(96<<10, 3), run(96<<10, 1)
	if !reflect.DeepEqual(cut.Timeline, cut1.Timeline) || !reflect.DeepEqual(cut.Sources, cut1.Sources) || !reflect.DeepEqual(cut.Rules.Findings, cut1.Rules.Findings) {
		t.Fatalf("pieces parsed by three workers and by one differ")
	}
	if len(whole.Timeline.Events) < 10 {
		t.Fatalf("only %d events: the log has no bursts", len(whole.Timeline.Events))
	}
	if !reflect.DeepEqual(cut.Timeline.Events, whole.Timeline.Events) {
		for i := range min(len(cut.Timeline.Events), len(whole.Timeline.Events)) {
			if !reflect.DeepEqual(cut.Timeline.Events[i], whole.Timeline.Events[i]) {
				t.Fatalf("event %d:\n  cut %+v\nwhole %+v", i, cut.Timeline.Events[i], whole.Timeline.Events[i])
			}
		}
		t.Fatalf("%d events cut, %d whole", len(cut.Timeline.Events), len(whole.Timeline.Events))
	}
	all := timeline.Window{End: t0.Add(48 * time.Hour)}
	if len(cut.Timeline.Series) != len(whole.Timeline.Series) {
		t.Fatalf("%d series cut, %d whole", len(cut.Timeline.Series), len(whole.Timeline.Series))
	}
	for i, w := range whole.Timeline.Series {
		c := cut.Timeline.Series[i]
		cp, wp := c.Points(all), w.Points(all)
		if c.Metric != w.Metric || c.Backend != w.Backend || len(cp) != len(wp) {
			t.Fatalf("series %d: %s/%s with %d points cut, %s/%s with %d whole", i, c.Metric, c.Backend, len(cp), w.Metric, w.Backend, len(wp))
		}
		for k := range wp {
			d := math.Abs(cp[k].Value - wp[k].Value)
			if cp[k].Time != wp[k].Time || cp[k].Pos != wp[k].Pos || d > 1e-6*math.Abs(wp[k].Value) || w.Metric != timeline.MetricConnectSum && d != 0 {
				t.Fatalf("series %s/%s point %d: cut %+v, whole %+v", w.Metric, w.Backend, k, cp[k], wp[k])
			}
		}
	}
	if !reflect.DeepEqual(cut.Sources, whole.Sources) {
		t.Errorf("sources:\n  cut %+v\nwhole %+v", cut.Sources, whole.Sources)
	}
	if !reflect.DeepEqual(cut.Rules.Findings, whole.Rules.Findings) {
		t.Errorf("findings differ:\n  cut %+v\nwhole %+v", cut.Rules.Findings, whole.Rules.Findings)
	}
	if whole.Sources[1].Skipped != 1 || whole.Sources[1].Lines != 50000 {
		t.Errorf("live file: %+v, want 50000 lines and the over-long one skipped", whole.Sources[1])
	}
}
