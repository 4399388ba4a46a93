// Package scan holds byte-scanning helpers shared by the log parsers: digit
// and decimal parsing without allocation, month names, UTC offsets, civil
// date arithmetic and per-format timestamp layouts with caches.
//
// Every function here is total: it reports failure instead of panicking, on
// any input.
package scan

import (
	"time"
)

// Uint parses b as an unsigned decimal of at most 18 digits. ok is false if b
// is empty, longer, or holds a non-digit.
func Uint(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Int parses b as a decimal with an optional leading '-' (haproxy logs -1).
func Int(b []byte) (n int64, ok bool) {
	if len(b) > 0 && b[0] == '-' {
		n, ok = Uint(b[1:])
		return -n, ok
	}
	return Uint(b)
}

// Digits2 parses the two digits at b[i:i+2]; ok is false if they are not
// both digits or b is too short.
func Digits2(b []byte, i int) (int, bool) {
	if i < 0 || i+2 > len(b) {
		return 0, false
	}
	c0, c1 := b[i]-'0', b[i+1]-'0'
	if c0 > 9 || c1 > 9 {
		return 0, false
	}
	return int(c0)*10 + int(c1), true
}

// Digits4 parses the four digits at b[i:i+4].
func Digits4(b []byte, i int) (int, bool) {
	hi, ok1 := Digits2(b, i)
	lo, ok2 := Digits2(b, i+2)
	return hi*100 + lo, ok1 && ok2
}

// Seconds parses a non-negative decimal number of seconds such as "0.037",
// "12" or "60.000" (nginx $request_time, $upstream_connect_time). At most 9
// fraction digits are read; ok is false for anything else ("-", "", "1e3").
func Seconds(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 24 {
		return 0, false
	}
	var ip, fp int64
	scale := int64(1)
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		c := b[i] - '0'
		if c > 9 || i >= 12 {
			return 0, false
		}
		ip = ip*10 + int64(c)
	}
	if i == 0 {
		return 0, false
	}
	if i < len(b) { // '.'
		i++
		if i == len(b) {
			return 0, false
		}
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				return 0, false
			}
			if scale < 1e9 {
				fp = fp*10 + int64(c)
				scale *= 10
			}
		}
	}
	return float64(ip) + float64(fp)/float64(scale), true
}

// Month parses an English three-letter month abbreviation ("Jan".."Dec",
// exact case) at b[i:i+3].
func Month(b []byte, i int) (time.Month, bool) {
	if i < 0 || i+3 > len(b) {
		return 0, false
	}
	a, c, d := b[i], b[i+1], b[i+2]
	switch a {
	case 'J':
		switch {
		case c == 'a' && d == 'n':
			return time.January, true
		case c == 'u' && d == 'n':
			return time.June, true
		case c == 'u' && d == 'l':
			return time.July, true
		}
	case 'F':
		if c == 'e' && d == 'b' {
			return time.February, true
		}
	case 'M':
		if c == 'a' && d == 'r' {
			return time.March, true
		}
		if c == 'a' && d == 'y' {
			return time.May, true
		}
	case 'A':
		if c == 'p' && d == 'r' {
			return time.April, true
		}
		if c == 'u' && d == 'g' {
			return time.August, true
		}
	case 'S':
		if c == 'e' && d == 'p' {
			return time.September, true
		}
	case 'O':
		if c == 'c' && d == 't' {
			return time.October, true
		}
	case 'N':
		if c == 'o' && d == 'v' {
			return time.November, true
		}
	case 'D':
		if c == 'e' && d == 'c' {
			return time.December, true
		}
	}
	return 0, false
}

// Offset parses a UTC offset "+0900", "-05:30" or "Z" (the whole of b) into
// seconds east of UTC.
func Offset(b []byte) (int, bool) {
	if len(b) == 1 && (b[0] == 'Z' || b[0] == 'z') {
		return 0, true
	}
	if len(b) != 5 && len(b) != 6 {
		return 0, false
	}
	sign := 1
	switch b[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	h, ok := Digits2(b, 1)
	if !ok {
		return 0, false
	}
	j := 3
	if len(b) == 6 {
		if b[3] != ':' {
			return 0, false
		}
		j = 4
	}
	m, ok := Digits2(b, j)
	if !ok || h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// DaysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func DaysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ValidDate reports whether y-m-d hh:mm:ss is a plausible calendar time.
func ValidDate(y, m, d, hh, mm, ss int) bool {
	if y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || hh > 23 || mm > 59 || ss > 60 {
		return false
	}
	return d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Zones caches fixed zones by offset so that zoned timestamps do not
// allocate a *time.Location per line. The zero value is ready to use; it is
// not safe for concurrent use.
type Zones struct {
	offs []int
	locs []*time.Location
}

// Get returns a fixed zone for off seconds east of UTC (time.UTC for 0).
func (z *Zones) Get(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	for i, o := range z.offs {
		if o == off {
			return z.locs[i]
		}
	}
	l := time.FixedZone("", off)
	if len(z.offs) < 64 {
		z.offs = append(z.offs, off)
		z.locs = append(z.locs, l)
	}
	return l
}

// MinuteCache resolves wall-clock minutes to instants. A parser keeps one
// and asks it for the start of the minute of each line; consecutive lines of
// a log share a minute, so most lookups compare a key and add seconds.
type MinuteCache struct {
	key   [24]byte
	klen  int
	base  time.Time
	valid bool
}

// Lookup returns the cached minute start if key equals the key of the last
// Store.
func (c *MinuteCache) Lookup(key []byte) (time.Time, bool) {
	if !c.valid || len(key) != c.klen || string(key) != string(c.key[:c.klen]) {
		return time.Time{}, false
	}
	return c.base, true
}

// Store remembers base as the minute start for key (at most 24 bytes; longer
// keys are not cached).
func (c *MinuteCache) Store(key []byte, base time.Time) {
	if len(key) > len(c.key) {
		c.valid = false
		return
	}
	c.klen = copy(c.key[:], key)
	c.base = base
	c.valid = true
}

// Local returns the instant of the wall-clock time y-m-d hh:mm:ss in loc.
// It does not validate; call ValidDate first.
func Local(y, m, d, hh, mm, ss int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, loc)
}

// Zoned returns the instant of y-m-d hh:mm:ss at off seconds east of UTC,
// expressed in the fixed zone loc (which should have that offset).
func Zoned(y, m, d, hh, mm, ss, off int, loc *time.Location) time.Time {
	u := DaysFromCivil(y, m, d)*86400 + int64(hh*3600+mm*60+ss) - int64(off)
	return time.Unix(u, 0).In(loc)
}
