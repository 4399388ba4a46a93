package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/ingest/follow"
	"github.com/postmortem-tool/postmortem/ingest/lokipush"
	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/metrics"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/templates"
)

// TailOptions are the flags of `postmortem tail`.
type TailOptions struct {
	Rules        ruleOptions
	InputFormats []string
	NginxFormats []string
	TZ           string
	Backends     []string
	Gate         string
	For          time.Duration
	Until        string
	Output       string
	OutFormat    string
	FromStart    bool
	Poll         time.Duration
	EvalEvery    time.Duration
	StatusEvery  time.Duration
	Keep         time.Duration
	ResolveAfter time.Duration
	Args         []string
	// Lines, when set, is told each line as it is fed (benchmarks).
	Lines func(path string, line []byte)
	// Fired, when set, is told each change after it is printed
	// (benchmarks).
	Fired func(live.Change)
	// Listen is the address of the Loki push receiver ("" for none).
	Listen string
	// ListenAny allows a Listen address that is not loopback.
	ListenAny bool
	// PushToken is the bearer token pushes must carry ("" for none;
	// $POSTMORTEM_PUSH_TOKEN when empty).
	PushToken string
	// PushMaxBody bounds a push request body; its decoded size is bounded
	// to 8 times as much.
	PushMaxBody int64
	// PushReady, when set, is told the receiver's address once it listens
	// (tests).
	PushReady func(addr string)
	// PromURL is the Prometheus polled every Interval ("" for none), with
	// the query set of analyze extended by the Queries files.
	PromURL       string
	PromTokenFile string
	Queries       []string
	Interval      time.Duration
}

// gateError says a --gate severity was reached; it maps to ExitGate.
type gateError struct{ msg string }

func (e *gateError) Error() string { return e.msg }

// ExitCode returns ExitGate.
func (e *gateError) ExitCode() int { return ExitGate }

func newTailCmd(d *Deps) *cobra.Command {
	o := &TailOptions{}
	cmd := &cobra.Command{
		Use:   "tail [PATH...]",
		Short: "Watch logs live during a deploy: fire rules as they match, show backend status, gate the pipeline",
		Long: `tail follows files, directories and globs (also files and folders that appear
later, and across rename, copytruncate and delete+recreate rotation without
losing or repeating a line), or - for standard input. Each stream is parsed
with the format its first lines select, and the rule pack that analyze uses is
evaluated again over a sliding window as data arrives.

Each finding is printed once when it fires, with its evidence, and once when
it resolves. A per-backend status (pool state, active and new connections,
resets/s, WebSocket sessions, TIME_WAIT) refreshes in place on a terminal and
is printed as plain "status backend=..." lines otherwise.

With --gate SEVERITY, tail exits with status 4 as soon as a finding of that
severity fires. It also stops on SIGINT/SIGTERM, --for, --until, or the end of
standard input; with -o it then writes the postmortem draft of what it saw.`,
		Example: `  postmortem tail /var/log/haproxy.log '/var/log/nginx/*/error.log' deploy.log
  postmortem tail --gate critical --for 30m -o draft.md logs/
  kubectl logs -f deploy/edge | postmortem tail --gate critical -`,
		Args: cobra.ArbitraryArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if tailHook != nil {
				tailHook(o)
			}
			return runTail(cmd.Context(), d, o)
		}),
	}
	o.Rules.addFlags(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&o.InputFormats, "input-format", nil, "force the log format of matching inputs: `PATH=NAME`; repeatable")
	f.StringArrayVar(&o.NginxFormats, "nginx-log-format", nil, "an nginx log_format string to parse access logs with; repeatable")
	f.StringVar(&o.TZ, "tz", "", "zone of timestamps that carry none (default: the offset the first zoned source states, else UTC)")
	f.StringArrayVar(&o.Backends, "backend", nil, "set the backend label of matching inputs: `PATH=NAME`; repeatable")
	f.StringVar(&o.Gate, "gate", "", "exit with status 4 as soon as a finding of this severity fires: info, warning or critical")
	f.DurationVar(&o.For, "for", 0, "stop after this long (e.g. 30m)")
	f.StringVar(&o.Until, "until", "", "stop at this wall-clock time (RFC 3339)")
	f.StringVarP(&o.Output, "output", "o", "", "on exit, write the postmortem draft of what was seen to `FILE`")
	f.StringVar(&o.OutFormat, "format", "md", "format of the -o draft: md, json or html")
	f.BoolVar(&o.FromStart, "from-start", false, "read files that already exist from their first line (default: from their end)")
	f.DurationVar(&o.Poll, "poll", 100*time.Millisecond, "how often followed files are checked")
	f.DurationVar(&o.EvalEvery, "eval-every", 250*time.Millisecond, "how often rules are evaluated while data arrives (only when data arrived)")
	f.DurationVar(&o.StatusEvery, "status-every", 10*time.Second, "how often status lines are printed off a terminal (0: never)")
	f.DurationVar(&o.Keep, "window", 2*time.Hour, "sliding window of log time kept and evaluated")
	f.DurationVar(&o.ResolveAfter, "resolve-after", 5*time.Minute, "a finding resolves when its last evidence is this much older than the newest line")
	f.StringVar(&o.Listen, "listen", "", "receive Loki pushes (POST /loki/api/v1/push) on `HOST:PORT`, e.g. 127.0.0.1:3100; loopback only unless --listen-any")
	f.BoolVar(&o.ListenAny, "listen-any", false, "allow --listen on an address that is not loopback")
	f.StringVar(&o.PushToken, "push-token", "", "bearer token pushes must carry (default: $"+pushEnvToken+"; none if empty)")
	f.Int64Var(&o.PushMaxBody, "push-max-bytes", 8<<20, "largest push request body accepted (decoded: 8 times as much)")
	f.StringVar(&o.PromURL, "prometheus", "", "poll this Prometheus `URL` every --interval with the metric query set of analyze")
	f.StringVar(&o.PromTokenFile, "prometheus-bearer-token-file", "", "send the bearer token in `FILE` to Prometheus")
	f.StringArrayVar(&o.Queries, "queries", nil, "YAML `FILE` that extends (or with replace: true replaces) the default metric query set; repeatable")
	f.DurationVar(&o.Interval, "interval", 10*time.Second, "how often --prometheus is polled")
	return cmd
}

