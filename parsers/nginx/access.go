// Package nginx parses nginx access and error logs.
//
// AccessFormat reads the combined log format, optionally followed by
// key=value fields (rt=, uct=, urt=, us=, ua=); NewAccessFormat compiles any
// log_format string. ErrorFormat reads the error log, directly or inside
// syslog. The access parsers are hand-written byte scanners that allocate
// only for what they emit.
package nginx

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/scan"
	"github.com/postmortem-tool/postmortem/timeline"
)

// AccessFormat returns the "nginx-access" format: nginx's combined (or
// common) log format, optionally followed by key=value fields as configured
// by many sites: rt=$request_time uct=$upstream_connect_time
// urt=$upstream_response_time us=$upstream_status ua=$upstream_addr (values
// may be quoted; lists of upstream tries are separated by ", " or " : ").
//
// Per line the parser counts a MetricRequests sample; a 4xx status adds a
// MetricHTTP4xx sample; an upstream status >= 500 adds one
// MetricUpstream5xx sample; a numeric uct adds a MetricConnectSum sample
// with its sum in seconds; a status >= 500 emits a KindHTTPError event with
// attr "status" (and "upstream" when ua= names one). All go to cfg.Backend.
// The time is the line's own, with its own offset. The samples of a second
// are summed and emitted, one per metric with Sample.Count set, when a line
// of another second arrives or on Flush (the parser is a parsers.Flusher);
// events are emitted at once.
func AccessFormat() parsers.Format { return accessFormat{} }

type accessFormat struct{}

const accessExample = `112.83.36.69 - - [01/May/2026:14:02:05 +0900] "GET /api/v1/orders/5313478 HTTP/1.1" 502 157 "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)" rt=0.037 uct=0.000 urt=0.036 us=502 ua=10.0.0.3:8080`

func (accessFormat) Name() string { return "nginx-access" }
func (accessFormat) Description() string {
	return "nginx access log, combined format with optional key=value upstream fields"
}
func (accessFormat) Example() string { return accessExample }

// Splittable implements parsers.Splittable: each line stands alone.
func (accessFormat) Splittable() bool { return true }

// Detect scores 90 for a line the combined scanner reads fully, 75 for the
// common format (no referer and user agent), 0 otherwise.
func (accessFormat) Detect(line []byte) int {
	var f accessFields
	if !splitAccess(line, &f) {
		return 0
	}
	if f.combined {
		return 90
	}
	return 75
}

// Hints returns the offset and year of the line's timestamp.
func (accessFormat) Hints(line []byte) (parsers.Hints, bool) {
	var f accessFields
	if !splitAccess(line, &f) {
		return parsers.Hints{}, false
	}
	c, off, ok := scan.CLFTime(f.time)
	if !ok {
		return parsers.Hints{}, false
	}
	return parsers.Hints{Zone: off, ZoneOK: true, Year: c.Year}, true
}

func (accessFormat) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &accessParser{cfg: cfg}
}

// accessFields are the parts of a combined line, as subslices of it.
type accessFields struct {
	time     []byte // 26 bytes, without brackets
	status   []byte
	extras   []byte // after the user agent (or the body size)
	combined bool
}

// splitAccess splits a combined/common line. It checks the shape only as
// much as is needed to find the fields.
func splitAccess(line []byte, f *accessFields) bool {
	i := bytes.IndexByte(line, '[')
	if i <= 0 || line[i-1] != ' ' || len(line) < i+33 || line[i+27] != ']' || line[i+28] != ' ' || line[i+29] != '"' {
		return false
	}
	f.time = line[i+1 : i+27]
	rest := line[i+30:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || len(rest) < j+6 || rest[j+1] != ' ' || rest[j+5] != ' ' && len(rest) != j+5 {
		return false
	}
	st := rest[j+2 : j+5]
	if st[0] < '1' || st[0] > '5' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9' {
		return false
	}
	f.status = st
	rest = rest[j+5:]
	if len(rest) == 0 {
		return false
	}
	rest = rest[1:]
	// body bytes: digits or '-'
	k := bytes.IndexByte(rest, ' ')
	if k < 0 {
		k = len(rest)
	}
	if k == 0 {
		return false
	}
	rest = rest[k:]
	f.combined = false
	// optional "referer" "user agent"
	if len(rest) >= 3 && rest[0] == ' ' && rest[1] == '"' {
		q := bytes.IndexByte(rest[2:], '"')
		if q < 0 {
			return false
		}
		r2 := rest[2+q+1:]
		if len(r2) >= 3 && r2[0] == ' ' && r2[1] == '"' {
			q2 := bytes.IndexByte(r2[2:], '"')
			if q2 < 0 {
				return false
			}
			rest = r2[2+q2+1:]
			f.combined = true
		} else {
			rest = r2
		}
	}
	f.extras = rest
	return true
}

