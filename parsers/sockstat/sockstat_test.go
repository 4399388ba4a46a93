package sockstat

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	parsertest.Golden(t, Format(), parsertest.DefaultConfig(), *update)
}

func TestConformance(t *testing.T) {
	data, err := os.ReadFile("testdata/ss-s.log")
	if err != nil {
		t.Fatal(err)
	}
	parsertest.Run(t, Format(), string(data))
}

func feed(t *testing.T, text string) (string, int) {
	t.Helper()
	cfg := parsertest.DefaultConfig()
	cfg.Loc = time.FixedZone("KST", 9*3600)
	cfg.Backend = "dflt"
	rec, rej := parsertest.Feed(Format().New(cfg), "s", text)
	var out []string
	for _, s := range rec.Samples {
		out = append(out, fmt.Sprintf("%s %s@%s=%v", s.Time.Format(time.RFC3339), s.Metric, s.Backend, s.Value))
	}
	return strings.Join(out, "; "), rej
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, text, want string
		rejected         int
	}{
		{"header host both counts", "### 2026-05-01T00:00:00+09:00 vm-b ss -s; cat /proc/net/sockstat\nTotal: 723\nTCP:   1446 (estab 494, closed 912, orphaned 0, timewait 875)\n\nTransport Total     IP        IPv6\nRAW\t  1         0         1\nsockets: used 723\nTCP: inuse 524 orphan 0 tw 875 alloc 704 mem 172\nUDP: inuse 4 mem 2\n",
			"2026-05-01T00:00:00+09:00 tcp_established@vm-b=494; 2026-05-01T00:00:00+09:00 tcp_orphans@vm-b=0; 2026-05-01T00:00:00+09:00 timewait@vm-b=875; 2026-05-01T00:00:00+09:00 tcp_orphans@vm-b=0", 0},
		{"date then wc", "Fri May  1 18:12:00 KST 2026\nnetstat -an | grep TIME_WAIT | wc -l\n68321\n",
			"2026-05-01T18:12:00+09:00 timewait@dflt=68321", 0},
		{"date UTC", "Fri May  1 09:12:00 UTC 2026\nss -tan state time-wait | wc -l\n5\n",
			"2026-05-01T09:12:00Z timewait@dflt=5", 0},
		{"number without command", "2026-05-01T18:15:00+09:00\n12\n", "", 1},
		{"untimed", "68321\nTCP: inuse 1840 orphan 0 tw 68321 alloc 2010 mem 321\n", "", 2},
		{"timestamp value", "2026-05-01 18:15:00 68999\n", "2026-05-01T18:15:00+09:00 timewait@dflt=68999", 0},
		{"timestamp kv", "2026-05-01T18:16:00Z tw=7 orphans=2\n", "2026-05-01T18:16:00Z timewait@dflt=7; 2026-05-01T18:16:00Z tcp_orphans@dflt=2", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej := feed(t, tc.text)
			if got != tc.want || rej != tc.rejected {
				t.Errorf("got %q (rejected %d)\nwant %q (rejected %d)", got, rej, tc.want, tc.rejected)
			}
		})
	}
}

func TestDetectHints(t *testing.T) {
	f := Format()
	if s := f.Detect([]byte("### 2026-05-01T00:00:00+09:00 vm-b ss -s; cat /proc/net/sockstat")); s < 80 {
		t.Errorf("Detect(header) = %d", s)
	}
	if s := f.Detect([]byte("2026-05-01T14:02:02+09:00 [lb] backend vm-c removed")); s != 0 {
		t.Errorf("Detect(kv) = %d", s)
	}
	h, ok := f.Hints([]byte("### 2026-05-01T00:00:00+09:00 vm-b ss -s"))
	if !ok || !h.ZoneOK || h.Zone != 9*3600 || h.Year != 2026 {
		t.Errorf("Hints = %+v %v", h, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range parsertest.Seeds(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := Format().New(parsertest.DefaultConfig())
		rec := &parsertest.Recorder{}
		p.Parse([]byte("2026-05-01T00:00:00Z"), timeline.Pos{File: "f", Line: 1}, rec)
		p.Parse([]byte(line), timeline.Pos{File: "f", Line: 2}, rec)
		_ = Format().Detect([]byte(line))
		_, _ = Format().Hints([]byte(line))
	})
}
