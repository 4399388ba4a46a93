package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// scenario builds a timeline the way ingest does: one Builder per source
// file, merged with timeline.Merge.
type scenario struct {
	t0      time.Time
	sources map[string]*source
	order   []string
	lines   map[string]int64
	r       *rand.Rand
}

var loc = time.FixedZone("KST", 9*3600)

func newScenario(seed uint64) *scenario {
	return &scenario{
		t0:      time.Date(2026, 5, 1, 13, 0, 0, 0, loc),
		sources: map[string]*source{},
		lines:   map[string]int64{},
		r:       rand.New(rand.NewPCG(seed, 99)),
	}
}

// source buffers what one file yields so that it reaches its Builder in
// time order, as a real log file would.
type source struct {
	items []item
}

type item struct {
	t  time.Time
	ev *timeline.Event
	sa *timeline.Sample
}

func (b *source) Event(e timeline.Event)   { b.items = append(b.items, item{t: e.Time, ev: &e}) }
func (b *source) Sample(x timeline.Sample) { b.items = append(b.items, item{t: x.Time, sa: &x}) }

func (s *scenario) src(file string) (*source, timeline.Pos) {
	b := s.sources[file]
	if b == nil {
		b = &source{}
		s.sources[file] = b
		s.order = append(s.order, file)
	}
	s.lines[file]++
	return b, timeline.Pos{File: file, Line: s.lines[file]}
}

