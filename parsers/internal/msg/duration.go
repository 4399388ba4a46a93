package msg

// Duration parses a duration at the start of b and returns it in seconds and
// the number of bytes used. Accepted: Go-style runs of number+unit with
// optional spaces between parts ("2h 11m", "10m 0s", "1h2m3s", "1.4s",
// "750ms", "2d 3h", "1800s"), units d, h, m/min, s/sec/secs/seconds, ms,
// us/µs. A bare number is seconds. ok is false if b does not start with a
// number.
func Duration(b []byte) (secs float64, n int, ok bool) {
	i := 0
	parts := 0
	for i < len(b) {
		j := i
		v, k, vok := number(b[j:])
		if !vok {
			break
		}
		j += k
		u := j
		for u < len(b) && (b[u] >= 'a' && b[u] <= 'z' || b[u] == 0xc2 || b[u] == 0xb5) {
			u++
		}
		mult := -1.0
		switch string(b[j:u]) {
		case "":
			if parts == 0 {
				mult = 1
			}
		case "d", "day", "days":
			mult = 86400
		case "h", "hr", "hrs", "hour", "hours":
			mult = 3600
		case "m", "min", "mins", "minute", "minutes":
			mult = 60
		case "s", "sec", "secs", "second", "seconds":
			mult = 1
		case "ms", "msec", "msecs":
			mult = 1e-3
		case "us", "\xc2\xb5s", "\xb5s":
			mult = 1e-6
		}
		if mult < 0 {
			break
		}
		secs += v * mult
		parts++
		n = u
		if string(b[j:u]) == "" {
			break
		}
		// Optional single space before the next part.
		i = u
		if i < len(b) && b[i] == ' ' && i+1 < len(b) && isDigit(b[i+1]) {
			i++
		}
	}
	return secs, n, parts > 0
}

// number parses an unsigned decimal number with an optional fraction at the
// start of b.
func number(b []byte) (v float64, n int, ok bool) {
	for n < len(b) && isDigit(b[n]) {
		if n < 18 {
			v = v*10 + float64(b[n]-'0')
		} else {
			v *= 10
		}
		n++
	}
	if n == 0 {
		return 0, 0, false
	}
	if n+1 < len(b) && b[n] == '.' && isDigit(b[n+1]) {
		n++
		scale := 0.1
		for n < len(b) && isDigit(b[n]) {
			v += float64(b[n]-'0') * scale
			scale /= 10
			n++
		}
	}
	return v, n, true
}

// Number parses a decimal number (optional sign and fraction) at the start
// of b and returns it with the number of bytes used.
func Number(b []byte) (v float64, n int, ok bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		v, n, ok = number(b[1:])
		n++
	} else {
		v, n, ok = number(b)
	}
	if !ok {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, n, true
}