type accessParser struct {
	cfg   parsers.Config
	sums  secSums
	zones scan.Zones
	// cache of the last timestamp's minute: "01/May/2026:06:25" and "+0900"
	ckey   [26]byte
	cbase  time.Time
	cvalid bool
}

// lineTime resolves a 26-byte CLF time, reusing the cached minute.
func (p *accessParser) lineTime(ts []byte) (time.Time, bool) {
	if p.cvalid && string(ts[:17]) == string(p.ckey[:17]) && string(ts[20:26]) == string(p.ckey[20:26]) {
		s, ok := scan.Digits2(ts, 18)
		if ok && ts[17] == ':' && s <= 60 {
			return p.cbase.Add(time.Duration(s) * time.Second), true
		}
		return time.Time{}, false
	}
	c, off, ok := scan.CLFTime(ts)
	if !ok {
		return time.Time{}, false
	}
	loc := p.zones.Get(off)
	base := scan.Zoned(c.Year, c.Month, c.Day, c.Hour, c.Minute, 0, off, loc)
	copy(p.ckey[:], ts[:26])
	p.cbase, p.cvalid = base, true
	return base.Add(time.Duration(c.Second) * time.Second), true
}

// Parse implements parsers.Parser.
func (p *accessParser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	var f accessFields
	if !splitAccess(line, &f) {
		return false
	}
	t, ok := p.lineTime(f.time)
	if !ok {
		return false
	}
	status := int(f.status[0]-'0')*100 + int(f.status[1]-'0')*10 + int(f.status[2]-'0')
	var x extras
	scanExtras(f.extras, &x)
	p.sums.emit(&p.cfg, t, status, &x, line, pos, sink)
	return true
}

// Flush implements parsers.Flusher: it emits the sums of the current second.
func (p *accessParser) Flush(sink timeline.Sink) { p.sums.flush(p.cfg.Backend, sink) }

// extras are the upstream fields found after the combined part.
type extras struct {
	uctSum   float64
	uctOK    bool
	up5xx    bool
	upstream []byte // first upstream address, or nil
}

// sumMetrics are the counters an access line adds to, in the order their
// samples are emitted.
var sumMetrics = [...]timeline.Metric{
	timeline.MetricRequests, timeline.MetricHTTP4xx, timeline.MetricUpstream5xx, timeline.MetricConnectSum,
}

const (
	sumRequests = iota
	sumHTTP4xx
	sumUpstream5xx
	sumConnect
)

// secSums holds the counter samples of one second until a line of another
// second arrives. An access log has tens to thousands of lines a second,
// and the sink (through to the series' counter) keeps only each second's
// sum and its first line anyway; summing here saves several calls per line.
type secSums struct {
	sec  int64 // unix second of the sums, when open
	open bool
	t    time.Time // time of the second's first line
	m    [len(sumMetrics)]struct {
		sum float64
		n   int64
		pos timeline.Pos // first line counted
	}
}

func (a *secSums) add(k int, v float64, pos timeline.Pos) {
	c := &a.m[k]
	if c.n == 0 {
		c.sum, c.pos = v, pos
	} else {
		c.sum += v
	}
	c.n++
}

// flush emits the open second's sums to backend and clears them.
func (a *secSums) flush(backend string, sink timeline.Sink) {
	if !a.open {
		return
	}
	for k := range a.m {
		c := &a.m[k]
		if c.n > 0 {
			s := timeline.Sample{Time: a.t, Metric: sumMetrics[k], Backend: backend, Value: c.sum, Pos: c.pos}
			if c.n > 1 {
				s.Count = c.n
			}
			sink.Sample(s)
			c.n = 0
		}
	}
	a.open = false
}

