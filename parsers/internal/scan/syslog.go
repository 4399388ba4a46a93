package scan

import "bytes"

// SyslogHeader is the envelope of a syslog line as written to a file or
// stream: RFC 3164 ("<PRI>Mmm dd hh:mm:ss host tag[pid]: msg", PRI
// optional), RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG") or
// the RFC 3339-stamped file format of rsyslog and of "log stdout"
// ("2006-01-02T15:04:05.000+09:00 host tag[pid]: msg").
type SyslogHeader struct {
	Time Civil
	// Offset is the UTC offset in seconds when Zoned.
	Offset int
	Zoned  bool
	// HasYear is false for RFC 3164 stamps, whose Time.Year is 0.
	HasYear bool
	// PRI is the priority, or -1 when absent.
	PRI     int
	RFC5424 bool
	Host    []byte
	Program []byte
	PID     []byte
	// Body is the message after the envelope.
	Body []byte
}

// SplitSyslog splits line into its syslog envelope and body. Subslices of
// line are returned; nothing is allocated.
func SplitSyslog(line []byte) (h SyslogHeader, ok bool) {
	h.PRI = -1
	b := line
	if len(b) > 2 && b[0] == '<' {
		e := bytes.IndexByte(b[:min(len(b), 6)], '>')
		if e < 2 {
			return h, false
		}
		n, okn := Uint(b[1:e])
		if !okn || n > 191 {
			return h, false
		}
		h.PRI = int(n)
		b = b[e+1:]
		if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
			return split5424(h, b[2:])
		}
	}
	if c, ok := StampTime(b); ok {
		h.Time = c
		b = b[15:]
	} else if c, off, zoned, n, ok := RFC3339Time(b); ok {
		h.Time, h.Offset, h.Zoned, h.HasYear = c, off, zoned, true
		b = b[n:]
	} else {
		return h, false
	}
	if len(b) < 2 || b[0] != ' ' {
		return h, false
	}
	b = b[1:]
	// host, unless the first token is already the tag
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return h, false
	}
	first := b[:sp]
	if first[len(first)-1] != ':' {
		h.Host = first
		b = b[sp+1:]
	}
	// tag[pid]: — optional
	end := 0
	for end < len(b) && end < 64 && b[end] != ' ' && b[end] != ':' && b[end] != '[' {
		end++
	}
	if end > 0 && end < len(b) {
		switch b[end] {
		case ':':
			h.Program = b[:end]
			b = b[end+1:]
		case '[':
			cl := bytes.IndexByte(b[end:min(len(b), end+24)], ']')
			if cl > 0 && end+cl+1 < len(b) && b[end+cl+1] == ':' {
				h.Program = b[:end]
				h.PID = b[end+1 : end+cl]
				b = b[end+cl+2:]
			}
		}
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	h.Body = b
	return h, true
}

func field(b []byte) (f, rest []byte, ok bool) {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return nil, nil, false
	}
	return b[:sp], b[sp+1:], true
}

func nilDash(b []byte) []byte {
	if len(b) == 1 && b[0] == '-' {
		return nil
	}
	return b
}

func split5424(h SyslogHeader, b []byte) (SyslogHeader, bool) {
	h.RFC5424 = true
	if len(b) > 1 && b[0] == '-' && b[1] == ' ' {
		return h, false // no time: nothing to place the line with
	}
	c, off, zoned, n, ok := RFC3339Time(b)
	if !ok || n >= len(b) || b[n] != ' ' {
		return h, false
	}
	h.Time, h.Offset, h.Zoned, h.HasYear = c, off, zoned, true
	b = b[n+1:]
	var f []byte
	if f, b, ok = field(b); !ok {
		return h, false
	}
	h.Host = nilDash(f)
	if f, b, ok = field(b); !ok {
		return h, false
	}
	h.Program = nilDash(f)
	if f, b, ok = field(b); !ok {
		return h, false
	}
	h.PID = nilDash(f)
	if _, b, ok = field(b); !ok { // MSGID
		return h, false
	}
	// structured data: "-" or one or more [id k="v" ...]
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		i, inQuote := 0, false
		for i < len(b) {
			c := b[i]
			switch {
			case inQuote && c == '\\':
				i++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == ']':
				if i+1 >= len(b) || b[i+1] != '[' {
					i++
					goto done
				}
			}
			i++
		}
		return h, false
	done:
		b = b[i:]
	default:
		return h, false
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	h.Body = b
	return h, true
}
