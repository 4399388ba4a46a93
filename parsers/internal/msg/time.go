package msg

import (
	"time"
)

// Clock parses the timestamp layouts shared by the line formats of this
// module and caches the fixed zones it builds, so that parsing a stream of
// lines with the same UTC offset does not allocate. A Clock is not safe for
// concurrent use; give each parser its own.
type Clock struct {
	off  int
	zone *time.Location
}

// ISO parses an ISO 8601 / RFC 3339 timestamp at the start of b:
// YYYY-MM-DD, a 'T' or a space, HH:MM:SS, an optional fraction after '.' or
// ',' (1 to 9 digits), and an optional zone: 'Z', ±HH:MM, ±HHMM or ±HH.
// A timestamp without a zone is read in loc. It returns the time, how many
// bytes of b it used, and whether b starts with such a timestamp.
func (c *Clock) ISO(b []byte, loc *time.Location) (t time.Time, n int, ok bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	year, ok1 := Digits(b[0:4])
	mon, ok2 := Digits(b[5:7])
	day, ok3 := Digits(b[8:10])
	hh, ok4 := Digits(b[11:13])
	mm, ok5 := Digits(b[14:16])
	ss, ok6 := Digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	n = 19
	nsec := 0
	if n < len(b) && (b[n] == '.' || b[n] == ',') && n+1 < len(b) && isDigit(b[n+1]) {
		n++
		scale := 100000000
		for n < len(b) && isDigit(b[n]) {
			if scale > 0 {
				nsec += int(b[n]-'0') * scale
				scale /= 10
			}
			n++
		}
	}
	l := loc
	if n < len(b) {
		switch b[n] {
		case 'Z', 'z':
			l = time.UTC
			n++
		case '+', '-':
			off, m, zok := zoneOffset(b[n:])
			if zok {
				l = c.Fixed(off)
				n += m
			}
		}
	}
	if l == nil {
		l = time.UTC
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, l), n, true
}

// zoneOffset parses ±HH:MM, ±HHMM or ±HH.
func zoneOffset(b []byte) (off int, n int, ok bool) {
	if len(b) < 3 || !isDigit(b[1]) || !isDigit(b[2]) {
		return 0, 0, false
	}
	sign := 1
	if b[0] == '-' {
		sign = -1
	}
	h := int(b[1]-'0')*10 + int(b[2]-'0')
	m := 0
	n = 3
	if len(b) >= 6 && b[3] == ':' && isDigit(b[4]) && isDigit(b[5]) {
		m = int(b[4]-'0')*10 + int(b[5]-'0')
		n = 6
	} else if len(b) >= 5 && isDigit(b[3]) && isDigit(b[4]) {
		m = int(b[3]-'0')*10 + int(b[4]-'0')
		n = 5
	}
	if h > 14 || m > 59 {
		return 0, 0, false
	}
	return sign * (h*3600 + m*60), n, true
}

// Fixed returns a fixed zone of off seconds east of UTC, UTC for 0. The last
// zone is cached.
func (c *Clock) Fixed(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if c.zone != nil && c.off == off {
		return c.zone
	}
	c.off, c.zone = off, time.FixedZone("", off)
	return c.zone
}

// ISOZone reports the UTC offset of an ISO timestamp at the start of b, if it
// carries one (for format hints), and its year.
func ISOZone(b []byte) (off int, zoneOK bool, year int, ok bool) {
	var c Clock
	t, _, ok := c.ISO(b, nil)
	if !ok {
		return 0, false, 0, false
	}
	// A zone-less timestamp is read in UTC by ISO(nil); tell it apart by
	// looking at what followed the seconds.
	n := 19
	if n < len(b) && (b[n] == '.' || b[n] == ',') {
		n++
		for n < len(b) && isDigit(b[n]) {
			n++
		}
	}
	if n < len(b) && (b[n] == 'Z' || b[n] == 'z' || b[n] == '+' || b[n] == '-') {
		_, off = t.Zone()
		if b[n] == 'Z' || b[n] == 'z' {
			off = 0
		}
		if b[n] == 'Z' || b[n] == 'z' || isZone(b[n:]) {
			return off, true, t.Year(), true
		}
	}
	return 0, false, t.Year(), true
}

func isZone(b []byte) bool {
	_, _, ok := zoneOffset(b)
	return ok
}

