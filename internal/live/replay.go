package live

import (
	"fmt"
	"sort"
	"time"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// ReplayLine is one line of a recorded incident with the log time it
// carries (or the time of the line before it in its stream, if it carries
// none that a parser extracted).
type ReplayLine struct {
	// Stream is the display name of the stream (rotated sets are one
	// stream), relative to the input as ingest names it.
	Stream string
	Text   string
	Time   time.Time
}

// Replay reads the recorded logs under inputs and returns their lines in
// log-time order (stable: a stream's lines keep their order), so that a
// test or a benchmark can write them into followed files as they happened.
func Replay(inputs []string, reg *parsers.Registry) ([]ReplayLine, error) {
	streams, errs := ingest.Discover(inputs, ingest.Options{})
	if len(errs) > 0 {
		return nil, fmt.Errorf("replay: %v", errs[0])
	}
	type det struct {
		f parsers.Format
		h parsers.Hints
	}
	dets := make([]det, len(streams))
	loc := time.UTC
	zoneFound := false
	year := 0
	for i, st := range streams {
		sample, _ := st.Sample(40)
		d, ok := reg.Detect(sample)
		if !ok {
			continue
		}
		dets[i] = det{d.Format, d.Hints}
		if d.Hints.ZoneOK && !zoneFound {
			loc, zoneFound = time.FixedZone(pipeline.FormatOffset(d.Hints.Zone), d.Hints.Zone), true
		}
		if d.Hints.Year != 0 && year == 0 {
			year = d.Hints.Year
		}
	}
	if year == 0 {
		year = time.Now().Year()
	}
	var out []ReplayLine
	for i, st := range streams {
		if dets[i].f == nil {
			continue
		}
		p := dets[i].f.New(parsers.Config{Loc: loc, Year: year, Backend: st.Backend, Path: st.Name})
		cap := &timeSink{}
		var last time.Time
		_, err := st.Read(func(line []byte, pos timeline.Pos) {
			cap.t = time.Time{}
			p.Parse(line, pos, cap)
			parsers.Flush(p, cap) // the line's own time, not its second's first
			if !cap.t.IsZero() {
				last = cap.t
			}
			out = append(out, ReplayLine{Stream: st.Name, Text: string(line), Time: last})
		})
		if err != nil {
			return nil, err
		}
	}
	// Lines before a stream's first timestamp take its first one.
	first := map[string]time.Time{}
	for _, l := range out {
		if _, ok := first[l.Stream]; !ok && !l.Time.IsZero() {
			first[l.Stream] = l.Time
		}
	}
	for i := range out {
		if out[i].Time.IsZero() {
			out[i].Time = first[out[i].Stream]
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

type timeSink struct{ t time.Time }

func (s *timeSink) Event(e timeline.Event) {
	if s.t.IsZero() || e.Time.Before(s.t) {
		s.t = e.Time
	}
}

func (s *timeSink) Sample(x timeline.Sample) {
	if s.t.IsZero() || x.Time.Before(s.t) {
		s.t = x.Time
	}
}
