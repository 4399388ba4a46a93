package msg

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var t0 = time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)

// summary renders what one message yielded, sorted, for table tests.
func summary(rec *parsertest.Recorder) string {
	var parts []string
	for _, e := range rec.Events {
		var attrs []string
		for k, v := range e.Attrs {
			attrs = append(attrs, k+"="+v)
		}
		sort.Strings(attrs)
		parts = append(parts, string(e.Kind)+"@"+e.Backend+"{"+strings.Join(attrs, ",")+"}")
	}
	for _, s := range rec.Samples {
		parts = append(parts, string(s.Metric)+"@"+s.Backend+"="+ftoa(s.Value))
	}
	return strings.Join(parts, " ")
}

func ftoa(v float64) string {
	if v == float64(int64(v)) {
		return itoa(int64(v))
	}
	return itoa(int64(v*1000)) + "e-3"
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name, text, want string
		opts             Options
	}{
		{"lb active first", "[lb] backend=vm-a state=active new_conn=21 active_conn=410 reset_out=0/s",
			"new_conn@vm-a=21 active_conn@vm-a=410 reset_rate@vm-a=0", Options{}},
		{"lb draining", "[lb] backend=vm-a draining new_conn=0 active_conn=1197",
			"backend_state@vm-a{state=draining} new_conn@vm-a=0 active_conn@vm-a=1197", Options{}},
		{"lb removed abruptly", "[lb] backend vm-c removed from pool abruptly",
			"backend_state@vm-c{abrupt=true,state=removed}", Options{}},
		{"lb reset drop", "[lb] reset_out=420/s active_conn dropped 1800 -> 300 in 10s",
			"reset_rate@dflt=420 active_conn@dflt=300", Options{}},
		{"lb maint key", "level=warn backend=web-2 state=MAINT",
			"backend_state@web-2{state=removed}", Options{}},
		{"keepalived remove", "Removing service [10.0.0.3]:8080 from VS [10.0.0.100]:80",
			"backend_state@10.0.0.3:8080{state=removed}", Options{}},
		{"keepalived not a service line", "Removing service [10.0.0.3", "", Options{}},
		{"app ws", "[app] ws_sessions=1184, avg_age=2h 11m", "ws_sessions@dflt=1184 ws_avg_age_seconds@dflt=7860", Options{}},
		{"app p99", "ws_sessions=3 p99_age=1h2m3s avg_age=750ms", "ws_sessions@dflt=3 ws_p99_age_seconds@dflt=3723 ws_avg_age_seconds@dflt=750e-3", Options{}},
		{"deploy start", "[deploy] rolling restart start release=1 hosts=vm-a,vm-b strategy=drain drain_timeout=1800s",
			"deploy_step@dflt{step=start,timeout=1800s}", Options{}},
		{"deploy start fast", "[deploy] rolling restart start release=2 strategy=fast drain=skipped",
			"deploy_step@dflt{drain=skipped,step=start}", Options{}},
		{"deploy start no-drain", "starting rollout v42 with --no-drain",
			"deploy_step@dflt{drain=skipped,step=start}", Options{}},
		{"drain start", "[deploy] vm-a: set haproxy state drain (be_app, be_ws)", "deploy_step@vm-a{step=drain_start}", Options{}},
		{"drain wait", "[deploy] vm-a: waiting for drain completion (new_conn=0 && active_conn<10, timeout 1800s) active_conn=360",
			"deploy_step@vm-a{step=drain_wait,timeout=1800s} active_conn@vm-a=360", Options{}},
		{"drained", "[deploy] vm-a: drained in 150s (active_conn=0)", "deploy_step@vm-a{step=drained} active_conn@vm-a=0", Options{}},
		{"drain complete host key", "msg=\"drain complete\" host=web-3", "deploy_step@web-3{step=drained}", Options{}},
		{"drain timeout", "[deploy] timeout waiting for drain completion (1800s)", "deploy_step@dflt{step=drain_timeout,timeout=1800s}", Options{}},
		{"drain timed out", "drain timed out after 30m on node-7", "deploy_step@dflt{step=drain_timeout,timeout=1800s}", Options{}},
		{"kill and remove", "[deploy] vm-c: terminating app (SIGKILL) and removing from pool",
			"deploy_step@vm-c{step=kill} backend_state@vm-c{abrupt=true,state=removed}", Options{}},
		{"kill -9", "[deploy] web-1: kill -9 java", "deploy_step@web-1{step=kill}", Options{}},
		{"stop", "[deploy] vm-a: stopping app (SIGTERM)", "deploy_step@vm-a{step=stop}", Options{}},
		{"bind ready", "[deploy] vm-a: health check passed (GET /healthz 200); set haproxy state ready", "deploy_step@vm-a{step=bind}", Options{}},
		{"bind adding back", "[deploy] vm-c: health check passed; adding back to pool", "deploy_step@vm-c{step=bind}", Options{}},
		{"rollback", "[deploy] rollback start release=1 (reason: api error rate 14.2% > 2%)", "deploy_step@dflt{step=rollback}", Options{}},
		{"rolling back", "rolling back to v41", "deploy_step@dflt{step=rollback}", Options{}},
		{"rollback done", "[deploy] rollback done release=1 duration=2m30s", "deploy_step@dflt{rollback=true,step=end}", Options{}},
		{"end", "[deploy] rolling restart done release=1 duration=15m30s", "deploy_step@dflt{step=end}", Options{}},
		{"deploy stream stop", "app stopped", "deploy_step@dflt{step=stop}", Options{Deploy: true}},
		{"paused", "[deploy] rollout paused: vm-b,vm-c deferred (ws p99 age > drain timeout)", "", Options{}},
		{"config push", "[deploy] config push nginx: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0 (change CHG-7731)",
			"deploy_step@dflt{step=config_push} config_change@dflt{from=65s,setting=keepalive_timeout,to=2s} config_change@dflt{from=64,setting=upstream keepalive,to=0}", Options{}},
		{"config revert", "[deploy] config push nginx: revert CHG-7731 (keepalive_timeout 65s, upstream keepalive 64)",
			"deploy_step@dflt{revert=true,step=config_push} config_change@dflt{revert=true,setting=keepalive_timeout,to=65s} config_change@dflt{revert=true,setting=upstream keepalive,to=64}", Options{}},
		{"config arrow unicode", "applied config: worker_connections: 1024 → 4096", "deploy_step@dflt{step=config_push} config_change@dflt{from=1024,setting=worker_connections,to=4096}", Options{}},
		{"config from to", "config change: keepalive_timeout changed from 65s to 2s", "deploy_step@dflt{step=config_push} config_change@dflt{from=65s,setting=keepalive_timeout,to=2s}", Options{}},
		{"shutdown start", "Commencing graceful shutdown. Waiting for active requests to complete", "app_lifecycle@dflt{phase=shutdown_start}", Options{}},
		{"shutdown done", "Graceful shutdown complete", "app_lifecycle@dflt{phase=shutdown_done}", Options{}},
		{"shutdown aborted", "Graceful shutdown aborted with one or more requests still active", "app_lifecycle@dflt{aborted=true,phase=shutdown_done}", Options{}},
		{"started", "Started ShopApplication in 9.021 seconds (process running for 10.325)", "app_lifecycle@dflt{phase=started}", Options{}},
		{"app noise", "Fetched order id=9877886 user=u-759278 in 41ms", "", Options{}},
		{"hikari noise", "HikariPool-1 - Pool stats (total=20, active=2, idle=18, waiting=0)", "", Options{}},
		{"tomcat noise", "Stopping service [Tomcat]", "", Options{}},
		{"ws close noise", "WebSocket session closed id=e390287d code=1000 age=2m 31s", "", Options{}},
		{"tw key", "ts=1 timewait=68321 estab=503", "timewait@dflt=68321 tcp_established@dflt=503", Options{}},
		{"empty", "", "", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.opts)
			rec := &parsertest.Recorder{}
			c.Classify([]byte(tc.text), Line{Time: t0, Backend: "dflt", Pos: timeline.Pos{File: "f", Line: 1}, Raw: []byte("L " + tc.text)}, rec)
			got := strings.ReplaceAll(summary(rec), "@}", "}")
			want := tc.want
			if got != want {
				t.Errorf("Classify(%q)\n got: %s\nwant: %s", tc.text, got, want)
			}
			for _, e := range rec.Events {
				if e.Text != "L "+tc.text || !e.Time.Equal(t0) {
					t.Errorf("event text/time = %q %v", e.Text, e.Time)
				}
			}
		})
	}
}