// at parses "14:02:02" (or "14:02:02.5") on the scenario's day.
func (s *scenario) at(hms string) time.Time {
	var h, m int
	var sec float64
	if _, err := fmt.Sscanf(hms, "%d:%d:%g", &h, &m, &sec); err != nil {
		panic(hms)
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
	return time.Date(2026, 5, 1, 0, 0, 0, 0, loc).Add(d)
}

// ev adds one event; attrs are key=value pairs.
func (s *scenario) ev(file, hms string, kind timeline.Kind, backend, text string, attrs ...string) {
	s.evAt(file, s.at(hms), kind, backend, text, attrs...)
}

func (s *scenario) evAt(file string, t time.Time, kind timeline.Kind, backend, text string, attrs ...string) {
	b, pos := s.src(file)
	var m map[string]string
	for _, a := range attrs {
		k, v, _ := strings.Cut(a, "=")
		if m == nil {
			m = map[string]string{}
		}
		m[k] = v
	}
	b.Event(timeline.Event{Time: t, Kind: kind, Backend: backend, Attrs: m, Pos: pos, Text: text})
}

// burst adds perSec events of kind per second for secs seconds from hms.
func (s *scenario) burst(file, hms string, secs int, perSec int, kind timeline.Kind, backend, text string, attrs ...string) {
	t := s.at(hms)
	for i := 0; i < secs; i++ {
		for j := 0; j < perSec; j++ {
			s.evAt(file, t.Add(time.Duration(i)*time.Second+time.Duration(j)*time.Millisecond), kind, backend, text, attrs...)
		}
	}
}

// gauge adds one gauge sample.
func (s *scenario) gauge(file string, t time.Time, m timeline.Metric, backend string, v float64) {
	b, pos := s.src(file)
	b.Sample(timeline.Sample{Time: t, Metric: m, Backend: backend, Value: v, Pos: pos})
}

// background adds an ordinary access stream from..to: requests every
// second, a rare 502 and a rare reset, on three backends.
func (s *scenario) background(from, to string) {
	for _, vm := range []string{"vm-a", "vm-b", "vm-c"} {
		file := "nginx/" + vm + "/access.log"
		efile := "nginx/" + vm + "/error.log"
		for t := s.at(from); t.Before(s.at(to)); t = t.Add(time.Second) {
			b, pos := s.src(file)
			b.Sample(timeline.Sample{Time: t, Metric: timeline.MetricRequests, Backend: vm, Value: 40, Pos: pos})
			if s.r.IntN(600) == 0 {
				s.evAt(file, t, timeline.KindHTTPError, vm, `10.1.2.3 - - "GET /api/cart HTTP/1.1" 502 157`, "status=502")
			}
			if s.r.IntN(900) == 0 {
				s.evAt(efile, t, timeline.KindConnReset, vm, "recv() failed (104: Connection reset by peer) while reading response header from upstream", "errno=104")
			}
		}
	}
}

func (s *scenario) timeline() *timeline.Timeline {
	parts := make([]*timeline.Timeline, 0, len(s.order))
	for _, f := range s.order {
		src := s.sources[f]
		sort.SliceStable(src.items, func(i, j int) bool { return src.items[i].t.Before(src.items[j].t) })
		b := timeline.NewBuilder(timeline.Options{})
		for _, it := range src.items {
			if it.ev != nil {
				b.Event(*it.ev)
			} else {
				b.Sample(*it.sa)
			}
		}
		parts = append(parts, b.Timeline())
	}
	return timeline.Merge(parts...)
}

// hardCutAnchors adds the lines of vm-c being cut at hms.
func (s *scenario) hardCutAnchors(hms string) {
	s.ev("deploy.log", hms, timeline.KindDeployStep, "vm-c", "[deploy] vm-c: terminating app (SIGKILL) and removing from pool", "step=kill")
	s.ev("deploy.log", hms, timeline.KindBackendState, "vm-c", "[deploy] vm-c: terminating app (SIGKILL) and removing from pool", "state=removed", "abrupt=true")
	s.ev("haproxy.log", hms, timeline.KindBackendState, "vm-c", "Server be_app/vm-c is going DOWN for maintenance.", "state=removed", "pool=be_app")
	s.ev("haproxy.log", hms, timeline.KindBackendState, "vm-c", "Server be_ws/vm-c is going DOWN for maintenance.", "state=removed", "pool=be_ws")
	s.ev("lb.log", hms, timeline.KindBackendState, "vm-c", "[lb] backend vm-c removed from pool abruptly", "state=removed")
}

const resetText = "recv() failed (104: Connection reset by peer) while reading response header from upstream, upstream: \"http://10.0.0.3:8080/api\""

func findingsOf(res Result, rule string) []Finding {
	var out []Finding
	for _, f := range res.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func checkOf(res Result, rule string) Check {
	for _, c := range res.Checks {
		if c.Rule == rule {
			return c
		}
	}
	return Check{}
}

func hasRole(f Finding, role string) bool {
	for _, e := range f.Evidence {
		if e.Role == role {
			return true
		}
	}
	return false
}

func TestHardCut(t *testing.T) {
	type want struct {
		n        int
		backend  string
		roles    []string
		facts    []string // fact names that must be set
		factVals map[string]string
		summary  []string // substrings of the summary
		trigger  string   // substring of the trigger text ("" = no trigger)
		why      string   // substring of Check.Why when n == 0
		severity Severity
	}
	cases := []struct {
		name  string
		build func(s *scenario)
		want  want
	}{
		{
			name: "104 resets logged by nginx on other hosts",
			build: func(s *scenario) {
				s.ev("deploy.log", "14:00:00", timeline.KindDeployStep, "", "[deploy] rolling restart start release=2026.05.01-1 hosts=vm-c,vm-b,vm-a strategy=fast drain=skipped", "step=start", "drain=skipped")
				s.hardCutAnchors("14:02:02")
				s.burst("nginx/vm-a/error.log", "14:02:02", 40, 9, timeline.KindConnReset, "vm-a", resetText, "errno=104")
				s.burst("nginx/vm-b/error.log", "14:02:03", 40, 8, timeline.KindConnReset, "vm-b", resetText, "errno=104")
				for i := 0; i < 12; i++ {
					s.gauge("lb.log", s.at("14:01:00").Add(time.Duration(i)*10*time.Second), timeline.MetricActiveConn, "vm-c", map[bool]float64{true: 1800, false: 300}[i < 7])
				}
			},
			want: want{n: 1, backend: "vm-c", severity: SeverityCritical,
				roles:   []string{"anchor", "missing drain", "resets", "deploy started without drain"},
				facts:   []string{"resets_after", "resets_before", "no_drain_since", "drain_skipped_time", "active_drop_max"},
				summary: []string{"vm-c left the pool", "connection resets"},
				trigger: "drain=skipped"},
		},
		{
			name: "111 refused and 502 only",
			build: func(s *scenario) {
				s.ev("deploy.log", "14:02:02", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: terminating app (SIGKILL)", "step=kill")
				s.burst("nginx/vm-a/error.log", "14:02:03", 60, 3, timeline.KindUpstreamError, "vm-c", "connect() failed (111: Connection refused) while connecting to upstream", "errno=111", "reason=refused")
				s.burst("nginx/vm-a/access.log", "14:02:03", 60, 4, timeline.KindHTTPError, "vm-a", `"GET /api HTTP/1.1" 502 157`, "status=502")
			},
			want: want{n: 1, backend: "vm-c", severity: SeverityCritical,
				roles:   []string{"kill", "missing drain", "refused", "errors 5xx"},
				facts:   []string{"refused_after", "errors_5xx_after"},
				summary: []string{"upstream connect errors rose to", "5xx answers rose to"}},
		},
		{
			name: "haproxy SD aborts only",
			build: func(s *scenario) {
				s.ev("haproxy.log", "14:02:02", timeline.KindBackendState, "vm-c", "Server be_ws/vm-c is DOWN, reason: Layer4 connection problem", "state=down", "pool=be_ws")
				s.burst("haproxy.log", "14:02:02", 50, 2, timeline.KindAbortedSession, "vm-c", "be_ws/vm-c 0/0/1/-1/61234 -1 0 - - SD-- 1200/1180/15/4/0", "flags=SD")
			},
			want: want{n: 1, backend: "vm-c", severity: SeverityCritical,
				roles:   []string{"anchor", "aborted"},
				facts:   []string{"aborted_after"},
				summary: []string{"aborted proxy sessions rose to"}},
		},
		{
			name: "an earlier drain ended by a bind does not excuse a later cut",
			build: func(s *scenario) {
				s.ev("deploy.log", "13:40:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: set haproxy state drain", "step=drain_start")
				s.ev("deploy.log", "13:42:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: drained in 120s", "step=drained")
				s.ev("deploy.log", "13:45:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: set haproxy state ready", "step=bind")
				s.hardCutAnchors("14:02:02")
				s.burst("nginx/vm-c/error.log", "14:02:02", 30, 6, timeline.KindConnReset, "vm-c", resetText, "errno=104")
			},
			want: want{n: 1, backend: "vm-c", severity: SeverityCritical,
				roles:    []string{"missing drain", "resets"},
				facts:    []string{"no_drain_since"},
				factVals: map[string]string{"no_drain_since": "13:45:00", "resets_sum": "180"},
				summary:  []string{"connection resets"}},
		},
		{
			name: "clean rolling deploy",
			build: func(s *scenario) {
				s.ev("deploy.log", "14:00:00", timeline.KindDeployStep, "", "[deploy] rolling restart start strategy=drain", "step=start")
				s.ev("deploy.log", "14:01:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: set haproxy state drain (be_app, be_ws)", "step=drain_start")
				s.ev("haproxy.log", "14:01:00", timeline.KindBackendState, "vm-c", "Server be_app/vm-c is DRAIN.", "state=draining")
				for i := 0; i < 20; i++ {
					tt := s.at("14:01:00").Add(time.Duration(i) * 10 * time.Second)
					s.gauge("lb.log", tt, timeline.MetricActiveConn, "vm-c", math.Round(300*math.Exp(-float64(i)/3)))
					s.gauge("lb.log", tt, timeline.MetricNewConn, "vm-c", 0)
				}
				s.ev("deploy.log", "14:03:30", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: drained in 150s", "step=drained")
				s.ev("deploy.log", "14:03:31", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: stopping app (SIGTERM)", "step=stop")
				s.ev("app/vm-c.log", "14:03:31", timeline.KindAppLifecycle, "vm-c", "Commencing graceful shutdown.", "phase=shutdown_start")
				// The LB reports the backend as out of the pool once it is stopped.
				s.ev("lb.log", "14:03:33", timeline.KindBackendState, "vm-c", "[lb] backend=vm-c state=out_of_pool", "state=removed")
				s.ev("deploy.log", "14:04:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: set haproxy state ready", "step=bind")
				s.ev("haproxy.log", "14:04:00", timeline.KindBackendState, "vm-c", "Server be_app/vm-c is UP/READY (leaving forced drain).", "state=up")
				// A few resets happen anyway.
				s.burst("nginx/vm-a/error.log", "14:03:35", 3, 1, timeline.KindConnReset, "vm-a", resetText, "errno=104")
			},
			want: want{n: 0, why: "no_drain failed"},
		},
		{
			name: "health check down with a single 502 and a handful of resets",
			build: func(s *scenario) {
				s.ev("haproxy.log", "14:20:00", timeline.KindBackendState, "vm-b", "Server be_app/vm-b is DOWN, reason: Layer4 timeout", "state=down")
				s.ev("nginx/vm-a/access.log", "14:20:01", timeline.KindHTTPError, "vm-a", `"GET /api HTTP/1.1" 502 157`, "status=502")
				s.burst("nginx/vm-a/error.log", "14:20:01", 6, 1, timeline.KindConnReset, "vm-b", resetText, "errno=104")
			},
			want: want{n: 0, why: "cut_signal failed"},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScenario(uint64(i))
			s.background("13:30:00", "14:30:00")
			c.build(s)
			res := Default().Eval(s.timeline(), EvalOptions{Loc: loc})
			fs := findingsOf(res, "hard-cut-without-drain")
			chk := checkOf(res, "hard-cut-without-drain")
			if len(fs) != c.want.n {
				t.Fatalf("got %d findings, want %d; check %+v\n%s", len(fs), c.want.n, chk, dump(fs))
			}
			if chk.Fired != c.want.n || chk.Anchors == 0 {
				t.Errorf("check = %+v", chk)
			}
			if c.want.n == 0 {
				if !strings.Contains(chk.Why, c.want.why) {
					t.Errorf("why = %q, want it to contain %q", chk.Why, c.want.why)
				}
				for _, f := range res.Findings {
					if f.Severity.Rank() >= SeverityWarning.Rank() {
						t.Errorf("unexpected finding %s %s on %s at %s", f.Rule, f.Severity, f.Backend, f.Start)
					}
				}
				return
			}
			f := fs[0]
			if f.Backend != c.want.backend || f.Severity != c.want.severity || f.Case != "hard-cut-without-drain" {
				t.Errorf("finding %s %s %s", f.Backend, f.Severity, f.Case)
			}
			if f.Confidence < 0.6 || f.Confidence > 1 {
				t.Errorf("confidence %v", f.Confidence)
			}
			for _, r := range c.want.roles {
				if !hasRole(f, r) {
					t.Errorf("no evidence with role %q:\n%s", r, dump(fs))
				}
			}
			for _, k := range c.want.facts {
				if f.Facts[k] == "" {
					t.Errorf("fact %s missing; facts %v", k, f.Facts)
				}
			}
			for k, v := range c.want.factVals {
				if f.Facts[k] != v {
					t.Errorf("fact %s = %q, want %q", k, f.Facts[k], v)
				}
			}
			for _, sub := range c.want.summary {
				if !strings.Contains(f.Summary, sub) {
					t.Errorf("summary %q lacks %q", f.Summary, sub)
				}
			}
			if c.want.trigger != "" && (f.Trigger == nil || !strings.Contains(f.Trigger.Text, c.want.trigger)) {
				t.Errorf("trigger = %+v, want %q", f.Trigger, c.want.trigger)
			}
			checkFindingShape(t, f)
		})
	}
}

// checkFindingShape checks invariants every finding must satisfy.
func checkFindingShape(t *testing.T, f Finding) {
	t.Helper()
	if f.Title == "" || f.Summary == "" || len(f.Prevention) == 0 {
		t.Errorf("empty texts: %+v", f)
	}
	for _, s := range append(append([]string{f.Title, f.Summary}, f.Prevention...), f.Checklist...) {
		if strings.Contains(s, "<no value>") || strings.Contains(s, "{{") || strings.Contains(s, "\x00") {
			t.Errorf("unrendered text %q", s)
		}
	}
	if f.End.Before(f.Start) {
		t.Errorf("end %v before start %v", f.End, f.Start)
	}
	for i, e := range f.Evidence {
		if i > 0 && e.Time.Before(f.Evidence[i-1].Time) {
			t.Errorf("evidence out of order at %d", i)
		}
		if e.Pos.IsZero() && e.Text == "" {
			t.Errorf("evidence %d has neither position nor text", i)
		}
	}
}

func dump(fs []Finding) string {
	var sb strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&sb, "%s %s %s conf=%.2f %s..%s\n  %s\n", f.Rule, f.Severity, f.Backend, f.Confidence, f.Start.Format("15:04:05"), f.End.Format("15:04:05"), f.Summary)
		for _, e := range f.Evidence {
			fmt.Fprintf(&sb, "  [%s] %s %s %q\n", e.Role, e.Time.Format("15:04:05"), e.Pos, e.Text)
		}
		fmt.Fprintf(&sb, "  facts %v\n", f.Facts)
	}
	return sb.String()
}

func TestHardCutRollbackRepeat(t *testing.T) {
	s := newScenario(7)
	s.background("13:30:00", "14:40:00")
	s.ev("deploy.log", "14:00:00", timeline.KindDeployStep, "", "[deploy] rolling restart start strategy=fast drain=skipped", "step=start", "drain=skipped")
	s.hardCutAnchors("14:02:02")
	s.burst("nginx/vm-a/error.log", "14:02:02", 40, 9, timeline.KindConnReset, "vm-a", resetText, "errno=104")
	s.ev("deploy.log", "14:05:00", timeline.KindDeployStep, "vm-c", "[deploy] vm-c: health check passed; adding back to pool", "step=bind")
	s.ev("haproxy.log", "14:05:00", timeline.KindBackendState, "vm-c", "Server be_app/vm-c is UP/READY", "state=up")
	s.ev("deploy.log", "14:12:00", timeline.KindDeployStep, "", "[deploy] rollback start release=2026.04.30-3 (reason: api error rate 14.2% > 2%)", "step=rollback")
	s.hardCutAnchors("14:12:30")
	s.burst("nginx/vm-b/error.log", "14:12:30", 40, 9, timeline.KindConnReset, "vm-b", resetText, "errno=104")
	res := Default().Eval(s.timeline(), EvalOptions{Loc: loc})
	fs := findingsOf(res, "hard-cut-without-drain")
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2\n%s", len(fs), dump(fs))
	}
	first, second := fs[0], fs[1]
	if first.Facts["repeats"] != "14:12:30" || second.Facts["repeat_of"] != "14:02:02" {
		t.Errorf("repeat facts: %v / %v", first.Facts["repeats"], second.Facts["repeat_of"])
	}
	if !strings.Contains(first.Summary, "happened again at 14:12:30") {
		t.Errorf("first summary: %s", first.Summary)
	}
	if !strings.Contains(second.Summary, "rollback started at 14:12:00") || !strings.Contains(second.Summary, "repeats the hard cut of 14:02:02") {
		t.Errorf("second summary: %s", second.Summary)
	}
	if second.Trigger == nil || !strings.Contains(second.Trigger.Text, "rollback start") {
		t.Errorf("second trigger %+v", second.Trigger)
	}
	var mistake bool
	for _, m := range first.Mistakes {
		mistake = mistake || strings.Contains(m, "as happened at 14:12:30")
	}
	if !mistake {
		t.Errorf("mistakes do not mention the repeat: %v", first.Mistakes)
	}
}

func timeDur(i int) time.Duration { return time.Duration(i) * time.Second }
