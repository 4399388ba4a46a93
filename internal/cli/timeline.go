package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/internal/mdesc"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/timeline"
)

// TimelineOptions are the flags of `postmortem timeline`.
type TimelineOptions struct {
	Inputs  inputOptions
	Configs configOptions
	Format  string
	Args    []string
}

func newTimelineCmd(d *Deps, run func(context.Context, *TimelineOptions) error) *cobra.Command {
	o := &TimelineOptions{}
	cmd := &cobra.Command{
		Use:   "timeline PATH...",
		Short: "Print the merged, condensed timeline of every input",
		Long: `timeline merges every input onto one time axis and prints it. Bursts of one
signal (resets, refused connections, 5xx) are condensed into one row with their
count and peak rate; state transitions and deploy steps stay single rows.`,
		Example: `  postmortem timeline incident/
  postmortem timeline --format csv incident/ > timeline.csv
  postmortem timeline --format json nginx/vm-a/error.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if run != nil {
				return run(cmd.Context(), o)
			}
			return runTimeline(cmd.Context(), d, o)
		}),
	}
	o.Inputs.addFlags(cmd)
	o.Configs.addFlags(cmd)
	cmd.Flags().StringVar(&o.Format, "format", "table", "output format: table, md, json or csv")
	return cmd
}

// timelineRow is one printed row.
type timelineRow struct {
	Time    string `json:"time"`
	End     string `json:"end,omitempty"`
	Kind    string `json:"kind"`
	Backend string `json:"backend"`
	Summary string `json:"summary"`
	Source  string `json:"source"`
	Line    int64  `json:"line"`
	Count   int    `json:"count"`
	Text    string `json:"text"`
}

func runTimeline(ctx context.Context, d *Deps, o *TimelineOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.Format {
	case "table", "md", "json", "csv":
	default:
		return usagef("--format %q: expected table, md, json or csv", o.Format)
	}
	cfg, err := o.Inputs.config(d, o.Args)
	if err != nil {
		return err
	}
	if err := o.Configs.apply(&cfg); err != nil {
		return err
	}
	res, err := pipeline.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rows := make([]timelineRow, 0, len(res.Timeline.Events))
	for i := range res.Timeline.Events {
		e := &res.Timeline.Events[i]
		r := timelineRow{
			Time: e.Time.In(res.Loc).Format(time.RFC3339), Kind: string(e.Kind), Backend: e.Backend,
			Summary: e.Summary(res.Loc), Source: e.Pos.File, Line: e.Pos.Line, Count: e.Count, Text: e.Text,
		}
		if e.Count > 1 && !e.End.IsZero() {
			r.End = e.End.In(res.Loc).Format(time.RFC3339)
		}
		rows = append(rows, r)
	}
	w := d.IO.Out
	switch o.Format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Timezone string            `json:"timezone"`
			Sources  []timeline.Source `json:"sources"`
			Timeline []timelineRow     `json:"timeline"`
		}{res.ZoneNote, sortedSources(res.Sources), rows})
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"time", "end", "kind", "backend", "count", "summary", "source", "line"})
		for _, r := range rows {
			_ = cw.Write([]string{r.Time, r.End, r.Kind, r.Backend, strconv.Itoa(r.Count), r.Summary, r.Source, strconv.FormatInt(r.Line, 10)})
		}
		cw.Flush()
		return cw.Error()
	case "md":
		fmt.Fprintf(w, "<!-- %s -->\n\n", mdesc.Inline(res.ZoneNote))
		fmt.Fprintln(w, "| Time | Backend | Kind | What | Evidence |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Time, mdesc.Inline(r.Backend), r.Kind,
				mdesc.Inline(r.Summary), mdesc.Inline(fmt.Sprintf("%s:%d", r.Source, r.Line)))
		}
		return nil
	default:
		return printTable(w, rows, res)
	}
}

func printTable(w io.Writer, rows []timelineRow, res *pipeline.Result) error {
	fmt.Fprintf(w, "# %s\n", res.ZoneNote)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tBACKEND\tWHAT\tSOURCE")
	for _, r := range rows {
		be := r.Backend
		if be == "" {
			be = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s:%d\n", r.Time, sanitize(be), sanitize(r.Summary), sanitize(r.Source), r.Line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range sortedSources(res.Sources) {
		if len(s.Warnings) > 0 {
			fmt.Fprintf(w, "# %s (%s): %s\n", sanitize(s.Path), s.Format, sanitize(strings.Join(s.Warnings, "; ")))
		}
	}
	return nil
}

// sanitize removes control characters (terminal escapes) from log text.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
