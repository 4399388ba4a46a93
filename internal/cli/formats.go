package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
)

func newFormatsCmd(d *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "formats",
		Short: "List the log formats postmortem detects, with a sample line of each",
		Example: `  postmortem formats
  postmortem analyze --input-format 'edge/*.log=haproxy' incident/`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			reg, err := builtin.Registry()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(d.IO.Out, 0, 4, 2, ' ', 0)
			for _, f := range reg.Formats() {
				fmt.Fprintf(tw, "%s\t%s\n", f.Name(), f.Description())
				fmt.Fprintf(tw, "\t  %s\n", f.Example())
			}
			return tw.Flush()
		}),
	}
}
