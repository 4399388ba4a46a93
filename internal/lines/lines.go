// Package lines splits a byte stream into lines with bounded memory.
//
// A Reader reads large blocks and cuts them with bytes.IndexByte, handing out
// slices into its own buffer. Lines longer than a cap are discarded while
// they stream past, without ever being held whole.
package lines

import (
	"bytes"
	"errors"
	"io"
)

// DefaultBlock is the default read size of a Reader.
const DefaultBlock = 256 << 10

// DefaultMaxLine is the default cap on the length of a line.
const DefaultMaxLine = 1 << 20

// errNoProgress is returned when the underlying reader keeps returning
// 0, nil.
var errNoProgress = errors.New("reader returned no data and no error")

// Reader yields the lines of an io.Reader.
//
// A line ends at '\n'; one trailing '\r' is stripped; a final line without
// '\n' is yielded too (an empty input yields no line, "a\n" yields one).
// Lines longer than the cap (counted before '\r' stripping, without the '\n')
// are skipped: they still take a line number but are never yielded.
//
// Memory use is bounded by max(block, cap+1) plus the caller's own.
type Reader struct {
	r     io.Reader
	buf   []byte
	start int   // first unread byte
	base  int64 // stream offset of buf[0]
	end   int   // end of valid data
	max   int
	block int

	discard bool // inside an over-long line
	eof     bool
	err     error
	stop    int64 // no line that starts at or after this offset; <0: none

	// Line is the 1-based number of the line last yielded or skipped.
	Line int64
	// Lines counts yielded lines.
	Lines int64
	// Skipped counts over-long lines discarded.
	Skipped int64
	// Bytes counts bytes read from the underlying reader.
	Bytes int64
	// Offset is the byte offset in the stream at which the line last
	// yielded starts (counting from where the Reader began).
	Offset int64
}

// NewReader returns a Reader over r that reads block bytes at a time and
// skips lines longer than maxLine. Zero or negative values take the
// defaults.
func NewReader(r io.Reader, block, maxLine int) *Reader {
	if block <= 0 {
		block = DefaultBlock
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &Reader{r: r, block: block, max: maxLine, buf: make([]byte, block), stop: -1}
}

// StopAt makes Next read no line, over-long or not, that starts at or
// after byte off of the stream: Next returns false there.
func (lr *Reader) StopAt(off int64) { lr.stop = off }

// Reset makes lr read from r from the start, keeping its buffer.
func (lr *Reader) Reset(r io.Reader) {
	*lr = Reader{r: r, block: lr.block, max: lr.max, buf: lr.buf, stop: -1}
}

// Next returns the next line and true, or nil and false at the end of input
// or on a read error (see Err). The line is valid until the next call.
func (lr *Reader) Next() ([]byte, bool) {
	for {
		data := lr.buf[lr.start:lr.end]
		if lr.discard {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				lr.start += i + 1
				lr.discard = false
				lr.skip()
				continue
			}
			lr.base += int64(lr.end)
			lr.start, lr.end = 0, 0
			if lr.eof {
				lr.discard = false
				lr.skip()
				return nil, false
			}
			lr.fill()
			continue
		}
		if lr.stop >= 0 && lr.base+int64(lr.start) >= lr.stop {
			return nil, false // the next line starts at or after the stop
		}
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line := data[:i]
			lr.Offset = lr.base + int64(lr.start)
			lr.start += i + 1
			if len(line) > lr.max {
				lr.skip()
				continue
			}
			return lr.yield(line), true
		}
		if len(data) > lr.max {
			lr.discard = true
			continue
		}
		if lr.eof {
			if len(data) == 0 {
				return nil, false
			}
			lr.Offset = lr.base + int64(lr.start)
			lr.start = lr.end
			if lr.err != nil {
				// A read error cut this line short: do not hand out a
				// fragment that could parse as something it is not.
				lr.skip()
				return nil, false
			}
			return lr.yield(data), true
		}
		lr.fill()
	}
}

func (lr *Reader) yield(line []byte) []byte {
	lr.Line++
	lr.Lines++
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func (lr *Reader) skip() {
	lr.Line++
	lr.Skipped++
}

// fill reads more data after compacting or growing the buffer.
func (lr *Reader) fill() {
	if lr.start > 0 {
		lr.base += int64(lr.start)
		n := copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start, lr.end = 0, n
	}
	if lr.end == len(lr.buf) {
		// A line is longer than the buffer but not (yet) over the cap.
		size := 2 * len(lr.buf)
		if size > lr.max+1 {
			size = lr.max + 1
		}
		if size <= len(lr.buf) {
			size = len(lr.buf) + 1
		}
		nb := make([]byte, size)
		copy(nb, lr.buf[:lr.end])
		lr.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		lr.Bytes += int64(n)
		if err != nil {
			lr.eof = true
			if err != io.EOF {
				lr.err = err
			}
			return
		}
		if n > 0 {
			return
		}
		if tries >= 100 {
			lr.eof, lr.err = true, errNoProgress
			return
		}
	}
}

// Err returns the first read error other than io.EOF. A line cut short by
// the error is counted as skipped, not yielded.
func (lr *Reader) Err() error { return lr.err }
