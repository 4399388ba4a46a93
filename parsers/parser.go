// Package parsers turns log lines into timeline events and samples.
//
// Each log format is a Format registered in a Registry. A Format scores sample
// lines for auto-detection and makes a Parser for one stream. A Parser is fed
// one line at a time and reports whether it recognised the line; it may keep
// state between lines (multi-line `ss -s` blocks, backend state tracking).
//
// Parsers never panic on bad input, never use a generic timestamp guesser
// (each format has its own layouts), and never allocate per line on their
// fast path beyond what they emit.
package parsers

import (
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Config is what a parser knows about the stream it parses.
type Config struct {
	// Loc is the zone of timestamps that carry none. Never nil.
	Loc *time.Location
	// Year is the year of timestamps that carry none (RFC 3164 syslog).
	Year int
	// Backend is the default backend label of the stream (from its path or
	// a flag); "" when unknown. A parser may override it per line from the
	// content (haproxy `be_app/vm-c`, `backend=vm-a`).
	Backend string
	// Path is the stream's display path, for messages.
	Path string
}

// Parser parses the lines of one stream.
type Parser interface {
	// Parse parses line (without its line ending), found at pos, emitting any
	// events and samples into sink. It returns false if the line is not in
	// this parser's format (it is then counted as unrecognised). A line in
	// the format that carries no signal returns true and emits nothing.
	// line is only valid during the call.
	Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool
}

// Flusher is implemented by parsers that hold back part of what their lines
// yield. The access-log parsers sum the counter samples of each second and
// emit the sums (with Sample.Count set) when a line of another second
// arrives: one call per second instead of several per line. Flush emits
// everything held back into sink. Whoever drives a parser calls Flush (the
// package function) after the last line, and before reading what the sink
// has collected while more lines may come; parsing may go on afterwards.
type Flusher interface {
	Flush(sink timeline.Sink)
}

// Splittable is implemented by formats whose parser reads every line on
// its own, keeping no state between lines beyond what Flush settles: a
// large file of such a format can be cut into pieces, each parsed by its
// own parser on its own core, and the pieces joined in order
// (timeline.Builder.Append). Splittable returns false to opt out.
type Splittable interface {
	Splittable() bool
}

// Flush calls p's Flush if p is a Flusher.
func Flush(p Parser, sink timeline.Sink) {
	if f, ok := p.(Flusher); ok {
		f.Flush(sink)
	}
}

// Envelope is what a wrapper format (syslog) parsed off a line before
// handing its message body to an inner format.
type Envelope struct {
	Time    time.Time
	Host    string
	Program string
	// Line is the whole line, envelope included: events quote it as Text.
	Line []byte
}

// BodyParser is a Parser that can also parse a message body whose timestamp
// and host came in an envelope. Formats whose messages travel inside syslog
// (haproxy, nginx, kernel) implement it on their parsers.
type BodyParser interface {
	Parser
	// ParseBody parses body, the message of env.Line, at pos. It reports
	// whether the body is in this format.
	ParseBody(body []byte, env Envelope, pos timeline.Pos, sink timeline.Sink) bool
}

// Hints is what a format can tell from sample lines before parsing starts,
// so that zone-less and year-less timestamps can be resolved from other
// sources of the same incident.
type Hints struct {
	// Zone is the UTC offset in seconds seen in zoned timestamps; ZoneOK
	// says whether one was seen.
	Zone   int
	ZoneOK bool
	// Year is a year seen in full timestamps, 0 if none.
	Year int
}

// Format is a log format known to the registry.
type Format interface {
	// Name is the format's identifier, used by --format PATH=NAME.
	Name() string
	// Description says in a few words what writes this format.
	Description() string
	// Example is one real-shaped line of the format (for `formats`).
	Example() string
	// Detect scores one line from 0 (not this format) to 100 (certainly
	// this format). Specific formats score higher than generic ones on the
	// same line: a haproxy line inside syslog scores more for haproxy than
	// for syslog.
	Detect(line []byte) int
	// Hints extracts zone and year hints from a line; ok is false if the
	// line gives none.
	Hints(line []byte) (h Hints, ok bool)
	// New returns a parser for one stream.
	New(cfg Config) Parser
}

// Registry holds formats by name.
type Registry struct {
	formats []Format
}

// NewRegistry returns a registry holding fs.
func NewRegistry(fs ...Format) *Registry {
	r := &Registry{}
	for _, f := range fs {
		r.Register(f)
	}
	return r
}

// Register adds f, replacing a format of the same name.
func (r *Registry) Register(f Format) {
	for i, g := range r.formats {
		if g.Name() == f.Name() {
			r.formats[i] = f
			return
		}
	}
	r.formats = append(r.formats, f)
}

// Lookup returns the format named name.
func (r *Registry) Lookup(name string) (Format, bool) {
	for _, f := range r.formats {
		if f.Name() == name {
			return f, true
		}
	}
	return nil, false
}

// Formats returns the formats sorted by name.
func (r *Registry) Formats() []Format {
	out := append([]Format(nil), r.formats...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Names returns the sorted format names.
func (r *Registry) Names() []string {
	var out []string
	for _, f := range r.Formats() {
		out = append(out, f.Name())
	}
	return out
}

// Detection is the result of scoring a stream's first lines.
type Detection struct {
	Format Format
	// Score is the mean score over the non-empty sample lines (0..100).
	Score int
	// Hints merges the hints of the sample lines.
	Hints Hints
}

// MinScore is the mean score below which detection gives up.
const MinScore = 30

// Detect scores every format on the sample lines and returns the best one.
// A format's score is its mean Detect over non-empty lines; ties go to the
// format registered first. ok is false if no format reaches MinScore.
func (r *Registry) Detect(lines [][]byte) (d Detection, ok bool) {
	n := 0
	for _, l := range lines {
		if len(strings.TrimSpace(string(l))) > 0 {
			n++
		}
	}
	if n == 0 {
		return Detection{}, false
	}
	best, bestScore := Format(nil), -1
	for _, f := range r.formats {
		sum := 0
		for _, l := range lines {
			if len(strings.TrimSpace(string(l))) == 0 {
				continue
			}
			sum += clampScore(f.Detect(l))
		}
		if s := sum / n; s > bestScore {
			best, bestScore = f, s
		}
	}
	if best == nil || bestScore < MinScore {
		return Detection{Score: bestScore}, false
	}
	d = Detection{Format: best, Score: bestScore}
	for _, l := range lines {
		if h, ok := best.Hints(l); ok {
			if h.ZoneOK && !d.Hints.ZoneOK {
				d.Hints.Zone, d.Hints.ZoneOK = h.Zone, true
			}
			if h.Year != 0 && d.Hints.Year == 0 {
				d.Hints.Year = h.Year
			}
		}
	}
	return d, true
}

func clampScore(s int) int {
	if s < 0 {
		return 0
	}
	if s > 100 {
		return 100
	}
	return s
}

// Want is the set of signals a run uses: event kinds and metrics. The zero
// Want uses nothing; WantAll uses everything.
type Want struct {
	all     bool
	kinds   map[timeline.Kind]bool
	metrics map[timeline.Metric]bool
}

// WantAll returns the Want that uses every kind and metric.
func WantAll() Want { return Want{all: true} }

// WantOf returns the Want of the given kinds and metrics. A burst kind
// (timeline.BurstKinds) is wanted when its counter metric is, since the
// counter is made from its events.
func WantOf(kinds []timeline.Kind, metrics []timeline.Metric) Want {
	w := Want{kinds: map[timeline.Kind]bool{}, metrics: map[timeline.Metric]bool{}}
	for _, k := range kinds {
		w.kinds[k] = true
	}
	for _, m := range metrics {
		w.metrics[m] = true
	}
	for _, k := range timeline.BurstKinds {
		if m, ok := timeline.BurstMetric(k); ok && w.metrics[m] {
			w.kinds[k] = true
		}
	}
	return w
}

// All reports whether w uses every signal.
func (w Want) All() bool { return w.all }

// Kind reports whether events of kind k are used.
func (w Want) Kind(k timeline.Kind) bool { return w.all || w.kinds[k] }

// Metric reports whether samples of metric m are used.
func (w Want) Metric(m timeline.Metric) bool { return w.all || w.metrics[m] }

// AnyKind reports whether any of ks is used.
func (w Want) AnyKind(ks ...timeline.Kind) bool {
	for _, k := range ks {
		if w.Kind(k) {
			return true
		}
	}
	return false
}

// Literal is a string that a line must contain for a parser to emit a
// signal from it. Text is lower case and matched case-insensitively; with
// Word set it only counts where it is not inside a longer word, i.e. the
// bytes before and after it (if any) are not ASCII letters, digits or '_'.
type Literal struct {
	Text string
	Word bool
}

// Prefilterable is implemented by formats whose lines can be skipped
// before parsing unless they contain one of a few literals.
type Prefilterable interface {
	// Literals returns literals such that a line of this format that
	// contains none of them makes the format's parser emit no event or
	// sample that want uses, and does not change how the parser treats
	// later lines (or the parser implements Skipper to keep its state).
	// An empty list with ok true means no line carries a wanted signal.
	// ok false means any line may: the format is not prefiltered.
	Literals(want Want) (lits []Literal, ok bool)
}

// Skipper is implemented by parsers that keep state a line skipped by a
// prefilter could have changed. Skip is called instead of Parse for such a
// line and must be cheap.
type Skipper interface {
	Skip(line []byte)
}

// CheapRejecter is implemented by Prefilterable formats whose parser
// passes over a line that carries no signal faster than a literal scan
// does (nginx-error: a few byte searches). A prefilter then does not skip
// their lines one by one, unless no line of theirs can carry a wanted
// signal at all; their literals still narrow what is fetched from a log
// store.
type CheapRejecter interface {
	CheapReject() bool
}
