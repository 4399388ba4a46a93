package templates_test

import (
	"fmt"
	"os"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/templates"
	"github.com/postmortem-tool/postmortem/timeline"
)

func Example() {
	at := time.Date(2024, 5, 14, 5, 2, 0, 0, time.UTC)
	r := templates.NewReport(templates.Input{
		Now: at.Add(time.Hour),
		Result: rules.Result{Findings: []rules.Finding{{
			Rule: "hard-cut-without-drain", Case: "hard-cut-without-drain",
			Title: "Backend removed without drain", Severity: rules.SeverityCritical,
			Confidence: 0.9, Start: at, End: at.Add(35 * time.Second), Backend: "vm-c",
			Evidence: []rules.Evidence{{Role: "resets", Evidence: timeline.Evidence{
				Pos:  timeline.Pos{File: "nginx/error.log", Line: 104},
				Time: at.Add(7 * time.Second),
				Text: "recv() failed (104: Connection reset by peer) | <script>",
			}}},
			Prevention: []string{"Gate the stop step on a completed drain."},
		}}},
	})
	tmpl, err := templates.Parse("short.md.tmpl", `# {{.Title}}
{{range .Findings}}
{{.Case}} ({{pct .Confidence}}) from {{$.Clock .Start}} to {{$.Clock .End}}, {{.Duration}}
{{- range .Evidence}}
- {{code .Ref}} {{.Role}}: {{.Text}}
{{- end}}
{{- end}}
{{range .Actions}}
- [ ] {{.Text}}
{{- end}}
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := tmpl.Execute(os.Stdout, r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # Postmortem: Backend removed without drain on vm-c
	//
	// hard-cut-without-drain (90%) from 05:02:00 to 05:02:35, 35s
	// - `nginx/error.log:104` resets: recv() failed (104: Connection reset by peer) \| &lt;script&gt;
	//
	// - [ ] Gate the stop step on a completed drain.
}

func ExampleParse_error() {
	_, err := templates.Parse("mine.md.tmpl", "# {{.Title}}\n{{range .Findings}}{{.Summary | loud}}{{end}}\n")
	fmt.Println(err)
	// Output:
	// mine.md.tmpl:2:33: function "loud" not defined: expected a known function (add, cellcode, code, join, md, num, pct, plural, trunc or a text/template builtin), found loud
}
