package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Prom queries a Prometheus server over the HTTP API (query_range).
type Prom struct {
	// URL is the server's base URL (http://host:9090).
	URL string
	// BearerToken, if set, is sent as "Authorization: Bearer ...".
	BearerToken string
	// User and Password, if User is set, are sent as basic auth.
	User, Password string
	// Timeout bounds each HTTP request (default 30s); QueryTimeout is the
	// evaluation timeout sent to Prometheus with each query (default 20s).
	Timeout, QueryTimeout time.Duration
	// From and To fix the window; when zero, the log window with Margin on
	// both sides is used (default margin 15m).
	From, To time.Time
	Margin   time.Duration
	// Step is the resolution; 0 chooses one (see AutoStep).
	Step time.Duration
	// MaxSeries and MaxPoints bound what one query may return (defaults
	// 500 series, 200000 points); the excess is dropped with a warning.
	MaxSeries, MaxPoints int
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// AutoStep returns the smallest of 1s, 2s, 5s, 10s, 15s, 30s, 1m, 2m, 5m,
// 10m, 15m, 30m, 1h that keeps a window of length d under 1500 points.
func AutoStep(d time.Duration) time.Duration {
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}
	for _, s := range steps {
		if d/s <= 1500 {
			return s
		}
	}
	return steps[len(steps)-1]
}

type authTransport struct {
	next           http.RoundTripper
	bearer         string
	user, password string
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+t.bearer)
	} else if t.user != "" {
		r.SetBasicAuth(t.user, t.password)
	}
	return t.next.RoundTrip(r)
}

// Window returns the range p queries for the given log window.
func (p *Prom) Window(logs timeline.Window) (timeline.Window, error) {
	w := timeline.Window{Start: p.From, End: p.To}
	margin := p.Margin
	if margin <= 0 {
		margin = 15 * time.Minute
	}
	if w.Start.IsZero() {
		if logs.Start.IsZero() {
			return w, errors.New("no window: the logs give no times; set --from and --to")
		}
		w.Start = logs.Start.Add(-margin)
	}
	if w.End.IsZero() {
		if logs.End.IsZero() {
			return w, errors.New("no window: the logs give no times; set --from and --to")
		}
		w.End = logs.End.Add(margin)
	}
	if !w.End.After(w.Start) {
		return w, fmt.Errorf("empty window %s to %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	return w, nil
}

// run queries every query with an expression and maps the answers.
func (p *Prom) run(ctx context.Context, qs []Query, m *mapper, logs timeline.Window) (timeline.Source, []string) {
	src := timeline.Source{Path: p.URL, Format: "prometheus", Warnings: []string{}}
	fail := func(err error) (timeline.Source, []string) {
		msg := fmt.Sprintf("prometheus %s: %v; the run goes on from the logs", p.URL, err)
		src.Warnings = append(src.Warnings, msg)
		return src, []string{msg}
	}
	w, err := p.Window(logs)
	if err != nil {
		return fail(err)
	}
	step := p.Step
	if step <= 0 {
		step = AutoStep(w.Duration())
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	qtimeout := p.QueryTimeout
	if qtimeout <= 0 {
		qtimeout = 20 * time.Second
	}
	maxSeries, maxPoints := p.MaxSeries, p.MaxPoints
	if maxSeries <= 0 {
		maxSeries = 500
	}
	if maxPoints <= 0 {
		maxPoints = 200000
	}
	rt := p.Transport
	if rt == nil {
		rt = api.DefaultRoundTripper
	}
	if p.BearerToken != "" || p.User != "" {
		rt = &authTransport{next: rt, bearer: p.BearerToken, user: p.User, password: p.Password}
	}
	client, err := api.NewClient(api.Config{Address: p.URL, Client: &http.Client{Transport: rt, Timeout: timeout}})
	if err != nil {
		return fail(err)
	}
	a := v1.NewAPI(client)
	src.Warnings = append(src.Warnings, fmt.Sprintf("queried %s to %s, step %s", w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), step))
	var failed, empty []string
	var runWarns []string
	var down error
	for i := range qs {
		q := &qs[i]
		if q.Expr == "" {
			continue
		}
		if down != nil {
			failed = append(failed, q.Name)
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, timeout)
		val, warns, infos, err := a.QueryRange(qctx, q.expr(step), v1.Range{Start: w.Start, End: w.End, Step: step}, v1.WithTimeout(qtimeout))
		cancel()
		for _, x := range warns {
			runWarns = append(runWarns, fmt.Sprintf("prometheus warning on query %s: %s", q.Name, x))
		}
		for _, x := range infos {
			src.Warnings = append(src.Warnings, fmt.Sprintf("prometheus info on query %s: %s", q.Name, x))
		}
		if err != nil {
			failed = append(failed, q.Name)
			var apiErr *v1.Error
			if errors.As(err, &apiErr) && apiErr.Type != v1.ErrClient && apiErr.Type != v1.ErrServer {
				src.Warnings = append(src.Warnings, fmt.Sprintf("query %s failed: %v", q.Name, err))
				continue
			}
			// A transport failure (refused, timed out, 5xx): the server is
			// down or too slow; do not wait on it for every query.
			down = err
			src.Warnings = append(src.Warnings, fmt.Sprintf("query %s failed: %v", q.Name, err))
			continue
		}
		mat, ok := val.(model.Matrix)
		if !ok {
			failed = append(failed, q.Name)
			src.Warnings = append(src.Warnings, fmt.Sprintf("query %s: answer of type %s, expected a matrix", q.Name, val.Type()))
			continue
		}
		if len(mat) == 0 {
			empty = append(empty, q.Name)
			continue
		}
		if len(mat) > maxSeries {
			runWarns = append(runWarns, fmt.Sprintf("prometheus query %s returned %d series; only the first %d kept (result limit)", q.Name, len(mat), maxSeries))
			mat = mat[:maxSeries]
		}
		points := 0
		for _, ss := range mat {
			raw := Raw{Labels: map[string]string{}}
			for k, v := range ss.Metric {
				raw.Labels[string(k)] = string(v)
			}
			raw.Name = raw.Labels["__name__"]
			for _, sp := range ss.Values {
				if points >= maxPoints {
					break
				}
				v := float64(sp.Value)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				raw.Points = append(raw.Points, RawPoint{Time: sp.Timestamp.Time().UTC(), Value: v})
				points++
			}
			src.Samples += int64(m.add(q, raw.Labels, raw.Points, p.URL+"#"+q.Name))
		}
		if points >= maxPoints {
			runWarns = append(runWarns, fmt.Sprintf("prometheus query %s reached the %d-point result limit; later points dropped", q.Name, maxPoints))
		}
	}
	if len(empty) > 0 {
		src.Warnings = append(src.Warnings, "no series for: "+strings.Join(empty, ", "))
	}
	if len(failed) > 0 {
		reason := ""
		if down != nil {
			reason = fmt.Sprintf(" (%v)", down)
		}
		msg := fmt.Sprintf("prometheus %s: %d of %d queries failed%s: %s; the draft is built from the logs and the queries that answered",
			p.URL, len(failed), countExpr(qs), reason, strings.Join(failed, ", "))
		runWarns = append([]string{msg}, runWarns...)
	}
	src.Warnings = append(src.Warnings, runWarns...)
	return src, runWarns
}

func countExpr(qs []Query) int {
	n := 0
	for _, q := range qs {
		if q.Expr != "" {
			n++
		}
	}
	return n
}
