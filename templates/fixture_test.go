package templates

import (
	"fmt"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Hand-built inputs in the shape ingest and rules produce: a deploy that
// took vm-c out of the pool without a drain, the reset storm behind it, a
// hasty rollback, and unrelated background noise.

var (
	jst   = time.FixedZone("JST", 9*3600)
	clock = time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC)
	t0    = time.Date(2024, 5, 14, 14, 0, 0, 0, jst)
)

func at(d string) time.Time {
	dd, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return t0.Add(dd)
}

func pos(f string, l int64) timeline.Pos { return timeline.Pos{File: f, Line: l} }

const (
	deployLog = "deploy/deploy.log"
	lbLog     = "lb/lb.log"
	haLog     = "haproxy/haproxy.log"
	ngxErr    = "nginx/vm-c/error.log"
	ngxAcc    = "nginx/vm-c/access.log"
	appLog    = "app/vm-c/app.log"
)

// evilLine is a log line an attacker controls: markup, a pipe, a secret.
const evilLine = `2024/05/14 14:02:07 [error] 311#311: *9 recv() failed (104: Connection reset by peer) while reading response header from upstream, request: "GET /<script>alert(1)</script>|x?token=abc123 HTTP/1.1", Authorization: Bearer sk-live-0123456789`

func hardCutTimeline() *timeline.Timeline {
	b := timeline.NewBuilder(timeline.Options{})
	ev := func(t time.Time, k timeline.Kind, backend string, p timeline.Pos, text string, attrs ...string) {
		e := timeline.Event{Time: t, Kind: k, Backend: backend, Pos: p, Text: text}
		if len(attrs) > 0 {
			e.Attrs = map[string]string{}
			for i := 0; i+1 < len(attrs); i += 2 {
				e.Attrs[attrs[i]] = attrs[i+1]
			}
		}
		b.Event(e)
	}
	ev(at("0s"), timeline.KindDeployStep, "", pos(deployLog, 1), "2024-05-14T14:00:00+09:00 [deploy] release 2024.05.14-1 start", "step", "start")
	ev(at("1m30s"), timeline.KindConfigChange, "", pos(deployLog, 7), "2024-05-14T14:01:30+09:00 [deploy] nginx keepalive_timeout 65s -> 5s", "setting", "keepalive_timeout", "from", "65s", "to", "5s")
	ev(at("1m31s"), timeline.KindConfigReload, "vm-c", pos(ngxErr, 40), "2024/05/14 14:01:31 [notice] 300#300: signal 1 (SIGHUP) received from 4242, reconfiguring", "program", "nginx")
	ev(at("2m"), timeline.KindDeployStep, "vm-c", pos(deployLog, 12), "2024-05-14T14:02:00+09:00 [deploy] vm-c: stop app (kill)", "step", "kill")
	ev(at("2m"), timeline.KindBackendState, "vm-c", pos(lbLog, 88), "2024-05-14T14:02:00+09:00 [lb] backend vm-c removed from pool abruptly", "state", "removed")
	ev(at("2m1s"), timeline.KindAppLifecycle, "vm-c", pos(appLog, 5120), "2024-05-14 14:02:01.003 ERROR 2211 --- [main] c.e.shop.ShopApplication : killed", "phase", "killed")
	// Reset storm on nginx vm-c: 60 lines over 30 s, one evil line.
	for i := 0; i < 60; i++ {
		t := at("2m5s").Add(time.Duration(i) * 500 * time.Millisecond)
		text := fmt.Sprintf("%s [error] 311#311: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream", t.Format("2006/01/02 15:04:05"), 1000+i)
		if i == 4 {
			text = evilLine
		}
		ev(t, timeline.KindConnReset, "vm-c", pos(ngxErr, int64(100+i)), text, "errno", "104")
	}
	for i := 0; i < 25; i++ {
		t := at("2m6s").Add(time.Duration(i) * time.Second)
		ev(t, timeline.KindHTTPError, "vm-c", pos(ngxAcc, int64(9000+i)),
			fmt.Sprintf(`10.1.2.%d - - [14/May/2024:14:02:%02d +0900] "GET /api/orders HTTP/1.1" 502 157 "-" "okhttp/4.12"`, i, 6+i), "status", "502")
	}
	ev(at("2m10s"), timeline.KindAbortedSession, "vm-c", pos(haLog, 300),
		"May 14 14:02:10 lb1 haproxy[812]: 10.0.0.9:5123 [14/May/2024:14:02:10.100] fe_ws be_ws/vm-c 1/0/7201 0 SD 80/80/79/0/0 0/0", "flags", "SD")
	ev(at("10m"), timeline.KindDeployStep, "vm-c", pos(deployLog, 30), "2024-05-14T14:10:00+09:00 [deploy] rollback to 2024.05.07-2", "step", "rollback")
	ev(at("10m5s"), timeline.KindBackendState, "vm-c", pos(lbLog, 140), "2024-05-14T14:10:05+09:00 [lb] backend vm-c removed from pool abruptly", "state", "removed")
	// Background noise: single 502s on vm-a, minutes apart.
	for i := 0; i < 4; i++ {
		t := at("3m").Add(time.Duration(i) * 2 * time.Minute)
		ev(t, timeline.KindHTTPError, "vm-a", pos("nginx/vm-a/access.log", int64(500+i)),
			fmt.Sprintf(`10.1.9.%d - - [14/May/2024:14:%02d:00 +0900] "GET /health HTTP/1.1" 503 0 "-" "kube-probe"`, i, 3+2*i), "status", "503")
	}
	ev(at("12m"), timeline.KindDeployStep, "", pos(deployLog, 41), "2024-05-14T14:12:00+09:00 [deploy] end", "step", "end")

	gauge := func(t time.Time, m timeline.Metric, backend string, v float64, p timeline.Pos) {
		b.Sample(timeline.Sample{Time: t, Metric: m, Backend: backend, Value: v, Pos: p})
	}
	gauge(at("1m50s"), timeline.MetricActiveConn, "vm-c", 1800, pos(lbLog, 80))
	gauge(at("2m10s"), timeline.MetricActiveConn, "vm-c", 300, pos(lbLog, 90))
	gauge(at("2m10s"), timeline.MetricResetRate, "vm-c", 420, pos(lbLog, 90))
	gauge(at("2m20s"), timeline.MetricResetRate, "vm-c", 130, pos(lbLog, 95))
	return b.Timeline()
}

