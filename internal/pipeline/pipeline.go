// Package pipeline wires the stages of postmortem together: ingest discovers
// and reads the inputs, parsers turn lines into events and samples, the
// timeline condenses and merges them, and rules classify the result.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/internal/prefilter"
	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Config is what one run reads and how.
type Config struct {
	// Inputs are files, directories, globs, or "-" for Stdin.
	Inputs []string
	Stdin  io.Reader
	// Registry holds the formats to detect; Formats forces a format for
	// streams whose path matches the key (a path, a glob, or a suffix).
	Registry *parsers.Registry
	Formats  map[string]string
	// Zone reads zone-less timestamps; nil means infer it from sources
	// with explicit offsets, falling back to UTC.
	Zone *time.Location
	// Offsets shift the times of streams whose path matches the key.
	Offsets map[string]time.Duration
	// Backends overrides the backend label of matching streams.
	Backends     map[string]string
	MaxLineBytes int
	// Workers bounds parallel parsing; 0 means twice GOMAXPROCS.
	Workers int
	// PieceBytes is the size of the pieces a large uncompressed file of a
	// format that allows it (parsers.Splittable) is cut into, so that
	// several cores parse it; 0 means DefaultPieceBytes, <0 never cuts.
	PieceBytes int64
	// Pack classifies the timeline; nil skips classification.
	Pack *rules.Pack
	// Window, when set, keeps only what falls inside it.
	Window timeline.Window
	// Progress, if set, is told how many more bytes were read: about every
	// 4 MiB during a stream and the rest at its end. It is called from the
	// parsing goroutines and must be safe for concurrent use.
	Progress func(delta int64)
	// Extra are sources other than log files (metrics servers and files,
	// Loki, config repositories). Each runs after the zone is known and
	// adds its part to the merge.
	Extra []ExtraSource
	// Claim, if set, is shown every input stream with its first lines; a
	// stream it claims is not parsed as a log and not listed as a source
	// here: the claimer reads it itself (e.g. a metric file, through an
	// ExtraSource). It is called from one goroutine, in input order.
	Claim func(st *ingest.Stream, sample [][]byte) bool
	// Skew is SkewAuto (also ""), SkewReport or SkewOff: whether clock
	// skew between streams is estimated, and corrected when confident.
	Skew string
	// Prefilter, if set, skips the lines that hold no literal of a signal
	// it wants before they are parsed (counted per source as Prefiltered).
	Prefilter *prefilter.Set
}

// ExtraSource yields part of the timeline from something other than a log
// file. loc is the zone chosen for zone-less timestamps; window is the span
// the log sources cover (zero when there are none). It returns its part,
// the sources it read (for the draft's source list) and run-level warnings;
// an error is a usage error only if it wraps ErrUsage, otherwise it becomes
// a warning and the run goes on from the logs.
type ExtraSource func(ctx context.Context, loc *time.Location, window timeline.Window) (part *timeline.Timeline, sources []timeline.Source, warnings []string, err error)

// Result is what a run produced.
type Result struct {
	Sources  []timeline.Source
	Timeline *timeline.Timeline
	Loc      *time.Location
	// ZoneNote says how the zone of zone-less timestamps was chosen.
	ZoneNote string
	Warnings []string
	Rules    rules.Result
	// Skew holds the clock skew estimated per stream, applied or not.
	Skew []SkewEstimate
}

// ErrUsage marks errors caused by the invocation (bad paths, bad flags);
// the CLI maps them to its usage exit status.
var ErrUsage = errors.New("usage")

// DefaultPieceBytes is the default Config.PieceBytes.
const DefaultPieceBytes = 64 << 20

type job struct {
	idx    int
	stream *ingest.Stream
	format parsers.Format
	src    *timeline.Source
	offset time.Duration
	mtime  time.Time
	files  []timeline.Source        // per physical file, after parsing
	marks  map[string][]ingest.Mark // per display path, after parsing
	// pieces, when the stream is parsed in pieces, in order; else one
	// piece, the whole stream.
	pieces []*piece
	join   joined
}

