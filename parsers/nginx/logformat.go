package nginx

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/scan"
	"github.com/postmortem-tool/postmortem/timeline"
)

// variable kinds a compiled log_format knows; others are skipped.
type varKind int

const (
	vSkip varKind = iota
	vTimeLocal
	vTimeISO
	vMsec
	vStatus
	vUCT
	vUS
	vUA
)

var knownVars = map[string]varKind{
	"time_local":            vTimeLocal,
	"time_iso8601":          vTimeISO,
	"msec":                  vMsec,
	"status":                vStatus,
	"upstream_connect_time": vUCT,
	"upstream_status":       vUS,
	"upstream_addr":         vUA,
}

// sample values used to build a compiled format's Example line.
var exampleValues = map[string]string{
	"time_local":             "01/May/2026:14:02:05 +0900",
	"time_iso8601":           "2026-05-01T14:02:05+09:00",
	"msec":                   "1777611725.123",
	"status":                 "502",
	"upstream_connect_time":  "0.001",
	"upstream_status":        "502",
	"upstream_addr":          "10.0.0.3:8080",
	"upstream_response_time": "0.036",
	"request_time":           "0.037",
	"remote_addr":            "203.0.113.7",
	"request":                "GET /api/v1/cart HTTP/1.1",
	"host":                   "shop.example.com",
	"body_bytes_sent":        "157",
	"bytes_sent":             "320",
}

type op struct {
	lit  []byte  // literal that follows the variable (or leads, for the first op)
	kind varKind // variable kind; vSkip for unknown
	name string
}

// logFormat is a compiled nginx log_format.
type logFormat struct {
	name    string
	prefix  []byte // literal before the first variable
	ops     []op   // each: a variable, then the literal after it
	example string
	hasTime varKind
}

// NewAccessFormat compiles an nginx log_format into a format named name that
// extracts the same signals as AccessFormat: the time ($time_local,
// $time_iso8601 or $msec; $msec is read as Unix time and shown in
// cfg.Loc), $status, $upstream_connect_time, $upstream_status and
// $upstream_addr. Other variables are matched and skipped.
//
// format is the log_format as written in nginx.conf: with or without the
// leading "log_format NAME" (and "escape=..."), as one or several quoted
// strings (concatenated as nginx does) or a bare word, with an optional
// trailing ";". An unbalanced quote, a format without a time or $status
// variable, or two variables with nothing between them is an error whose
// message reads "log_format:LINE:COL: expected ...".
func NewAccessFormat(name, format string) (parsers.Format, error) {
	text, err := unquoteConf(format)
	if err != nil {
		return nil, err
	}
	lf := &logFormat{name: name}
	if err := lf.compile(format, text); err != nil {
		return nil, err
	}
	return lf, nil
}

// confChar is one byte of the format string with its place in the source.
type confChar struct {
	c        byte
	off      int // offset in the source
	variable bool
}

// confErr formats an error at source offset off.
func confErr(src string, off int, format string, a ...any) error {
	if off > len(src) {
		off = len(src)
	}
	line, col := 1, 1
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("log_format:%d:%d: %s", line, col, fmt.Sprintf(format, a...))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unquoteConf turns the nginx.conf text into the format string, keeping the
// source offset of every byte.
func unquoteConf(src string) ([]confChar, error) {
	i := 0
	skip := func() {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
	}
	word := func() (string, int) {
		skip()
		s := i
		for i < len(src) && !isSpace(src[i]) && src[i] != '\'' && src[i] != '"' && src[i] != ';' {
			i++
		}
		return src[s:i], s
	}
	skip()
	if strings.HasPrefix(src[i:], "log_format") && (i+10 == len(src) || isSpace(src[i+10])) {
		i += 10
		if w, at := word(); w == "" {
			return nil, confErr(src, at, "expected a format name after log_format")
		}
		save := i
		if w, _ := word(); !strings.HasPrefix(w, "escape=") {
			i = save
		}
	}
	var out []confChar
	parts := 0
	for {
		skip()
		if i >= len(src) {
			break
		}
		c := src[i]
		switch {
		case c == ';':
			i++
			skip()
			if i < len(src) {
				return nil, confErr(src, i, "expected end of log_format after ';'")
			}
		case c == '\'' || c == '"':
			open := i
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\\' && i+1 < len(src) {
					out = append(out, confChar{c: src[i+1], off: i + 1})
					i += 2
					continue
				}
				if src[i] == c {
					closed = true
					i++
					break
				}
				out = append(out, confChar{c: src[i], off: i})
				i++
			}
			if !closed {
				return nil, confErr(src, len(src), "expected closing %c to match the one at column %d", c, colOf(src, open))
			}
			parts++
		default:
			for i < len(src) && !isSpace(src[i]) && src[i] != ';' {
				if src[i] == '\'' || src[i] == '"' {
					return nil, confErr(src, i, "expected a space before a quoted part")
				}
				out = append(out, confChar{c: src[i], off: i})
				i++
			}
			parts++
		}
	}
	if parts == 0 {
		return nil, confErr(src, len(src), "expected a format string")
	}
	return out, nil
}