func hardCutResult() rules.Result {
	ev := func(role string, t time.Time, p timeline.Pos, text string) rules.Evidence {
		return rules.Evidence{Role: role, Evidence: timeline.Evidence{Pos: p, Time: t, Text: text}}
	}
	trigger := ev("trigger", at("2m"), pos(deployLog, 12), "2024-05-14T14:02:00+09:00 [deploy] vm-c: stop app (kill)")
	return rules.Result{
		Findings: []rules.Finding{
			{
				Rule: "timewait-explosion", Case: "timewait-explosion", Title: "TIME_WAIT pile-up after keepalive change",
				Severity: rules.SeverityInfo, Confidence: 0.3,
				Start: at("1m30s"), End: at("4m"), Backend: "vm-c",
				Summary:    "keepalive_timeout dropped from 65s to 5s; TIME_WAIT data is too sparse to confirm a pile-up.",
				Evidence:   []rules.Evidence{ev("setting", at("1m30s"), pos(deployLog, 7), "2024-05-14T14:01:30+09:00 [deploy] nginx keepalive_timeout 65s -> 5s")},
				Facts:      map[string]string{"keepalive_timeout": "65s -> 5s"},
				Prevention: []string{"Load-test keepalive_timeout changes before rollout and compare TIME_WAIT growth with the error rate."},
				Mistakes:   []string{"Tuning kernel TIME_WAIT limits until the count is near zero instead of fixing connection reuse."},
			},
			{
				Rule: "hard-cut-without-drain", Case: "hard-cut-without-drain", Title: "Backend removed without drain",
				Severity: rules.SeverityCritical, Confidence: 0.92,
				Start: at("2m"), End: at("2m35s"), Backend: "vm-c",
				Summary: "vm-c left the pool at 14:02:00 with no unbind or drain step; resets peaked at 420/s and active connections fell 1800 -> 300 within 10s.",
				Trigger: &trigger,
				Evidence: []rules.Evidence{
					ev("removed", at("2m"), pos(lbLog, 88), "2024-05-14T14:02:00+09:00 [lb] backend vm-c removed from pool abruptly"),
					ev("reset rate", at("2m10s"), pos(lbLog, 90), "2024-05-14T14:02:10+09:00 [lb] reset_out=420/s active_conn dropped 1800 -> 300 in 10s"),
					ev("resets", at("2m7s"), pos(ngxErr, 104), evilLine),
				},
				Facts: map[string]string{
					"peak_reset_rate":  "420/s",
					"active_conn_drop": "1800 -> 300",
					"drain_step":       "missing",
				},
				Contributing: []string{
					"The pipeline allows a stop step without a preceding drain step.",
					"The rollback at 14:10 removed vm-c the same abrupt way.",
				},
				Prevention: []string{
					"Make the deploy pipeline refuse to stop a backend until unbind and drain have completed (new_conn=0 and active_conn below a threshold).",
					"Call the application's graceful-shutdown endpoint before terminating the process.",
				},
				Mistakes:  []string{"Rolling back in a hurry with the same hard cut that caused the outage."},
				Checklist: []string{"Does the automation enforce drain-before-stop for every backend?"},
			},
		},
		Checks: []rules.Check{
			{Rule: "websocket-drain-stuck", Case: "websocket-drain-stuck", Anchors: 0, Fired: 0, Why: "no backend entered draining"},
			{Rule: "hard-cut-without-drain", Case: "hard-cut-without-drain", Anchors: 2, Fired: 1},
			{Rule: "timewait-explosion", Case: "timewait-explosion", Anchors: 1, Fired: 1},
		},
	}
}

