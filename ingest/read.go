package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/postmortem-tool/postmortem/internal/lines"
	"github.com/postmortem-tool/postmortem/timeline"
)

// blockSize is how much is read at a time.
const blockSize = 256 << 10

// sampleByteLimit bounds how much of a stream Sample reads (decompressed),
// so that a file without newlines is not read whole.
const sampleByteLimit = 8 << 20

// Compression names as reported in FileStats.
const (
	CompressionNone = ""
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
)

// FileStats are the counts of one physical file.
type FileStats struct {
	// Path is the file's display path.
	Path string
	// Compression is CompressionNone, CompressionGzip or CompressionZstd.
	Compression string
	// Lines counts lines handed to the callback; Skipped counts over-long
	// lines (and a last line cut short by a read error) that were not.
	// Lines+Skipped is the number of the last line.
	Lines, Skipped int64
	// Bytes counts decompressed bytes read.
	Bytes int64
	// Warnings say what went wrong with this file; reading went on.
	Warnings []string
	// Marks are places where lines start, about every markEvery bytes, in
	// an uncompressed file that can be read again (not stdin or a pipe).
	// ReadLinesAtMarks seeks to them instead of reading from the start.
	Marks []Mark
}

// Mark is where a line starts in an uncompressed file: line number Line
// (1-based) begins at byte Offset.
type Mark struct{ Line, Offset int64 }

// markEvery is the distance in bytes between the Marks of a file.
const markEvery = 1 << 20

// Stats are the counts of a stream: sums over its files.
type Stats struct {
	Lines, Bytes, Skipped int64
	// Warnings are all files' warnings, each prefixed by the file's path.
	Warnings []string
	// PerFile holds one entry per file, oldest first.
	PerFile []FileStats
}

// onceSource is an input that can be read only once (stdin, a pipe). What
// Sample reads from it is kept and replayed by Read.
type onceSource struct {
	r        io.Reader
	recorded bytes.Buffer
	consumed bool
}

var errReadTwice = errors.New("can only be read once")

// source opens f for reading from its start: raw (still compressed) bytes.
// For a Sample of a once source (sample true) what is read is recorded.
func (s *Stream) source(f File, sample bool) (io.Reader, func(), error) {
	if f.once {
		o := s.once
		if o == nil || o.consumed {
			return nil, nil, fmt.Errorf("%s: %w", f.Path, errReadTwice)
		}
		old := bytes.NewReader(o.recorded.Bytes())
		if sample {
			return io.MultiReader(old, io.TeeReader(o.r, &o.recorded)), func() {}, nil
		}
		o.consumed = true
		return io.MultiReader(old, o.r), func() { o.recorded = bytes.Buffer{} }, nil
	}
	fh, err := os.Open(f.OSPath)
	if err != nil {
		return nil, nil, cleanErr(err, f.Path)
	}
	return fh, func() { fh.Close() }, nil
}

// decompress sniffs the magic bytes of r and returns a reader of its
// decompressed content, the compression name and a closer.
func decompress(r io.Reader) (io.Reader, string, func(), error) {
	var magic [4]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, "", nil, err
	}
	var head io.Reader = bytes.NewReader(magic[:n])
	if sk, ok := r.(io.Seeker); ok && n > 0 {
		if _, err := sk.Seek(0, io.SeekStart); err == nil {
			head = nil
		}
	}
	full := r
	if head != nil {
		full = io.MultiReader(head, r)
	}
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(full)
		if err != nil {
			return nil, CompressionGzip, nil, fmt.Errorf("corrupt gzip header: %w", err)
		}
		return zr, CompressionGzip, func() { zr.Close() }, nil
	case n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		zr, err := zstd.NewReader(full, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, CompressionZstd, nil, fmt.Errorf("corrupt zstd header: %w", err)
		}
		return zr, CompressionZstd, zr.Close, nil
	}
	return full, CompressionNone, func() {}, nil
}

