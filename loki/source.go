package loki

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// ErrNoWindow is returned by a Source with no window of its own when the
// run has no log files to take one from.
var ErrNoWindow = errors.New("loki: no time window: give --from and --to, or log files whose span to query")

// Source is a Loki query used as a source of a run.
type Source struct {
	Client *Client
	// Query is a LogQL log query, e.g. {job=~"nginx|haproxy"}.
	Query string
	// Window is the span queried; zero ends come from the run's log window,
	// widened by Margin on both sides.
	Window timeline.Window
	Margin time.Duration
	// Registry detects the format of each stream.
	Registry *parsers.Registry
	// BackendLabel, if set, names the stream label that is the stream's
	// default backend (parsers may still set it per line).
	BackendLabel string
	// MaxStreamLines bounds the lines kept per stream (default 2,000,000).
	MaxStreamLines int
	// InferZone, when the run's zone was not chosen from anything (no log
	// files, no --tz), reads zone-less timestamps in the UTC offset most
	// streams state in their zoned timestamps, as the pipeline does for
	// files, and says so in a warning.
	InferZone bool
}

// sampleLines is how many first lines of a stream format detection sees.
const sampleLines = 40

// Run has the signature of pipeline.ExtraSource: it queries Loki over the
// window, parses every stream with the format detected from its first lines
// and returns the part of the timeline it makes, one source per stream named
// "loki:{labels}", and warnings. A stream whose format is not recognised is
// listed with a warning and skipped. Lines are kept in memory per stream up
// to MaxStreamLines; the rest are counted as skipped.
func (s *Source) Run(ctx context.Context, loc *time.Location, logWin timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
	w := s.Window
	if w.Start.IsZero() {
		if logWin.Start.IsZero() {
			return nil, nil, nil, ErrNoWindow
		}
		w.Start = logWin.Start.Add(-s.Margin)
	}
	if w.End.IsZero() {
		if logWin.End.IsZero() {
			return nil, nil, nil, ErrNoWindow
		}
		w.End = logWin.End.Add(s.Margin)
	}
	if !w.Start.Before(w.End) {
		return nil, nil, nil, fmt.Errorf("loki: empty window %s .. %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	maxLines := s.MaxStreamLines
	if maxLines <= 0 {
		maxLines = 2_000_000
	}
	type buf struct {
		labels  map[string]string
		lines   []Entry
		skipped int64
	}
	bufs := map[string]*buf{}
	stats, err := s.Client.QueryRange(ctx, s.Query, w.Start, w.End, func(ls map[string]string, e Entry) error {
		k := labelKey(ls)
		b := bufs[k]
		if b == nil {
			b = &buf{labels: ls}
			bufs[k] = b
		}
		if len(b.lines) >= maxLines {
			b.skipped++
			return nil
		}
		b.lines = append(b.lines, e)
		return nil
	})
	var warns []string
	if err != nil {
		return nil, nil, nil, fmt.Errorf("loki query %s: %w", s.Query, err)
	}
	if stats.Truncated {
		warns = append(warns, fmt.Sprintf("loki: stopped after %d entries (the query limit); narrow the query or the window", stats.Entries))
	}
	if stats.Crowded > 0 {
		warns = append(warns, fmt.Sprintf("loki: at %d timestamp(s) more lines shared one nanosecond than the page limit; some may be missing (raise the limit)", stats.Crowded))
	}
	if stats.Entries == 0 {
		warns = append(warns, fmt.Sprintf("loki: %s returned no lines between %s and %s", s.Query, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)))
	}
	keys := make([]string, 0, len(bufs))
	for k := range bufs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type detected struct {
		d  parsers.Detection
		ok bool
	}
	dets := make([]detected, len(keys))
	votes := map[int]int{}
	for i, k := range keys {
		sb := bufs[k]
		n := min(len(sb.lines), sampleLines)
		sample := make([][]byte, n)
		for j := 0; j < n; j++ {
			sample[j] = []byte(sb.lines[j].Line)
		}
		dets[i].d, dets[i].ok = s.Registry.Detect(sample)
		if dets[i].ok && dets[i].d.Hints.ZoneOK {
			votes[dets[i].d.Hints.Zone]++
		}
	}
	if s.InferZone && len(votes) > 0 {
		best, bn := 0, -1
		for z, n := range votes {
			if n > bn || (n == bn && z < best) {
				best, bn = z, n
			}
		}
		loc = time.FixedZone(offsetName(best), best)
		warns = append(warns, fmt.Sprintf("loki: zone-less timestamps of Loki streams read as %s, the offset %d stream(s) state (override with --tz)", loc, bn))
	}
	b := timeline.NewBuilder(timeline.Options{})
	var srcs []timeline.Source
	for i, k := range keys {
		sb := bufs[k]
		path := "loki:" + k
		src := timeline.Source{Path: path, Lines: int64(len(sb.lines)), Skipped: sb.skipped}
		if s.BackendLabel != "" {
			src.Backend = sb.labels[s.BackendLabel]
		}
		if sb.skipped > 0 {
			src.Warnings = append(src.Warnings, fmt.Sprintf("%d line(s) over the per-stream limit skipped", sb.skipped))
		}
		d, ok := dets[i].d, dets[i].ok
		if !ok {
			src.Format = "unknown"
			src.Warnings = append(src.Warnings, "format not recognised from its first lines: skipped")
			srcs = append(srcs, src)
			continue
		}
		src.Format = d.Format.Name()
		year := sb.lines[0].Time.In(loc).Year()
		if d.Hints.Year != 0 {
			year = d.Hints.Year
		}
		p := d.Format.New(parsers.Config{Loc: loc, Year: year, Backend: src.Backend, Path: path})
		cs := &countSink{next: b}
		for j, e := range sb.lines {
			if !p.Parse([]byte(e.Line), timeline.Pos{File: path, Line: int64(j + 1)}, cs) {
				src.Unrecognized++
			}
		}
		src.Events, src.Samples = cs.events, cs.samples
		if src.Unrecognized > 0 {
			src.Warnings = append(src.Warnings, fmt.Sprintf("%d line(s) not in %s format", src.Unrecognized, src.Format))
		}
		srcs = append(srcs, src)
	}
	return b.Timeline(), srcs, warns, nil
}

// countSink counts what a parser emits.
type countSink struct {
	next            timeline.Sink
	events, samples int64
}

func (c *countSink) Event(e timeline.Event) {
	c.events++
	c.next.Event(e)
}

func (c *countSink) Sample(s timeline.Sample) {
	c.samples++
	c.next.Sample(s)
}

// offsetName formats an offset in seconds as +HH:MM.
func offsetName(secs int) string {
	sign := byte('+')
	if secs < 0 {
		sign, secs = '-', -secs
	}
	return fmt.Sprintf("%c%02d:%02d", sign, secs/3600, secs%3600/60)
}
