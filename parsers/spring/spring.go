// Package spring parses the console log of Spring Boot applications: the
// default pattern of Boot 3.x (`2026-05-01T00:00:00.000+09:00  INFO 4442 ---
// [thread] logger : message`, also 3.4's `--- [app] [thread]` form), of Boot
// 2.x (zone-less `2026-05-01 00:00:00.000  INFO 4442 --- [main] logger :
// message`) and logback's common `%d [%thread] %-5level %logger - %msg`.
// Messages go to the shared classifier in parsers/internal/msg; stack trace
// lines are recognised and skipped.
package spring

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/msg"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "spring" format.
func Format() parsers.Format { return format{} }

type format struct{}

func (format) Name() string { return "spring" }

func (format) Description() string {
	return "Spring Boot 2.x/3.x console log and logback default pattern (JVM apps)"
}

func (format) Example() string {
	return "2026-05-01T03:08:35.012+09:00  INFO 4242 --- [ionShutdownHook] o.s.b.w.e.tomcat.GracefulShutdown        : Commencing graceful shutdown. Waiting for active requests to complete"
}

// Detect scores a Spring Boot or logback header line 90, and an indented or
// stack trace line 15 (weak support: pretty JSON and YAML are indented too).
func (format) Detect(line []byte) int {
	var c msg.Clock
	if _, ok := header(&c, line, time.UTC); ok {
		return 90
	}
	if continuation(line) {
		// Stack-trace lines belong to a Spring log, but indented lines
		// are common in many files (pretty JSON, YAML): weak support only.
		return 15
	}
	return 0
}

// Hints reads the zone and year of a header line's timestamp.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	var c msg.Clock
	if _, ok := header(&c, line, time.UTC); !ok {
		return parsers.Hints{}, false
	}
	off, zok, year, ok := msg.ISOZone(line)
	return parsers.Hints{Zone: off, ZoneOK: zok, Year: year}, ok
}

// New returns a parser for one stream.
func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &parser{cfg: cfg, cls: msg.New(msg.Options{})}
}

type parser struct {
	cfg   parsers.Config
	clock msg.Clock
	cls   *msg.Classifier
	seen  bool // a header line was parsed: stack traces may follow
}

type entry struct {
	t   time.Time
	msg []byte
}

// Parse parses one line: a header line has its message classified; a stack
// trace line after a header is accepted without output.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	e, ok := header(&p.clock, line, p.cfg.Loc)
	if !ok {
		return p.seen && continuation(line)
	}
	p.seen = true
	p.cls.Classify(e.msg, msg.Line{Time: e.t, Backend: p.cfg.Backend, Pos: pos, Raw: line}, sink)
	return true
}

// header parses a Spring Boot or logback header line.
func header(c *msg.Clock, line []byte, loc *time.Location) (entry, bool) {
	t, n, ok := c.ISO(line, loc)
	if !ok || n >= len(line) || line[n] != ' ' {
		return entry{}, false
	}
	rest := skipSpaces(line[n:])
	if len(rest) > 0 && rest[0] == '[' {
		// logback: [thread] LEVEL logger - msg
		end := bytes.IndexByte(rest, ']')
		if end < 0 {
			return entry{}, false
		}
		rest = skipSpaces(rest[end+1:])
		lv := level(rest)
		if lv == 0 {
			return entry{}, false
		}
		rest = skipSpaces(rest[lv:])
		d := bytes.Index(rest, []byte(" - "))
		if d < 0 {
			return entry{}, false
		}
		return entry{t: t, msg: rest[d+3:]}, true
	}
	// Boot: LEVEL PID --- [app] [thread] logger : msg
	lv := level(rest)
	if lv == 0 {
		return entry{}, false
	}
	rest = skipSpaces(rest[lv:])
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	rest = skipSpaces(rest[i:])
	if !bytes.HasPrefix(rest, []byte("---")) {
		return entry{}, false
	}
	rest = skipSpaces(rest[3:])
	for k := 0; k < 2 && len(rest) > 0 && rest[0] == '['; k++ {
		end := bytes.IndexByte(rest, ']')
		if end < 0 {
			return entry{}, false
		}
		rest = skipSpaces(rest[end+1:])
	}
	d := bytes.Index(rest, []byte(" : "))
	if d < 0 {
		if bytes.HasSuffix(rest, []byte(" :")) {
			return entry{t: t}, true
		}
		return entry{}, false
	}
	return entry{t: t, msg: rest[d+3:]}, true
}

// level returns the length of a log level word at the start of b, or 0.
func level(b []byte) int {
	for _, lv := range [...]string{"TRACE", "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "FATAL"} {
		if bytes.HasPrefix(b, []byte(lv)) && (len(b) == len(lv) || b[len(lv)] == ' ') {
			return len(lv)
		}
	}
	return 0
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// continuation reports lines of a Java stack trace or multi-line message:
// indented lines ("\tat ...", "    ... 12 more"), "Caused by:",
// "Suppressed:", and "pkg.SomeException: message" lines.
func continuation(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	if line[0] == '\t' || line[0] == ' ' {
		return len(bytes.TrimSpace(line)) > 0
	}
	if bytes.HasPrefix(line, []byte("Caused by:")) || bytes.HasPrefix(line, []byte("Suppressed:")) {
		return true
	}
	// A qualified exception class name, then ':' or the end.
	end := bytes.IndexByte(line, ':')
	if end < 0 {
		end = len(line)
	}
	name := line[:end]
	if bytes.IndexByte(name, ' ') >= 0 || bytes.IndexByte(name, '.') < 0 {
		return false
	}
	return bytes.HasSuffix(name, []byte("Exception")) || bytes.HasSuffix(name, []byte("Error")) || bytes.HasSuffix(name, []byte("Throwable"))
}

// Literals implements parsers.Prefilterable with the classifier's
// literals: only header lines emit, from their message. Stack trace lines
// emit nothing; the parser's Skip keeps track of whether a header was seen.
func (format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	return msg.Literals(want), true
}

// Skip implements parsers.Skipper: a skipped header line still lets the
// stack trace lines after it be recognised.
func (p *parser) Skip(line []byte) {
	if !p.seen {
		_, p.seen = header(&p.clock, line, p.cfg.Loc)
	}
}
