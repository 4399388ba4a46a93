package rules

import (
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Severity ranks a finding: info, warning or critical.
type Severity string

// Severities, in increasing order.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 1, warning 2, critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Finding is one failure case a rule recognised in a timeline.
type Finding struct {
	Rule       string    `json:"rule"`
	Case       string    `json:"case"`
	Title      string    `json:"title"`
	Severity   Severity  `json:"severity"`
	Confidence float64   `json:"confidence"` // 0..1
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Backend    string    `json:"backend,omitempty"`
	// Summary is one or two sentences naming the mechanism, with numbers.
	Summary string `json:"summary"`
	// Trigger is the setting change or deploy step that set it off, if known.
	Trigger *Evidence `json:"trigger,omitempty"`
	// Evidence is the chain of lines that prove the case, in time order.
	Evidence []Evidence `json:"evidence"`
	// Facts are the measured numbers the rule used (name -> value with
	// unit), e.g. "peak_reset_rate": "420/s". Sorted by name on output.
	Facts map[string]string `json:"facts,omitempty"`
	// Contributing, Prevention, Mistakes and Checklist are rendered from
	// the rule's text with the facts filled in.
	Contributing []string `json:"contributing,omitempty"`
	Prevention   []string `json:"prevention"`
	Mistakes     []string `json:"mistakes,omitempty"`
	Checklist    []string `json:"checklist,omitempty"`
}

// Evidence is a quoted log line with the role it plays in a finding
// ("anchor", "resets", "missing drain", ...).
type Evidence struct {
	Role string `json:"role"`
	timeline.Evidence
}

// Check records what a rule looked at, so a draft with no finding can say
// plainly what was checked.
type Check struct {
	Rule    string `json:"rule"`
	Case    string `json:"case"`
	Anchors int    `json:"anchors"` // anchor candidates found
	Fired   int    `json:"fired"`
	// Why says, when nothing fired, which condition failed first, e.g.
	// "no backend left the pool".
	Why string `json:"why,omitempty"`
}

// Result is what evaluating a pack over a timeline produced.
type Result struct {
	Findings []Finding `json:"findings"`
	Checks   []Check   `json:"checks"`
	// Analysis is the change-point analysis the rules used (nil when no
	// rule needed one and EvalOptions gave none); callers drafting a
	// report reuse it instead of running it again.
	Analysis *correlate.Analysis `json:"-"`
}
