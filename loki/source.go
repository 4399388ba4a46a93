package loki

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	// Whole, if set, names streams fetched whole besides Query: their
	// lines replace those Query returned for them (see Whole and Run).
	Whole *Whole
}

// sampleLines is how many first lines of a stream format detection sees.
const sampleLines = 40

// Run has the signature of pipeline.ExtraSource: it queries Loki over the
// window, parses every stream with the format detected from its first lines
// and returns the part of the timeline it makes, one source per stream named
// "loki:{labels}", and warnings. A stream whose format is not recognised is
// listed with a warning and skipped. Lines are kept in memory per stream up
// to MaxStreamLines; the rest are counted as skipped. With Whole set, the
// streams it names are fetched first, whole, and Query's lines of them are
// dropped, so each line of a stream is read once.
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
	var warns []string
	added := 0
	// fetch runs one query and adds its entries to the streams keep
	// accepts; it returns how many entries it added per stream.
	fetch := func(q string, keep func(key string) bool) (map[string]int, error) {
		got := map[string]int{}
		st, err := s.Client.QueryRange(ctx, q, w.Start, w.End, func(ls map[string]string, e Entry) error {
			k := labelKey(ls)
			if !keep(k) {
				return nil
			}
			got[k]++
			added++
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
		if err != nil {
			return got, fmt.Errorf("loki query %s: %w", q, err)
		}
		if st.Truncated {
			warns = append(warns, fmt.Sprintf("loki: stopped after %d entries (the query limit); narrow the query or the window", st.Entries))
		}
		if st.Crowded > 0 {
			warns = append(warns, fmt.Sprintf("loki: at %d timestamp(s) more lines shared one nanosecond than the page limit; some may be missing (raise the limit)", st.Crowded))
		}
		return got, nil
	}
	query, whole, err := s.fetchWhole(ctx, w, fetch, &warns)
	if err != nil {
		return nil, nil, nil, err
	}
	if whole == nil {
		// Start again from the query as given alone.
		bufs, added = map[string]*buf{}, 0
	}
	if _, err := fetch(query, func(k string) bool { return !whole[k] }); err != nil {
		return nil, nil, nil, err
	}
	if added == 0 {
		warns = append(warns, fmt.Sprintf("loki: %s returned no lines between %s and %s", query, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)))
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
		parsers.Flush(p, cs)
		src.Events, src.Samples = cs.events, cs.samples
		if src.Unrecognized > 0 {
			src.Warnings = append(src.Warnings, fmt.Sprintf("%d line(s) not in %s format", src.Unrecognized, src.Format))
		}
		srcs = append(srcs, src)
	}
	return b.Timeline(), srcs, warns, nil
}

// fetchWhole fetches the streams named by s.Whole whole (see Whole): it
// finds them with one count_over_time of the query as given and the
// pattern, then fetches each with its own selector and the query's line
// filters. It returns the query to run for the other lines (s.Query, or
// the query as given when the streams cannot be told apart) and the keys
// of the streams it fetched, whose lines that query returns are to be
// dropped; nil when what was fetched is to be discarded and the query as
// given run alone. A stream its selector cannot fetch (labels Loki does not index)
// is fetched with label filters instead. On any failure but a cancelled
// context it falls back to the query as given, with a warning: no line is
// lost, none is counted twice.
func (s *Source) fetchWhole(ctx context.Context, w timeline.Window, fetch func(q string, keep func(string) bool) (map[string]int, error), warns *[]string) (string, map[string]bool, error) {
	whole := map[string]bool{}
	if s.Whole == nil {
		return s.Query, whole, nil
	}
	asGiven := s.Whole.Query
	sel, rest, ok := splitSelector(asGiven)
	if !ok || !onlyLineFilters(rest) {
		*warns = append(*warns, "loki: the query is sent without a line filter: ss snapshot streams must be fetched whole, by their labels, and its stages other than line filters may change labels and lines")
		return asGiven, whole, nil
	}
	streams, err := s.Client.StreamsWith(ctx, strings.TrimRight(asGiven, " ")+lineFilter(s.Whole.Pattern), w.Start, w.End)
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		*warns = append(*warns, fmt.Sprintf("loki: the query is sent without a line filter: finding the ss snapshot streams failed: %v", err))
		return asGiven, whole, nil
	}
	for _, ls := range streams {
		k := labelKey(ls)
		only := func(key string) bool { return key == k }
		got, err := fetch(streamQuery(ls, sel, rest), only)
		if err == nil && got[k] == 0 {
			got, err = fetch(labelFilterQuery(ls, sel, rest), only)
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", nil, ctx.Err()
			}
			*warns = append(*warns, fmt.Sprintf("loki: the query is sent without a line filter: fetching the ss snapshot stream %s failed: %v", k, err))
			return asGiven, nil, nil
		}
		if got[k] > 0 {
			whole[k] = true
		} else {
			*warns = append(*warns, fmt.Sprintf("loki: stream %s has ss snapshot lines but fetching it whole returned none (they may lie up to 2s outside the window); only its lines that pass the line filter are read", k))
		}
	}
	query := s.Query
	if len(streams) > 0 {
		// No stream but those fetched whole has a line the pattern
		// matches, so leaving such lines out of the query loses none, and
		// keeps most lines of those streams from travelling twice.
		query = strings.TrimRight(query, " ") + " !~" + lineFilter(s.Whole.Pattern)[3:]
	}
	return query, whole, nil
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
	c.samples += s.Observations()
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
