// Package mdesc makes untrusted log text safe to place in a Markdown draft:
// escaping for inline text and table cells, inline code spans with a fence
// longer than any backtick run, and redaction of secrets.
//
// Nothing here emits raw HTML: '<', '>' and '&' always leave as character
// references, so a renderer shows them as text whatever its HTML policy.
package mdesc

import (
	"strings"
	"unicode/utf8"
)

// Inline escapes s for use anywhere inside one line of Markdown: a
// paragraph, a list item or a GFM table cell. The result is one line:
// CR, LF and other control characters become spaces (runs collapse to one),
// invalid UTF-8 becomes U+FFFD. Markdown punctuation (\ ` * _ [ ] ~ | # !)
// is backslash-escaped; '<', '>' and '&' become &lt; &gt; &amp;. A leading
// '+', '-', '=' or an ordered-list marker ("1." / "1)") is escaped so the
// text cannot open a block when it starts a line or list item.
func Inline(s string) string {
	s = OneLine(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '~', '|', '#', '!':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '+', '-', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '.', ')':
			if allDigits(s[:i]) && i > 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// OneLine returns s as a single line of valid UTF-8: invalid bytes become
// U+FFFD, every run of control characters (including CR, LF and tab) and
// spaces becomes one space, and leading and trailing spaces are trimmed.
func OneLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= utf8.RuneSelf || (c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' || r == 0x85 || r == 0x2028 || r == 0x2029 {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// Code returns s as a Markdown inline code span for use outside tables. The
// fence is one backtick longer than the longest backtick run in s, and a
// space pads the content when it starts or ends with a backtick or space,
// so the span always closes where intended. Code spans show '<' and '&'
// literally, so no further escaping is needed. Empty s gives "` `".
func Code(s string) string { return code(s, false) }

// CellCode is Code for a GFM table cell: '|' is additionally written as
// "\|", which GFM removes before the cell's content is parsed, so a pipe in
// the text cannot split the row.
func CellCode(s string) string { return code(s, true) }

func code(s string, cell bool) string {
	s = OneLine(s)
	if s == "" {
		return "` `"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' || s[len(s)-1] == ' ' {
		pad = " "
	}
	if cell {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + pad + s + pad + fence
}

// Truncate shortens s to at most n runes, ending it with "…" when cut.
// n <= 0 means no limit.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
