package rules

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// drainScenario adds a drain of vm-a starting at 15:30:00 whose active
// connections follow active(i) every 10 s for n samples, with WebSocket
// metrics every minute.
func drainScenario(s *scenario, n int, active func(i int) float64, wsAge float64) {
	s.ev("deploy.log", "15:30:00", timeline.KindDeployStep, "", "[deploy] rolling restart start release=2026.05.01-2 hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=1800s", "step=start", "timeout=1800s")
	s.ev("deploy.log", "15:30:00", timeline.KindDeployStep, "vm-a", "[deploy] vm-a: set haproxy state drain (be_app, be_ws)", "step=drain_start")
	s.ev("haproxy.log", "15:30:00", timeline.KindBackendState, "vm-a", "Server be_app/vm-a is DRAIN. 2 active and 0 backup servers left.", "state=draining", "pool=be_app")
	s.ev("haproxy.log", "15:30:00", timeline.KindBackendState, "vm-a", "Server be_ws/vm-a is DRAIN. 2 active and 0 backup servers left.", "state=draining", "pool=be_ws")
	for i := 0; i < n; i++ {
		t := s.at("15:30:00").Add(time.Duration(i) * 10 * time.Second)
		s.gauge("lb.log", t, timeline.MetricNewConn, "vm-a", 0)
		s.gauge("lb.log", t, timeline.MetricActiveConn, "vm-a", active(i))
		if i%6 == 0 {
			s.gauge("app/vm-a/ws-metrics.jsonl", t, timeline.MetricWSSessions, "vm-a", active(i)-13)
			s.gauge("app/vm-a/ws-metrics.jsonl", t, timeline.MetricWSAvgAge, "vm-a", wsAge+float64(i*10))
			s.gauge("app/vm-a/ws-metrics.jsonl", t, timeline.MetricWSP99Age, "vm-a", 3.1*(wsAge+float64(i*10)))
		}
	}
}

