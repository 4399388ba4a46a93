package rules_test

import (
	"fmt"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// A rule is YAML: an anchor, required and supporting conditions relative to
// it, and templates filled with the facts the conditions measured.
const exampleRule = `
rules:
  - rule: killed-without-drain
    case: hard-cut-without-drain
    severity: critical
    anchor:
      event:                       # any of these events starts a candidate
        - kind: deploy_step
          attrs: {step: kill}
    require:
      - name: no_drain             # nothing drained this backend before...
        absent:
          - kind: deploy_step
            attrs: {step: [drain_start, drained]}
        reset_by:                  # ...since it was last put back in the pool
          - kind: deploy_step
            attrs: {step: bind}
        window: [-30m, 0s]
        text: "No drain of {{.backend}} since {{.no_drain_since}}."
      - name: cut
        any_of:                    # damage through any channel
          - name: resets
            counter: conn_resets
            window: [-10s, 2m]
            join: prefer_same      # same backend, else any backend
            sum: ">= 50"
          - name: lb
            gauge: reset_rate
            window: [-10s, 2m]
            max: ">= 100"
    support:
      - name: deploy               # raises confidence; cited as trigger
        event: {kind: deploy_step, attrs: {step: start}}
        window: [-1h, 0s]
        join: same_or_none
    trigger: [deploy]
    title: "{{.backend}} killed without a drain"
    summary: "{{.backend}} was killed at {{.anchor_time}}; {{.resets_sum}} resets followed (peak {{.resets_peak}})."
    prevention:
      - "Drain {{.backend}} before stopping it."
`

func Example() {
	pack, err := rules.Parse("example.yaml", []byte(exampleRule))
	if err != nil {
		fmt.Println(err)
		return
	}
	t0 := time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)
	b := timeline.NewBuilder(timeline.Options{})
	b.Event(timeline.Event{Time: t0, Kind: timeline.KindDeployStep, Attrs: map[string]string{"step": "start"},
		Pos: timeline.Pos{File: "deploy.log", Line: 1}, Text: "rolling restart start"})
	b.Event(timeline.Event{Time: t0.Add(2 * time.Minute), Kind: timeline.KindDeployStep, Backend: "vm-c",
		Attrs: map[string]string{"step": "kill"}, Pos: timeline.Pos{File: "deploy.log", Line: 2}, Text: "vm-c: SIGKILL"})
	for i := 0; i < 120; i++ {
		b.Event(timeline.Event{Time: t0.Add(2*time.Minute + time.Duration(i/4)*time.Second), Kind: timeline.KindConnReset,
			Backend: "vm-a", Attrs: map[string]string{"errno": "104"},
			Pos: timeline.Pos{File: "error.log", Line: int64(i + 1)}, Text: "recv() failed (104: Connection reset by peer)"})
	}
	res := pack.Eval(b.Timeline(), rules.EvalOptions{Loc: time.UTC})
	for _, f := range res.Findings {
		fmt.Println(f.Severity, f.Case, f.Backend, f.Confidence)
		fmt.Println(f.Summary)
		fmt.Println("trigger:", f.Trigger.Pos)
		for _, e := range f.Evidence {
			fmt.Printf("  %-8s %s %q\n", e.Role, e.Pos, e.Text)
		}
		fmt.Println(f.Prevention[0])
	}
	// Output:
	// critical hard-cut-without-drain vm-c 0.8
	// vm-c was killed at 14:02:00; 120 resets followed (peak 4/s).
	// trigger: deploy.log:1
	//   deploy   deploy.log:1 "rolling restart start"
	//   anchor   deploy.log:2 "vm-c: SIGKILL"
	//   no drain :0 "No drain of vm-c since 13:32:00."
	//   resets   error.log:1 "recv() failed (104: Connection reset by peer)"
	//   resets   error.log:2 "recv() failed (104: Connection reset by peer)"
	//   resets   error.log:3 "recv() failed (104: Connection reset by peer)"
	// Drain vm-c before stopping it.
}

// Every problem in a rule file is reported at once, each with its position.
func ExampleParse_errors() {
	_, err := rules.Parse("bad.yaml", []byte(`
rules:
  - rule: broken
    severity: urgent
    anchor:
      event: {kind: deploy_step, attrs: {step: kil}}
    require:
      - name: resets
        counter: conn_resets
        window: [-10s, 2mins]
        sum: ">= 50"
    title: "{{.backend}} {{.reset_total}}"
    summary: s
    prevention: [p]
`))
	fmt.Println(err)
	// Output:
	// bad.yaml:4:15: severity: unknown severity "urgent" (want info, warning or critical)
	// bad.yaml:6:48: attribute step: unknown value "kil" (known: start, unbind, drain_start, drain_wait, drained, drain_timeout, stop, kill, bind, rollback, end, config_push)
	// bad.yaml:10:24: window: bad duration "2mins" (want e.g. 30s, -10s, 2m, 1h30m)
	// bad.yaml:12:12: title: template uses unknown fact .reset_total
}
