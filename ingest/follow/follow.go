// Package follow follows growing log files the way `tail -F` does, but
// without losing or repeating a line across rotation.
//
// A Follower polls its inputs (files, directories and globs, re-expanded on
// every poll so that files and folders that appear later are picked up). For
// each followed path it keeps the open file, the device and inode it was
// opened as, the offset read so far and a fingerprint of the file's first
// bytes. On each poll it reads every open file to its end, then compares the
// path with what it holds:
//
//   - rename + create, delete + recreate: the path now names another inode.
//     The old file is read to its end (it stays open, and is read again on the
//     next polls for a grace period, in case the writer still holds it), then
//     the new file is read from its start.
//   - copytruncate: the same inode got shorter, or its first bytes changed.
//     What was written after the last read and before the truncation is in
//     the copy: the follower looks for a sibling file (same name plus a
//     rotation suffix) whose first bytes match the fingerprint and reads it
//     from the old offset to its end before reading the live file from 0.
//   - a path that disappears: its file is kept open and read to its end.
//
// A file reached through two names (the rotated copy of a followed file
// matched by a glob) is followed once: the follower dedupes by device and
// inode, and names that look rotated (`.1`, `.gz`, `-20260501`) are skipped
// when expanding directories and globs.
//
// Lines are delivered complete: a trailing partial line waits for its newline
// (and is delivered as is when its file is retired). Line numbers count the
// lines of each file incarnation from 1.
//
// Copytruncate has a window that no reader can close: lines written between
// the copy and the truncation exist in neither file. The tests serialise the
// writer with the copy for that reason, as every copytruncate setup must.
package follow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options tune a Follower.
type Options struct {
	// Poll is the interval between polls. Default 50ms.
	Poll time.Duration
	// FromStart reads files that exist when following starts from their
	// first line; otherwise they are read from their current end (files
	// that appear later are always read from their start).
	FromStart bool
	// MaxLineBytes bounds a line; longer lines are skipped and counted.
	// Default 1 MiB.
	MaxLineBytes int
	// Grace is how long a rotated-away file stays open and is read after
	// its path moved to another file. Default 2s.
	Grace time.Duration
	// Rescan is how often the inputs are expanded again to find new files
	// and folders. Default 1s.
	Rescan time.Duration
}

func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 1 << 20
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Second
	}
	if o.Rescan <= 0 {
		o.Rescan = time.Second
	}
	return o
}

// Line is one complete line read from a followed path. Text is only valid
// during the callback.
type Line struct {
	// Path is the followed path (as found by expanding the inputs), not the
	// rotated name the line may have been read from.
	Path string
	Text []byte
	// Num is the 1-based line number in the file incarnation it was read
	// from.
	Num int64
}

// Stats counts what a Follower did.
type Stats struct {
	Lines     int64
	Skipped   int64 // over-long lines
	Rotations int64 // inode changes
	Truncates int64 // copytruncate (or plain truncation) seen
	Recovered int64 // lines read from a copytruncate copy
}

// Follower follows a set of inputs. Create one with New and call Run once.
type Follower struct {
	inputs   []string
	opts     Options
	files    map[string]*tracked // by path
	mu       sync.Mutex
	stats    Stats
	first    bool
	lastScan time.Time
	// Errors reports problems that do not stop following (a file that
	// cannot be opened); nil ignores them.
	Errors func(error)
}

// tracked is one followed path: the current incarnation and retiring ones.
type tracked struct {
	path     string
	cur      *handle
	retiring []*handle
}

// handle is one open file incarnation.
type handle struct {
	f       *os.File
	dev     uint64
	ino     uint64
	off     int64
	line    int64
	partial []byte
	skip    bool // inside an over-long line
	fp      []byte
	retired time.Time
}

const fpLen = 64

// New returns a Follower of inputs: file paths, directories (followed
// recursively) and glob patterns.
func New(inputs []string, opts Options) *Follower {
	return &Follower{inputs: append([]string(nil), inputs...), opts: opts.withDefaults(), files: map[string]*tracked{}, first: true}
}