// open returns the decompressed content of f.
func (s *Stream) open(f File, sample bool) (io.Reader, string, func(), error) {
	raw, closeRaw, err := s.source(f, sample)
	if err != nil {
		return nil, "", nil, err
	}
	r, comp, closeDec, err := decompress(raw)
	if err != nil {
		closeRaw()
		return nil, comp, nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return r, comp, func() { closeDec(); closeRaw() }, nil
}

// Read calls fn for every line of the stream, file by file, oldest first.
// line (without its line ending, one trailing '\r' stripped) is valid only
// during the call; pos names the physical file's display path and the
// line's 1-based number in it (decompressed). Over-long lines are skipped
// and counted. A truncated or corrupt compressed file yields the lines read
// before the damage plus a warning; a file that cannot be opened any more
// gives a warning too. Read returns an error only when no file of the
// stream could be read (for stdin: when it was already read).
//
// Streams may be read concurrently with each other; one Stream must not be
// read by two goroutines at once.
func (s *Stream) Read(fn func(line []byte, pos timeline.Pos)) (Stats, error) {
	var st Stats
	var lr *lines.Reader
	var firstErr error
	opened := 0
	for _, f := range s.Files {
		fst := FileStats{Path: f.Path}
		r, comp, closeFn, err := s.open(f, false)
		fst.Compression = comp
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			fst.Warnings = append(fst.Warnings, err.Error())
			st.add(fst)
			continue
		}
		opened++
		if lr == nil {
			lr = lines.NewReader(r, blockSize, s.maxLine)
		} else {
			lr.Reset(r)
		}
		pos := timeline.Pos{File: f.Path}
		markable := comp == CompressionNone && !f.once
		nextMark := int64(markEvery)
		for {
			line, ok := lr.Next()
			if !ok {
				break
			}
			pos.Line = lr.Line
			if markable && lr.Offset >= nextMark {
				fst.Marks = append(fst.Marks, Mark{Line: lr.Line, Offset: lr.Offset})
				nextMark = lr.Offset + markEvery
			}
			fn(line, pos)
		}
		closeFn()
		fst.Lines, fst.Skipped, fst.Bytes = lr.Lines, lr.Skipped, lr.Bytes
		if err := lr.Err(); err != nil {
			fst.Warnings = append(fst.Warnings, f.Path+": "+damage(comp, lr.Lines, err))
		}
		st.add(fst)
	}
	if opened == 0 && firstErr != nil {
		return st, firstErr
	}
	return st, nil
}

func (st *Stats) add(f FileStats) {
	st.Lines += f.Lines
	st.Bytes += f.Bytes
	st.Skipped += f.Skipped
	st.Warnings = append(st.Warnings, f.Warnings...)
	st.PerFile = append(st.PerFile, f)
}

// damage words a read error: "truncated gzip after 1234 lines: unexpected EOF".
func damage(comp string, n int64, err error) string {
	what := "read error"
	if comp != CompressionNone {
		what = "corrupt " + comp
		if errors.Is(err, io.ErrUnexpectedEOF) {
			what = "truncated " + comp
		}
	}
	return fmt.Sprintf("%s after %d lines: %v", what, n, err)
}