func colOf(src string, off int) int {
	col := 1
	for i := 0; i < off && i < len(src); i++ {
		if src[i] == '\n' {
			col = 1
		} else {
			col++
		}
	}
	return col
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (lf *logFormat) compile(src string, text []confChar) error {
	var lit []byte
	var ex strings.Builder
	first := true
	hasStatus := false
	for i := 0; i < len(text); {
		ch := text[i]
		if ch.c != '$' {
			lit = append(lit, ch.c)
			ex.WriteByte(ch.c)
			i++
			continue
		}
		start := ch.off
		j := i + 1
		braced := j < len(text) && text[j].c == '{'
		if braced {
			j++
		}
		k := j
		for k < len(text) && isVarChar(text[k].c) {
			k++
		}
		if k == j {
			return confErr(src, start, "expected a variable name after $")
		}
		var nb strings.Builder
		for _, c := range text[j:k] {
			nb.WriteByte(c.c)
		}
		name := nb.String()
		if braced {
			if k >= len(text) || text[k].c != '}' {
				return confErr(src, start, "expected } to close ${%s", name)
			}
			k++
		}
		if first {
			lf.prefix = lit
			first = false
		} else {
			if len(lit) == 0 {
				return confErr(src, start, "expected a literal separator between $%s and $%s", lf.ops[len(lf.ops)-1].name, name)
			}
			lf.ops[len(lf.ops)-1].lit = lit
		}
		lit = nil
		kind := knownVars[name]
		switch kind {
		case vTimeLocal, vTimeISO, vMsec:
			if lf.hasTime == vSkip {
				lf.hasTime = kind
			}
		case vStatus:
			hasStatus = true
		}
		lf.ops = append(lf.ops, op{kind: kind, name: name})
		if v, ok := exampleValues[name]; ok {
			ex.WriteString(v)
		} else {
			ex.WriteByte('-')
		}
		i = k
	}
	if len(lf.ops) > 0 {
		lf.ops[len(lf.ops)-1].lit = lit
	} else {
		lf.prefix = lit
	}
	end := len(src)
	if lf.hasTime == vSkip {
		return confErr(src, end, "expected a time variable ($time_local, $time_iso8601 or $msec)")
	}
	if !hasStatus {
		return confErr(src, end, "expected a $status variable")
	}
	lf.example = ex.String()
	return nil
}

func (lf *logFormat) Name() string { return lf.name }
func (lf *logFormat) Description() string {
	return "nginx access log with a custom log_format"
}
func (lf *logFormat) Example() string { return lf.example }

// Splittable implements parsers.Splittable: each line stands alone.
func (lf *logFormat) Splittable() bool { return true }

// Detect scores 90 for a line that matches the compiled format, else 0.
func (lf *logFormat) Detect(line []byte) int {
	var m match
	if lf.match(line, &m) {
		return 90
	}
	return 0
}

// Hints returns the zone and year of a $time_local or $time_iso8601 value.
func (lf *logFormat) Hints(line []byte) (parsers.Hints, bool) {
	var m match
	if !lf.match(line, &m) {
		return parsers.Hints{}, false
	}
	switch lf.hasTime {
	case vTimeLocal:
		if c, off, ok := scan.CLFTime(m.time); ok {
			return parsers.Hints{Zone: off, ZoneOK: true, Year: c.Year}, true
		}
	case vTimeISO:
		if c, off, zoned, _, ok := scan.RFC3339Time(m.time); ok {
			return parsers.Hints{Zone: off, ZoneOK: zoned, Year: c.Year}, true
		}
	}
	return parsers.Hints{}, false
}

func (lf *logFormat) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &logFormatParser{lf: lf, ap: accessParser{cfg: cfg}}
}

// match holds the values of the known variables of one line.
type match struct {
	time, status, uct, us, ua []byte
}