// Stats returns the counters so far. Safe to call from any goroutine.
func (f *Follower) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Run follows until ctx is done, calling fn for each line from the
// Follower's goroutine. It reads what is left in every open file before it
// returns ctx's error.
func (f *Follower) Run(ctx context.Context, fn func(Line)) error {
	t := time.NewTicker(f.opts.Poll)
	defer t.Stop()
	defer f.closeAll()
	for {
		f.Poll(fn)
		select {
		case <-ctx.Done():
			f.Poll(fn)
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll does one round: discover, read, check for rotation. Run calls it on
// every tick; tests and callers with their own loop may call it directly.
func (f *Follower) Poll(fn func(Line)) {
	now := time.Now()
	if f.first || now.Sub(f.lastScan) >= f.opts.Rescan {
		f.lastScan = now
		for _, p := range f.expand() {
			if f.files[p] == nil {
				f.files[p] = &tracked{path: p}
			}
		}
	}
	paths := make([]string, 0, len(f.files))
	for p := range f.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f.pollOne(f.files[p], now, fn)
	}
	f.first = false
}

func (f *Follower) closeAll() {
	for _, t := range f.files {
		if t.cur != nil {
			t.cur.f.Close()
		}
		for _, h := range t.retiring {
			h.f.Close()
		}
	}
}

func (f *Follower) report(err error) {
	if f.Errors != nil && err != nil {
		f.Errors(err)
	}
}

func (f *Follower) pollOne(t *tracked, now time.Time, fn func(Line)) {
	// Old incarnations first: their lines were written earlier.
	keep := t.retiring[:0]
	for _, h := range t.retiring {
		f.drain(t.path, h, fn)
		if now.Sub(h.retired) > f.opts.Grace {
			f.flushPartial(t.path, h, fn)
			h.f.Close()
			continue
		}
		keep = append(keep, h)
	}
	t.retiring = keep
	if t.cur != nil {
		// Check for a truncation before reading on, so that content
		// written after it is never read from the old offset.
		if fi, err := t.cur.f.Stat(); err == nil && f.truncated(t.cur, fi.Size()) {
			f.copytruncate(t, fn)
		} else {
			f.drain(t.path, t.cur, fn)
		}
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		// Gone (deleted or renamed away): keep reading what is open.
		if t.cur != nil && !errors.Is(err, fs.ErrNotExist) {
			f.report(err)
		}
		return
	}
	if !fi.Mode().IsRegular() {
		return
	}
	dev, ino := devIno(fi)
	if t.cur != nil && t.cur.dev == dev && t.cur.ino == ino {
		return
	}
	// A new incarnation (or the first one). Skip inodes followed elsewhere.
	if f.followedElsewhere(t, dev, ino) {
		return
	}
	fromEnd := t.cur == nil && f.first && !f.opts.FromStart
	h, err := open(t.path, dev, ino)
	if err != nil {
		f.report(err)
		return
	}
	if t.cur != nil {
		f.drain(t.path, t.cur, fn)
		t.cur.retired = now
		t.retiring = append(t.retiring, t.cur)
		f.mu.Lock()
		f.stats.Rotations++
		f.mu.Unlock()
	}
	t.cur = h
	if fromEnd {
		f.skipToEnd(h)
	}
	f.drain(t.path, h, fn)
}

func (f *Follower) followedElsewhere(self *tracked, dev, ino uint64) bool {
	for _, t := range f.files {
		if t == self {
			continue
		}
		if t.cur != nil && t.cur.dev == dev && t.cur.ino == ino {
			return true
		}
		for _, h := range t.retiring {
			if h.dev == dev && h.ino == ino {
				return true
			}
		}
	}
	return false
}

func open(path string, dev, ino uint64) (*handle, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The path may have been replaced between Stat and Open: trust the
	// handle.
	if fi, err := fh.Stat(); err == nil {
		dev, ino = devIno(fi)
	}
	return &handle{f: fh, dev: dev, ino: ino}, nil
}

// skipToEnd positions h at the end of its file, counting the lines skipped
// so that line numbers stay true. A last line without its newline is kept
// as a partial line and delivered whole once the writer finishes it.
func (f *Follower) skipToEnd(h *handle) {
	buf := make([]byte, 64<<10)
	for {
		n, err := h.f.Read(buf)
		if n > 0 {
			if int64(len(h.fp)) == h.off && len(h.fp) < fpLen {
				h.fp = appendFP(h.fp, buf[:n])
			}
			h.off += int64(n)
			h.line += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if i := bytes.LastIndexByte(buf[:n], '\n'); i < 0 {
				if len(h.partial)+n <= f.opts.MaxLineBytes {
					h.partial = append(h.partial, buf[:n]...)
				}
			} else {
				h.partial = append(h.partial[:0], buf[i+1:n]...)
			}
		}
		if err != nil || n == 0 {
			break
		}
	}
}

func appendFP(fp, b []byte) []byte {
	if need := fpLen - len(fp); need > 0 {
		if len(b) > need {
			b = b[:need]
		}
		fp = append(fp, b...)
	}
	return fp
}

// truncated reports whether h's file now holds other content than what was
// read: it got shorter, or its first bytes changed.
func (f *Follower) truncated(h *handle, size int64) bool {
	if size < h.off {
		return true
	}
	if len(h.fp) == 0 {
		return false
	}
	buf := make([]byte, len(h.fp))
	n, _ := h.f.ReadAt(buf, 0)
	return !bytes.Equal(buf[:n], h.fp)
}

// copytruncate handles a truncation of t's current file: it reads the rest
// of the old content from the copy if one can be found, then restarts the
// live file at 0.
func (f *Follower) copytruncate(t *tracked, fn func(Line)) {
	h := t.cur
	f.mu.Lock()
	f.stats.Truncates++
	f.mu.Unlock()
	if cp := f.findCopy(t.path, h); cp != "" {
		if fh, err := os.Open(cp); err == nil {
			if _, err := fh.Seek(h.off, io.SeekStart); err == nil {
				before := h.line
				old := h.f
				h.f = fh
				f.drain(t.path, h, fn)
				f.flushPartial(t.path, h, fn)
				h.f = old
				f.mu.Lock()
				f.stats.Recovered += h.line - before
				f.mu.Unlock()
			}
			fh.Close()
		}
	} else {
		f.flushPartial(t.path, h, fn)
	}
	h.off, h.line, h.fp, h.skip = 0, 0, nil, false
	h.partial = h.partial[:0]
	if _, err := h.f.Seek(0, io.SeekStart); err != nil {
		f.report(err)
	}
	f.drain(t.path, h, fn)
}

// findCopy returns the sibling of path that holds the copy of h's old
// content: a rotated name whose first bytes are h's fingerprint and that
// is at least h.off long. The most recently modified wins.
func (f *Follower) findCopy(path string, h *handle) string {
	if len(h.fp) == 0 {
		return ""
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	best, bestT := "", time.Time{}
	for _, e := range ents {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, base) || isCompressed(n) {
			continue
		}
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < h.off {
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			continue
		}
		buf := make([]byte, len(h.fp))
		k, _ := io.ReadFull(fh, buf)
		fh.Close()
		if !bytes.Equal(buf[:k], h.fp) {
			continue
		}
		if best == "" || fi.ModTime().After(bestT) {
			best, bestT = p, fi.ModTime()
		}
	}
	return best
}

func isCompressed(n string) bool {
	for _, s := range []string{".gz", ".zst", ".bz2", ".xz", ".lz4", ".zip"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// drain reads h to its current end, delivering complete lines.
func (f *Follower) drain(path string, h *handle, fn func(Line)) {
	var buf [64 << 10]byte
	for {
		n, err := h.f.Read(buf[:])
		if n > 0 {
			if int64(len(h.fp)) == h.off && len(h.fp) < fpLen {
				h.fp = appendFP(h.fp, buf[:n])
			}
			h.off += int64(n)
			f.split(path, h, buf[:n], fn)
		}
		if err != nil || n == 0 {
			return
		}
	}
}

func (f *Follower) split(path string, h *handle, b []byte, fn func(Line)) {
	var lines, skipped int64
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if !h.skip {
				if len(h.partial)+len(b) > f.opts.MaxLineBytes {
					h.skip, h.partial = true, h.partial[:0]
				} else {
					h.partial = append(h.partial, b...)
				}
			}
			break
		}
		seg := b[:i]
		b = b[i+1:]
		h.line++
		if len(seg)+len(h.partial) > f.opts.MaxLineBytes && !h.skip {
			h.partial = h.partial[:0]
			skipped++
			continue
		}
		if h.skip {
			// The end of an over-long line.
			h.skip = false
			skipped++
			continue
		}
		line := seg
		if len(h.partial) > 0 {
			h.partial = append(h.partial, seg...)
			line = h.partial
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		fn(Line{Path: path, Text: line, Num: h.line})
		lines++
		h.partial = h.partial[:0]
	}
	f.mu.Lock()
	f.stats.Lines += lines
	f.stats.Skipped += skipped
	f.mu.Unlock()
}

// flushPartial delivers a last line that never got its newline.
func (f *Follower) flushPartial(path string, h *handle, fn func(Line)) {
	if len(h.partial) == 0 || h.skip {
		h.partial = h.partial[:0]
		return
	}
	h.line++
	fn(Line{Path: path, Text: bytes.TrimSuffix(h.partial, []byte{'\r'}), Num: h.line})
	f.mu.Lock()
	f.stats.Lines++
	f.mu.Unlock()
	h.partial = h.partial[:0]
}

func devIno(fi os.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
