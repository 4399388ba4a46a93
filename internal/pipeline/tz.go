package pipeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParseZone parses a --tz value: "UTC", "Local" is refused (a run must not
// depend on the machine), an IANA name ("Asia/Seoul"), or a fixed offset
// ("+09:00", "+0900", "-05", "UTC+9").
func ParseZone(s string) (*time.Location, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "utc", "z", "gmt":
		return time.UTC, nil
	case "local":
		return nil, fmt.Errorf("--tz Local is not allowed: name the zone (e.g. Asia/Seoul or +09:00) so the output does not depend on the machine")
	}
	off := strings.TrimPrefix(strings.TrimPrefix(s, "UTC"), "GMT")
	if off != "" && (off[0] == '+' || off[0] == '-') {
		sign := 1
		if off[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(off[1:], ":", "")
		var h, m int
		var err error
		switch len(digits) {
		case 1, 2:
			h, err = strconv.Atoi(digits)
		case 4:
			h, err = strconv.Atoi(digits[:2])
			if err == nil {
				m, err = strconv.Atoi(digits[2:])
			}
		default:
			err = fmt.Errorf("bad length")
		}
		if err != nil || h > 14 || m > 59 {
			return nil, fmt.Errorf("bad --tz offset %q: expected +HH:MM, +HHMM or +HH", s)
		}
		secs := sign * (h*3600 + m*60)
		return time.FixedZone(FormatOffset(secs), secs), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("bad --tz %q: expected UTC, an IANA zone name such as Asia/Seoul, or an offset such as +09:00", s)
	}
	return loc, nil
}

// FormatOffset renders an offset in seconds as "+09:00", or "UTC" for 0.
func FormatOffset(secs int) string {
	if secs == 0 {
		return "UTC"
	}
	sign := '+'
	if secs < 0 {
		sign = '-'
		secs = -secs
	}
	return fmt.Sprintf("%c%02d:%02d", sign, secs/3600, secs%3600/60)
}

// inferZone picks the offset most sources with explicit offsets agree on.
// ties go to the smaller offset, so the choice is deterministic.
func inferZone(offsets map[int]int) (secs int, n int, ok bool) {
	keys := make([]int, 0, len(offsets))
	for k := range offsets {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		if offsets[k] > n {
			secs, n, ok = k, offsets[k], true
		}
	}
	return secs, n, ok
}
