package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/rules/ruletest"
)

// RulesTestOptions are the flags of `postmortem rules test`.
type RulesTestOptions struct {
	Rules ruleOptions
	Args  []string
}

func newRulesTestCmd(d *Deps) *cobra.Command {
	o := &RulesTestOptions{}
	cmd := &cobra.Command{
		Use:   "test FILE|DIR...",
		Short: "Run rule unit tests: inputs (logs, metric series, config changes) and the findings they must give",
		Long: `test runs rule test files (YAML). Each test gives inputs: log lines inline per
source path or file references, metric series in promtool's expanding notation
('10+5x20', '_'), and configuration changes; and states the findings that must
come out (rule or case, backend, time window), or that none may (expect: []).

A failing test prints the expected findings (-) against the ones that came out
(+). The exit status is 1 when a test fails, 2 when a file does not load.`,
		Example: `  postmortem rules test rules/pack/tests/
  postmortem rules test --rules team-rules/ team-rules/tests/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			o.Args = args
			return runRulesTest(cmd.Context(), d, o)
		}),
	}
	o.Rules.addFlags(cmd)
	return cmd
}

func runRulesTest(ctx context.Context, d *Deps, o *RulesTestOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	base := &rules.Pack{}
	if !o.Rules.NoDefault || len(o.Rules.Files) > 0 {
		var err error
		if base, err = o.Rules.pack(); err != nil {
			return err
		}
	}
	rep := ruletest.RunFiles(ctx, ruletest.Options{Pack: base}, o.Args...)
	rep.Write(d.IO.Out)
	if len(rep.Errors) > 0 {
		return usagef("%d rule test file(s) could not be loaded", len(rep.Errors))
	}
	if n := rep.Failed(); n > 0 {
		return &findingsError{fmt.Sprintf("postmortem: %d rule test(s) failed", n)}
	}
	return nil
}