func TestStateChangesOnly(t *testing.T) {
	c := New(Options{})
	lines := []string{
		"[lb] backend=vm-a state=active active_conn=1",
		"[lb] backend=vm-a state=active active_conn=2",
		"[lb] backend=vm-a draining active_conn=2",
		"[lb] backend=vm-a draining active_conn=1",
		"[lb] backend=vm-b state=out_of_pool",
		"[lb] backend=vm-a state=ready",
	}
	rec := &parsertest.Recorder{}
	for i, l := range lines {
		c.Classify([]byte(l), Line{Time: t0.Add(time.Duration(i) * time.Minute), Raw: []byte(l)}, rec)
	}
	var got []string
	for _, e := range rec.Events {
		got = append(got, e.Backend+":"+e.Attr("prev")+">"+e.Attr("state"))
	}
	want := "vm-a:bound>draining vm-b:>removed vm-a:draining>bound"
	if strings.Join(got, " ") != want {
		t.Errorf("state events %q, want %q", strings.Join(got, " "), want)
	}
}

func TestStepDedup(t *testing.T) {
	c := New(Options{})
	rec := &parsertest.Recorder{}
	for i, l := range []string{"[deploy] vm-a: stopping app (SIGTERM)", "[deploy] vm-a: app stopped in 1.4s", "[deploy] vm-b: stopping app"} {
		c.Classify([]byte(l), Line{Time: t0.Add(time.Duration(i) * time.Second), Raw: []byte(l)}, rec)
	}
	if len(rec.Events) != 2 || rec.Events[1].Backend != "vm-b" {
		t.Errorf("dedup: got %+v", rec.Events)
	}
}