// Epoch converts a Unix time in seconds, milliseconds, microseconds or
// nanoseconds (told apart by magnitude) to a time in loc.
func Epoch(v float64, loc *time.Location) (time.Time, bool) {
	if v != v || v <= 0 {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	if v >= 9e18 {
		return time.Time{}, false
	}
	if v == float64(int64(v)) {
		i := int64(v)
		switch {
		case i < 1e11: // seconds (until year 5138)
			return time.Unix(i, 0).In(loc), true
		case i < 1e14:
			return time.UnixMilli(i).In(loc), true
		case i < 1e17:
			return time.UnixMicro(i).In(loc), true
		}
		return time.Unix(0, i).In(loc), true
	}
	var ns float64
	switch {
	case v < 1e11:
		sec := float64(int64(v))
		return time.Unix(int64(sec), int64((v-sec)*1e9+0.5)).In(loc), true
	case v < 1e14:
		ns = v * 1e6
	case v < 1e17:
		ns = v * 1e3
	default:
		ns = v
	}
	return time.Unix(0, int64(ns)).In(loc), true
}

// Digits parses b as an unsigned decimal integer of at most 18 digits.
func Digits(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// Month parses a three-letter English month abbreviation, any case.
func Month(b []byte) (time.Month, bool) {
	if len(b) != 3 {
		return 0, false
	}
	a, c, d := lower(b[0]), lower(b[1]), lower(b[2])
	for i, m := range months {
		if m[0] == a && m[1] == c && m[2] == d {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// HMS parses "HH:MM:SS" at the start of b.
func HMS(b []byte) (h, m, s int, ok bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := Digits(b[0:2])
	m, ok2 := Digits(b[3:5])
	s, ok3 := Digits(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, 0, 0, false
	}
	return h, m, s, true
}

// CTime parses the C asctime / `date` layouts at the start of b:
// "Fri May  1 18:12:00 2026", "Fri May  1 18:12:00 KST 2026" (a zone
// abbreviation: UTC, GMT and Z are honoured, any other means loc) and
// `date -R` "Fri, 01 May 2026 18:12:00 +0900". It returns the time, the
// bytes used and whether b starts with such a time.
func (c *Clock) CTime(b []byte, loc *time.Location) (t time.Time, n int, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	if len(b) < 20 || !isLetter(b[0]) || !isLetter(b[1]) || !isLetter(b[2]) {
		return time.Time{}, 0, false
	}
	i := 3
	if b[i] == ',' { // date -R
		i++
		f, ok := fields(b[i:], 5)
		if !ok {
			return time.Time{}, 0, false
		}
		day, ok1 := Digits(f[0].v)
		mon, ok2 := Month(f[1].v)
		year, ok3 := Digits(f[2].v)
		h, m, s, ok4 := HMS(f[3].v)
		off, zn, ok5 := zoneOffset(f[4].v)
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || zn != len(f[4].v) || day < 1 || day > 31 {
			return time.Time{}, 0, false
		}
		return time.Date(year, mon, day, h, m, s, 0, c.Fixed(off)), i + f[4].end, true
	}
	f, ok := fields(b[i:], 5)
	if !ok {
		f, ok = fields(b[i:], 4)
		if !ok {
			return time.Time{}, 0, false
		}
	}
	mon, ok1 := Month(f[0].v)
	day, ok2 := Digits(f[1].v)
	h, m, s, ok3 := HMS(f[2].v)
	if !ok1 || !ok2 || !ok3 || day < 1 || day > 31 || len(f[2].v) != 8 {
		return time.Time{}, 0, false
	}
	l := loc
	yi := 3
	if len(f) > 4 && f[4].v != nil {
		if y, ok := Digits(f[3].v); ok && len(f[3].v) == 4 {
			return time.Date(y, mon, day, h, m, s, 0, loc), i + f[3].end, true
		}
		switch string(f[3].v) {
		case "UTC", "GMT", "Z":
			l = time.UTC
		}
		yi = 4
	}
	year, ok4 := Digits(f[yi].v)
	if !ok4 || len(f[yi].v) != 4 {
		return time.Time{}, 0, false
	}
	return time.Date(year, mon, day, h, m, s, 0, l), i + f[yi].end, true
}

type field struct {
	v   []byte
	end int
}

// fields splits up to k space-separated fields off the start of b.
func fields(b []byte, k int) ([]field, bool) {
	out := make([]field, 0, 5)
	i := 0
	for len(out) < k {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		if i >= len(b) {
			return nil, false
		}
		s := i
		for i < len(b) && b[i] != ' ' && b[i] != ']' {
			i++
		}
		out = append(out, field{b[s:i], i})
	}
	return out, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
