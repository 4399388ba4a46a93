package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/internal/prefilter"
	"github.com/postmortem-tool/postmortem/internal/rulesrun"
	"github.com/postmortem-tool/postmortem/rules"
)

// RulesRunOptions are the flags of `postmortem rules run`.
type RulesRunOptions struct {
	Inputs     inputOptions
	Rules      ruleOptions
	Format     string // table|json|junit
	Output     string
	FailOn     string
	Samples    int
	NoProgress bool
	// NoPrefilter parses every line, even those without a literal of a
	// signal the rules use.
	NoPrefilter bool
	Args        []string
	Loki        lokiOptions
	Configs     configOptions
}

func newRulesRunCmd(d *Deps) *cobra.Command {
	o := &RulesRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [PATH...]",
		Short: "Run rule packs over archived logs and report, per rule, how often and where it matched",
		Long: `run reads archives (directories of rotated, gzip- or zstd-compressed logs over
days and hosts; files are read in parallel) and runs the rule packs over them.
Per rule it reports the number of findings, the first and last time, the
backends, and a sample of the evidence as file:line.

Output is an aligned table (default), JSON, or JUnit XML for CI dashboards.
A progress bar (bytes/s, ETA) is drawn on standard error when it is a
terminal; nothing is drawn otherwise.`,
		Example: `  postmortem rules run /var/log/archive/
  postmortem rules run --rules team-rules/ --format json archive/ > matches.json
  postmortem rules run --format junit -o rules.xml --fail-on critical archive/`,
		Args: cobra.ArbitraryArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			o.Args = args
			return runRulesRun(cmd.Context(), d, o)
		}),
	}
	o.Inputs.addFlags(cmd)
	o.Rules.addFlags(cmd)
	o.Loki.addFlags(cmd)
	o.Configs.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "table", "output format: table, json or junit")
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.FailOn, "fail-on", "", "exit with status 1 if a finding reaches this severity: info, warning or critical")
	f.IntVar(&o.Samples, "samples", 5, "evidence lines to show per rule")
	f.BoolVar(&o.NoProgress, "no-progress", false, "never draw the progress bar")
	f.BoolVar(&o.NoPrefilter, "no-prefilter", false, "parse every line (by default lines holding no literal of a signal the rules use are skipped, and --loki fetches only candidate lines)")
	return cmd
}

// errIsTerminal reports whether the error stream is a terminal.
func errIsTerminal(d *Deps) bool {
	f, ok := d.IO.ErrOut.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runRulesRun(ctx context.Context, d *Deps, o *RulesRunOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.Format {
	case "table", "json", "junit":
	default:
		return usagef("--format %q: expected table, json or junit", o.Format)
	}
	level := rules.SeverityWarning
	if o.FailOn != "" {
		if _, err := severityAtLeast(nil, o.FailOn); err != nil {
			return err
		}
		level = rules.Severity(o.FailOn)
	}
	if o.Samples < 0 {
		return usagef("--samples %d: expected 0 or more", o.Samples)
	}
	cfg, err := o.Inputs.config(d, o.Loki.args(o.Args))
	if err != nil {
		return err
	}
	if cfg.Pack, err = o.Rules.pack(); err != nil {
		return err
	}
	want := prefilter.WantOf(cfg.Pack)
	if !o.NoPrefilter {
		cfg.Prefilter = prefilter.NewSet(want)
	}
	if err := o.Loki.apply(d, &cfg, len(o.Args) == 0); err != nil {
		return err
	}
	if err := o.Configs.apply(&cfg); err != nil {
		return err
	}
	var bar *rulesrun.Progress
	if !o.NoProgress && errIsTerminal(d) {
		streams, _ := ingest.Discover(o.Args, ingest.Options{Stdin: d.IO.In})
		bar = rulesrun.NewProgress(d.IO.ErrOut, rulesrun.EstimateBytes(streams))
		cfg.Progress = bar.Add
	}
	res, err := pipeline.Run(ctx, cfg)
	bar.Finish()
	if err != nil {
		return err
	}
	sum := rulesrun.Summarize(cfg.Pack, res.Rules, res.Sources, res.Warnings, res.Loc, o.Samples)
	// The span of the signals the rules use, not of every event: the
	// same whether the prefilter skipped the lines of other signals or not.
	sum.Window = prefilter.Window(res.Timeline, want)
	if !sum.Window.Start.IsZero() {
		sum.Window.Start = sum.Window.Start.In(res.Loc)
		sum.Window.End = sum.Window.End.In(res.Loc)
	}
	var buf bytes.Buffer
	switch o.Format {
	case "table":
		err = sum.WriteTable(&buf)
	case "json":
		err = sum.WriteJSON(&buf)
	case "junit":
		err = sum.WriteJUnit(&buf, level)
	}
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := d.WriteFile(o.Output, buf.Bytes()); err != nil {
			return err
		}
	} else if _, err := d.IO.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	if o.FailOn != "" {
		if n := sum.AtLeast(level); n > 0 {
			return &findingsError{fmt.Sprintf("postmortem: %d finding(s) at %s or above", n, o.FailOn)}
		}
	}
	return nil
}
