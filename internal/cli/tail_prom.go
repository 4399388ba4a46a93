package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/metrics"
	"github.com/postmortem-tool/postmortem/timeline"
)

// promBackfill is how far back the first poll of tail reaches.
const promBackfill = 5 * time.Minute

// newTailProm builds the metric source tail polls: the query set of
// analyze (extended or replaced by --queries files) against --prometheus.
func newTailProm(d *Deps, o *TailOptions) (*metrics.Source, error) {
	if !strings.HasPrefix(o.PromURL, "http://") && !strings.HasPrefix(o.PromURL, "https://") {
		return nil, usagef("--prometheus %q: expected an http:// or https:// URL", o.PromURL)
	}
	if o.Interval <= 0 {
		return nil, usagef("--interval must be positive")
	}
	qs := metrics.DefaultQueries()
	for _, f := range o.Queries {
		data, err := d.ReadFile(f)
		if err != nil {
			return nil, usagef("--queries: %v", err)
		}
		if qs, err = metrics.LoadQueries(f, data, qs); err != nil {
			return nil, usagef("--queries %v", err)
		}
	}
	p := &metrics.Prom{URL: o.PromURL, Step: o.Interval, Timeout: o.Interval + 10*time.Second}
	if o.PromTokenFile != "" {
		b, err := d.ReadFile(o.PromTokenFile)
		if err != nil {
			return nil, usagef("--prometheus-bearer-token-file: %v", err)
		}
		p.BearerToken = strings.TrimSpace(string(b))
	}
	return &metrics.Source{Queries: qs, Prom: p}, nil
}

// pollProm queries src every interval until ctx ends, each time over the
// span since the previous poll (the first reaches promBackfill back), and
// adds the samples to eng as the stream "prometheus:URL". A failing
// Prometheus is reported on errOut when its message changes; polling goes
// on.
func pollProm(ctx context.Context, src *metrics.Source, eng *live.Engine, interval time.Duration, now func() time.Time, errOut io.Writer) {
	name := "prometheus:" + src.Prom.URL
	var last time.Time
	lastWarn := ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		to := now().Truncate(time.Second)
		from := last
		if from.IsZero() {
			from = to.Add(-promBackfill)
		}
		if to.After(from) {
			src.Prom.From, src.Prom.To = from, to
			tl, _, warns, err := src.Run(ctx, eng.Loc(), timeline.Window{Start: from, End: to})
			if ctx.Err() != nil {
				return
			}
			w := strings.Join(warns, "; ")
			if err != nil {
				w = err.Error()
			}
			if w != lastWarn {
				if w != "" {
					fmt.Fprintf(errOut, "postmortem: tail: %s\n", w)
				}
				lastWarn = w
			}
			if err == nil {
				eng.Add(name, "prometheus", tl)
				last = to
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
