package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/timeline"
)

// File is a metric file to read: Path is its display path (what the draft
// cites), OSPath the path to open.
type File struct {
	Path   string
	OSPath string
}

// Source reads metric files (given explicitly or claimed from the log
// inputs) and, when Prom is set, a Prometheus server, and maps their series
// onto the timeline through Queries. Its Run method has the shape of
// pipeline.ExtraSource. A Source is used for one run.
type Source struct {
	// Queries map series onto signals; nil means DefaultQueries().
	Queries []Query
	// Files are read in order, after any claimed ones.
	Files []File
	// Prom, when set, is queried over the run's window.
	Prom *Prom
	// MaxFileBytes bounds how much of one file is read (default 256 MiB).
	MaxFileBytes int64

	mu      sync.Mutex
	claimed []claimedFile
}

type claimedFile struct {
	File
	format string
}

// Claim reports whether the input stream st is a metric file (a single
// file whose head Sniff recognises) and, if so, takes it over so that Run
// reads it instead of a log parser. sample is the stream's first lines; when
// it is empty (a JSON answer on one over-long line) the file head is read
// directly. It is safe for concurrent use.
func (s *Source) Claim(st *ingest.Stream, sample [][]byte) bool {
	if st == nil || len(st.Files) != 1 || st.Files[0].OSPath == "" {
		return false
	}
	f := st.Files[0]
	var head []byte
	for _, l := range sample {
		head = append(head, l...)
		head = append(head, '\n')
		if len(head) > 8<<10 {
			break
		}
	}
	format := Sniff(head)
	if format == "" && len(sample) == 0 {
		if h, err := readHead(f.OSPath, 8<<10); err == nil {
			format = Sniff(h)
		}
	}
	if format == "" {
		return false
	}
	s.mu.Lock()
	s.claimed = append(s.claimed, claimedFile{File: File{Path: f.Path, OSPath: f.OSPath}, format: format})
	s.mu.Unlock()
	return true
}

// Claimed returns the display paths of the files Claim took, sorted.
func (s *Source) Claimed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.claimed))
	for _, c := range s.claimed {
		out = append(out, c.Path)
	}
	sort.Strings(out)
	return out
}

func readHead(osPath string, n int) ([]byte, error) {
	r, closeFn, err := openFile(osPath)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	buf := make([]byte, n)
	m, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return buf[:m], nil
}

// openFile opens a possibly gzip- or zstd-compressed file.
func openFile(osPath string) (io.Reader, func(), error) {
	fh, err := os.Open(osPath)
	if err != nil {
		return nil, nil, err
	}
	var magic [4]byte
	n, _ := io.ReadFull(fh, magic[:])
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		fh.Close()
		return nil, nil, err
	}
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(fh)
		if err != nil {
			fh.Close()
			return nil, nil, fmt.Errorf("corrupt gzip header: %w", err)
		}
		return zr, func() { zr.Close(); fh.Close() }, nil
	case n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		zr, err := zstd.NewReader(fh, zstd.WithDecoderConcurrency(1))
		if err != nil {
			fh.Close()
			return nil, nil, fmt.Errorf("corrupt zstd header: %w", err)
		}
		return zr, func() { zr.Close(); fh.Close() }, nil
	}
	return fh, func() { fh.Close() }, nil
}

// Run reads every claimed and given file, then queries Prom if set, and
// returns the part of the timeline they make. A file that cannot be read or
// parsed becomes a warning on its source; a Prometheus that fails becomes a
// run warning naming the failed queries. Run never returns a usage error.
func (s *Source) Run(ctx context.Context, loc *time.Location, window timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
	if loc == nil {
		loc = time.UTC
	}
	qs := s.Queries
	if qs == nil {
		qs = DefaultQueries()
	}
	s.mu.Lock()
	files := append([]claimedFile(nil), s.claimed...)
	s.mu.Unlock()
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range s.Files {
		files = append(files, claimedFile{File: f})
	}
	m := newMapper(loc)
	// Next to logs, a series with no backend (a host-wide node_exporter
	// gauge) would compete with the per-backend series the logs give:
	// keep it as SIGNAL_host. Without logs it is the signal itself.
	m.hostSuffix = !window.Start.IsZero()
	var srcs []timeline.Source
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		srcs = append(srcs, s.readFile(f, qs, m))
	}
	var warns []string
	if s.Prom != nil {
		src, w := s.Prom.run(ctx, qs, m, window)
		srcs = append(srcs, src)
		warns = append(warns, w...)
	}
	return m.timeline(), srcs, warns, nil
}

