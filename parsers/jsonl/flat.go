package jsonl

import (
	"bytes"
	"encoding/json"
)

// decode reads the JSON object at the start of line (after blanks) into a
// map, as json.Decoder with UseNumber would: numbers as json.Number, later
// duplicate keys winning, anything after the object ignored. Flat objects
// of plain strings, numbers, booleans and null, which is what log encoders
// write, are read by decodeFlat; any other object (nested values, escapes,
// bytes outside printable ASCII in strings, or malformed input) goes to
// encoding/json, so the result is always what encoding/json gives.
// FuzzDecode checks this.
func decode(line []byte) (map[string]any, bool) {
	b := bytes.TrimSpace(line)
	if len(b) < 2 || b[0] != '{' {
		return nil, false
	}
	if obj, ok := decodeFlat(b); ok {
		return obj, true
	}
	return decodeJSON(b)
}

// decodeJSON is decode through encoding/json.
func decodeJSON(b []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

// decodeFlat reads a flat object starting at b[0] == '{'. ok is false when
// the object is not flat and plain (or not well formed): the caller then
// asks encoding/json.
func decodeFlat(b []byte) (obj map[string]any, ok bool) {
	i := 1
	obj = map[string]any{}
	i = skipBlank(b, i)
	if i < len(b) && b[i] == '}' {
		return obj, true
	}
	for {
		key, n, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		i = skipBlank(b, n)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipBlank(b, i+1)
		if i >= len(b) {
			return nil, false
		}
		var v any
		switch c := b[i]; {
		case c == '"':
			s, n, ok := plainString(b, i)
			if !ok {
				return nil, false
			}
			v, i = s, n
		case c == '-' || c >= '0' && c <= '9':
			n := numberEnd(b, i)
			if n < 0 {
				return nil, false
			}
			v, i = json.Number(b[i:n]), n
		case bytes.HasPrefix(b[i:], []byte("true")):
			v, i = true, i+4
		case bytes.HasPrefix(b[i:], []byte("false")):
			v, i = false, i+5
		case bytes.HasPrefix(b[i:], []byte("null")):
			v, i = nil, i+4
		default:
			return nil, false // an object, an array, or not JSON
		}
		obj[key] = v
		i = skipBlank(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipBlank(b, i+1)
		case '}':
			return obj, true
		default:
			return nil, false
		}
	}
}

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the string starting at b[i] == '"' if it holds only
// printable ASCII other than a backslash, returning it and the index after
// its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	q := bytes.IndexByte(b[i+1:], '"')
	if q < 0 {
		return "", 0, false
	}
	s := b[i+1 : i+1+q]
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return "", 0, false
		}
	}
	return string(s), i + 2 + q, true
}

// numberEnd returns the end of the JSON number starting at b[i], or -1 if
// it is not one: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
