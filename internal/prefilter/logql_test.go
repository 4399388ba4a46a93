package prefilter

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/parsers/sockstat"
	"github.com/postmortem-tool/postmortem/timeline"
)

func TestLogQL(t *testing.T) {
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if pd := (*Set)(nil).LogQL(`{job="x"}`, reg); pd != (Pushdown{Query: `{job="x"}`}) {
		t.Errorf("nil set: %+v", pd)
	}
	want := parsers.WantOf([]timeline.Kind{timeline.KindConnReset, timeline.KindBackendState}, []timeline.Metric{timeline.MetricRequests})
	pd := NewSet(want).LogQL(`{job="x"} |= "a" `, reg)
	q, note := pd.Query, pd.Note
	if pd.Snapshots != "" {
		t.Errorf("no ss metric wanted, yet snapshot streams are fetched whole: %q", pd.Snapshots)
	}
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
	// TIME_WAIT wanted: the filtered query, and the snapshot streams
	// fetched whole.
	for _, m := range sockstatMetrics {
		pd := NewSet(parsers.WantOf(nil, []timeline.Metric{m})).LogQL(`{a="b"}`, reg)
		if !strings.HasPrefix(pd.Query, "{a=\"b\"} |~ `(?i)") || pd.Note != "" || pd.Snapshots != SnapshotPattern {
			t.Errorf("%s wanted: %+v", m, pd)
		}
	}
	if got := logqlString("a`b\\\""); got != `"a`+"`"+`b\\\""` {
		t.Errorf("logqlString: %s", got)
	}
}

// snapshotPattern is SnapshotPattern compiled.
var snapshotPattern = regexp.MustCompile(SnapshotPattern)

// checkSnapshotLine fails when sockstat detection scores line but
// SnapshotPattern does not match it: a stream of such lines would be
// detected as sockstat yet not fetched whole.
func checkSnapshotLine(t *testing.T, line string) {
	t.Helper()
	if sockstat.Format().Detect([]byte(line)) > 0 && !snapshotPattern.MatchString(line) {
		t.Errorf("sockstat scores %q, SnapshotPattern does not match it", line)
	}
}

// TestSnapshotPattern: every line of the sockstat test data and of the
// incident fixtures that sockstat detection scores is matched by
// SnapshotPattern, and so are hand-made lines of every scored shape;
// lines of other formats mostly are not (a match there only costs a
// stream fetched whole).
func TestSnapshotPattern(t *testing.T) {
	var files []string
	for _, g := range []string{"../../parsers/sockstat/testdata/*", "../../testdata/incidents/*/*/*", "../../testdata/incidents/*/*"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	scored := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		for _, l := range strings.Split(string(b), "\n") {
			if sockstat.Format().Detect([]byte(l)) > 0 {
				scored++
			}
			checkSnapshotLine(t, l)
		}
	}
	if scored < 100 {
		t.Fatalf("only %d scored lines in %d files: the test data moved", scored, len(files))
	}
	for _, l := range []string{
		"TCP: inuse 1 orphan 0 tw 3", "TCP:   3061 (estab 963, closed 2058, orphaned 0, timewait 2009)",
		"sockets: used 1200", "Transport Total     IP        IPv6", "Total: 1200",
		"### 2026-05-01T17:45:00+09:00 vm-a ss -s", "###sockstat", "$ ss -s", "# ss", "ss", "netstat -an | grep TIME_WAIT | wc -l",
		"cat /proc/net/sockstat", "wc -l", "sysctl net.ipv4.tcp_tw_reuse", "x | wc -l",
		"RAW\t1", "UDP 6", "TCP6: inuse 3", "UDPLITE: inuse 0", "UDPLITE6 0", "FRAG6: inuse 0", "INET 1010",
	} {
		if sockstat.Format().Detect([]byte(l)) == 0 {
			t.Errorf("%q: sockstat no longer scores it; update the list", l)
		}
		checkSnapshotLine(t, l)
	}
	for _, l := range []string{
		`203.0.113.7 - - [01/May/2026:14:02:02 +0900] "GET / HTTP/1.1" 200 12 "-" "curl"`,
		`2026-05-01T14:02:02+09:00 level=info msg="request served" status=200`,
		`TCPing host`,
	} {
		if snapshotPattern.MatchString(l) {
			t.Errorf("%q matched: its stream would be fetched whole", l)
		}
	}
}

// FuzzSnapshotPattern: no line that sockstat detection scores escapes
// SnapshotPattern.
func FuzzSnapshotPattern(f *testing.F) {
	for _, s := range []string{"TCP: inuse 1", "### x ss -s", "$ netstat -an | wc -l", "UDPLITE6 1", "Total: 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return
		}
		checkSnapshotLine(t, line)
	})
}