func TestWebSocketDrain(t *testing.T) {
	cases := []struct {
		name     string
		build    func(s *scenario)
		n        int
		severity Severity
		summary  []string
		prevent  string
		why      string
	}{
		{
			name: "stuck drain, timeout without host, forced stop",
			build: func(s *scenario) {
				drainScenario(s, 200, func(i int) float64 { return 1197 - float64(i%3) }, 7860)
				s.ev("deploy.log", "16:00:00", timeline.KindDeployStep, "", "[deploy] timeout waiting for drain completion (1800s)", "step=drain_timeout", "timeout=1800s")
				s.ev("deploy.log", "16:05:00", timeline.KindDeployStep, "vm-a", "[deploy] vm-a: forced stop approved by oncall; stopping app (SIGTERM)", "step=stop")
				s.gauge("lb.log", s.at("16:05:30"), timeline.MetricResetRate, "", 118)
				s.burst("nginx/vm-b/error.log", "16:05:30", 20, 10, timeline.KindConnReset, "vm-b", resetText, "errno=104")
			},
			n: 1, severity: SeverityCritical,
			summary: []string{"vm-a started draining at 15:30:00", "new connections stayed at 0", "The deploy gave up waiting at 16:00:00 after 1800s", "average age of 2h41m", "forced stop"},
			prevent: "set the drain window to at least 8h19m,",
		},
		{
			name: "stuck drain seen only through gauges (logs end at 15:45)",
			build: func(s *scenario) {
				drainScenario(s, 90, func(i int) float64 { return 1197 - float64(i%3) }, 7860)
			},
			n: 1, severity: SeverityWarning,
			summary: []string{"vm-a started draining at 15:30:00", "stayed active throughout"},
		},
		{
			name: "timeout only, no gauges",
			build: func(s *scenario) {
				drainScenario(s, 0, nil, 0)
				s.ev("deploy.log", "16:00:00", timeline.KindDeployStep, "", "[deploy] timeout waiting for drain completion (1800s)", "step=drain_timeout", "timeout=1800s")
			},
			n: 1, severity: SeverityWarning,
			summary: []string{"gave up waiting at 16:00:00"},
			prevent: "set the drain window to at least the p99 WebSocket session age",
		},
		{
			name: "WebSocket drain completes in time",
			build: func(s *scenario) {
				drainScenario(s, 60, func(i int) float64 { return math.Round(1200 * math.Exp(-float64(i)/8)) }, 300)
				s.ev("deploy.log", "15:38:00", timeline.KindDeployStep, "vm-a", "[deploy] vm-a: drained in 480s (active_conn=4)", "step=drained")
				s.ev("deploy.log", "15:38:01", timeline.KindDeployStep, "vm-a", "[deploy] vm-a: stopping app (SIGTERM)", "step=stop")
				s.ev("deploy.log", "15:38:30", timeline.KindDeployStep, "vm-a", "[deploy] vm-a: set haproxy state ready", "step=bind")
				s.ev("haproxy.log", "15:38:30", timeline.KindBackendState, "vm-a", "Server be_app/vm-a is UP/READY (leaving forced drain).", "state=up")
			},
			n: 0, why: "not_drained failed",
		},
		{
			name: "slow drain that completes without a drained line",
			build: func(s *scenario) {
				drainScenario(s, 80, func(i int) float64 { return math.Round(600 * math.Exp(-float64(i)/10)) }, 300)
			},
			n: 0, why: "stuck failed",
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScenario(uint64(100 + i))
			s.background("15:00:00", "16:20:00")
			c.build(s)
			res := Default().Eval(s.timeline(), EvalOptions{Loc: loc})
			fs := findingsOf(res, "websocket-drain-stuck")
			chk := checkOf(res, "websocket-drain-stuck")
			if len(fs) != c.n {
				t.Fatalf("got %d findings, want %d; check %+v\n%s", len(fs), c.n, chk, dump(fs))
			}
			if hc := findingsOf(res, "hard-cut-without-drain"); len(hc) != 0 {
				t.Errorf("hard cut fired on a drain:\n%s", dump(hc))
			}
			if c.n == 0 {
				if !strings.Contains(chk.Why, c.why) {
					t.Errorf("why = %q, want %q", chk.Why, c.why)
				}
				return
			}
			f := fs[0]
			if f.Backend != "vm-a" || f.Severity != c.severity {
				t.Errorf("backend %s severity %s", f.Backend, f.Severity)
			}
			if !f.Start.Equal(s.at("15:30:00")) {
				t.Errorf("start %v, want the drain start", f.Start)
			}
			for _, sub := range c.summary {
				if !strings.Contains(f.Summary, sub) {
					t.Errorf("summary %q lacks %q", f.Summary, sub)
				}
			}
			if c.prevent != "" && !strings.Contains(strings.Join(f.Prevention, "\n"), c.prevent) {
				t.Errorf("prevention lacks %q:\n%s", c.prevent, strings.Join(f.Prevention, "\n"))
			}
			if !hasRole(f, "drain start") || !hasRole(f, "drain never completed") {
				t.Errorf("no drain start evidence\n%s", dump(fs))
			}
			checkFindingShape(t, f)
		})
	}
}

// twScenario adds ss -s snapshots every 30 s on three VMs from 17:30 to
// 18:40; level(vm, t) gives TIME_WAIT.
func twScenario(s *scenario, level func(vm string, t time.Time) float64) {
	for _, vm := range []string{"vm-a", "vm-b", "vm-c"} {
		for t := s.at("17:30:00"); t.Before(s.at("18:40:00")); t = t.Add(30 * time.Second) {
			s.gauge("ss/"+vm+".log", t, timeline.MetricTimeWait, vm, math.Round(level(vm, t)))
		}
	}
}