// emit counts one access line (time t, status) and emits its event, if any.
func (a *secSums) emit(cfg *parsers.Config, t time.Time, status int, x *extras, line []byte, pos timeline.Pos, sink timeline.Sink) {
	be := cfg.Backend
	if sec := t.Unix(); !a.open || sec != a.sec {
		a.flush(be, sink)
		a.sec, a.t, a.open = sec, t, true
	}
	a.add(sumRequests, 1, pos)
	if status >= 400 && status < 500 {
		a.add(sumHTTP4xx, 1, pos)
	}
	if x.up5xx {
		a.add(sumUpstream5xx, 1, pos)
	}
	if x.uctOK {
		a.add(sumConnect, x.uctSum, pos)
	}
	if status >= 500 {
		attrs := map[string]string{"status": statusString(status)}
		if len(x.upstream) > 0 {
			attrs["upstream"] = string(x.upstream)
		}
		sink.Event(timeline.Event{Time: t, Kind: timeline.KindHTTPError, Backend: be, Attrs: attrs, Pos: pos, Text: string(line), Count: 1})
	}
}

func statusString(s int) string {
	if s >= 100 && s <= 999 {
		return string([]byte{byte('0' + s/100), byte('0' + s/10%10), byte('0' + s%10)})
	}
	return "0"
}

// scanExtras reads key=value fields: uct (connect time), us (upstream
// status) and ua (upstream address). Values may be quoted and may be lists
// joined by ", " or " : ". Words without '=' are skipped. Keys and values
// are a few bytes long, so one hand-written pass beats calls to
// bytes.IndexByte here; FuzzScanExtras checks it against the plain version.
func scanExtras(b []byte, x *extras) {
	i, n := 0, len(b)
	for i < n {
		for i < n && b[i] == ' ' {
			i++
		}
		ks := i
		for i < n && b[i] != '=' && b[i] != ' ' {
			i++
		}
		if i >= n {
			return
		}
		if b[i] == ' ' {
			continue // a word without '='
		}
		key := b[ks:i]
		i++
		var val []byte
		if i < n && b[i] == '"' {
			q := bytes.IndexByte(b[i+1:], '"')
			if q < 0 {
				val, i = b[i+1:], n
			} else {
				val, i = b[i+1:i+1+q], i+2+q
			}
		} else {
			vs := i
			for i < n {
				if b[i] != ' ' {
					i++
					continue
				}
				if i > vs && b[i-1] == ',' {
					i++
					continue
				}
				if i+2 < n && b[i+1] == ':' && b[i+2] == ' ' {
					i += 3
					continue
				}
				break
			}
			val = b[vs:i]
		}
		switch string(key) {
		case "uct":
			uctList(val, x)
		case "us":
			usList(val, x)
		case "ua":
			if n := listItemEnd(val); n > 0 && !(n == 1 && val[0] == '-') {
				x.upstream = val[:n]
			}
		}
	}
}

// listEnd returns the end of an unquoted value: the first space that does
// not belong to a ", " or " : " list separator.
func listEnd(v []byte) int {
	i := 0
	for {
		s := bytes.IndexByte(v[i:], ' ')
		if s < 0 {
			return len(v)
		}
		s += i
		if s > 0 && v[s-1] == ',' {
			i = s + 1
			continue
		}
		if s+2 < len(v) && v[s+1] == ':' && v[s+2] == ' ' {
			i = s + 3
			continue
		}
		return s
	}
}

// listItemEnd returns the length of the first item of a list value.
func listItemEnd(v []byte) int {
	for i, c := range v {
		if c == ',' || c == ' ' {
			return i
		}
	}
	return len(v)
}

// forItems calls fn for each item of a ", " / " : " separated list.
func forItems(v []byte, fn func([]byte)) {
	for len(v) > 0 {
		for len(v) > 0 && (v[0] == ' ' || v[0] == ',' || v[0] == ':') {
			v = v[1:]
		}
		n := listItemEnd(v)
		if n > 0 {
			fn(v[:n])
		}
		v = v[n:]
	}
}

func uctList(v []byte, x *extras) {
	if len(v) == 5 { // fast path: one value "0.000"
		if s, ok := scan.Seconds(v); ok {
			x.uctSum += s
			x.uctOK = true
		}
		return
	}
	forItems(v, func(it []byte) {
		if s, ok := scan.Seconds(it); ok {
			x.uctSum += s
			x.uctOK = true
		}
	})
}

func usList(v []byte, x *extras) {
	if len(v) == 3 {
		x.up5xx = x.up5xx || v[0] == '5' && v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9'
		return
	}
	forItems(v, func(it []byte) {
		if len(it) == 3 && it[0] >= '5' && it[0] <= '9' && it[1] >= '0' && it[1] <= '9' && it[2] >= '0' && it[2] <= '9' {
			x.up5xx = true
		}
	})
}
