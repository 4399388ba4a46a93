// Package prefilter skips log lines that cannot yield a signal a run uses,
// before their parser runs.
//
// Formats declare, through parsers.Prefilterable, the literals without one
// of which a line of theirs yields no event or sample of a given
// parsers.Want. A Set compiles them once per format into a Matcher (an
// ASCII-case-insensitive Aho-Corasick automaton) and wraps each stream's
// parser: a line with no literal is counted as skipped and not parsed.
// Formats that declare no literals (nginx access lines, ss snapshots: every
// line is a sample) are not wrapped, nor are formats whose parser rejects a
// quiet line faster than the scan (parsers.CheapRejecter), unless none of
// their lines can carry a wanted signal.
package prefilter

import (
	"fmt"
	"sync"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Set holds the matchers of one run. A nil *Set wraps nothing.
type Set struct {
	want parsers.Want

	mu       sync.Mutex
	matchers map[string]*Matcher // by format name; nil: not prefiltered
	known    map[string]bool
	wrapped  []*Parser
}

// NewSet returns a Set that keeps the lines that may carry a signal want
// uses.
func NewSet(want parsers.Want) *Set {
	return &Set{want: want, matchers: map[string]*Matcher{}, known: map[string]bool{}}
}

// Want returns the signals the set keeps lines for.
func (s *Set) Want() parsers.Want { return s.want }

// matcher returns the matcher of f, or nil when f is not prefiltered.
func (s *Set) matcher(f parsers.Format) *Matcher {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := f.Name()
	if s.known[name] {
		return s.matchers[name]
	}
	s.known[name] = true
	pf, ok := f.(parsers.Prefilterable)
	if !ok {
		return nil
	}
	lits, ok := pf.Literals(s.want)
	if !ok {
		return nil
	}
	if cr, ok := f.(parsers.CheapRejecter); ok && cr.CheapReject() && len(lits) > 0 {
		return nil
	}
	m := NewMatcher(lits)
	s.matchers[name] = m
	return m
}

// Wrap returns p, the parser of a stream of format f, wrapped so that the
// lines without a literal of f are skipped; p itself if s is nil or f
// declares no literals.
func (s *Set) Wrap(f parsers.Format, p parsers.Parser) parsers.Parser {
	if s == nil {
		return p
	}
	m := s.matcher(f)
	if m == nil {
		return p
	}
	w := &Parser{p: p, m: m, skipped: map[string]*int64{}}
	w.skip, _ = p.(parsers.Skipper)
	s.mu.Lock()
	s.wrapped = append(s.wrapped, w)
	s.mu.Unlock()
	return w
}

// Fill sets the Prefiltered count of each source from the lines the
// wrapped parsers skipped in its file. Call it after parsing has ended.
func (s *Set) Fill(srcs []timeline.Source) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int64{}
	for _, w := range s.wrapped {
		for f, c := range w.skipped {
			n[f] += *c
		}
	}
	for i := range srcs {
		srcs[i].Prefiltered = n[srcs[i].Path]
	}
}

// Parser is a parser behind a prefilter. It is not safe for concurrent
// use, like the parser it wraps.
type Parser struct {
	p       parsers.Parser
	m       *Matcher
	skip    parsers.Skipper
	skipped map[string]*int64
	file    string
	n       *int64 // count of file
}

// Flush implements parsers.Flusher for the wrapped parser.
func (w *Parser) Flush(sink timeline.Sink) { parsers.Flush(w.p, sink) }

// Parse implements parsers.Parser: a line with no literal is counted as
// skipped in its file and reported as recognised (it is not counted as
// unrecognised); other lines go to the wrapped parser.
func (w *Parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	if w.m.Match(line) {
		return w.p.Parse(line, pos, sink)
	}
	if w.n == nil || pos.File != w.file {
		c := w.skipped[pos.File]
		if c == nil {
			c = new(int64)
			w.skipped[pos.File] = c
		}
		w.file, w.n = pos.File, c
	}
	*w.n++
	if w.skip != nil {
		w.skip.Skip(line)
	}
	return true
}

// Note adds to each source whose lines the prefilter skipped a warning
// saying how many, for outputs that show no Prefiltered count.
func Note(srcs []timeline.Source) {
	for i := range srcs {
		if n := srcs[i].Prefiltered; n > 0 {
			srcs[i].Warnings = append(srcs[i].Warnings, fmt.Sprintf("%d line(s) skipped by the prefilter: no literal of a signal (they are not counted as unrecognised)", n))
		}
	}
}