func runTail(ctx context.Context, d *Deps, o *TailOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	gateRank := 0
	if o.Gate != "" {
		if gateRank = rules.Severity(o.Gate).Rank(); gateRank == 0 {
			return usagef("--gate %q: expected info, warning or critical", o.Gate)
		}
	}
	switch o.OutFormat {
	case "md", "json", "html":
	default:
		return usagef("--format %q: expected md, json or html", o.OutFormat)
	}
	if len(o.Args) == 0 && o.Listen == "" && o.PromURL == "" {
		return usagef("tail: give a PATH to follow, - for standard input, --listen to receive Loki pushes, or --prometheus to poll")
	}
	var prom *metrics.Source
	if o.PromURL != "" {
		var err error
		if prom, err = newTailProm(d, o); err != nil {
			return err
		}
	}
	if o.Listen != "" {
		if err := checkListen(o.Listen, o.ListenAny); err != nil {
			return err
		}
		if o.PushMaxBody <= 0 {
			return usagef("--push-max-bytes must be positive")
		}
	}
	if o.EvalEvery <= 0 || o.Poll <= 0 {
		return usagef("--eval-every and --poll must be positive")
	}
	var deadline time.Time
	if o.For < 0 {
		return usagef("--for %s: expected a positive duration", o.For)
	}
	if o.For > 0 {
		deadline = d.Now().Add(o.For)
	}
	if o.Until != "" {
		t, err := time.Parse(time.RFC3339, o.Until)
		if err != nil {
			return usagef("--until %q: expected an RFC 3339 time such as 2026-05-01T14:30:00+09:00", o.Until)
		}
		if deadline.IsZero() || t.Before(deadline) {
			deadline = t
		}
	}
	reg, err := builtin.Registry(o.NginxFormats...)
	if err != nil {
		return usagef("--nginx-log-format: %v", err)
	}
	formats, err := pairs("input-format", o.InputFormats)
	if err != nil {
		return err
	}
	for k, name := range formats {
		if _, ok := reg.Lookup(name); !ok {
			return usagef("--input-format %s=%s: unknown format; expected one of: %s", k, name, strings.Join(reg.Names(), ", "))
		}
	}
	backends, err := pairs("backend", o.Backends)
	if err != nil {
		return err
	}
	var zone *time.Location
	if o.TZ != "" {
		if zone, err = pipeline.ParseZone(o.TZ); err != nil {
			return usagef("%v", err)
		}
	}
	pack, err := o.Rules.pack()
	if err != nil {
		return err
	}
	var files []string
	stdin := false
	for _, a := range o.Args {
		if a == "-" {
			stdin = true
			continue
		}
		files = append(files, a)
	}
	pushed := newPushSource()
	fileBackend := relBackend(files)
	eng := live.New(live.Config{
		Registry: reg, Formats: formats, Backends: backends, Zone: zone, Pack: pack,
		Keep: o.Keep, ResolveAfter: o.ResolveAfter,
		BackendOf: func(p string) string {
			if b, ok := pushed.backendOf(p); ok {
				return b
			}
			return fileBackend(p)
		},
	})
	feed := func(p string, line []byte, num int64) {
		eng.Line(p, line, num)
		if o.Lines != nil {
			o.Lines(p, line)
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	var wg sync.WaitGroup
	var fol *follow.Follower
	if len(files) > 0 {
		fol = follow.New(files, follow.Options{Poll: o.Poll, FromStart: o.FromStart})
		fol.Errors = func(err error) { fmt.Fprintf(d.IO.ErrOut, "postmortem: tail: %v\n", err) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = fol.Run(fctx, func(l follow.Line) { feed(l.Path, l.Text, l.Num) })
		}()
	}
	if o.Listen != "" {
		if err := pushed.start(o.Listen, pushToken(o.PushToken), o.PushMaxBody, feed, d.IO.ErrOut); err != nil {
			fcancel()
			wg.Wait()
			return err
		}
		defer pushed.stop()
		fmt.Fprintf(d.IO.ErrOut, "postmortem: tail: receiving Loki pushes on http://%s%s\n", pushed.addr(), lokipush.Path)
		if o.PushReady != nil {
			o.PushReady(pushed.addr())
		}
	}
	if prom != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pollProm(fctx, prom, eng, o.Interval, d.Now, d.IO.ErrOut)
		}()
	}
	stdinDone := make(chan struct{})
	if stdin {
		go func() {
			defer close(stdinDone)
			readLines(d.IO.In, func(line []byte, num int64) { feed("-", line, num) })
		}()
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(deadline.Sub(d.Now()))
		defer tm.Stop()
		timeout = tm.C
	}

	v := &tailView{d: d, tty: d.IO.IsTerminal != nil && d.IO.IsTerminal(), statusEvery: o.StatusEvery, recent: pushed.text}
	evalTick := time.NewTicker(o.EvalEvery)
	defer evalTick.Stop()
	var gateHit *rules.Finding
	reason := ""
	eval := func() {
		changes, tl := eng.Evaluate()
		for _, c := range changes {
			v.change(c, eng.Loc())
			if o.Fired != nil {
				o.Fired(c)
			}
			if !c.Resolved && gateRank > 0 && c.Finding.Severity.Rank() >= gateRank && gateHit == nil {
				f := c.Finding
				gateHit = &f
			}
		}
		if tl != nil {
			v.status(live.Statuses(tl, eng.Newest()), eng.Loc())
		}
	}
loop:
	for {
		select {
		case <-ctx.Done():
			reason = "interrupted"
			break loop
		case <-timeout:
			reason = "time limit reached"
			break loop
		case <-stdinDone:
			if len(files) == 0 && o.Listen == "" && prom == nil {
				reason = "end of standard input"
				break loop
			}
			stdinDone = nil
		case <-evalTick.C:
			eval()
			if gateHit != nil {
				break loop
			}
		}
	}
	fcancel()
	wg.Wait()
	pushed.stop()
	if gateHit == nil {
		eng.Flush()
		eval()
	}
	v.clear()
	if reason != "" && gateHit == nil {
		fmt.Fprintf(d.IO.ErrOut, "postmortem: tail stopped: %s\n", reason)
	}
	if fol != nil {
		st := fol.Stats()
		fmt.Fprintf(d.IO.ErrOut, "postmortem: tail read %d line(s); %d rotation(s), %d truncation(s), %d over-long line(s) skipped\n", st.Lines, st.Rotations, st.Truncates, st.Skipped)
	}
	if o.Listen != "" {
		n, skipped, streams := pushed.stats()
		fmt.Fprintf(d.IO.ErrOut, "postmortem: tail received %d pushed line(s) in %d stream(s); %d over-long line(s) skipped\n", n, streams, skipped)
	}
	if o.Output != "" {
		if err := writeTailDraft(d, eng, o, pushed.text); err != nil {
			return err
		}
	}
	if gateHit != nil {
		return &gateError{fmt.Sprintf("postmortem: gate %s: %s fired on %s at %s", o.Gate, gateHit.Rule, orDash(gateHit.Backend), gateHit.Start.In(eng.Loc()).Format(time.RFC3339))}
	}
	return nil
}

