package prefilter

import (
	"regexp"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/timeline"
)

func TestLogQL(t *testing.T) {
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if q, note := (*Set)(nil).LogQL(`{job="x"}`, reg); q != `{job="x"}` || note != "" {
		t.Errorf("nil set: %q %q", q, note)
	}
	want := parsers.WantOf([]timeline.Kind{timeline.KindConnReset, timeline.KindBackendState}, []timeline.Metric{timeline.MetricRequests})
	q, note := NewSet(want).LogQL(`{job="x"} |= "a" `, reg)
	if note != "" || !strings.HasPrefix(q, "{job=\"x\"} |= \"a\" |~ `(?i)") || !strings.HasSuffix(q, "`") {
		t.Fatalf("query %q, note %q", q, note)
	}
	re := regexp.MustCompile(q[strings.Index(q, "`")+1 : len(q)-1])
	for line, keep := range map[string]bool{
		`2026/05/01 14:02:05 [error] 1#1: *1 recv() failed (104: Connection reset by peer)`:                        true,
		`203.0.113.7 - - [01/May/2026:14:02:02 +0900] "GET / HTTP/1.1" 200 12 "-" "curl"`:                          true,
		`2026-05-01T14:02:02+09:00 [lb] backend vm-c REMOVED from pool`:                                            true,
		`2026-05-01T14:02:02+09:00 level=info msg="request served" status=200`:                                     false,
		`2026/05/01 14:02:05 [warn] 1#1: *1 an upstream response is buffered to a temporary file /var/cache/nginx`: false,
		`{"time":"2026-05-01T14:02:02Z","msg":"dr\u0061ining"}`:                                                    true,
	} {
		if re.MatchString(line) != keep {
			t.Errorf("%q: kept %v, want %v", line, !keep, keep)
		}
	}
	if q, note := NewSet(parsers.WantAll()).LogQL(`{a="b"}`, reg); q != `{a="b"}` || !strings.Contains(note, "timewait") {
		t.Errorf("TIME_WAIT wanted: %q %q", q, note)
	}
	if got := logqlString("a`b\\\""); got != `"a`+"`"+`b\\\""` {
		t.Errorf("logqlString: %s", got)
	}
}
