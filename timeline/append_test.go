package timeline

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

// TestAppendEqualsOneBuilder gives random lines (bursts of several kinds
// and keys, single events, counter and gauge samples, times mostly rising
// with jitter of less than the burst gap) to one Builder, and the same
// lines cut into pieces to one Builder per piece, each numbering its lines
// from 1. AddLines and Append must then give the same timeline.
func TestAppendEqualsOneBuilder(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for seed := int64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewSource(seed))
		type line struct {
			ev *Event
			s  *Sample
		}
		var lines []line
		ms := int64(0)
		n := 20 + rng.Intn(400)
		for i := 0; i < n; i++ {
			switch rng.Intn(4) {
			case 0:
				ms += int64(rng.Intn(40_000)) // sometimes past the 30 s gap
			default:
				ms += int64(rng.Intn(700))
			}
			at := ms
			if rng.Intn(10) == 0 {
				at -= int64(rng.Intn(5_000)) // a line from a little earlier
			}
			tm := t0.Add(time.Duration(at) * time.Millisecond)
			pos := Pos{File: "a.log", Line: int64(i + 1)}
			switch r := rng.Intn(10); {
			case r < 6:
				kind := []Kind{KindConnReset, KindHTTPError}[rng.Intn(2)]
				ev := &Event{Time: tm, Kind: kind, Backend: fmt.Sprint("vm-", rng.Intn(2)), Pos: pos, Text: fmt.Sprint("line ", i+1),
					Attrs: map[string]string{"status": fmt.Sprint(500 + 2*rng.Intn(2))}}
				lines = append(lines, line{ev: ev})
			case r < 7:
				lines = append(lines, line{ev: &Event{Time: tm, Kind: KindDeployStep, Pos: pos, Text: "deploy"}})
			case r < 9:
				lines = append(lines, line{s: &Sample{Time: tm, Metric: MetricRequests, Backend: "vm-0", Value: float64(1 + rng.Intn(3)), Pos: pos}})
			default:
				lines = append(lines, line{s: &Sample{Time: tm, Metric: MetricTimeWait, Backend: "vm-0", Value: float64(rng.Intn(9000)), Pos: pos}})
			}
		}
		feed := func(b *Builder, ls []line, first int64) {
			for _, l := range ls {
				if l.ev != nil {
					e := *l.ev
					e.Pos.Line -= first
					b.Event(e)
				} else {
					s := *l.s
					s.Pos.Line -= first
					b.Sample(s)
				}
			}
		}
		ref := NewBuilder(Options{})
		feed(ref, lines, 0)
		want := ref.Timeline()

		var acc *Builder
		for from := 0; from < len(lines); {
			to := min(len(lines), from+1+rng.Intn(len(lines)/3+1))
			piece := NewBuilder(Options{})
			feed(piece, lines[from:to], int64(from))
			piece.AddLines("a.log", int64(from))
			if acc == nil {
				acc = piece
			} else {
				acc.Append(piece)
			}
			from = to
		}
		got := acc.Timeline()
		if !reflect.DeepEqual(got.Events, want.Events) {
			for i := range min(len(got.Events), len(want.Events)) {
				if !reflect.DeepEqual(got.Events[i], want.Events[i]) {
					t.Fatalf("seed %d: event %d of %d/%d:\n got %+v\nwant %+v", seed, i, len(got.Events), len(want.Events), got.Events[i], want.Events[i])
				}
			}
			t.Fatalf("seed %d: %d events, want %d", seed, len(got.Events), len(want.Events))
		}
		if len(got.Series) != len(want.Series) {
			t.Fatalf("seed %d: %d series, want %d", seed, len(got.Series), len(want.Series))
		}
		all := Window{End: t0.Add(100 * time.Hour)}
		for i := range want.Series {
			g, w := got.Series[i], want.Series[i]
			if g.Metric != w.Metric || g.Backend != w.Backend || !reflect.DeepEqual(g.Points(all), w.Points(all)) {
				t.Fatalf("seed %d: series %s/%s differs:\n got %v\nwant %v", seed, w.Metric, w.Backend, g.Points(all), w.Points(all))
			}
		}
	}
}
