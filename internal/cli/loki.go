package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/loki"
	"github.com/postmortem-tool/postmortem/timeline"
)

// lokiOptions are the flags that read logs from a Loki server.
type lokiOptions struct {
	URL          string
	LogQL        string
	Tenant       string
	TokenFile    string
	User         string
	PassFile     string
	Limit        int
	Margin       time.Duration
	Timeout      time.Duration
	BackendLabel string
}

func (o *lokiOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.URL, "loki", "", "also read logs from this Loki `URL` (query_range over --from/--to, else the log files' window widened by --loki-margin)")
	f.StringVar(&o.LogQL, "logql", "", "LogQL log query for --loki, e.g. '{job=~\"nginx|haproxy\"}'; each stream becomes a source loki:{labels}")
	f.StringVar(&o.Tenant, "loki-tenant", "", "tenant sent to Loki as X-Scope-OrgID")
	f.StringVar(&o.TokenFile, "loki-bearer-token-file", "", "send the bearer token in `FILE` to Loki")
	f.StringVar(&o.User, "loki-user", "", "basic-auth user for Loki")
	f.StringVar(&o.PassFile, "loki-password-file", "", "basic-auth password for Loki, read from `FILE`")
	f.IntVar(&o.Limit, "loki-limit", 5000, "entries per Loki page (raise it if many lines share one nanosecond)")
	f.DurationVar(&o.Margin, "loki-margin", 15*time.Minute, "without --from/--to: how far before and after the log files' window to query")
	f.DurationVar(&o.Timeout, "loki-timeout", 30*time.Second, "HTTP timeout of each Loki request")
	f.StringVar(&o.BackendLabel, "loki-backend-label", "host", "stream label that names the backend of a Loki stream")
}

// enabled reports whether --loki was given.
func (o *lokiOptions) enabled() bool { return o.URL != "" }

// args returns the inputs to validate the other flags with: with --loki a
// run may have no log files.
func (o *lokiOptions) args(args []string) []string {
	if len(args) == 0 && o.enabled() {
		return []string{"-"}
	}
	return args
}

// apply adds the Loki source to cfg. noFiles says the run has no log files
// (cfg.Inputs was only a placeholder).
func (o *lokiOptions) apply(d *Deps, cfg *pipeline.Config, noFiles bool) error {
	if !o.enabled() {
		if o.LogQL != "" {
			return usagef("--logql needs --loki URL")
		}
		return nil
	}
	if noFiles {
		cfg.Inputs, cfg.Stdin = nil, nil
	}
	if strings.TrimSpace(o.LogQL) == "" {
		return usagef("--loki needs --logql, e.g. --logql '{job=~\"nginx|haproxy\"}'")
	}
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return usagef("--loki %q: expected an http:// or https:// URL", o.URL)
	}
	if noFiles && (cfg.Window.Start.IsZero() || cfg.Window.End.IsZero()) {
		return usagef("--loki without log files needs --from and --to")
	}
	c := &loki.Client{URL: o.URL, Tenant: o.Tenant, User: o.User, Limit: o.Limit}
	if o.Limit < 1 {
		return usagef("--loki-limit %d: expected at least 1", o.Limit)
	}
	if o.TokenFile != "" {
		b, err := d.ReadFile(o.TokenFile)
		if err != nil {
			return usagef("--loki-bearer-token-file: %v", err)
		}
		c.BearerToken = strings.TrimSpace(string(b))
	}
	if o.PassFile != "" {
		b, err := d.ReadFile(o.PassFile)
		if err != nil {
			return usagef("--loki-password-file: %v", err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	c.HTTP = &http.Client{Timeout: o.Timeout}
	src := &loki.Source{
		Client: c, Query: o.LogQL, Window: cfg.Window, Margin: o.Margin,
		Registry: cfg.Registry, BackendLabel: o.BackendLabel,
		InferZone: noFiles && cfg.Zone == nil,
	}
	// The prefilter's literals go into the query, so that only candidate
	// lines travel (or a note says why the query is sent as given); ss
	// snapshot streams, whose records span lines, are fetched whole.
	pd := cfg.Prefilter.LogQL(o.LogQL, cfg.Registry)
	src.Query = pd.Query
	pushNote := pd.Note
	if pd.Snapshots != "" {
		src.Whole = &loki.Whole{Query: o.LogQL, Pattern: pd.Snapshots}
	}
	cfg.Extra = append(cfg.Extra, func(ctx context.Context, loc *time.Location, w timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
		part, srcs, warns, err := src.Run(ctx, loc, w)
		if pushNote != "" {
			warns = append(warns, "loki: "+pushNote)
		}
		// A query Loki rejects (bad LogQL, authentication, tenant) or a
		// missing window is the invocation's fault: stop with status 2
		// instead of reporting on the files alone.
		var le *loki.Error
		if (errors.As(err, &le) && le.Status >= 400 && le.Status < 500 && le.Status != http.StatusTooManyRequests) || errors.Is(err, loki.ErrNoWindow) {
			return nil, nil, nil, fmt.Errorf("%w: %w", pipeline.ErrUsage, err)
		}
		return part, srcs, warns, err
	})
	return nil
}
