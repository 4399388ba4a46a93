package scan

import "time"

// Civil is a wall-clock date and time as read from a log line.
type Civil struct {
	Year, Month, Day     int
	Hour, Minute, Second int
	Nano                 int
}

// Valid reports whether c is a plausible calendar time.
func (c Civil) Valid() bool {
	return ValidDate(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second) && c.Nano >= 0 && c.Nano < 1e9
}

// In returns c as an instant in loc.
func (c Civil) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(c.Year, time.Month(c.Month), c.Day, c.Hour, c.Minute, c.Second, c.Nano, loc)
}

// SlashTime parses the nginx error log layout "2006/01/02 15:04:05" at the
// start of b (19 bytes).
func SlashTime(b []byte) (Civil, bool) {
	if len(b) < 19 || b[4] != '/' || b[7] != '/' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return Civil{}, false
	}
	var c Civil
	var ok [6]bool
	c.Year, ok[0] = Digits4(b, 0)
	c.Month, ok[1] = Digits2(b, 5)
	c.Day, ok[2] = Digits2(b, 8)
	c.Hour, ok[3] = Digits2(b, 11)
	c.Minute, ok[4] = Digits2(b, 14)
	c.Second, ok[5] = Digits2(b, 17)
	if ok != [6]bool{true, true, true, true, true, true} || !c.Valid() {
		return Civil{}, false
	}
	return c, true
}

// CLFTime parses the common log format time "02/Jan/2006:15:04:05 -0700" at
// the start of b (26 bytes) and returns the wall clock and the offset in
// seconds east of UTC.
func CLFTime(b []byte) (Civil, int, bool) {
	if len(b) < 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return Civil{}, 0, false
	}
	var c Civil
	var ok [6]bool
	var mon time.Month
	c.Day, ok[0] = Digits2(b, 0)
	mon, ok[1] = Month(b, 3)
	c.Month = int(mon)
	c.Year, ok[2] = Digits4(b, 7)
	c.Hour, ok[3] = Digits2(b, 12)
	c.Minute, ok[4] = Digits2(b, 15)
	c.Second, ok[5] = Digits2(b, 18)
	if ok != [6]bool{true, true, true, true, true, true} || !c.Valid() {
		return Civil{}, 0, false
	}
	off, okz := Offset(b[21:26])
	if !okz {
		return Civil{}, 0, false
	}
	return c, off, true
}

// StampTime parses the RFC 3164 layout "Jan _2 15:04:05" at the start of b
// (15 bytes; the day may be space- or zero-padded). Year is left 0.
func StampTime(b []byte) (Civil, bool) {
	if len(b) < 15 || b[3] != ' ' || b[6] != ' ' || b[9] != ':' || b[12] != ':' {
		return Civil{}, false
	}
	var c Civil
	mon, ok := Month(b, 0)
	if !ok {
		return Civil{}, false
	}
	c.Month = int(mon)
	if b[4] == ' ' {
		if b[5] < '1' || b[5] > '9' {
			return Civil{}, false
		}
		c.Day = int(b[5] - '0')
	} else if c.Day, ok = Digits2(b, 4); !ok {
		return Civil{}, false
	}
	var ok3 [3]bool
	c.Hour, ok3[0] = Digits2(b, 7)
	c.Minute, ok3[1] = Digits2(b, 10)
	c.Second, ok3[2] = Digits2(b, 13)
	if ok3 != [3]bool{true, true, true} || c.Day < 1 || c.Day > 31 || c.Hour > 23 || c.Minute > 59 || c.Second > 60 {
		return Civil{}, false
	}
	return c, true
}

// RFC3339Time parses an RFC 3339 timestamp at the start of b:
// "2006-01-02T15:04:05[.frac](Z|±hh:mm|±hhmm)". A space may stand for the T.
// It returns the wall clock, the offset, whether a zone was present, and
// the number of bytes consumed. zoned is false when the zone is missing (the
// caller decides whether to accept that).
func RFC3339Time(b []byte) (c Civil, off int, zoned bool, n int, ok bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return Civil{}, 0, false, 0, false
	}
	var oks [6]bool
	c.Year, oks[0] = Digits4(b, 0)
	c.Month, oks[1] = Digits2(b, 5)
	c.Day, oks[2] = Digits2(b, 8)
	c.Hour, oks[3] = Digits2(b, 11)
	c.Minute, oks[4] = Digits2(b, 14)
	c.Second, oks[5] = Digits2(b, 17)
	if oks != [6]bool{true, true, true, true, true, true} || !c.Valid() {
		return Civil{}, 0, false, 0, false
	}
	i := 19
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		start, scale := i, 1_000_000_000
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if scale > 1 {
				scale /= 10
				c.Nano += int(b[i]-'0') * scale
			}
			i++
		}
		if i == start {
			return Civil{}, 0, false, 0, false
		}
	}
	if i < len(b) && (b[i] == 'Z' || b[i] == 'z') {
		return c, 0, true, i + 1, true
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		for _, w := range [2]int{6, 5} {
			if i+w <= len(b) {
				if o, okz := Offset(b[i : i+w]); okz {
					return c, o, true, i + w, true
				}
			}
		}
		return Civil{}, 0, false, 0, false
	}
	return c, 0, false, i, true
}