// piece is what parsing one piece of a stream (or the whole stream)
// gave.
type piece struct {
	at    *ingest.Piece // nil: the whole stream
	size  int64         // for scheduling
	b     *timeline.Builder
	files []fileResult
	ended bool // parsed (set under the job's join lock)
}

// fileResult is what parsing gave for one file (of a piece).
type fileResult struct {
	fs      ingest.FileStats
	unrec   int64
	events  int64
	samples int64
}

// Run reads every input and returns the merged, classified timeline.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Registry == nil {
		return nil, fmt.Errorf("pipeline: no format registry")
	}
	streams, errs := ingest.Discover(cfg.Inputs, ingest.Options{
		MaxLineBytes: cfg.MaxLineBytes,
		Backends:     cfg.Backends,
		Stdin:        cfg.Stdin,
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrUsage, errors.Join(errs...))
	}
	res := &Result{}
	jobs := make([]*job, 0, len(streams))
	zoneVotes := map[int]int{}
	yearVotes := map[int]int{}
	for _, st := range streams {
		src := &timeline.Source{Path: st.Name, Backend: st.Backend}
		j := &job{idx: len(jobs), stream: st, src: src}
		if len(st.Files) > 0 {
			j.mtime = st.Files[len(st.Files)-1].ModTime
		}
		j.offset = matchDuration(cfg.Offsets, st)
		sample, err := st.Sample(40)
		if err == nil && cfg.Claim != nil && cfg.Claim(st, sample) {
			continue
		}
		if err != nil {
			src.Warnings = append(src.Warnings, fmt.Sprintf("cannot read: %v", err))
		}
		switch {
		case len(sample) == 0 && err == nil:
			src.Warnings = append(src.Warnings, "empty: nothing to analyse")
		case ingest.LooksBinary(sample):
			src.Format = "binary"
			src.Warnings = append(src.Warnings, "binary data, not a text log: skipped")
		default:
			if name, ok := matchString(cfg.Formats, st); ok {
				f, ok := cfg.Registry.Lookup(name)
				if !ok {
					return nil, fmt.Errorf("%w: --format %s=%s: unknown format %q; expected one of %s", ErrUsage, st.Name, name, name, strings.Join(cfg.Registry.Names(), ", "))
				}
				j.format = f
				for _, l := range sample {
					if h, ok := f.Hints(l); ok {
						vote(zoneVotes, yearVotes, h)
						break
					}
				}
			} else if d, ok := cfg.Registry.Detect(sample); ok {
				j.format = d.Format
				vote(zoneVotes, yearVotes, d.Hints)
			} else {
				src.Format = "unknown"
				src.Warnings = append(src.Warnings, "format not recognised from its first lines: skipped (name it with --format PATH=NAME; `postmortem formats` lists them)")
			}
		}
		if j.format != nil {
			src.Format = j.format.Name()
		}
		jobs = append(jobs, j)
	}

	loc := cfg.Zone
	switch {
	case loc != nil:
		res.ZoneNote = fmt.Sprintf("zone-less timestamps read as %s (--tz)", loc)
	default:
		if secs, n, ok := inferZone(zoneVotes); ok {
			loc = time.FixedZone(FormatOffset(secs), secs)
			res.ZoneNote = fmt.Sprintf("zone-less timestamps read as %s, the offset of %d source(s) with explicit offsets (override with --tz)", FormatOffset(secs), n)
		} else {
			loc = time.UTC
			res.ZoneNote = "zone-less timestamps read as UTC: no source states an offset (override with --tz)"
		}
	}
	res.Loc = loc
	year, _, _ := inferZone(yearVotes)

	parts := make([]*timeline.Timeline, len(jobs))
	workers := cfg.Workers
	if workers <= 0 {
		// Twice the cores: when a few large logs dominate (one access log
		// per VM), more of them are parsed at once than there are cores,
		// and the scheduler shares the cores among them, so that all
		// finish together instead of one core parsing the last ones alone.
		// Parts are kept until the merge anyway, so this costs only
		// read buffers.
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	pieceBytes := cfg.PieceBytes
	if pieceBytes == 0 {
		pieceBytes = DefaultPieceBytes
	}
	type task struct {
		j *job
		p *piece
	}
	var tasks []task
	for _, j := range jobs {
		if j.format == nil {
			continue
		}
		j.pieces = []*piece{{size: streamSize(j.stream)}}
		if sp, ok := j.format.(parsers.Splittable); ok && sp.Splittable() && pieceBytes > 0 {
			if ps := j.stream.Pieces(pieceBytes); len(ps) > 1 {
				j.pieces = j.pieces[:0]
				for k := range ps {
					j.pieces = append(j.pieces, &piece{at: &ps[k], size: pieceSize(j.stream, ps[k])})
				}
			}
		}
		for _, p := range j.pieces {
			tasks = append(tasks, task{j, p})
		}
	}
	// Largest first: the long tasks start at once and the small ones fill
	// the gaps. The order of the parts, and so the output, does not depend
	// on it, nor on the number of workers: the pieces of a stream are
	// joined in order.
	slices.SortStableFunc(tasks, func(a, b task) int { return cmp.Compare(b.p.size, a.p.size) })
	work := make(chan task)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				parse(ctx, t.j, t.p, loc, year, cfg)
				t.j.done(t.p)
			}
		}()
	}
	for _, t := range tasks {
		work <- t
	}
	close(work)
	wg.Wait()
	for _, j := range jobs {
		if j.format != nil {
			parts[j.idx] = j.finish()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Skew = estimateSkew(cfg, jobs, parts)
	for _, j := range jobs {
		if j.format != nil {
			res.Sources = append(res.Sources, j.files...)
			continue
		}
		// Skipped streams: one source per file, carrying the reason.
		for _, f := range j.stream.Files {
			src := *j.src
			src.Path = f.Path
			src.Warnings = append([]string(nil), j.src.Warnings...)
			res.Sources = append(res.Sources, src)
		}
		if len(j.stream.Files) == 0 {
			res.Sources = append(res.Sources, *j.src)
		}
	}
	if len(cfg.Extra) > 0 {
		var logWin timeline.Window
		for _, p := range parts {
			if p != nil {
				w := p.Window()
				logWin.Extend(w.Start)
				logWin.Extend(w.End)
			}
		}
		for _, x := range cfg.Extra {
			part, srcs, warns, err := x(ctx, loc, logWin)
			if err != nil {
				if errors.Is(err, ErrUsage) {
					return nil, err
				}
				res.Warnings = append(res.Warnings, err.Error())
			}
			res.Warnings = append(res.Warnings, warns...)
			res.Sources = append(res.Sources, srcs...)
			parts = append(parts, part)
		}
	}
	cfg.Prefilter.Fill(res.Sources)
	tl := timeline.Merge(parts...)
	if !cfg.Window.Start.IsZero() || !cfg.Window.End.IsZero() {
		tl = clip(tl, cfg.Window)
	}
	res.Timeline = tl
	if cfg.Pack != nil {
		res.Rules = cfg.Pack.Eval(tl, rules.EvalOptions{Loc: loc})
		resolveEvidence(streams, jobs, &res.Rules, &res.Warnings)
	}
	return res, nil
}

// streamSize is the work a stream stands for: its size, a compressed file
// counting eight times its size on disk.
func streamSize(st *ingest.Stream) int64 {
	var n int64
	for _, f := range st.Files {
		n += fileWork(f)
	}
	return n
}

func fileWork(f ingest.File) int64 {
	if strings.HasSuffix(f.Path, ".gz") || strings.HasSuffix(f.Path, ".zst") {
		return 8 * f.Size
	}
	return f.Size
}

// pieceSize is the work of one piece of a stream.
func pieceSize(st *ingest.Stream, p ingest.Piece) int64 {
	f := st.Files[p.File]
	if p.Whole() {
		return fileWork(f)
	}
	end := p.End
	if end < 0 {
		end = f.Size
	}
	return end - p.Start
}

func vote(zones, years map[int]int, h parsers.Hints) {
	if h.ZoneOK {
		zones[h.Zone]++
	}
	if h.Year != 0 {
		years[h.Year]++
	}
}

// parse reads one stream through its parser into a builder and fills the
// per-file sources of the job.
func parse(ctx context.Context, j *job, pc *piece, loc *time.Location, year int, cfg Config) {
	if year == 0 {
		year = time.Now().Year()
		if !j.mtime.IsZero() {
			year = j.mtime.In(loc).Year()
		}
	}
	p := cfg.Prefilter.Wrap(j.format, j.format.New(parsers.Config{Loc: loc, Year: year, Backend: j.stream.Backend, Path: j.stream.Name}))
	b := timeline.NewBuilder(timeline.Options{})
	sink := &countingSink{next: b, offset: j.offset, per: map[string]*fileCount{}}
	unrec := map[string]int64{}
	const progressEvery = 4 << 20
	var pending, reported int64
	progress := func(n int) {
		if cfg.Progress != nil {
			if pending += int64(n) + 1; pending >= progressEvery {
				cfg.Progress(pending)
				reported += pending
				pending = 0
			}
		}
	}
	each := func(line []byte, pos timeline.Pos) {
		if !p.Parse(line, pos, sink) {
			unrec[pos.File]++
		}
		progress(len(line))
	}
	var stats ingest.Stats
	var err error
	if pc.at == nil {
		stats, err = j.stream.Read(each)
	} else {
		var fs ingest.FileStats
		fs, err = j.stream.ReadPiece(*pc.at, each)
		stats = ingest.Stats{Bytes: fs.Bytes, PerFile: []ingest.FileStats{fs}}
	}
	parsers.Flush(p, sink)
	if cfg.Progress != nil && stats.Bytes > reported {
		cfg.Progress(stats.Bytes - reported)
	}
	if err != nil {
		fs := ingest.FileStats{Warnings: []string{err.Error()}}
		if pc.at != nil {
			fs.Path = j.stream.Files[pc.at.File].Path
		}
		stats.PerFile = append(stats.PerFile, fs)
	}
	for _, fs := range stats.PerFile {
		r := fileResult{fs: fs, unrec: unrec[fs.Path]}
		if c := sink.per[fs.Path]; c != nil {
			r.events, r.samples = c.events, c.samples
		}
		pc.files = append(pc.files, r)
	}
	pc.b = b
	_ = ctx
}

// joined is what the pieces of a stream joined so far hold together.
type joined struct {
	mu        sync.Mutex
	next      int // the next piece to join
	b         *timeline.Builder
	moved     map[string]int64 // lines per file in the pieces joined
	sums      map[string]*fileSum
	order     []string // files in the order they came
	streamErr []string
}

// fileSum is the sum over pieces of what parsing gave for one file.
type fileSum struct {
	fileResult
	warnings []string
}

// done records that piece pc of j is parsed, and joins, in order, every
// piece that is now next. Pieces are joined as they end, not all at the
// end, so that only the pieces being parsed or waiting for an earlier one
// are held: memory does not grow with the size of the file.
func (j *job) done(pc *piece) {
	jn := &j.join
	jn.mu.Lock()
	defer jn.mu.Unlock()
	pc.ended = true
	for jn.next < len(j.pieces) && j.pieces[jn.next].ended {
		j.add(j.pieces[jn.next])
		j.pieces[jn.next] = &piece{ended: true} // let its memory go
		jn.next++
	}
}

// add joins pc after the pieces joined before it: its lines are moved by
// the lines of the pieces of the same file before it.
func (j *job) add(pc *piece) {
	jn := &j.join
	if jn.moved == nil {
		jn.moved, jn.sums = map[string]int64{}, map[string]*fileSum{}
	}
	for _, r := range pc.files {
		if r.fs.Path == "" { // the stream could not be read at all
			jn.streamErr = append(jn.streamErr, r.fs.Warnings...)
			continue
		}
		delta := jn.moved[r.fs.Path]
		if pc.at != nil {
			pc.b.AddLines(r.fs.Path, delta)
		}
		s := jn.sums[r.fs.Path]
		if s == nil {
			s = &fileSum{}
			s.fs.Path = r.fs.Path
			jn.sums[r.fs.Path] = s
			jn.order = append(jn.order, r.fs.Path)
		}
		s.fs.Lines += r.fs.Lines
		s.fs.Skipped += r.fs.Skipped
		s.unrec += r.unrec
		s.events += r.events
		s.samples += r.samples
		for _, w := range r.fs.Warnings {
			if !slices.Contains(s.warnings, w) {
				s.warnings = append(s.warnings, w)
			}
		}
		for _, m := range r.fs.Marks {
			m.Line += delta
			s.fs.Marks = append(s.fs.Marks, m)
		}
		jn.moved[r.fs.Path] += r.fs.Lines + r.fs.Skipped
	}
	if jn.b == nil {
		jn.b = pc.b
	} else {
		jn.b.Append(pc.b)
	}
}

// finish returns j's timeline once all its pieces are joined, and sets its
// per-file sources and marks.
func (j *job) finish() *timeline.Timeline {
	jn := &j.join
	j.src.Warnings = append(j.src.Warnings, jn.streamErr...)
	if j.offset != 0 {
		j.src.Warnings = append(j.src.Warnings, fmt.Sprintf("times shifted by %s (--offset)", j.offset))
	}
	for _, path := range jn.order {
		s := jn.sums[path]
		src := timeline.Source{
			Path: path, Format: j.src.Format, Backend: j.src.Backend,
			Lines: s.fs.Lines, Skipped: s.fs.Skipped, Unrecognized: s.unrec,
			Events: s.events, Samples: s.samples,
			Warnings: append([]string(nil), j.src.Warnings...),
		}
		src.Warnings = append(src.Warnings, s.warnings...)
		if len(s.fs.Marks) > 0 {
			if j.marks == nil {
				j.marks = map[string][]ingest.Mark{}
			}
			j.marks[path] = s.fs.Marks
		}
		if s.fs.Skipped > 0 {
			src.Warnings = append(src.Warnings, fmt.Sprintf("%d over-long line(s) skipped", s.fs.Skipped))
		}
		if s.unrec > 0 {
			src.Warnings = append(src.Warnings, fmt.Sprintf("%d line(s) not in %s format", s.unrec, j.format.Name()))
		}
		j.files = append(j.files, src)
	}
	if jn.b == nil {
		return timeline.NewBuilder(timeline.Options{}).Timeline()
	}
	return jn.b.Timeline()
}

// countingSink counts what passes per file and applies a clock offset.
type countingSink struct {
	next     timeline.Sink
	offset   time.Duration
	per      map[string]*fileCount
	lastFile string
	last     *fileCount
}

type fileCount struct{ events, samples int64 }

func (s *countingSink) count(file string) *fileCount {
	if s.last != nil && file == s.lastFile {
		return s.last
	}
	c := s.per[file]
	if c == nil {
		c = &fileCount{}
		s.per[file] = c
	}
	s.lastFile, s.last = file, c
	return c
}

func (s *countingSink) Event(e timeline.Event) {
	s.count(e.Pos.File).events++
	if s.offset != 0 {
		e.Time = e.Time.Add(s.offset)
		if !e.End.IsZero() {
			e.End = e.End.Add(s.offset)
		}
	}
	s.next.Event(e)
}

func (s *countingSink) Sample(x timeline.Sample) {
	s.count(x.Pos.File).samples += x.Observations()
	if s.offset != 0 {
		x.Time = x.Time.Add(s.offset)
	}
	s.next.Sample(x)
}

// matchKey reports whether a --flag PATH=VALUE key names stream st: the
// exact display path, a glob over it, or a path suffix ("vm-a/error.log").
func matchKey(key string, st *ingest.Stream) bool {
	names := []string{st.Name}
	for _, f := range st.Files {
		names = append(names, f.Path)
	}
	key = filepath.ToSlash(key)
	for _, n := range names {
		if n == key || strings.HasSuffix(n, "/"+key) {
			return true
		}
		if ok, _ := path.Match(key, n); ok {
			return true
		}
		if ok, _ := path.Match(key, path.Base(n)); ok {
			return true
		}
	}
	return false
}

func matchString(m map[string]string, st *ingest.Stream) (string, bool) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if matchKey(k, st) {
			return m[k], true
		}
	}
	return "", false
}

