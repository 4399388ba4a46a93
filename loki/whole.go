package loki

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Whole names the streams a Source fetches whole, without the line filter
// its Query has: those of the log query Query (the user's query, without
// the filter) that have a line Pattern matches in the window. It is for
// formats whose records span lines that no line filter can pick out (ss
// snapshots).
type Whole struct {
	// Query is the log query as given: a stream selector optionally
	// followed by line filters (|=, !=, |~, !~). A query with other stages
	// (| json, | line_format, ...) may change labels and lines, so its
	// streams cannot be fetched by their labels: the Source then sends
	// Query as given, for every stream, and says so.
	Query string
	// Pattern is an RE2 line pattern that finds the streams to fetch whole.
	Pattern string
}

// splitSelector splits a log query into its stream selector {...} and the
// rest; ok is false when q does not start with a selector.
func splitSelector(q string) (sel, rest string, ok bool) {
	t := strings.TrimLeft(q, " \t\r\n")
	if !strings.HasPrefix(t, "{") {
		return "", "", false
	}
	for i := 1; i < len(t); i++ {
		switch t[i] {
		case '"', '`':
			j := skipString(t, i)
			if j < 0 {
				return "", "", false
			}
			i = j
		case '}':
			return t[:i+1], t[i+1:], true
		}
	}
	return "", "", false
}

// skipString returns the index of the quote that closes the LogQL string
// starting at s[i] ("..." with backslash escapes, or `...`), or -1.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case q == '"' && s[j] == '\\':
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

// onlyLineFilters reports whether the pipeline rest (what follows the
// selector) holds line filters only: outside strings, every '|' starts
// "|=" or "|~". Other stages parse, reformat or relabel lines.
func onlyLineFilters(rest string) bool {
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"', '`':
			j := skipString(rest, i)
			if j < 0 {
				return false
			}
			i = j
		case '|':
			if i+1 >= len(rest) || (rest[i+1] != '=' && rest[i+1] != '~') {
				return false
			}
		}
	}
	return true
}

// labelName is the syntax of a Loki (Prometheus) label name.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// matchers renders ls as equality matchers name="value" sorted by name,
// values quoted as Go strings (LogQL strings unquote like Go's); names that
// are not label names (which a selector cannot name) are left out.
func matchers(ls map[string]string) []string {
	names := make([]string, 0, len(ls))
	for k := range ls {
		if labelName.MatchString(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	ms := make([]string, len(names))
	for i, k := range names {
		ms[i] = k + "=" + strconv.Quote(ls[k])
	}
	return ms
}

// streamQuery returns the query that fetches the stream with labels ls
// whole, given the selector and line filters of the user's query: the
// stream's own selector {k1="v1", ...} and the filters. It also matches
// streams that have more labels; the caller keeps the entries of ls only.
// With no nameable label, the user's selector is kept.
func streamQuery(ls map[string]string, sel, rest string) string {
	if ms := matchers(ls); len(ms) > 0 {
		sel = "{" + strings.Join(ms, ", ") + "}"
	}
	return sel + rest
}

// labelFilterQuery is the fallback of streamQuery for labels a selector
// cannot use (structured metadata, which Loki returns among the stream's
// labels): the user's query followed by one label filter per label. Loki
// scans every stream of the user's selector for it.
func labelFilterQuery(ls map[string]string, sel, rest string) string {
	q := strings.TrimRight(sel+rest, " ")
	for _, m := range matchers(ls) {
		q += " | " + m
	}
	return q
}

// lineFilter renders the line filter |~ for the RE2 pattern re.
func lineFilter(re string) string {
	if !strings.Contains(re, "`") {
		return " |~ `" + re + "`"
	}
	return " |~ " + strconv.Quote(re)
}
