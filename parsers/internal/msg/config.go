package msg

import (
	"bytes"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Change is one setting change stated in a config message.
type Change struct {
	Setting, From, To string
}

// configChanges emits one KindConfigChange per change stated in text.
func (c *Classifier) configChanges(text []byte, at Line, backend string, revert bool, sink timeline.Sink) {
	for _, ch := range Changes(text, revert) {
		attrs := map[string]string{"setting": ch.Setting, "to": ch.To}
		if ch.From != "" {
			attrs["from"] = ch.From
		}
		if revert {
			attrs["revert"] = "true"
		}
		c.event(at, timeline.KindConfigChange, backend, attrs, sink)
	}
}

// Changes extracts the setting changes stated in a config message:
// "setting A -> B" pairs (also "=>" and "→", "setting: A -> B",
// "setting=A -> B"), "setting from A to B", separated by commas or
// semicolons. If revert is true and no such pair is found, a parenthesised
// list of "setting value" items ("revert CHG-1 (keepalive_timeout 65s,
// upstream keepalive 64)") gives the values restored, with From empty.
func Changes(text []byte, revert bool) []Change {
	var out []Change
	segStart := 0
	i := 0
	for i < len(text) {
		a, alen := findArrow(text[i:])
		if a < 0 {
			break
		}
		a += i
		// from-token: last token before the arrow.
		fe := a
		for fe > segStart && text[fe-1] == ' ' {
			fe--
		}
		fs := fe
		for fs > segStart && text[fs-1] != ' ' && !isDelim(text[fs-1]) {
			fs--
		}
		from := text[fs:fe]
		// to-token.
		ts := a + alen
		for ts < len(text) && text[ts] == ' ' {
			ts++
		}
		te := ts
		for te < len(text) && text[te] != ' ' && !isDelim(text[te]) && text[te] != ')' {
			te++
		}
		to := bytes.TrimRight(text[ts:te], ".")
		// setting: the segment before from.
		seg := text[segStart:fs]
		if k := lastDelim(seg); k >= 0 {
			seg = seg[k+1:]
		}
		setting := settingName(seg)
		if k := bytes.IndexByte(from, '='); k > 0 {
			setting, from = string(from[:k]), from[k+1:]
		}
		if setting != "" && len(from) > 0 && len(to) > 0 {
			out = append(out, Change{Setting: setting, From: string(from), To: string(to)})
		}
		segStart = te
		i = te
		if i <= a {
			i = a + alen
		}
	}
	if len(out) == 0 {
		out = fromTo(text)
	}
	if len(out) == 0 && revert {
		out = revertList(text)
	}
	return out
}

func findArrow(b []byte) (int, int) {
	best, blen := -1, 0
	for _, arr := range [...]string{"->", "=>", "\u2192"} {
		if k := bytes.Index(b, []byte(arr)); k >= 0 && (best < 0 || k < best) {
			best, blen = k, len(arr)
		}
	}
	return best, blen
}

func isDelim(ch byte) bool { return ch == ',' || ch == ';' || ch == '(' || ch == '|' }

// lastDelim returns the index of the last delimiter of seg, where ": "
// counts as one (a "component: setting" prefix).
func lastDelim(seg []byte) int {
	k := -1
	for i := 0; i < len(seg); i++ {
		if isDelim(seg[i]) || (seg[i] == ':' && i+1 < len(seg) && seg[i+1] == ' ' && i+2 < len(seg)) {
			k = i
		}
	}
	return k
}

// settingName trims a segment to a setting name: surrounding space, a
// trailing ':' or '=', and leading verbs ("set", "changed").
func settingName(seg []byte) string {
	seg = bytes.TrimSpace(seg)
	seg = bytes.TrimRight(seg, ":= ")
	for {
		sp := bytes.IndexByte(seg, ' ')
		if sp < 0 {
			break
		}
		var buf [16]byte
		w := seg[:sp]
		if len(w) >= len(buf) {
			break
		}
		switch string(lowerInto(buf[:0], w)) {
		case "set", "change", "changed", "changing", "update", "updated", "tweak", "tweaked", "and", "also":
			seg = bytes.TrimSpace(seg[sp+1:])
			continue
		}
		break
	}
	if len(seg) > 64 {
		return ""
	}
	return string(seg)
}

// fromTo parses "setting [changed] from A to B" items.
func fromTo(text []byte) []Change {
	var out []Change
	for _, part := range bytes.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' }) {
		f := bytes.Fields(part)
		for i := 1; i+3 < len(f)+1; i++ {
			if i+2 >= len(f) {
				break
			}
			if string(bytes.ToLower(f[i])) == "from" && string(bytes.ToLower(f[i+2])) == "to" && i+3 < len(f) {
				name := f[:i]
				k := len(name) - 1
				for k > 0 && isVerb(name[k]) {
					k--
				}
				setting := bytes.TrimRight(name[k], ":=")
				if len(setting) > 0 && !isVerb(name[k]) {
					out = append(out, Change{Setting: string(setting), From: string(f[i+1]), To: string(bytes.TrimRight(f[i+3], ".)"))})
				}
				break
			}
		}
	}
	return out
}

func isVerb(w []byte) bool {
	switch string(bytes.ToLower(w)) {
	case "changed", "change", "set", "updated", "update", "raised", "lowered", "reduced", "increased", "decreased", "was", "is":
		return true
	}
	return false
}

// revertList parses "(setting value, setting value)".
func revertList(text []byte) []Change {
	o := bytes.IndexByte(text, '(')
	if o < 0 {
		return nil
	}
	e := bytes.IndexByte(text[o:], ')')
	if e < 0 {
		return nil
	}
	var out []Change
	for _, item := range bytes.Split(text[o+1:o+e], []byte(",")) {
		item = bytes.TrimSpace(item)
		sp := bytes.LastIndexAny(item, " =:")
		if sp <= 0 || sp+1 >= len(item) {
			continue
		}
		name := bytes.TrimRight(bytes.TrimSpace(item[:sp]), ":=")
		val := item[sp+1:]
		if len(name) == 0 || len(name) > 64 {
			continue
		}
		out = append(out, Change{Setting: string(name), To: string(val)})
	}
	return out
}
