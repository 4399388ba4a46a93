package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/rules/export"
)

// RulesExportOptions are the flags of `rules export`.
type RulesExportOptions struct {
	Rules ruleOptions
	// To is the target: prometheus or loki.
	To string
	// Labels is the mapping file (metrics, streams, labels); "" uses the
	// built-in mapping.
	Labels string
	// Output is the file to write; "" writes standard output.
	Output string
	// PrintMapping prints the built-in mapping and exits.
	PrintMapping bool
}

func newRulesExportCmd(d *Deps) *cobra.Command {
	o := &RulesExportOptions{}
	cmd := &cobra.Command{
		Use:   "export --to prometheus|loki",
		Short: "Translate rules into Prometheus or Loki ruler alerting rules",
		Long: `export writes the loaded rules as a rule file for Prometheus (PromQL over
exporter metrics) or the Loki ruler (LogQL metric queries over log streams).

Each alert checks the parts of a rule the target can express. Parts it cannot
express (absence of a prior transition, joins with earlier events, log events
in PromQL, sampled gauges in LogQL, unmapped metrics or attribute values) are
listed with the reason in a comment block at the head of the output and
summarised on standard error; nothing is dropped silently.

--labels names a YAML mapping file (see --print-mapping for the built-in one)
that says which series, stream selectors, line filters and labels stand for
each timeline metric and event kind.`,
		Example: `  postmortem rules export --to prometheus > /etc/prometheus/rules/postmortem.yaml
  postmortem rules export --to loki --labels fleet-mapping.yaml -o rules/fake/postmortem.yaml
  postmortem rules export --print-mapping > fleet-mapping.yaml`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runRulesExport(d, o)
		}),
	}
	o.Rules.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "target: prometheus or loki")
	f.StringVar(&o.Labels, "labels", "", "mapping `FILE` of metrics, streams and labels (default: built-in)")
	f.StringVarP(&o.Output, "output", "o", "", "write the rule file to `FILE` instead of standard output")
	f.BoolVar(&o.PrintMapping, "print-mapping", false, "print the built-in mapping and exit")
	return cmd
}

func runRulesExport(d *Deps, o *RulesExportOptions) error {
	if o.PrintMapping {
		_, err := d.IO.Out.Write(export.DefaultMappingYAML())
		return err
	}
	to := export.Target(o.To)
	if to != export.Prometheus && to != export.Loki {
		return usagef("--to %q: expected prometheus or loki", o.To)
	}
	var m *export.Mapping
	if o.Labels != "" {
		data, err := d.ReadFile(o.Labels)
		if err != nil {
			return usagef("--labels: %v", err)
		}
		if m, err = export.LoadMapping(data); err != nil {
			return usagef("%s: %v", o.Labels, err)
		}
	}
	p, err := o.Rules.pack()
	if err != nil {
		return err
	}
	res, err := export.Export(p, to, m)
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := d.WriteFile(o.Output, res.YAML); err != nil {
			return err
		}
	} else if _, err := d.IO.Out.Write(res.YAML); err != nil {
		return err
	}
	left, approx := res.Left(), res.Approximated()
	fmt.Fprintf(d.IO.ErrOut, "rules export: %d of %d rule(s) exported to %s; %d part(s) left out, %d approximated:\n",
		res.Exported, len(p.Rules), to, len(left), len(approx))
	for _, n := range left {
		fmt.Fprintf(d.IO.ErrOut, "  left out     %s\n", n)
	}
	for _, n := range approx {
		fmt.Fprintf(d.IO.ErrOut, "  approximated %s\n", n)
	}
	return nil
}
