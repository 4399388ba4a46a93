// Package ingest finds the log inputs named on the command line and reads
// them as streams of lines.
//
// Discover expands files, directories, globs and "-" (stdin) into Streams.
// Rotated files of one log (access.log.2.gz, access.log.1, access.log) form
// one Stream read oldest first. Compression (gzip, zstd) is detected from
// magic bytes, never from file names. Reading is streaming with bounded
// memory; every line comes with its timeline.Pos: the display path of its
// physical file and its 1-based line number inside that (decompressed) file.
package ingest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// StdinName is the display path of standard input ("-" on the command line).
const StdinName = "stdin"

// Options tune discovery and reading.
type Options struct {
	// MaxLineBytes caps the length of a line; longer lines are counted as
	// skipped and discarded. Default 1 MiB.
	MaxLineBytes int
	// Backends maps a pattern to a backend label that overrides the label
	// guessed from the path. A pattern matches a stream when it equals the
	// display path of the stream or of one of its files, matches one of
	// them as a path.Match glob, or is a directory prefix of one of them.
	// When several patterns match, the longest wins (then the smallest).
	Backends map[string]string
	// Stdin is read for the "-" argument. Default os.Stdin.
	Stdin io.Reader
}

// File is one physical input file.
type File struct {
	// Path is the display path: the argument as given joined with the
	// file's path inside it, with forward slashes. It is what timeline.Pos
	// File holds for lines of this file.
	Path string
	// OSPath is the path to open.
	OSPath string
	// ModTime is the file's modification time (zero for stdin and pipes).
	ModTime time.Time
	// Size is the file's size on disk (compressed size), 0 when unknown.
	Size int64

	once bool      // stdin or a pipe: can be read only once
	src  io.Reader // the open stdin or pipe when once
	rel  string    // path inside the directory argument ("" if not from a walk)
}

// Stream is one log: a single file, stdin, or a rotated set read as one.
type Stream struct {
	// Name is the display path of the live file of a rotated set (the
	// newest member if there is no live file), or of the single file.
	Name string
	// Backend is the default backend label: from Options.Backends if a
	// pattern matches, else guessed from the path; "" when unknown.
	Backend string
	// Files are the physical files, oldest first.
	Files []File

	maxLine int
	once    *onceSource // stdin or a pipe
}

// Discover expands args into streams in a deterministic order: argument
// order, and sorted order inside directories and glob matches. Directories
// are walked recursively, skipping names that start with '.'. A glob may use
// "**" to match any number of directories. "-" is standard input.
//
// A path that does not exist or cannot be read, an unreadable directory, a
// bad pattern and a glob that matches nothing each give an error; Discover
// returns every such error along with the streams it could find. A file
// reached twice (by two arguments) is read once.
func Discover(args []string, opts Options) ([]*Stream, []error) {
	d := &discoverer{opts: opts, seen: map[string]bool{}, dirSeen: map[string]bool{}}
	for _, arg := range args {
		d.arg(arg)
	}
	return d.group(), d.errs
}

type discoverer struct {
	opts    Options
	files   []File
	errs    []error
	seen    map[string]bool // files, by resolved path
	dirSeen map[string]bool // directories, by resolved path (symlink loops)
	stdin   bool
}

func (d *discoverer) errorf(format string, a ...any) {
	d.errs = append(d.errs, fmt.Errorf(format, a...))
}

func (d *discoverer) arg(arg string) {
	if arg == "-" {
		if d.stdin {
			return
		}
		d.stdin = true
		in := d.opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		d.files = append(d.files, File{Path: StdinName, OSPath: "-", once: true, src: in})
		return
	}
	if arg == "" {
		d.errorf("empty path argument")
		return
	}
	if hasMeta(arg) {
		d.glob(arg)
		return
	}
	d.path(arg, filepath.ToSlash(arg), true)
}

// path adds one argument or glob match: a file or a directory.
func (d *discoverer) path(osPath, display string, explicit bool) {
	fi, err := os.Stat(osPath)
	if err != nil {
		d.errs = append(d.errs, cleanErr(err, display))
		return
	}
	if fi.IsDir() {
		d.walk(osPath, display, "")
		return
	}
	d.file(osPath, display, "", fi, explicit)
}

func (d *discoverer) file(osPath, display, rel string, fi fs.FileInfo, explicit bool) {
	key := resolved(osPath)
	if d.seen[key] {
		return
	}
	d.seen[key] = true
	f := File{Path: display, OSPath: osPath, ModTime: fi.ModTime(), rel: rel}
	if fi.Mode().IsRegular() {
		f.Size = fi.Size()
	} else {
		// Named pipes, process substitution (/dev/fd/N), character
		// devices: read once, like stdin. Only when named explicitly.
		if !explicit {
			return
		}
		f.once = true
	}
	fh, err := os.Open(osPath)
	if err != nil {
		d.errs = append(d.errs, cleanErr(err, display))
		return
	}
	if f.once {
		// A pipe stays open: opening it again would wait for a new
		// writer, and what was read from it is gone.
		f.src = fh
	} else {
		fh.Close()
	}
	d.files = append(d.files, f)
}

