package ingest

import (
	"fmt"
	"io"
	"os"

	"github.com/postmortem-tool/postmortem/internal/lines"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Piece is a part of a stream that can be read on its own: a whole file,
// or the lines of a large uncompressed file that begin in a byte range.
type Piece struct {
	// File is the index of the file in Stream.Files.
	File int
	// Start and End are the byte range of the lines' first bytes; End is -1
	// for the rest of the file. A whole file is Start 0, End -1.
	Start, End int64
}

// Whole reports whether p is a whole file.
func (p Piece) Whole() bool { return p.Start == 0 && p.End < 0 }

// Pieces cuts the stream into pieces in order: each file whole, except
// uncompressed files that can be read again (not stdin or a pipe) of at
// least twice size bytes, which are cut into ranges of about size bytes.
// A file that cannot be opened is left whole (reading it gives the error).
func (s *Stream) Pieces(size int64) []Piece {
	var out []Piece
	for i, f := range s.Files {
		if size <= 0 || f.once || f.Size < 2*size || !plainFile(f.OSPath) {
			out = append(out, Piece{File: i, End: -1})
			continue
		}
		n := f.Size / size
		for k := int64(0); k < n; k++ {
			p := Piece{File: i, Start: k * f.Size / n, End: (k + 1) * f.Size / n}
			if k == n-1 {
				p.End = -1 // and whatever was written since
			}
			out = append(out, p)
		}
	}
	return out
}

// plainFile reports whether the file at path is not gzip or zstd.
func plainFile(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	_, comp, closeDec, err := decompress(fh)
	if err != nil {
		return false
	}
	closeDec()
	return comp == CompressionNone
}

// ReadPiece calls fn for the lines of piece p as Read does for its file,
// and returns the file's stats for those lines. Lines are numbered from 1
// at the piece's first line (add the lines of the pieces before it for
// their number in the file); Marks are numbered the same way. A line that
// begins before Start belongs to the piece before, even when it runs into
// this one; the last line that begins before End is read whole.
func (s *Stream) ReadPiece(p Piece, fn func(line []byte, pos timeline.Pos)) (FileStats, error) {
	if p.File < 0 || p.File >= len(s.Files) {
		return FileStats{}, fmt.Errorf("%s: no file %d", s.Name, p.File)
	}
	f := s.Files[p.File]
	fst := FileStats{Path: f.Path}
	if p.Whole() {
		sub := *s
		sub.Files = []File{f}
		st, err := sub.Read(fn)
		if len(st.PerFile) == 1 {
			fst = st.PerFile[0]
		}
		return fst, err
	}
	fh, err := os.Open(f.OSPath)
	if err != nil {
		return fst, cleanErr(err, f.Path)
	}
	defer fh.Close()
	fst.Compression = CompressionNone
	// From the byte before Start: the first "line" read is then the end of
	// the line that began before Start (just "\n" when one began at Start),
	// and is not this piece's.
	base := int64(0)
	if p.Start > 0 {
		base = p.Start - 1
		if _, err := fh.Seek(base, io.SeekStart); err != nil {
			return fst, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	lr := lines.NewReader(fh, blockSize, s.maxLine)
	if p.End >= 0 {
		lr.StopAt(p.End - base)
	}
	// lr numbers the line it starts in as 1 when it starts before Start.
	before := int64(0)
	if p.Start > 0 {
		before = 1
	}
	pos := timeline.Pos{File: f.Path}
	nextMark := base + markEvery
	var yielded int64
	for {
		line, ok := lr.Next()
		if !ok {
			break
		}
		if lr.Line <= before {
			continue // the end of the line that began before Start
		}
		yielded++
		pos.Line = lr.Line - before
		if abs := base + lr.Offset; abs >= nextMark {
			fst.Marks = append(fst.Marks, Mark{Line: pos.Line, Offset: abs})
			nextMark = abs + markEvery
		}
		fn(line, pos)
	}
	// The piece's lines are those the reader counted, less that end.
	total := max(lr.Line-before, 0)
	fst.Lines, fst.Skipped = yielded, total-yielded
	// The bytes of the range, so that the pieces of a file add up to it.
	if p.End >= 0 {
		fst.Bytes = p.End - p.Start
	} else {
		fst.Bytes = lr.Bytes - (p.Start - base)
	}
	if err := lr.Err(); err != nil {
		fst.Warnings = append(fst.Warnings, f.Path+": "+damage(CompressionNone, yielded, err))
	}
	return fst, nil
}
