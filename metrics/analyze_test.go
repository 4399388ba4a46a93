package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/promtest"

	"github.com/postmortem-tool/postmortem/internal/cli"
)

type report struct {
	Sources []struct {
		Path     string   `json:"path"`
		Format   string   `json:"format"`
		Samples  int64    `json:"samples"`
		Warnings []string `json:"warnings"`
	} `json:"sources"`
	Changes []struct {
		Setting string `json:"setting"`
	} `json:"changes"`
	ChangePoints []struct {
		Series        string    `json:"series"`
		Time          time.Time `json:"time"`
		Before, After float64
		LagFromChange string `json:"lag_from_change"`
		Change        *struct {
			Kind    string  `json:"kind"`
			Summary string  `json:"summary"`
			Lag     float64 `json:"lag_seconds"`
		} `json:"change"`
		Sentence string `json:"sentence"`
	} `json:"changepoints"`
	Warnings []string `json:"warnings"`
}

func analyze(t *testing.T, args ...string) report {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := &cli.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }}
	code := cli.Main(append([]string{"analyze", "--format", "json"}, args...), ios)
	if code != 0 {
		t.Fatalf("analyze %v: exit %d\n%s", args, code, errOut.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	return r
}

// TestMetricsOnlyFolder: a folder with only query_range JSON exports (no
// logs) yields series and change points; the files are read as metrics,
// not rejected as JSON lines.
func TestMetricsOnlyFolder(t *testing.T) {
	r := analyze(t, "testdata/only")
	if len(r.Sources) != 2 {
		t.Fatalf("sources: %+v", r.Sources)
	}
	for _, s := range r.Sources {
		if s.Format != "prometheus-query-range" || s.Samples == 0 || len(s.Warnings) != 0 {
			t.Errorf("source %+v: want a query_range file with samples and no warning", s)
		}
	}
	found := false
	for _, cp := range r.ChangePoints {
		// The lab's TIME_WAIT ramp starts at 1795467064 (05:51:04 +09:00).
		if cp.Series == "timewait" && cp.After > 10*cp.Before {
			found = true
			if d := cp.Time.Unix() - 1795467064; d < -4 || d > 4 {
				t.Errorf("timewait change at %v, want within 2 steps (4s) of 1795467064", cp.Time)
			}
		}
	}
	if !found {
		t.Errorf("no TIME_WAIT change point: %+v", r.ChangePoints)
	}
}

// TestMetricFilesFlagAndChange: --metrics reads exposition text and
// --change adds the setting change the onset lag is measured from.
func TestMetricFilesFlagAndChange(t *testing.T) {
	r := analyze(t, "--metrics", "testdata/timewait.om", "--change", "2026-05-01T14:09:20Z keepalive_timeout 65s -> 2s", "testdata/deploy.log")
	checkTimewaitLag(t, r)
}

func checkTimewaitLag(t *testing.T, r report) {
	t.Helper()
	// The fixture's TIME_WAIT leaves 1200 at 14:10:00Z (ramp to 18000 by
	// 14:11:00Z); the keepalive change is at 14:09:20Z: lag 40s.
	onset := time.Date(2026, 5, 1, 14, 10, 0, 0, time.UTC)
	n := 0
	for _, cp := range r.ChangePoints {
		if cp.Series != "timewait{vm-a}" && cp.Series != "timewait{vm-b}" {
			continue
		}
		n++
		if d := cp.Time.Sub(onset); d < -10*time.Second || d > 10*time.Second {
			t.Errorf("%s change at %v, want %v ± 2 steps", cp.Series, cp.Time, onset)
		}
		if cp.After < 10*cp.Before {
			t.Errorf("%s: levels %v -> %v, want a rise over x10", cp.Series, cp.Before, cp.After)
		}
		if cp.Change == nil || !strings.Contains(cp.Change.Summary, "keepalive_timeout") {
			t.Errorf("%s: linked to %+v, want the keepalive_timeout change", cp.Series, cp.Change)
			continue
		}
		if cp.Change.Lag < 30 || cp.Change.Lag > 50 {
			t.Errorf("%s: lag %vs, want about 40s", cp.Series, cp.Change.Lag)
		}
		t.Logf("%s", cp.Sentence)
	}
	if n != 2 {
		t.Errorf("want TIME_WAIT change points on vm-a and vm-b, got %d: %+v", n, r.ChangePoints)
	}
}

// TestRealPrometheus builds TSDB blocks from an OpenMetrics fixture with
// promtool, serves them with a real prometheus on a free loopback port, and
// checks that analyze --prometheus finds the TIME_WAIT change point and its
// lag after the keepalive change found in the deploy log.
func TestRealPrometheus(t *testing.T) {
	bins := promtest.Need(t, "prometheus", "promtool")
	prom, promtool := bins[0], bins[1]
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "testdata/timewait.om", data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := promtest.Start(t, prom, cfg, data, "--storage.tsdb.retention.time=100y")
	r := analyze(t, "--prometheus", url, "--prometheus-step", "5s", "testdata/deploy.log")
	for _, w := range r.Warnings {
		if strings.Contains(w, "failed") {
			t.Errorf("warning: %s", w)
		}
	}
	checkTimewaitLag(t, r)
	if t.Failed() {
		t.Logf("changepoints: %+v\nsources: %+v", r.ChangePoints, r.Sources)
	}
	_ = fmt.Sprint
}