// walk adds the files under dir, sorted, skipping hidden names.
func (d *discoverer) walk(dir, display, rel string) {
	key := resolved(dir)
	if d.dirSeen[key] {
		return
	}
	d.dirSeen[key] = true
	ents, err := os.ReadDir(dir)
	if err != nil {
		d.errs = append(d.errs, cleanErr(err, joinDisplay(display, rel)))
		// ReadDir may return some entries before the error.
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		osPath := filepath.Join(dir, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		fi, err := os.Stat(osPath) // follows symlinks
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
				continue // dangling symlink inside a directory
			}
			d.errs = append(d.errs, cleanErr(err, joinDisplay(display, r)))
			continue
		}
		if fi.IsDir() {
			d.walk(osPath, display, r)
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		d.file(osPath, joinDisplay(display, r), r, fi, false)
	}
}

func (d *discoverer) glob(pattern string) {
	slash := filepath.ToSlash(pattern)
	var matches []string
	if strings.Contains(slash, "**") {
		var err error
		matches, err = globStar(slash)
		if err != nil {
			d.errorf("%s: %v", pattern, err)
			return
		}
	} else {
		m, err := filepath.Glob(pattern)
		if err != nil {
			d.errorf("%s: %v", pattern, err)
			return
		}
		for _, p := range m {
			if !hiddenMatch(filepath.ToSlash(p), slash) {
				matches = append(matches, filepath.ToSlash(p))
			}
		}
	}
	sort.Strings(matches)
	if len(matches) == 0 {
		d.errorf("%s: no files match", pattern)
		return
	}
	for _, m := range matches {
		d.path(filepath.FromSlash(m), m, false)
	}
}

// hiddenMatch reports whether match has a dot-named segment that the pattern
// did not ask for explicitly.
func hiddenMatch(match, pattern string) bool {
	ms := strings.Split(match, "/")
	ps := strings.Split(pattern, "/")
	for i, s := range ms {
		if !strings.HasPrefix(s, ".") || s == "." || s == ".." {
			continue
		}
		if i < len(ps) && strings.HasPrefix(ps[i], ".") {
			continue
		}
		return true
	}
	return false
}

// globStar expands a slash-separated pattern in which "**" matches zero or
// more directories. Hidden names are skipped unless the pattern segment
// starts with '.'.
func globStar(pattern string) ([]string, error) {
	segs := strings.Split(pattern, "/")
	// The static prefix has no meta characters.
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	base := strings.Join(segs[:i], "/")
	if base == "" && strings.HasPrefix(pattern, "/") {
		base = "/"
	}
	for _, s := range segs[i:] {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, err
		}
	}
	var out []string
	var rec func(dir string, rest []string)
	rec = func(dir string, rest []string) {
		if len(rest) == 0 {
			return
		}
		if rest[0] == "**" {
			rec(dir, rest[1:]) // zero directories
		}
		osDir := dir
		if osDir == "" {
			osDir = "."
		}
		ents, err := os.ReadDir(filepath.FromSlash(osDir))
		if err != nil {
			return
		}
		for _, e := range ents {
			name := e.Name()
			p := name
			if dir != "" {
				p = strings.TrimSuffix(dir, "/") + "/" + name
			}
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(filepath.FromSlash(p)); err == nil {
					isDir = fi.IsDir()
				}
			}
			if rest[0] == "**" {
				if strings.HasPrefix(name, ".") {
					continue
				}
				if isDir {
					rec(p, rest) // one more directory
				}
				continue
			}
			if strings.HasPrefix(name, ".") && !strings.HasPrefix(rest[0], ".") {
				continue
			}
			if ok, _ := path.Match(rest[0], name); !ok {
				continue
			}
			if len(rest) == 1 {
				out = append(out, p)
			} else if isDir {
				rec(p, rest[1:])
			}
		}
	}
	rec(base, segs[i:])
	// "a/**/b" may reach the same path twice through "**" choices.
	sort.Strings(out)
	uniq := out[:0]
	for j, p := range out {
		if j == 0 || p != out[j-1] {
			uniq = append(uniq, p)
		}
	}
	return uniq, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

func joinDisplay(display, rel string) string {
	if rel == "" {
		return display
	}
	return path.Join(display, rel)
}

func resolved(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return p
}

// cleanErr words a stat/open error with the display path.
func cleanErr(err error, display string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", display, pe.Err)
	}
	return fmt.Errorf("%s: %w", display, err)
}