// TestRollbackRepeatsKill: a kill, the backend put back, and a rollback
// that kills it again are two kills, the second marked as the rollback's.
// (Seen in the live lab: the dedup window used to swallow the second kill.)
func TestRollbackRepeatsKill(t *testing.T) {
	c := New(Options{})
	rec := &parsertest.Recorder{}
	for i, l := range []string{
		"[deploy] vm-c: terminating app (SIGKILL) and removing from pool",
		"[deploy] vm-c: health check passed (GET /healthz 200); set haproxy state ready",
		"[deploy] rollback start release=2026.05.01-0 (reason: error rate on vm-c)",
		"[deploy] vm-c: terminating app (SIGKILL) and removing from pool (rollback)",
	} {
		c.Classify([]byte(l), Line{Time: t0.Add(time.Duration(i*7) * time.Second), Raw: []byte(l)}, rec)
	}
	var steps []string
	for _, e := range rec.Events {
		if e.Kind == timeline.KindDeployStep {
			steps = append(steps, e.Backend+":"+e.Attr("step")+map[bool]string{true: "(rollback)"}[e.Attr("rollback") == "true"])
		}
	}
	want := "vm-c:kill vm-c:bind :rollback vm-c:kill(rollback)"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]float64{"2h 11m": 7860, "10m 0s": 600, "1h2m3s": 3723, "750ms": 0.75, "1.4s": 1.4, "1800": 1800, "2d": 172800} {
		got, n, ok := Duration([]byte(in))
		if !ok || n != len(in) || got != want {
			t.Errorf("Duration(%q) = %v, %d, %v; want %v", in, got, n, ok, want)
		}
	}
	if _, _, ok := Duration([]byte("abc")); ok {
		t.Errorf("Duration(abc) ok")
	}
}

