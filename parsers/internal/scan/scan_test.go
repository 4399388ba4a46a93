package scan

import (
	"testing"
	"time"
)

func TestTimes(t *testing.T) {
	kst := time.FixedZone("", 9*3600)
	tests := []struct {
		name string
		fn   func(string) (time.Time, bool)
		in   string
		want time.Time
		ok   bool
	}{
		{"slash", slash, "2026/05/01 14:02:05 [error]", time.Date(2026, 5, 1, 14, 2, 5, 0, time.UTC), true},
		{"slash feb30", slash, "2026/02/30 14:02:05", time.Time{}, false},
		{"slash short", slash, "2026/05/01 14:02", time.Time{}, false},
		{"clf", clf, "01/May/2026:06:25:11 +0900", time.Date(2026, 5, 1, 6, 25, 11, 0, kst), true},
		{"clf neg", clf, "31/Dec/2025:23:59:59 -0530", time.Date(2026, 1, 1, 5, 29, 59, 0, time.UTC), true},
		{"clf bad month", clf, "01/Mai/2026:06:25:11 +0900", time.Time{}, false},
		{"stamp space day", stamp, "May  1 14:02:02 lb01", time.Date(2026, 5, 1, 14, 2, 2, 0, time.UTC), true},
		{"stamp two-digit day", stamp, "Dec 24 01:00:00", time.Date(2026, 12, 24, 1, 0, 0, 0, time.UTC), true},
		{"stamp bad", stamp, "May 1 14:02:02 lb01", time.Time{}, false},
		{"3339 frac zone", rfc, "2026-05-01T14:02:02.123+09:00 lb01", time.Date(2026, 5, 1, 14, 2, 2, 123e6, kst), true},
		{"3339 Z", rfc, "2026-05-01T05:02:02Z", time.Date(2026, 5, 1, 5, 2, 2, 0, time.UTC), true},
		{"3339 compact zone", rfc, "2026-05-01T14:02:02+0900", time.Date(2026, 5, 1, 14, 2, 2, 0, kst), true},
		{"3339 bad zone", rfc, "2026-05-01T14:02:02+9", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := tc.fn(tc.in)
		if ok != tc.ok || ok && !got.Equal(tc.want) {
			t.Errorf("%s: %q = %v, %v; want %v, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func slash(s string) (time.Time, bool) {
	c, ok := SlashTime([]byte(s))
	return c.In(time.UTC), ok
}

func clf(s string) (time.Time, bool) {
	c, off, ok := CLFTime([]byte(s))
	var z Zones
	return Zoned(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, off, z.Get(off)), ok
}

func stamp(s string) (time.Time, bool) {
	c, ok := StampTime([]byte(s))
	c.Year = 2026
	return c.In(time.UTC), ok
}

func rfc(s string) (time.Time, bool) {
	c, off, zoned, _, ok := RFC3339Time([]byte(s))
	if ok && !zoned {
		return time.Time{}, false
	}
	return Zoned(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, off, time.UTC).Add(time.Duration(c.Nano)), ok
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string]float64{"0.037": 0.037, "12": 12, "60.000": 60, "0.0000000009": 0} {
		if got, ok := Seconds([]byte(in)); !ok || got < want-1e-12 || got > want+1e-12 {
			t.Errorf("Seconds(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-", ".5", "1.", "1e3", "1.2.3"} {
		if _, ok := Seconds([]byte(in)); ok {
			t.Errorf("Seconds(%q) accepted", in)
		}
	}
	if n, ok := Int([]byte("-1")); !ok || n != -1 {
		t.Errorf("Int(-1) = %d, %v", n, ok)
	}
	if _, ok := Uint([]byte("12a")); ok {
		t.Error("Uint(12a) accepted")
	}
	if d := DaysFromCivil(2026, 5, 1); d != time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Unix()/86400 {
		t.Errorf("DaysFromCivil = %d", d)
	}
}

func FuzzTimes(f *testing.F) {
	for _, s := range []string{"2026/05/01 14:02:05", "01/May/2026:06:25:11 +0900", "May  1 14:02:02", "2026-05-01T14:02:02.123+09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		SlashTime(b)
		CLFTime(b)
		StampTime(b)
		RFC3339Time(b)
		Seconds(b)
		Offset(b)
	})
}