// fixedLen returns the length of a variable's value at b when the variable
// has a fixed shape, or -1.
func fixedLen(k varKind, b []byte) int {
	switch k {
	case vTimeLocal:
		if len(b) >= 26 {
			return 26
		}
		return -1
	case vTimeISO:
		if _, _, _, n, ok := scan.RFC3339Time(b); ok {
			return n
		}
		return -1
	}
	return -1
}

func (lf *logFormat) match(line []byte, m *match) bool {
	if !bytes.HasPrefix(line, lf.prefix) {
		return false
	}
	b := line[len(lf.prefix):]
	for i := range lf.ops {
		o := &lf.ops[i]
		var n int
		if f := fixedLen(o.kind, b); f >= 0 {
			n = f
			if !bytes.HasPrefix(b[n:], o.lit) {
				return false
			}
		} else if len(o.lit) == 0 {
			n = len(b)
		} else {
			n = valueEnd(b, o.lit, o.kind == vUCT || o.kind == vUS || o.kind == vUA)
			if n < 0 {
				return false
			}
		}
		v := b[:n]
		switch o.kind {
		case vTimeLocal, vTimeISO, vMsec:
			if m.time == nil {
				m.time = v
			}
		case vStatus:
			m.status = v
		case vUCT:
			m.uct = v
		case vUS:
			m.us = v
		case vUA:
			m.ua = v
		}
		b = b[n+len(o.lit):]
	}
	return len(b) == 0 && m.time != nil && m.status != nil
}

// valueEnd finds the literal lit after a value at b. For list-valued
// upstream variables, ", " and " : " separators inside the value are
// skipped.
func valueEnd(b, lit []byte, list bool) int {
	from := 0
	for {
		k := bytes.Index(b[from:], lit)
		if k < 0 {
			return -1
		}
		k += from
		if list && lit[0] == ' ' {
			if k > 0 && b[k-1] == ',' {
				from = k + 1
				continue
			}
			if k+2 < len(b) && b[k+1] == ':' && b[k+2] == ' ' {
				from = k + 3
				continue
			}
		}
		return k
	}
}

type logFormatParser struct {
	lf *logFormat
	ap accessParser
}

func (p *logFormatParser) lineTime(v []byte) (time.Time, bool) {
	switch p.lf.hasTime {
	case vTimeLocal:
		if len(v) != 26 {
			return time.Time{}, false
		}
		return p.ap.lineTime(v)
	case vTimeISO:
		c, off, zoned, n, ok := scan.RFC3339Time(v)
		if !ok || n != len(v) {
			return time.Time{}, false
		}
		if !zoned {
			return c.In(p.ap.cfg.Loc), true
		}
		return scan.Zoned(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, off, p.ap.zones.Get(off)).Add(time.Duration(c.Nano)), true
	case vMsec:
		dot := bytes.IndexByte(v, '.')
		ip, fp := v, []byte(nil)
		if dot >= 0 {
			ip, fp = v[:dot], v[dot+1:]
		}
		s, ok := scan.Uint(ip)
		if !ok || s > 1<<40 {
			return time.Time{}, false
		}
		ns := int64(0)
		scale := int64(1e9)
		for _, c := range fp {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			if scale > 1 {
				scale /= 10
				ns += int64(c-'0') * scale
			}
		}
		return time.Unix(s, ns).In(p.ap.cfg.Loc), true
	}
	return time.Time{}, false
}

// Parse implements parsers.Parser.
func (p *logFormatParser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	var m match
	if !p.lf.match(line, &m) {
		return false
	}
	t, ok := p.lineTime(m.time)
	if !ok {
		return false
	}
	st := m.status
	if len(st) != 3 || st[0] < '1' || st[0] > '9' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9' {
		return false
	}
	status := int(st[0]-'0')*100 + int(st[1]-'0')*10 + int(st[2]-'0')
	var x extras
	if m.uct != nil {
		uctList(m.uct, &x)
	}
	if m.us != nil {
		usList(m.us, &x)
	}
	if n := listItemEnd(m.ua); n > 0 && !(n == 1 && m.ua[0] == '-') {
		x.upstream = m.ua[:n]
	}
	p.ap.sums.emit(&p.ap.cfg, t, status, &x, line, pos, sink)
	return true
}

// Flush implements parsers.Flusher: it emits the sums of the current second.
func (p *logFormatParser) Flush(sink timeline.Sink) { p.ap.Flush(sink) }