// relBackend names a stream's backend from its path below the directory
// input it was found under (a glob's fixed prefix counts as that
// directory), as analyze does.
func relBackend(inputs []string) func(string) string {
	var roots []string
	for _, in := range inputs {
		if i := strings.IndexAny(in, "*?["); i >= 0 {
			in = filepath.Dir(in[:i] + "x")
		}
		if fi, err := os.Stat(in); err == nil && fi.IsDir() {
			roots = append(roots, filepath.Clean(in)+string(filepath.Separator))
		}
	}
	return func(p string) string {
		rel := p
		for _, r := range roots {
			if strings.HasPrefix(p, r) && len(p)-len(r) < len(rel) {
				rel = p[len(r):]
			}
		}
		return ingest.BackendFromPath(filepath.ToSlash(rel))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readLines calls fn for each line of r (without its newline), skipping
// lines over 1 MiB.
func readLines(r io.Reader, fn func(line []byte, num int64)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var num int64
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long) < 1<<20 {
				long = append(long, chunk...)
			}
			continue
		}
		if len(chunk) > 0 || len(long) > 0 {
			num++
			line := chunk
			if len(long) > 0 {
				line = append(long, chunk...)
				long = long[:0]
			}
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
			if len(line) <= 1<<20 {
				fn(line, num)
			}
		}
		if err != nil {
			return
		}
	}
}