func TestISO(t *testing.T) {
	var c Clock
	tests := []struct {
		in   string
		want string
		n    int
	}{
		{"2026-05-01T14:02:02+09:00 x", "2026-05-01T14:02:02+09:00", 25},
		{"2026-05-01T14:02:02.123Z", "2026-05-01T14:02:02.123Z", 24},
		{"2026-05-01 14:02:02,5 x", "2026-05-01T14:02:02.5-07:00", 21},
		{"2026-05-01T14:02:02.123456+0900", "2026-05-01T14:02:02.123456+09:00", 31},
	}
	loc := time.FixedZone("X", -7*3600)
	for _, tc := range tests {
		got, n, ok := c.ISO([]byte(tc.in), loc)
		if !ok || n != tc.n || got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("ISO(%q) = %v %d %v, want %s %d", tc.in, got.Format(time.RFC3339Nano), n, ok, tc.want, tc.n)
		}
	}
	for _, bad := range []string{"", "2026-13-01T00:00:00", "2026/05/01 00:00:00", "2026-05-01T25:00:00"} {
		if _, _, ok := c.ISO([]byte(bad), loc); ok {
			t.Errorf("ISO(%q) ok", bad)
		}
	}
}

func TestNoAllocOnNoise(t *testing.T) {
	c := New(Options{})
	text := []byte("Fetched order id=9877886 user=u-759278 in 41ms")
	rec := &parsertest.Recorder{}
	at := Line{Time: t0, Raw: text}
	if n := testing.AllocsPerRun(100, func() { c.Classify(text, at, rec) }); n != 0 {
		t.Errorf("Classify on noise allocates %v times", n)
	}
	lb := []byte("[lb] backend=vm-a state=active new_conn=21 active_conn=410 reset_out=0/s")
	c.Classify(lb, Line{Time: t0, Raw: lb}, &parsertest.Recorder{})
	sink := discard{}
	if n := testing.AllocsPerRun(100, func() { c.Classify(lb, Line{Time: t0, Raw: lb}, sink) }); n != 0 {
		t.Errorf("Classify on a steady lb line allocates %v times", n)
	}
}

type discard struct{}

func (discard) Event(timeline.Event)   {}
func (discard) Sample(timeline.Sample) {}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"[lb] backend=vm-a draining new_conn=0 active_conn=1197",
		"[deploy] config push nginx: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0",
		"[deploy] config push nginx: revert CHG-7731 (keepalive_timeout 65s, upstream keepalive 64)",
		"[app] ws_sessions=1184, avg_age=2h 11m",
		"timeout waiting for drain completion (1800s)",
		"x from 1 to 2, y from",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := New(Options{})
		c.Classify([]byte(s), Line{Time: t0, Raw: []byte(s)}, discard{})
		_, _, _ = Duration([]byte(s))
		var ck Clock
		_, _, _ = ck.ISO([]byte(s), time.UTC)
		_ = Changes([]byte(s), true)
	})
}

func TestCTime(t *testing.T) {
	var c Clock
	loc := time.FixedZone("KST", 9*3600)
	for in, want := range map[string]string{
		"Fri May  1 18:12:00 2026] x":      "2026-05-01T18:12:00+09:00",
		"Fri May  1 18:12:00 KST 2026":     "2026-05-01T18:12:00+09:00",
		"Fri May  1 18:12:00 UTC 2026":     "2026-05-01T18:12:00Z",
		"Fri, 01 May 2026 18:12:00 +0900":  "2026-05-01T18:12:00+09:00",
		"Fri, 01 May 2026 09:12:00 -0000 ": "2026-05-01T09:12:00Z",
	} {
		got, _, ok := c.CTime([]byte(in), loc)
		if !ok || got.Format(time.RFC3339) != want {
			t.Errorf("CTime(%q) = %v %v, want %s", in, got, ok, want)
		}
	}
	if _, _, ok := c.CTime([]byte("Fri May  1 18:12"), loc); ok {
		t.Errorf("short CTime ok")
	}
}
