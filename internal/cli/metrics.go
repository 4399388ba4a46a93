package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/metrics"
	"github.com/postmortem-tool/postmortem/timeline"
)

// metricsOptions are the flags that bring metrics and explicit setting
// changes into a run.
type metricsOptions struct {
	Files         []string
	Queries       []string
	PromURL       string
	PromTokenFile string
	PromUser      string
	PromPassFile  string
	PromTimeout   time.Duration
	PromQTimeout  time.Duration
	PromStep      time.Duration
	PromMargin    time.Duration
	PromMaxSeries int
	PromMaxPoints int
	Changes       []string
	NoClaim       bool
	Configs       configOptions // setting changes from config history

	source *metrics.Source
}

func (o *metricsOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.Files, "metrics", nil, "read metric `PATH` (file or directory): Prometheus query_range JSON, exposition text with timestamps, or CSV time,metric,labels,value; repeatable")
	f.StringArrayVar(&o.Queries, "queries", nil, "YAML `FILE` that extends (or with replace: true replaces) the default metric query set; repeatable")
	f.StringVar(&o.PromURL, "prometheus", "", "query this Prometheus `URL` over the logs' window (with --prometheus-margin) or --from/--to")
	f.StringVar(&o.PromTokenFile, "prometheus-bearer-token-file", "", "send the bearer token in `FILE` to Prometheus")
	f.StringVar(&o.PromUser, "prometheus-user", "", "basic-auth user for Prometheus")
	f.StringVar(&o.PromPassFile, "prometheus-password-file", "", "basic-auth password for Prometheus, read from `FILE`")
	f.DurationVar(&o.PromTimeout, "prometheus-timeout", 30*time.Second, "HTTP timeout of each Prometheus request")
	f.DurationVar(&o.PromQTimeout, "prometheus-query-timeout", 20*time.Second, "evaluation timeout sent with each Prometheus query")
	f.DurationVar(&o.PromStep, "prometheus-step", 0, "query resolution (default: chosen from the window, at most 1500 points)")
	f.DurationVar(&o.PromMargin, "prometheus-margin", 15*time.Minute, "how far before and after the logs' window to query")
	f.IntVar(&o.PromMaxSeries, "prometheus-max-series", 500, "keep at most this many series per query")
	f.IntVar(&o.PromMaxPoints, "prometheus-max-points", 200000, "keep at most this many points per query")
	f.StringArrayVar(&o.Changes, "change", nil, "record a setting change: `\"TIME DESCRIPTION\"` (TIME in RFC 3339), e.g. \"2026-05-01T14:02:00+09:00 keepalive_timeout 65s -> 2s on vm-a\"; repeatable")
	f.BoolVar(&o.NoClaim, "no-metric-files", false, "do not read metric files found among the log inputs")
	o.Configs.addFlags(cmd)
}

// apply adds the metric and change sources to cfg.
func (o *metricsOptions) apply(d *Deps, cfg *pipeline.Config) error {
	qs := metrics.DefaultQueries()
	for _, f := range o.Queries {
		data, err := d.ReadFile(f)
		if err != nil {
			return usagef("--queries: %v", err)
		}
		if qs, err = metrics.LoadQueries(f, data, qs); err != nil {
			return usagef("--queries %v", err)
		}
	}
	src := &metrics.Source{Queries: qs}
	if len(o.Files) > 0 {
		streams, errs := ingest.Discover(o.Files, ingest.Options{})
		if len(errs) > 0 {
			return usagef("--metrics: %v", errors.Join(errs...))
		}
		for _, st := range streams {
			for _, f := range st.Files {
				if f.OSPath == "" {
					return usagef("--metrics: standard input is not supported; give a file")
				}
				src.Files = append(src.Files, metrics.File{Path: f.Path, OSPath: f.OSPath})
			}
		}
	}
	if o.PromURL != "" {
		if !strings.HasPrefix(o.PromURL, "http://") && !strings.HasPrefix(o.PromURL, "https://") {
			return usagef("--prometheus %q: expected an http:// or https:// URL", o.PromURL)
		}
		p := &metrics.Prom{
			URL: o.PromURL, Timeout: o.PromTimeout, QueryTimeout: o.PromQTimeout,
			Step: o.PromStep, Margin: o.PromMargin, MaxSeries: o.PromMaxSeries, MaxPoints: o.PromMaxPoints,
			From: cfg.Window.Start, To: cfg.Window.End,
		}
		if o.PromTokenFile != "" {
			b, err := d.ReadFile(o.PromTokenFile)
			if err != nil {
				return usagef("--prometheus-bearer-token-file: %v", err)
			}
			p.BearerToken = strings.TrimSpace(string(b))
		}
		if o.PromUser != "" {
			p.User = o.PromUser
			if o.PromPassFile != "" {
				b, err := d.ReadFile(o.PromPassFile)
				if err != nil {
					return usagef("--prometheus-password-file: %v", err)
				}
				p.Password = strings.TrimRight(string(b), "\r\n")
			}
		}
		src.Prom = p
	}
	o.source = src
	if !o.NoClaim {
		cfg.Claim = src.Claim
	}
	cfg.Extra = append(cfg.Extra, src.Run)
	if err := o.Configs.apply(cfg); err != nil {
		return err
	}
	if len(o.Changes) > 0 {
		evs, err := parseChanges(o.Changes)
		if err != nil {
			return err
		}
		cfg.Extra = append(cfg.Extra, func(_ context.Context, loc *time.Location, _ timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
			b := timeline.NewBuilder(timeline.Options{})
			for _, e := range evs {
				e.Time = e.Time.In(loc)
				b.Event(e)
			}
			return b.Timeline(), []timeline.Source{{Path: "--change", Format: "change", Events: int64(len(evs)), Warnings: []string{}}}, nil, nil
		})
	}
	return nil
}

// changeRE reads "SETTING FROM -> TO" (also →) with an optional trailing
// "on BACKEND"; SETTING may be two words ("upstream keepalive").
var changeRE = regexp.MustCompile(`^(.+?)\s+(\S+)\s*(?:->|→|=>)\s*(\S+)(?:\s+on\s+(\S+))?$`)

// parseChanges turns --change values into config_change events.
func parseChanges(vals []string) ([]timeline.Event, error) {
	var out []timeline.Event
	for i, v := range vals {
		ts, desc, _ := strings.Cut(strings.TrimSpace(v), " ")
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return nil, usagef("--change %q: expected \"TIME DESCRIPTION\" with TIME in RFC 3339 (2026-05-01T14:02:00+09:00)", v)
		}
		desc = strings.TrimSpace(desc)
		if desc == "" {
			return nil, usagef("--change %q: the description is missing", v)
		}
		e := timeline.Event{Time: t, Kind: timeline.KindConfigChange, Text: desc, Count: 1,
			Pos: timeline.Pos{File: "--change", Line: int64(i + 1)}, Attrs: map[string]string{}}
		if m := changeRE.FindStringSubmatch(desc); m != nil {
			e.Attrs["setting"], e.Attrs["from"], e.Attrs["to"] = m[1], m[2], m[3]
			e.Backend = m[4]
		} else {
			e.Attrs["setting"] = desc
		}
		out = append(out, e)
	}
	return out, nil
}

var _ = fmt.Sprint
