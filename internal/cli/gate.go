package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/ingest/follow"
	"github.com/postmortem-tool/postmortem/internal/drain"
	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
)

// GateDrainOptions are the flags of `postmortem gate drain`.
type GateDrainOptions struct {
	Backend   string
	Threshold float64
	Timeout   time.Duration
	Interval  time.Duration
	Socket    string
	Proxy     string
	Logs      []string
	FailEarly bool
}

func newGateCmd(d *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Pipeline gates that wait for a condition and exit non-zero when it is not met",
	}
	o := &GateDrainOptions{}
	dc := &cobra.Command{
		Use:   "drain --backend NAME --timeout DURATION (--haproxy-socket PATH | --logs PATH...)",
		Short: "Wait until a backend has drained; forecast from the session decay whether it will in time",
		Long: `drain waits until the backend takes no new sessions and has fewer active sessions
than --threshold, printing one progress line per reading. It exits 0 when the
backend has drained and 4 when --timeout passes first, with the reason.

From the readings so far it forecasts when the drain will finish (a robust fit
of the recent decay, linear or exponential, whichever fits better) and says as
early as it can whether that is after the timeout. With --fail-early it exits
4 at that point instead of waiting for the timeout.

Readings come from an HAProxy stats socket (show stat: scur summed over the
server's backends, new sessions from stot growth) or from logs that carry
active_conn/new_conn gauges (LB controller lines, followed live).`,
		Example: `  postmortem gate drain --backend vm-c --threshold 10 --timeout 30m --haproxy-socket /run/haproxy/admin.sock
  postmortem gate drain --backend vm-a --timeout 30m --logs /var/log/lb/lb.log --fail-early`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runGateDrain(cmd.Context(), d, o)
		}),
	}
	f := dc.Flags()
	f.StringVar(&o.Backend, "backend", "", "the server (backend) being drained, e.g. vm-c")
	f.Float64Var(&o.Threshold, "threshold", 1, "drained when active sessions fall below this")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "give up after this long")
	f.DurationVar(&o.Interval, "interval", 5*time.Second, "time between readings")
	f.StringVar(&o.Socket, "haproxy-socket", "", "HAProxy stats socket: a unix socket path or host:port")
	f.StringVar(&o.Proxy, "proxy", "", "only this HAProxy backend (pxname); default: every backend with that server")
	f.StringArrayVar(&o.Logs, "logs", nil, "log files, directories or globs with active_conn/new_conn lines; repeatable")
	f.BoolVar(&o.FailEarly, "fail-early", false, "exit 4 as soon as the forecast says the drain will not finish in time")
	cmd.AddCommand(dc)
	return cmd
}

func runGateDrain(ctx context.Context, d *Deps, o *GateDrainOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Backend == "" {
		return usagef("--backend is required")
	}
	if o.Timeout <= 0 || o.Interval <= 0 || o.Threshold <= 0 {
		return usagef("--timeout, --interval and --threshold must be positive")
	}
	if (o.Socket == "") == (len(o.Logs) == 0) {
		return usagef("give exactly one source: --haproxy-socket or --logs")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var src drain.Source
	if o.Socket != "" {
		src = &drain.HAProxyStats{Addr: o.Socket, Server: o.Backend, Proxy: o.Proxy, Now: d.Now}
	} else {
		ls, err := newLogSource(ctx, o.Logs, o.Backend)
		if err != nil {
			return err
		}
		defer ls.close()
		src = ls
	}
	fmt.Fprintf(d.IO.Out, "waiting up to %s for %s to drain (new=0, active<%g) from %s\n", drain.FormatETA(o.Timeout), o.Backend, o.Threshold, src.Name())
	g := &drain.Gate{Source: src, Backend: o.Backend, Threshold: o.Threshold, Timeout: o.Timeout, Interval: o.Interval, FailEarly: o.FailEarly, Out: d.IO.Out, Now: d.Now}
	out, err := g.Run(ctx)
	if err != nil {
		return &gateError{"postmortem: gate drain: " + out.Reason}
	}
	if out.Drained {
		fmt.Fprintln(d.IO.Out, out.Reason)
		return nil
	}
	return &gateError{"postmortem: gate drain: " + out.Reason}
}

// logSource reads a backend's active_conn/new_conn gauges from followed
// logs through the live engine.
type logSource struct {
	eng     *live.Engine
	backend string
	inputs  []string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newLogSource(ctx context.Context, inputs []string, backend string) (*logSource, error) {
	reg, err := builtin.Registry()
	if err != nil {
		return nil, err
	}
	eng := live.New(live.Config{Registry: reg, Pack: &rules.Pack{}, BackendOf: relBackend(inputs), Settle: 500 * time.Millisecond})
	fctx, cancel := context.WithCancel(ctx)
	ls := &logSource{eng: eng, backend: backend, inputs: inputs, cancel: cancel}
	fol := follow.New(inputs, follow.Options{FromStart: true, Poll: 100 * time.Millisecond})
	ls.wg.Add(1)
	go func() {
		defer ls.wg.Done()
		_ = fol.Run(fctx, func(l follow.Line) { eng.Line(l.Path, l.Text, l.Num) })
	}()
	return ls, nil
}

func (l *logSource) close() { l.cancel(); l.wg.Wait() }

func (l *logSource) Name() string { return fmt.Sprintf("logs %v", l.inputs) }

func (l *logSource) Read(ctx context.Context) (drain.Reading, error) {
	_, tl := l.eng.Evaluate()
	if tl == nil {
		tl, _, _ = l.eng.Snapshot()
	}
	for _, s := range live.Statuses(tl, l.eng.Newest()) {
		if s.Backend != l.backend {
			continue
		}
		if !s.HasActive {
			break
		}
		r := drain.Reading{Time: time.Now(), Active: s.Active, New: -1, State: s.State}
		if s.HasNew {
			r.New = s.New
		}
		return r, nil
	}
	return drain.Reading{}, fmt.Errorf("no active_conn reading for %s in the logs yet", l.backend)
}
