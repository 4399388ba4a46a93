package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/rules"
)

func newRulesCmd(d *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with rule packs",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "check FILE...",
		Short:   "Validate rule files and report every error as file:line:col",
		Example: `  postmortem rules check our-rules/*.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			p, err := rules.LoadFiles(args...)
			if err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(d.IO.Out, "%d rule(s) OK\n", len(p.Rules))
			return nil
		}),
	})
	cmd.AddCommand(newRulesTestCmd(d))
	cmd.AddCommand(newRulesRunCmd(d))
	cmd.AddCommand(newRulesExportCmd(d))
	return cmd
}
