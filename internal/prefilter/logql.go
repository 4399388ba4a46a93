package prefilter

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// AccessPattern keeps nginx access lines (combined and the project's
// extended format): the status after the quoted request line. Every such
// line is a request sample, so none may be filtered out while a run uses
// request metrics.
const AccessPattern = `" [1-5][0-9][0-9] `

// sockstatMetrics are what `ss -s` and /proc/net/sockstat snapshots carry:
// their blocks are read across lines (timestamp lines, bare counts) that no
// line filter can pick out.
var sockstatMetrics = []timeline.Metric{timeline.MetricTimeWait, timeline.MetricEstablished, timeline.MetricOrphans}

// LogQL returns query with a line filter appended that lets through only
// the lines some format of reg may turn into a wanted signal: one
// case-insensitive RE2 alternation of every literal of every prefiltered
// format (word literals between \b), ORed with AccessPattern. When that
// cannot be done without losing a signal, it returns query unchanged and
// says why: a run that uses what ss snapshots carry, a custom nginx
// log_format, or another format that declares no literals.
func (s *Set) LogQL(query string, reg *parsers.Registry) (string, string) {
	if s == nil {
		return query, ""
	}
	var alts []string
	seen := map[string]bool{}
	add := func(re string) {
		if !seen[re] {
			seen[re] = true
			alts = append(alts, re)
		}
	}
	for _, f := range reg.Formats() {
		name := f.Name()
		if pf, ok := f.(parsers.Prefilterable); ok {
			if lits, ok := pf.Literals(s.want); ok {
				for _, l := range lits {
					re := regexp.QuoteMeta(l.Text)
					if l.Word {
						// RE2's \b is the same ASCII boundary as Literal.Word.
						re = `\b` + re + `\b`
					}
					add(re)
				}
				continue
			}
		}
		switch {
		case name == "nginx-access":
			add(AccessPattern)
		case name == "sockstat":
			for _, m := range sockstatMetrics {
				if s.want.Metric(m) {
					return query, fmt.Sprintf("the query is sent without a line filter: the rules use %s, which ss -s snapshots carry in lines no filter can pick out (--no-prefilter silences this)", m)
				}
			}
		default:
			return query, fmt.Sprintf("the query is sent without a line filter: format %s declares no literals (--no-prefilter silences this)", name)
		}
	}
	if len(alts) == 0 {
		// Nothing any format could use: fetch nothing but keep the query
		// valid.
		alts = append(alts, `\A\z`)
	}
	slices.Sort(alts)
	re := "(?i)" + strings.Join(alts, "|")
	return strings.TrimRight(query, " ") + " |~ " + logqlString(re), ""
}

// logqlString quotes s as a LogQL string: backquoted (raw) unless s holds
// a backquote, else double-quoted with backslashes and quotes escaped.
func logqlString(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