// group builds streams from the discovered files, grouping rotated sets.
func (d *discoverer) group() []*Stream {
	type member struct {
		f   File
		rot rotation
	}
	var order []string
	groups := map[string][]member{}
	for i, f := range d.files {
		key := "\x00" + strconv.Itoa(i) // ungrouped by default
		var rot rotation
		if !f.once {
			rot = parseRotation(filepath.Base(f.OSPath))
			key = filepath.Dir(resolved(f.OSPath)) + "\x00" + rot.base
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], member{f, rot})
	}
	maxLine := d.opts.MaxLineBytes
	streams := make([]*Stream, 0, len(order))
	for _, key := range order {
		ms := groups[key]
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].rot.older(ms[j].rot) })
		s := &Stream{maxLine: maxLine}
		for _, m := range ms {
			s.Files = append(s.Files, m.f)
		}
		newest := s.Files[len(s.Files)-1]
		s.Name = newest.Path
		if newest.once {
			s.once = &onceSource{r: newest.src}
		}
		s.Backend = backendFor(s, d.opts.Backends)
		streams = append(streams, s)
	}
	return streams
}

// backendFor picks the stream's backend: an override, else the heuristic on
// the path inside the directory argument, else (only clear host names) on the
// whole display path.
func backendFor(s *Stream, overrides map[string]string) string {
	if b, ok := overrideFor(s, overrides); ok {
		return b
	}
	f := s.Files[len(s.Files)-1]
	if f.once {
		return ""
	}
	if f.rel != "" {
		if b := BackendFromPath(f.rel); b != "" {
			return b
		}
		return backendFromPath(f.Path, true)
	}
	return BackendFromPath(f.Path)
}

func overrideFor(s *Stream, overrides map[string]string) (string, bool) {
	if len(overrides) == 0 {
		return "", false
	}
	pats := make([]string, 0, len(overrides))
	for p := range overrides {
		pats = append(pats, p)
	}
	sort.Slice(pats, func(i, j int) bool {
		if len(pats[i]) != len(pats[j]) {
			return len(pats[i]) > len(pats[j])
		}
		return pats[i] < pats[j]
	})
	names := []string{s.Name}
	for _, f := range s.Files {
		names = append(names, f.Path)
	}
	for _, p := range pats {
		cp := strings.TrimSuffix(path.Clean(filepath.ToSlash(p)), "/")
		for _, n := range names {
			if n == cp || strings.HasPrefix(n, cp+"/") {
				return overrides[p], true
			}
			if ok, _ := path.Match(cp, n); ok {
				return overrides[p], true
			}
		}
	}
	return "", false
}

// rotation describes a file name's place in a rotated set.
type rotation struct {
	base  string // name without rotation suffix and compression extension
	class int    // 0 numbered, 1 dated, 2 compressed without suffix, 3 live
	num   int64
	date  string // digits only
	name  string
}

// older reports whether r sorts before (is older than) o.
func (r rotation) older(o rotation) bool {
	if r.class != o.class {
		return r.class < o.class
	}
	switch r.class {
	case 0:
		if r.num != o.num {
			return r.num > o.num
		}
	case 1:
		if r.date != o.date {
			return r.date < o.date
		}
	}
	return r.name < o.name
}

// parseRotation splits a file name into its rotation parts:
// "access.log.2.gz" → base "access.log", numbered 2;
// "access.log-20260501.gz" → base "access.log", dated 20260501.
func parseRotation(name string) rotation {
	r := rotation{name: name, class: 3}
	base := name
	for _, ext := range []string{".gz", ".zst", ".zstd"} {
		if strings.HasSuffix(base, ext) && len(base) > len(ext) {
			base = strings.TrimSuffix(base, ext)
			r.class = 2
			break
		}
	}
	r.base = base
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		suf := base[i+1:]
		if len(suf) >= 1 && len(suf) <= 5 && allDigits(suf) {
			n, _ := strconv.ParseInt(suf, 10, 64)
			r.base, r.class, r.num = base[:i], 0, n
			return r
		}
	}
	if b, date, ok := dateSuffix(base); ok {
		r.base, r.class, r.date = b, 1, date
	}
	return r
}

// dateSuffix recognises "-20260501", "-2026050112", "-20260501-1714521600",
// "-2026-05-01" (also after '.' or '_') at the end of name.
func dateSuffix(name string) (base, date string, ok bool) {
	for i := len(name) - 1; i > 0; i-- {
		c := name[i]
		if c != '-' && c != '.' && c != '_' {
			continue
		}
		suf := name[i+1:]
		digits := strings.ReplaceAll(suf, "-", "")
		if len(digits) < 8 || !allDigits(digits) || !plausibleDate(digits[:8]) {
			continue
		}
		switch {
		case len(suf) == 10 && suf[4] == '-' && suf[7] == '-': // 2026-05-01
		case allDigits(suf) && (len(suf) == 8 || len(suf) == 10): // 20260501[HH]
		case len(suf) > 9 && suf[8] == '-' && allDigits(suf[:8]) && allDigits(suf[9:]): // 20260501-epoch
		default:
			continue
		}
		return name[:i], digits, true
	}
	return "", "", false
}

func plausibleDate(d string) bool {
	y, _ := strconv.Atoi(d[:4])
	m, _ := strconv.Atoi(d[4:6])
	day, _ := strconv.Atoi(d[6:8])
	return y >= 1990 && y <= 2200 && m >= 1 && m <= 12 && day >= 1 && day <= 31
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
