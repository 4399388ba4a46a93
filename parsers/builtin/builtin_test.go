package builtin

import (
	"strings"
	"testing"
)

// TestDetect checks that each built-in format wins detection on its own
// lines, including the specific-beats-generic cases.
func TestDetect(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ want, lines string }{
		{"nginx-access", `10.0.0.10 - - [01/May/2026:06:25:00 +0900] "GET /healthz HTTP/1.0" 200 2 "-" "-" rt=0.002 uct=0.000 urt=0.001 us=200 ua=10.0.0.3:8080
112.83.36.69 - - [01/May/2026:06:25:11 +0900] "GET /api/v1/orders/5313478 HTTP/1.1" 502 4260 "https://shop.example.com/" "Mozilla/5.0" rt=0.037 uct=0.000 urt=0.036 us=502 ua=10.0.0.3:8080`},
		{"nginx-error", `2026/05/01 14:02:05 [error] 1101#1101: *100072 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 1.2.3.4, server: api, request: "GET / HTTP/1.1", upstream: "http://10.0.0.3:8080/", host: "api"
2026/05/01 06:25:00 [notice] 1100#1100: signal 10 (SIGUSR1) received from 40528, reopening logs`},
		{"haproxy", `May  1 14:02:02 lb01 haproxy[2345]: Server be_app/vm-c is going DOWN for maintenance. 2 active and 0 backup servers left. 287 sessions active, 0 requeued, 0 remaining in queue.
May  1 14:02:02 lb01 haproxy[2345]: 42.90.2.76:61831 [01/May/2026:13:16:53.945] fe_ws be_ws/vm-c 1/0/2708055 180927 SD 5235/5205/5195/1695/0 0/0`},
		{"spring", `2026-05-01T00:00:00.000+09:00  INFO 4442 --- [   ws-metrics-1] c.e.shop.ws.SessionMetrics               : [app] ws_sessions=400, avg_age=10m 0s`},
		{"kv", `2026-05-01T00:00:00+09:00 [lb] backend=vm-a state=active new_conn=21 active_conn=410 reset_out=0/s
2026-05-01T16:00:00+09:00 [deploy] timeout waiting for drain completion (1800s)`},
		{"json", `{"@timestamp":"2026-05-01T00:00:00.000+09:00","avg_age":"10m 0s","avg_age_s":600,"host":"vm-c","ws_sessions":400}`},
		{"sockstat", `### 2026-05-01T00:00:00+09:00 vm-b ss -s; cat /proc/net/sockstat
Total: 723
TCP:   1446 (estab 494, closed 912, orphaned 0, timewait 875)
TCP: inuse 524 orphan 0 tw 875 alloc 704 mem 172`},
		{"syslog", `May  1 18:12:00 vm-b systemd[1]: Reloading nginx.service - A high performance web server.
May  1 18:12:00 vm-b sshd[123]: Accepted publickey for deploy from 10.0.0.9 port 50122 ssh2`},
		{"kernel", `[Fri May  1 18:12:00 2026] TCP: time wait bucket table overflow
[Fri May  1 18:12:01 2026] nf_conntrack: table full, dropping packet`},
	}
	for _, c := range cases {
		var lines [][]byte
		for _, l := range strings.Split(c.lines, "\n") {
			lines = append(lines, []byte(l))
		}
		d, ok := reg.Detect(lines)
		if !ok {
			t.Errorf("%s: nothing detected", c.want)
			continue
		}
		if d.Format.Name() != c.want {
			t.Errorf("detected %s (score %d), want %s", d.Format.Name(), d.Score, c.want)
		}
	}
	if _, ok := reg.Detect([][]byte{[]byte("time,metric,labels,value"), []byte("hello world")}); ok {
		t.Errorf("a CSV header and prose were detected as a log format")
	}
}

func TestBadNginxLogFormat(t *testing.T) {
	if _, err := Registry(`'$remote_addr "$request`); err == nil {
		t.Fatal("a log_format with an unbalanced quote was accepted")
	}
}