func TestTimeWait(t *testing.T) {
	ramp := func(s *scenario, target map[string]float64) func(string, time.Time) float64 {
		return func(vm string, t time.Time) float64 {
			base := 2500 + 40*s.r.NormFloat64()
			if t.Before(s.at("18:10:00")) {
				return base
			}
			d := t.Sub(s.at("18:10:00")).Seconds()
			return base + (target[vm]-2500)*(1-math.Exp(-d/60))
		}
	}
	cases := []struct {
		name     string
		build    func(s *scenario)
		n        int
		severity Severity
		summary  []string
		trigger  string
		maxConf  float64 // 0: not checked
		minConf  float64
	}{
		{
			name: "keepalive change then surge with connect errors",
			build: func(s *scenario) {
				for _, vm := range []string{"vm-a", "vm-b", "vm-c"} {
					s.ev("nginx/"+vm+"/error.log", "18:10:00", timeline.KindConfigReload, vm, "signal process started", "program=nginx")
				}
				s.ev("deploy.log", "18:10:00", timeline.KindConfigChange, "", "[deploy] config push nginx: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0 (change CHG-7731)", "setting=keepalive_timeout", "from=65s", "to=2s")
				s.ev("deploy.log", "18:10:00", timeline.KindConfigChange, "", "[deploy] config push nginx: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0 (change CHG-7731)", "setting=upstream keepalive", "from=64", "to=0")
				twScenario(s, ramp(s, map[string]float64{"vm-a": 21000, "vm-b": 68321, "vm-c": 19000}))
				s.burst("nginx/vm-b/error.log", "18:12:00", 120, 1, timeline.KindUpstreamError, "vm-b", "connect() to 10.0.0.2:8080 failed (99: Cannot assign requested address)", "errno=99", "reason=unreachable")
			},
			n: 1, severity: SeverityCritical,
			summary: []string{"TIME_WAIT sockets on vm-b rose from a median of 25", "30s after keepalive_timeout was changed from 65s to 2s at 18:10:00", "Also affected: vm-a, vm-b, vm-c", "failed upstream exchanges went from 0% to 0.11% of requests"},
			trigger: "keepalive_timeout 65s -> 2s",
			minConf: 0.8,
		},
		{
			name: "upstream keepalive removed then surge",
			build: func(s *scenario) {
				s.ev("deploy.log", "18:10:00", timeline.KindConfigChange, "", "infra/nginx/nginx.conf@1a2b3c4:12: upstream app keepalive 64 removed", "setting=keepalive", "from=64", "to=removed")
				twScenario(s, ramp(s, map[string]float64{"vm-a": 2500, "vm-b": 40000, "vm-c": 2500}))
			},
			n: 1, severity: SeverityWarning,
			summary: []string{"after keepalive was removed (it was 64) at 18:10:00"},
			trigger: "upstream app keepalive 64 removed",
		},
		{
			name: "surge without errors or change",
			build: func(s *scenario) {
				twScenario(s, ramp(s, map[string]float64{"vm-a": 2500, "vm-b": 40000, "vm-c": 2500}))
			},
			n: 1, severity: SeverityWarning,
			// Still reported (ports run out whatever the cause), but with
			// the confidence capped: nothing in the inputs explains it.
			summary: []string{"TIME_WAIT sockets on vm-b rose", "No keepalive change or reload preceded the rise in these inputs", "the cause is unconfirmed"},
			maxConf: 0.4,
		},
		{
			name: "stationary noise",
			build: func(s *scenario) {
				twScenario(s, func(vm string, t time.Time) float64 { return 9000 * math.Exp(0.35*s.r.NormFloat64()) })
			},
		},
		{
			name: "one huge snapshot spike",
			build: func(s *scenario) {
				twScenario(s, func(vm string, t time.Time) float64 {
					if vm == "vm-b" && t.Equal(s.at("18:20:00")) {
						return 90000
					}
					return 2500 + 40*s.r.NormFloat64()
				})
			},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScenario(uint64(200 + i))
			s.background("17:30:00", "18:40:00")
			c.build(s)
			res := Default().Eval(s.timeline(), EvalOptions{Loc: loc})
			fs := findingsOf(res, "timewait-explosion")
			chk := checkOf(res, "timewait-explosion")
			if len(fs) != c.n {
				t.Fatalf("got %d findings, want %d; check %+v\n%s", len(fs), c.n, chk, dump(fs))
			}
			if c.n == 0 {
				if chk.Anchors != 0 || !strings.Contains(chk.Why, "no change point (rise x5 to >= 5000, held 2m) of timewait") {
					t.Errorf("check %+v", chk)
				}
				return
			}
			f := fs[0]
			if f.Backend != "vm-b" || f.Severity != c.severity {
				t.Errorf("backend %s severity %s\n%s", f.Backend, f.Severity, dump(fs))
			}
			for _, sub := range c.summary {
				if !strings.Contains(f.Summary, sub) {
					t.Errorf("summary %q lacks %q", f.Summary, sub)
				}
			}
			if c.maxConf > 0 && f.Confidence > c.maxConf {
				t.Errorf("confidence %v, want <= %v", f.Confidence, c.maxConf)
			}
			if f.Confidence < c.minConf {
				t.Errorf("confidence %v, want >= %v", f.Confidence, c.minConf)
			}
			if c.trigger != "" && (f.Trigger == nil || !strings.Contains(f.Trigger.Text, c.trigger)) {
				t.Errorf("trigger %+v", f.Trigger)
			}
			if c.trigger == "" && f.Trigger != nil {
				t.Errorf("unexpected trigger %+v", f.Trigger)
			}
			checkFindingShape(t, f)
		})
	}
}