// Sample returns up to n non-blank lines (copies) from the start of the
// stream, for format detection: from its oldest readable file, going on
// into newer files if that one has fewer. It reads at most a few MiB. For
// stdin and pipes the bytes read are kept and replayed by Read. The error
// is non-nil only if no file could be opened.
func (s *Stream) Sample(n int) ([][]byte, error) {
	var out [][]byte
	var firstErr error
	opened := false
	var total int64
	for _, f := range s.Files {
		if len(out) >= n || total >= sampleByteLimit {
			break
		}
		r, _, closeFn, err := s.open(f, true)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		opened = true
		lr := lines.NewReader(r, 64<<10, s.maxLine)
		for len(out) < n && total+lr.Bytes < sampleByteLimit {
			line, ok := lr.Next()
			if !ok {
				break
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			out = append(out, bytes.Clone(line))
		}
		total += lr.Bytes
		closeFn()
	}
	if !opened && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// LooksBinary reports whether sample lines look like a binary file rather
// than text: any NUL byte, or more than a quarter of the bytes being
// invalid UTF-8 or control characters other than tab, CR, FF, VT and ESC.
func LooksBinary(sample [][]byte) bool {
	var total, bad, nulLines int
	for _, l := range sample {
		if bytes.IndexByte(l, 0) >= 0 {
			// One line with a NUL (a torn write) does not make a log
			// binary; many do.
			nulLines++
		}
		for i := 0; i < len(l); {
			c := l[i]
			if c < utf8.RuneSelf {
				if c < 0x20 && c != '\t' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b || c == 0x7f {
					bad++
				}
				i++
				total++
				continue
			}
			r, size := utf8.DecodeRune(l[i:])
			if r == utf8.RuneError && size == 1 {
				bad++
			}
			i += size
			total += size
		}
	}
	return nulLines*4 > len(sample) || (total > 0 && bad*4 > total)
}

// ReadLinesAt reads the file at osPath once from the start and returns the
// text of the lines whose 1-based numbers are in want (decompressed, the
// same numbering as Read). Numbers past the end, and over-long lines, are
// absent from the map. On a read error it returns what it found with the
// error.
func ReadLinesAt(osPath string, want []int64) (map[int64]string, error) {
	return readLinesAt(osPath, want, 0, nil)
}

// ReadLinesAtMarks is ReadLinesAt for a file whose Marks were recorded when
// it was read (FileStats.Marks): for each wanted line it seeks to the last
// mark at or before it, when that is ahead, instead of reading every line
// before it. The file must not have changed since; compressed files are
// read from the start.
func ReadLinesAtMarks(osPath string, want []int64, marks []Mark) (map[int64]string, error) {
	return readLinesAt(osPath, want, 0, marks)
}

func readLinesAt(osPath string, want []int64, maxLine int, marks []Mark) (map[int64]string, error) {
	out := make(map[int64]string, len(want))
	if len(want) == 0 {
		return out, nil
	}
	ws := append([]int64(nil), want...)
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	fh, err := os.Open(osPath)
	if err != nil {
		return out, err
	}
	defer fh.Close()
	r, comp, closeDec, err := decompress(fh)
	if err != nil {
		return out, fmt.Errorf("%s: %w", osPath, err)
	}
	defer closeDec()
	lr := lines.NewReader(r, 64<<10, maxLine) // a few lines from a mark: a small block
	i := 0
	for i < len(ws) && ws[i] < 1 {
		i++
	}
	for i < len(ws) {
		if comp == CompressionNone && len(marks) > 0 {
			k := sort.Search(len(marks), func(k int) bool { return marks[k].Line > ws[i] }) - 1
			if k >= 0 && marks[k].Line > lr.Line+1 {
				if _, err := fh.Seek(marks[k].Offset, io.SeekStart); err != nil {
					return out, fmt.Errorf("%s: %w", osPath, err)
				}
				lr.Reset(fh)
				lr.Line = marks[k].Line - 1
			}
		}
		line, ok := lr.Next()
		if !ok {
			break
		}
		for i < len(ws) && ws[i] < lr.Line {
			i++ // skipped over-long line
		}
		if i < len(ws) && ws[i] == lr.Line {
			out[lr.Line] = string(line)
			for i < len(ws) && ws[i] == lr.Line {
				i++
			}
		}
	}
	if err := lr.Err(); err != nil {
		return out, fmt.Errorf("%s: %s", osPath, damage(comp, lr.Line, err))
	}
	return out, nil
}

// ReadLinesAt is the package ReadLinesAt for the file of s whose display
// path is file. It fails for stdin and pipes, which cannot be read again.
func (s *Stream) ReadLinesAt(file string, want []int64) (map[int64]string, error) {
	for _, f := range s.Files {
		if f.Path != file {
			continue
		}
		if f.once {
			return nil, fmt.Errorf("%s: cannot re-read lines: %w", file, errReadTwice)
		}
		return readLinesAt(f.OSPath, want, s.maxLine, nil)
	}
	return nil, fmt.Errorf("%s: not a file of stream %s", file, s.Name)
}