func matchDuration(m map[string]time.Duration, st *ingest.Stream) time.Duration {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if matchKey(k, st) {
			return m[k]
		}
	}
	return 0
}

// clip keeps the events inside w. Series are kept whole: rules need the
// baseline before a window.
func clip(tl *timeline.Timeline, w timeline.Window) *timeline.Timeline {
	if w.End.IsZero() {
		w.End = time.Unix(1<<40, 0)
	}
	out := &timeline.Timeline{Series: tl.Series}
	for _, e := range tl.Events {
		if w.Contains(e.Time) {
			out.Events = append(out.Events, e)
		}
	}
	return out
}

// resolveEvidence fills the text of evidence that rules cited by position
// only (gauge points, counter exemplars) by re-reading those lines, so every
// evidence entry quotes the line at its file:line.
func resolveEvidence(streams []*ingest.Stream, jobs []*job, r *rules.Result, warnings *[]string) {
	want := map[string][]int64{}
	for i := range r.Findings {
		f := &r.Findings[i]
		for _, ev := range allEvidence(f) {
			if ev.Text == "" && ev.Pos.File != "" && ev.Pos.Line > 0 {
				want[ev.Pos.File] = append(want[ev.Pos.File], ev.Pos.Line)
			}
		}
	}
	if len(want) == 0 {
		return
	}
	osPath := map[string]string{}
	for _, st := range streams {
		for _, f := range st.Files {
			osPath[f.Path] = f.OSPath
		}
	}
	marks := map[string][]ingest.Mark{}
	for _, j := range jobs {
		maps.Copy(marks, j.marks)
	}
	// Files are re-read concurrently, each from the mark recorded while
	// parsing nearest before each wanted line (a line deep in a large
	// access log would otherwise mean reading the file up to it).
	files := slices.Sorted(maps.Keys(want))
	got := make([]map[int64]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, file := range files {
		op, ok := osPath[file]
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ingest.ReadLinesAtMarks(op, want[file], marks[file])
		}()
	}
	wg.Wait()
	texts := map[string]map[int64]string{}
	for i, file := range files {
		if errs[i] != nil {
			*warnings = append(*warnings, fmt.Sprintf("%s: cannot re-read evidence lines: %v", file, errs[i]))
			continue
		}
		if got[i] != nil {
			texts[file] = got[i]
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		for _, ev := range allEvidence(f) {
			if ev.Text == "" {
				ev.Text = texts[ev.Pos.File][ev.Pos.Line]
			}
		}
	}
}

func allEvidence(f *rules.Finding) []*rules.Evidence {
	var out []*rules.Evidence
	for i := range f.Evidence {
		out = append(out, &f.Evidence[i])
	}
	if f.Trigger != nil {
		out = append(out, f.Trigger)
	}
	return out
}
