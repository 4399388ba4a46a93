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
// line filter can pick out, so their streams are fetched whole.
var sockstatMetrics = []timeline.Metric{timeline.MetricTimeWait, timeline.MetricEstablished, timeline.MetricOrphans}

// SnapshotPattern is an RE2 pattern that matches every line to which the
// sockstat format's detection gives a score (snapshot, table, header and
// command lines; parsers/sockstat Detect). A stream is detected as sockstat
// only if one of its first lines scores, so a stream with no line this
// pattern matches in the window cannot be a sockstat stream. It is case
// sensitive, like detection, and may match more lines than detection
// scores (fetching a stream whole loses nothing).
const SnapshotPattern = `^(?:(?:RAW|UDP|TCP|FRAG|UDPLITE)6?|INET)[\t :]|^(?:Total: |sockets: used|Transport Total)|^###.*(?:ss |sockstat)|^[$# ]*(?:ss(?: |$)|netstat |cat /proc/net/sockstat|wc -l|sysctl )|\| wc -l`

// Pushdown is a LogQL query narrowed by a Set.
type Pushdown struct {
	// Query is the query with the line filter appended, or the query as
	// given when Note says why not.
	Query string
	// Snapshots, when not empty, is a line pattern (SnapshotPattern): the
	// run uses what ss snapshots carry, so each stream of the query as
	// given with a line it matches in the window must be fetched whole
	// (loki.Source.Whole), in place of its lines that Query lets through.
	Snapshots string
	// Note says why the query is sent as given; empty when it is not.
	Note string
}

// LogQL narrows query to the lines that some format of reg may turn into a
// wanted signal: Query gets one case-insensitive RE2 alternation of every
// literal of every prefiltered format (word literals between \b), ORed
// with AccessPattern. When the run uses TIME_WAIT, established or orphan
// counts, which ss snapshots carry in lines no filter can pick out,
// Snapshots is set: those streams are fetched whole besides the filtered
// query. When narrowing cannot be done without losing a signal (a custom
// nginx log_format, or another format that declares no literals), Query is
// query unchanged and Note says why.
func (s *Set) LogQL(query string, reg *parsers.Registry) Pushdown {
	if s == nil {
		return Pushdown{Query: query}
	}
	var alts []string
	seen := map[string]bool{}
	add := func(re string) {
		if !seen[re] {
			seen[re] = true
			alts = append(alts, re)
		}
	}
	snapshots := ""
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
					snapshots = SnapshotPattern
				}
			}
		default:
			return Pushdown{Query: query, Note: fmt.Sprintf("the query is sent without a line filter: format %s declares no literals (--no-prefilter silences this)", name)}
		}
	}
	if len(alts) == 0 {
		// Nothing any format could use: fetch nothing but keep the query
		// valid.
		alts = append(alts, `\A\z`)
	}
	slices.Sort(alts)
	re := "(?i)" + strings.Join(alts, "|")
	return Pushdown{Query: strings.TrimRight(query, " ") + " |~ " + logqlString(re), Snapshots: snapshots}
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