func writeTailDraft(d *Deps, eng *live.Engine, o *TailOptions, recent lineLookup) error {
	tl, srcs, res := eng.Snapshot()
	fillEvidence(&res, recent)
	rep := templates.NewReport(templates.Input{
		Title:    "",
		Loc:      eng.Loc(),
		TZNote:   fmt.Sprintf("zone-less timestamps read as %s (live)", pipeline.FormatOffset(zoneOffset(eng.Loc(), eng.Newest()))),
		Now:      d.Now(),
		Sources:  srcs,
		Timeline: tl,
		Result:   res,
	})
	var buf bytes.Buffer
	switch o.OutFormat {
	case "json":
		if err := rep.WriteJSON(&buf); err != nil {
			return err
		}
	default:
		if err := templates.Default().Execute(&buf, rep); err != nil {
			return err
		}
		if o.OutFormat == "html" {
			html, err := templates.RenderHTML(buf.Bytes())
			if err != nil {
				return err
			}
			buf.Reset()
			buf.Write(html)
		}
	}
	if err := d.WriteFile(o.Output, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(d.IO.ErrOut, "postmortem: wrote %s (%d finding(s))\n", o.Output, len(res.Findings))
	return nil
}

func zoneOffset(loc *time.Location, at time.Time) int {
	if at.IsZero() {
		at = time.Now()
	}
	_, off := at.In(loc).Zone()
	return off
}

// fillEvidence quotes the lines that rules cited by position only, by
// re-reading them from the followed files (best effort: a file rotated
// since may hold other lines at those numbers, and standard input cannot
// be re-read).
func fillEvidence(r *rules.Result, recent lineLookup) {
	for i := range r.Findings {
		fillFinding(&r.Findings[i], recent)
	}
}

func fillFinding(f *rules.Finding, recent lineLookup) {
	want := map[string][]int64{}
	evs := []*rules.Evidence{}
	for i := range f.Evidence {
		evs = append(evs, &f.Evidence[i])
	}
	if f.Trigger != nil {
		evs = append(evs, f.Trigger)
	}
	for _, ev := range evs {
		if ev.Text == "" && recent != nil && ev.Pos.Line > 0 {
			if text, ok := recent(ev.Pos.File, ev.Pos.Line); ok {
				ev.Text = text
				continue
			}
		}
		if ev.Text == "" && ev.Pos.File != "" && ev.Pos.File != "-" && ev.Pos.Line > 0 {
			want[ev.Pos.File] = append(want[ev.Pos.File], ev.Pos.Line)
		}
	}
	texts := map[string]map[int64]string{}
	for file, lines := range want {
		if got, err := ingest.ReadLinesAt(file, lines); err == nil {
			texts[file] = got
		}
	}
	for _, ev := range evs {
		if ev.Text == "" {
			ev.Text = texts[ev.Pos.File][ev.Pos.Line]
		}
	}
}

// tailView prints changes and status lines.
type tailView struct {
	d           *Deps
	tty         bool
	statusEvery time.Duration
	drawn       int // status lines on screen (TTY)
	lastBlock   []string
	lastPrint   time.Time
	lastLine    map[string]string
	recent      lineLookup // lines that cannot be re-read (pushed)
}

// clear erases the status block on a terminal.
func (v *tailView) clear() {
	if v.tty && v.drawn > 0 {
		fmt.Fprintf(v.d.IO.Out, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *tailView) change(c live.Change, loc *time.Location) {
	v.clear()
	f := c.Finding
	fillFinding(&f, v.recent)
	w := v.d.IO.Out
	if c.Resolved {
		fmt.Fprintf(w, "RESOLVED %s %s backend=%s start=%s end=%s\n", f.Severity, f.Rule, orDash(f.Backend),
			f.Start.In(loc).Format(time.RFC3339), f.End.In(loc).Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "FIRING %s %s backend=%s start=%s confidence=%.2f\n", f.Severity, f.Rule, orDash(f.Backend),
			f.Start.In(loc).Format(time.RFC3339), f.Confidence)
		fmt.Fprintf(w, "  %s\n", safeText(f.Summary))
		if f.Trigger != nil {
			fmt.Fprintf(w, "  trigger %s:%d %s\n", f.Trigger.Pos.File, f.Trigger.Pos.Line, safeText(f.Trigger.Text))
		}
		for _, ev := range f.Evidence {
			if ev.Pos.File == "" {
				fmt.Fprintf(w, "  evidence [%s] %s\n", ev.Role, safeText(ev.Text))
				continue
			}
			fmt.Fprintf(w, "  evidence [%s] %s:%d %s\n", ev.Role, ev.Pos.File, ev.Pos.Line, safeText(ev.Text))
		}
	}
	v.redraw()
}

func (v *tailView) redraw() {
	if v.tty && len(v.lastBlock) > 0 {
		for _, l := range v.lastBlock {
			fmt.Fprintln(v.d.IO.Out, l)
		}
		v.drawn = len(v.lastBlock)
	}
}

func (v *tailView) status(ss []live.Status, loc *time.Location) {
	lines := make([]string, 0, len(ss))
	for _, s := range ss {
		lines = append(lines, s.Line())
	}
	if v.tty {
		v.clear()
		v.lastBlock = lines
		v.redraw()
		return
	}
	if v.statusEvery <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(v.lastPrint) < v.statusEvery {
		return
	}
	v.lastPrint = now
	if v.lastLine == nil {
		v.lastLine = map[string]string{}
	}
	for i, l := range lines {
		if v.lastLine[ss[i].Backend] == l {
			continue
		}
		v.lastLine[ss[i].Backend] = l
		fmt.Fprintln(v.d.IO.Out, l)
	}
}

// safeText makes untrusted log text safe to print on a terminal: control
// characters (escape sequences included) become '?', and it is cut at 300
// bytes.
func safeText(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
