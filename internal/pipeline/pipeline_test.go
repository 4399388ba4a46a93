package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
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
