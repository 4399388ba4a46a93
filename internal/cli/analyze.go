package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/internal/prefilter"
	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/templates"
)

// AnalyzeOptions are the flags of `postmortem analyze`.
type AnalyzeOptions struct {
	Inputs   inputOptions
	Rules    ruleOptions
	Output   string
	Format   []string // md|json|html, or PATH=NAME (an input format override)
	Template string
	Title    string
	Redact   bool
	FailOn   string
	Args     []string
	Metrics  metricsOptions
	Loki     lokiOptions
	// Prefilter skips lines that hold no literal of any signal.
	Prefilter bool
}

func newAnalyzeCmd(d *Deps, run func(context.Context, *AnalyzeOptions) error) *cobra.Command {
	o := &AnalyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze [PATH...]",
		Short: "Review an incident: timeline, classified failure with evidence, postmortem draft",
		Long: `analyze reads every input (files, directories, globs, rotated and compressed
sets, or - for standard input), detects each log format, merges everything into
one timeline, runs the rule packs, and writes a postmortem draft.

Every finding cites its evidence as file:line. When no rule matches, the draft
says so and lists what was checked.`,
		Example: `  postmortem analyze incident/
  postmortem analyze -o postmortem.md incident/
  postmortem analyze --format json incident/ | jq '.findings[].case'
  postmortem analyze --format html -o report.html incident/
  postmortem analyze --tz Asia/Seoul --offset haproxy.log=-2s incident/
  postmortem analyze --rules our-rules/ --fail-on critical incident/
  zcat nginx-error.log.gz | postmortem analyze -
  postmortem analyze --loki http://loki:3100 --logql '{job=~"nginx|haproxy"}' --from 2026-05-01T14:00:00+09:00 --to 2026-05-01T15:00:00+09:00`,
		Args: cobra.ArbitraryArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if run != nil {
				return run(cmd.Context(), o)
			}
			return runAnalyze(cmd.Context(), d, o)
		}),
	}
	o.Inputs.addFlags(cmd)
	o.Rules.addFlags(cmd)
	o.Metrics.addFlags(cmd)
	o.Loki.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "write the draft to `FILE` instead of standard output")
	f.StringArrayVar(&o.Format, "format", nil, "output format: md, json or html (default md); a PATH=NAME value forces an input's log format like --input-format")
	f.StringVar(&o.Template, "template", "", "render Markdown with this text/template `FILE` instead of the built-in one")
	f.StringVar(&o.Title, "title", "", "title of the draft (default: derived from the findings)")
	f.BoolVar(&o.Prefilter, "prefilter", false, "skip lines that hold no literal of any signal before parsing them (the draft is the same; their count moves from unrecognised to prefiltered), and fetch only candidate lines with --loki")
	f.BoolVar(&o.Redact, "redact", false, "replace secrets (tokens, cookies, Authorization headers, passwords) in quoted log text with [REDACTED]")
	f.StringVar(&o.FailOn, "fail-on", "", "exit with status 1 if a finding reaches this severity: info, warning or critical")
	return cmd
}

// splitFormats separates --format output values from PATH=NAME overrides.
func splitFormats(vals []string) (out string, overrides []string, err error) {
	for _, v := range vals {
		if strings.Contains(v, "=") {
			overrides = append(overrides, v)
			continue
		}
		if out != "" && out != v {
			return "", nil, usagef("--format given twice (%s and %s)", out, v)
		}
		out = v
	}
	return out, overrides, nil
}

func runAnalyze(ctx context.Context, d *Deps, o *AnalyzeOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	outFmt, overrides, err := splitFormats(o.Format)
	if err != nil {
		return err
	}
	switch outFmt {
	case "":
		outFmt = "md"
	case "md", "markdown":
		outFmt = "md"
	case "json", "html":
	default:
		return usagef("--format %q: expected md, json or html (or PATH=NAME to force an input format)", outFmt)
	}
	o.Inputs.InputFormats = append(o.Inputs.InputFormats, overrides...)
	if o.FailOn != "" {
		if _, err := severityAtLeast(nil, o.FailOn); err != nil {
			return err
		}
	}
	tmpl := templates.Default()
	if o.Template != "" {
		text, err := d.ReadFile(o.Template)
		if err != nil {
			return usagef("--template: %v", err)
		}
		if tmpl, err = templates.Parse(o.Template, string(text)); err != nil {
			return usagef("%v", err)
		}
	}
	cfg, err := o.Inputs.config(d, o.Loki.args(o.Args))
	if err != nil {
		return err
	}
	if cfg.Pack, err = o.Rules.pack(); err != nil {
		return err
	}
	if err := o.Metrics.apply(d, &cfg); err != nil {
		return err
	}
	if o.Prefilter {
		cfg.Prefilter = prefilter.NewSet(parsers.WantAll())
	}
	if err := o.Loki.apply(d, &cfg, len(o.Args) == 0); err != nil {
		return err
	}
	res, err := pipeline.Run(ctx, cfg)
	if err != nil {
		return err
	}
	prefilter.Note(res.Sources)
	rep := templates.NewReport(templates.Input{
		Title:    o.Title,
		Loc:      res.Loc,
		TZNote:   res.ZoneNote,
		Now:      d.Now(),
		Sources:  sortedSources(res.Sources),
		Timeline: res.Timeline,
		Result:   res.Rules,
		Warnings: res.Warnings,
		Redact:   o.Redact,
	})
	an := res.Rules.Analysis // the rules' own, when a rule used change points
	if an == nil {
		an = correlate.Analyze(res.Timeline, correlate.AnalyzeOptions{})
	}
	rep.SetAnalysis(an, res.Loc, o.Redact)
	rep.SetSkew(skewInputs(res.Skew), res.Loc, o.Redact)
	// Charts go into the HTML page, or beside a Markdown file written with
	// -o; Markdown to standard output gets none.
	var charts []templates.Chart
	if outFmt == "html" || (outFmt == "md" && o.Output != "") {
		charts = templates.Charts(res.Timeline, rep, res.Loc)
	}
	var buf bytes.Buffer
	switch outFmt {
	case "json":
		if err := rep.WriteJSON(&buf); err != nil {
			return err
		}
	case "md", "html":
		if err := tmpl.Execute(&buf, rep); err != nil {
			return err
		}
		if outFmt == "md" && len(charts) > 0 {
			for _, c := range charts {
				if err := d.WriteFile(templates.ChartFile(o.Output, c), c.SVG); err != nil {
					return err
				}
			}
			buf.Write(templates.ChartsMarkdown(o.Output, charts))
		}
		if outFmt == "html" {
			html, err := templates.RenderHTMLCharts(buf.Bytes(), charts)
			if err != nil {
				return err
			}
			buf.Reset()
			buf.Write(html)
		}
	}
	if o.Output != "" {
		if err := d.WriteFile(o.Output, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(d.IO.ErrOut, "postmortem: wrote %s (%d finding(s))\n", o.Output, len(res.Rules.Findings))
	} else if _, err := d.IO.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	if o.FailOn != "" {
		n, _ := severityAtLeast(res.Rules.Findings, o.FailOn)
		if n > 0 {
			return &findingsError{fmt.Sprintf("postmortem: %d finding(s) at %s or above", n, o.FailOn)}
		}
	}
	return nil
}