func (s *Source) readFile(f claimedFile, qs []Query, m *mapper) timeline.Source {
	src := timeline.Source{Path: f.Path, Format: f.format, Warnings: []string{}}
	r, closeFn, err := openFile(f.OSPath)
	if err != nil {
		src.Format = "metrics"
		src.Warnings = append(src.Warnings, fmt.Sprintf("cannot read: %v", cleanErr(err, f.OSPath, f.Path)))
		return src
	}
	defer closeFn()
	limit := s.MaxFileBytes
	if limit <= 0 {
		limit = 256 << 20
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		src.Warnings = append(src.Warnings, fmt.Sprintf("read stopped: %v", err))
	}
	if int64(len(data)) > limit {
		data = data[:limit]
		src.Warnings = append(src.Warnings, fmt.Sprintf("only the first %d bytes read", limit))
	}
	if src.Format == "" {
		src.Format = Sniff(data)
		if src.Format == "" {
			src.Format = "metrics"
			src.Warnings = append(src.Warnings, "not a metric file (expected a Prometheus query_range JSON answer, exposition text starting with # HELP/# TYPE, or CSV time,metric,labels,value): skipped")
			return src
		}
	}
	src.Lines = int64(bytes.Count(data, []byte{'\n'}))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		src.Lines++
	}
	raws, warns, err := Parse(src.Format, bytes.NewReader(data))
	src.Warnings = append(src.Warnings, warns...)
	if err != nil {
		src.Warnings = append(src.Warnings, err.Error())
		return src
	}
	var fileQuery *Query
	if src.Format == FormatQueryRange {
		base := path.Base(f.Path)
		for _, ext := range []string{".gz", ".zst", ".json"} {
			base = strings.TrimSuffix(base, ext)
		}
		for i := range qs {
			if qs[i].Name == base {
				fileQuery = &qs[i]
				break
			}
		}
	}
	var unmapped []string
	for _, raw := range raws {
		q, convert := fileQuery, false
		if q == nil {
			for i := range qs {
				if raw.Name != "" && qs[i].matches(raw.Name) {
					q, convert = &qs[i], qs[i].Rate
					break
				}
			}
		}
		if q == nil {
			name := raw.Name
			if name == "" {
				name = "(unnamed)"
			}
			unmapped = append(unmapped, name)
			continue
		}
		pts := raw.Points
		if convert {
			pts = counterRate(pts)
		}
		src.Samples += int64(m.add(q, raw.Labels, pts, f.Path))
	}
	if len(unmapped) > 0 {
		unmapped = dedupe(unmapped)
		shown := unmapped
		if len(shown) > 8 {
			shown = shown[:8]
		}
		src.Warnings = append(src.Warnings, fmt.Sprintf("%d series not mapped onto a signal (%s%s): name them in a queries file (--queries)",
			len(unmapped), strings.Join(shown, ", "), map[bool]string{true: ", ...", false: ""}[len(unmapped) > 8]))
	}
	if src.Samples == 0 && len(unmapped) == 0 && len(raws) == 0 {
		src.Warnings = append(src.Warnings, "no series in the file")
	}
	return src
}

func cleanErr(err error, osPath, display string) error {
	if osPath == display {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), osPath, display))
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// counterRate turns counter samples into per-second rates between
// consecutive samples; a drop is a counter reset, after which the new value
// is the increase.
func counterRate(pts []RawPoint) []RawPoint {
	if len(pts) < 2 {
		return nil
	}
	out := make([]RawPoint, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		dt := pts[i].Time.Sub(pts[i-1].Time).Seconds()
		if dt <= 0 {
			continue
		}
		inc := pts[i].Value - pts[i-1].Value
		if inc < 0 {
			inc = pts[i].Value
		}
		out = append(out, RawPoint{Time: pts[i].Time, Value: inc / dt, Line: pts[i].Line})
	}
	return out
}

// mapper gathers mapped points per (signal, backend); several series that
// land on the same key are summed at equal timestamps.
type mapper struct {
	loc        *time.Location
	hostSuffix bool
	keys       []mkey
	data       map[mkey]*mseries
}

type mkey struct {
	signal  timeline.Metric
	backend string
}

type mseries struct {
	n   int // series added
	pts map[int64]*timeline.Point
}

func newMapper(loc *time.Location) *mapper {
	return &mapper{loc: loc, data: map[mkey]*mseries{}}
}

// add maps the points of one series of query q and returns how many it took.
func (m *mapper) add(q *Query, labels map[string]string, pts []RawPoint, file string) int {
	k := mkey{q.Signal, q.backend(labels)}
	if k.backend == "" && m.hostSuffix {
		k.signal += "_host"
	}
	ms := m.data[k]
	if ms == nil {
		ms = &mseries{pts: map[int64]*timeline.Point{}}
		m.data[k] = ms
		m.keys = append(m.keys, k)
	}
	ms.n++
	n := 0
	for _, p := range pts {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		key := p.Time.UnixNano()
		if e := ms.pts[key]; e != nil {
			e.Value += p.Value
		} else {
			ms.pts[key] = &timeline.Point{Time: p.Time.In(m.loc), Value: p.Value, Pos: timeline.Pos{File: file, Line: p.Line}}
		}
		n++
	}
	return n
}

// timeline returns what was mapped. A counter signal receives each rate
// sample times the interval to the previous sample (to the next one for the
// first), so that sums over windows hold.
func (m *mapper) timeline() *timeline.Timeline {
	b := timeline.NewBuilder(timeline.Options{})
	for _, k := range m.keys {
		ms := m.data[k]
		times := make([]int64, 0, len(ms.pts))
		for t := range ms.pts {
			times = append(times, t)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		for i, t := range times {
			p := ms.pts[t]
			v := p.Value
			if k.signal.IsCounter() {
				var dt float64
				switch {
				case i > 0:
					dt = float64(t-times[i-1]) / 1e9
				case len(times) > 1:
					dt = float64(times[1]-t) / 1e9
				default:
					dt = 1
				}
				v *= dt
			}
			b.Sample(timeline.Sample{Time: p.Time, Metric: k.signal, Backend: k.backend, Value: v, Pos: p.Pos})
		}
	}
	return b.Timeline()
}