func hardCutSources() []timeline.Source {
	return []timeline.Source{
		{Path: ngxErr, Format: "nginx-error", Backend: "vm-c", Lines: 5000, Events: 61, Unrecognized: 3, Warnings: []string{"3 lines without a timestamp"}},
		{Path: deployLog, Format: "deploy", Lines: 41, Events: 6},
		{Path: lbLog, Format: "lb", Lines: 200, Events: 2, Samples: 4},
		{Path: ngxAcc, Format: "nginx-access", Backend: "vm-c", Lines: 120000, Events: 25, Samples: 120000, Skipped: 1},
	}
}

func hardCutInput() Input {
	return Input{
		Loc:      jst,
		TZNote:   "offset of the nginx logs (+09:00)",
		Now:      clock,
		Sources:  hardCutSources(),
		Timeline: hardCutTimeline(),
		Result:   hardCutResult(),
		Warnings: []string{"app/vm-b/app.log: empty file"},
	}
}

func noFindingInput() Input {
	in := hardCutInput()
	in.Result = rules.Result{Checks: []rules.Check{
		{Rule: "hard-cut-without-drain", Case: "hard-cut-without-drain", Anchors: 0, Why: "no backend left the pool"},
		{Rule: "websocket-drain-stuck", Case: "websocket-drain-stuck", Anchors: 0, Why: "no backend entered draining"},
		{Rule: "timewait-explosion", Case: "timewait-explosion", Anchors: 0, Why: "no TIME_WAIT samples | none <b>"},
	}}
	in.Loc = time.UTC
	in.TZNote = "default"
	in.Warnings = nil
	return in
}
