package templates

import (
	"fmt"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/internal/mdesc"
)

// Text is a string that may hold untrusted log text (a quoted line, a path,
// a backend name, a rule text with facts filled in). It is stored raw:
// JSON output carries it unchanged. Printed by a template ({{.Summary}}),
// its String method escapes it for inline Markdown, so a custom template is
// safe by default; pass it to code or cellcode for a code span instead.
type Text string

// String returns t escaped for one line of Markdown (see mdesc.Inline):
// safe in a paragraph, a list item and a table cell.
func (t Text) String() string { return mdesc.Inline(string(t)) }

// Raw returns t unescaped. Use it only where the output is not Markdown.
func (t Text) Raw() string { return string(t) }

// Time is a timestamp in the report's zone. JSON carries it as RFC 3339
// with an explicit numeric offset ("2024-05-14T14:02:05+09:00", and
// "+00:00" for UTC), or null when zero. Templates can call the methods of
// time.Time on it, e.g. {{.Start.Format "15:04"}}.
type Time struct{ time.Time }

// TimeLayout is the layout of Time in JSON and of Time.String.
const TimeLayout = "2006-01-02T15:04:05.999999999-07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.Format(TimeLayout) + `"`), nil
}

// String returns t in TimeLayout, or "" when zero.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.Format(TimeLayout)
}

// Clock returns the time of day, "15:04:05", or "" when zero.
func (t Time) Clock() string {
	if t.IsZero() {
		return ""
	}
	return t.Format("15:04:05")
}

// Stamp returns "2006-01-02 15:04:05 -07:00", or "" when zero.
func (t Time) Stamp() string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05 -07:00")
}

// Window is a closed interval in the report's zone with its length written
// out ("14m 5s").
type Window struct {
	Start    Time   `json:"start"`
	End      Time   `json:"end"`
	Duration string `json:"duration"`
}

// IsZero reports whether w is unset.
func (w Window) IsZero() bool { return w.Start.IsZero() && w.End.IsZero() }

// Source is one input stream: where it came from, its detected format and
// how much of it was understood.
type Source struct {
	Path         Text   `json:"path"`
	Format       string `json:"format"`
	Backend      Text   `json:"backend,omitempty"`
	Lines        int64  `json:"lines"`
	Events       int64  `json:"events"`
	Samples      int64  `json:"samples"`
	Unrecognized int64  `json:"unrecognized"`
	Skipped      int64  `json:"skipped"`
	Warnings     []Text `json:"warnings"`
}

// Column values of a timeline Row.
const (
	ColumnSetting   = "setting"   // something an operator or pipeline changed
	ColumnIndicator = "indicator" // something the system showed in response
)

// Row is one line of the draft's timeline: a single event, a condensed
// burst (End, Count, Peak set), or a finding's evidence line that is not an
// event (kind "evidence", e.g. a metric line).
type Row struct {
	Time    Time    `json:"time"`
	End     Time    `json:"end,omitzero"`
	Kind    string  `json:"kind"`
	Column  string  `json:"column"`
	Backend Text    `json:"backend,omitempty"`
	Summary Text    `json:"summary"`
	Source  Text    `json:"source"`
	Line    int64   `json:"line"`
	Count   int     `json:"count,omitempty"`
	Peak    float64 `json:"peak,omitempty"`
	// Text is the log line (the first line of a burst).
	Text Text `json:"text,omitempty"`
	// Findings names the rules whose evidence includes this row.
	Findings []string `json:"findings,omitempty"`
}

// Setting reports whether r belongs to the "Setting change" column.
func (r Row) Setting() bool { return r.Column == ColumnSetting }

// Indicator reports whether r belongs to the "Indicator change" column.
func (r Row) Indicator() bool { return r.Column == ColumnIndicator }

// Ref returns "file:line".
func (r Row) Ref() Text { return ref(r.Source, r.Line) }

// Evidence is a quoted log line with the role it plays in a finding.
type Evidence struct {
	Role   Text  `json:"role,omitempty"`
	Source Text  `json:"source"`
	Line   int64 `json:"line"`
	Time   Time  `json:"time,omitzero"`
	Text   Text  `json:"text"`
}

// Ref returns "file:line".
func (e Evidence) Ref() Text { return ref(e.Source, e.Line) }

func ref(file Text, line int64) Text {
	if line <= 0 {
		return file
	}
	return Text(fmt.Sprintf("%s:%d", file, line))
}

// Finding is a failure case a rule recognised, ready to print.
type Finding struct {
	Rule     string `json:"rule"`
	Case     string `json:"case"`
	Title    Text   `json:"title"`
	Severity string `json:"severity"`
	// Confidence is 0..1; ConfidenceLabel is "high" (>= 0.8), "medium"
	// (>= 0.5) or "low".
	Confidence      float64         `json:"confidence"`
	ConfidenceLabel string          `json:"confidence_label"`
	Start           Time            `json:"start"`
	End             Time            `json:"end"`
	Duration        string          `json:"duration"`
	Backend         Text            `json:"backend,omitempty"`
	Summary         Text            `json:"summary"`
	Trigger         *Evidence       `json:"trigger,omitempty"`
	Evidence        []Evidence      `json:"evidence"`
	Facts           map[string]Text `json:"facts,omitempty"`
	Contributing    []Text          `json:"contributing,omitempty"`
	Prevention      []Text          `json:"prevention"`
	Mistakes        []Text          `json:"mistakes,omitempty"`
	Checklist       []Text          `json:"checklist,omitempty"`
}

// Check is what one rule looked at.
type Check struct {
	Rule    string `json:"rule"`
	Case    string `json:"case"`
	Anchors int    `json:"anchors"`
	Fired   int    `json:"fired"`
	Why     Text   `json:"why,omitempty"`
}

// Signal totals one kind of error burst over the impact window.
type Signal struct {
	Kind     string  `json:"kind"`
	Label    string  `json:"label"`
	Count    int     `json:"count"`
	Bursts   int     `json:"bursts"`
	Peak     float64 `json:"peak_per_second"`
	First    Time    `json:"first"`
	Last     Time    `json:"last"`
	Backends []Text  `json:"backends,omitempty"`
}

// Peak is the highest value a metric reached in the impact window, with
// the line that reported it.
type Peak struct {
	Metric  string  `json:"metric"`
	Label   string  `json:"label"`
	Backend Text    `json:"backend,omitempty"`
	Value   float64 `json:"value"`
	Time    Time    `json:"time"`
	Source  Text    `json:"source,omitempty"`
	Line    int64   `json:"line,omitempty"`
}

// Ref returns "file:line".
func (p Peak) Ref() Text { return ref(p.Source, p.Line) }

// Impact sums up what users felt: when, where, how much.
type Impact struct {
	// Window is the union of the findings' spans, or of the error bursts'
	// spans when nothing fired; zero when neither exists.
	Window   Window   `json:"window"`
	Backends []Text   `json:"backends"`
	Signals  []Signal `json:"signals"`
	Peaks    []Peak   `json:"peaks"`
}

// Detection is how the incident first showed up in the logs.
type Detection struct {
	// First is the earliest indicator event inside the impact window.
	First *Row `json:"first_signal,omitempty"`
	// Trigger is the primary finding's trigger, if a rule named one.
	Trigger *Evidence `json:"trigger,omitempty"`
	// Lag is First.Time - Trigger.Time, when both are known and ordered.
	Lag string `json:"lag,omitempty"`
}

// FormatDuration writes d compactly: "850ms", "42s", "5m 10s", "2h 11m",
// "3d 4h". Negative durations get a leading "-".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d < time.Second {
		if d == 0 {
			return "0s"
		}
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, fmt.Sprintf("%dd", days))
		if h > 0 {
			parts = append(parts, fmt.Sprintf("%dh", h))
		}
	case h > 0:
		parts = append(parts, fmt.Sprintf("%dh", h))
		if m > 0 {
			parts = append(parts, fmt.Sprintf("%dm", m))
		}
	case m > 0:
		parts = append(parts, fmt.Sprintf("%dm", m))
		if s > 0 {
			parts = append(parts, fmt.Sprintf("%ds", s))
		}
	default:
		parts = append(parts, fmt.Sprintf("%ds", s))
	}
	return strings.Join(parts, " ")
}
