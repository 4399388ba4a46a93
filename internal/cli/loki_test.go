package cli

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lokiEntry is one line of a fake Loki stream.
type lokiEntry struct {
	labels map[string]string
	ts     int64
	line   string
}

// lokiEntries reads the files under dir whose names end in one of exts as
// Loki streams: labelled job (first directory), filename and, two levels
// down, host; the lines of each file are 1 ms apart from 2026-05-01 04:00
// UTC. The result is sorted by time, streams in walk order.
func lokiEntries(t *testing.T, dir string, exts ...string) []lokiEntry {
	t.Helper()
	base := time.Date(2026, 5, 1, 4, 0, 0, 0, time.UTC).UnixNano()
	var es []lokiEntry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !slices.ContainsFunc(exts, func(x string) bool { return strings.HasSuffix(path, x) }) {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		ls := map[string]string{"job": parts[0], "filename": filepath.ToSlash(rel)}
		if len(parts) == 3 {
			ls["host"] = parts[1]
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for i := 0; sc.Scan(); i++ {
			es = append(es, lokiEntry{ls, base + int64(i)*int64(time.Millisecond), sc.Text()})
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].ts < es[j].ts })
	return es
}

// lokiFixture serves the log files under dir from a fake Loki
// (GET /loki/api/v1/query_range, direction=forward, honouring start and
// limit), one stream per file labelled job, host and filename. It requires
// tenant "ops" and bearer token "tok".
func lokiFixture(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	es := lokiEntries(t, dir, ".log")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Scope-OrgID") != "ops" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("no org id\n"))
			return
		}
		q := r.URL.Query()
		start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		streams := map[string]*struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		}{}
		n := 0
		for _, e := range es {
			if e.ts < start || e.ts >= end || n == limit {
				continue
			}
			n++
			k := e.labels["filename"]
			if streams[k] == nil {
				streams[k] = &struct {
					Stream map[string]string `json:"stream"`
					Values [][2]string       `json:"values"`
				}{Stream: e.labels}
			}
			streams[k].Values = append(streams[k].Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
		}
		var result []any
		for _, s := range streams {
			result = append(result, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": result}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRulesRunFromLoki: `rules run` with only --loki finds the hard cut of
// the fixture, with the same rule and backend as over the files.
func TestRulesRunFromLoki(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	srv := lokiFixture(t, dir)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok\n"), 0o600)
	files, _, st := runCLI(t, "rules", "run", "--format", "json", dir)
	if st != 0 {
		t.Fatalf("files: status %d", st)
	}
	args := []string{"rules", "run", "--format", "json", "--loki", srv.URL, "--logql", `{job=~".+"}`,
		"--loki-tenant", "ops", "--loki-bearer-token-file", tok, "--loki-limit", "700",
		"--from", "2026-05-01T04:00:00Z", "--to", "2026-05-01T15:00:00Z"}
	out, errOut, st := runCLI(t, args...)
	if st != 0 {
		t.Fatalf("loki: status %d: %s", st, errOut)
	}
	var fromFiles, fromLoki runJSON
	if err := json.Unmarshal([]byte(files), &fromFiles); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &fromLoki); err != nil {
		t.Fatal(err)
	}
	summary := func(r runJSON) string {
		var b strings.Builder
		for _, ru := range r.Rules {
			for _, f := range ru.Findings {
				b.WriteString(ru.Rule + " " + f.Backend + " " + f.Start.UTC().Format(time.RFC3339) + "\n")
			}
		}
		return b.String()
	}
	if s := summary(fromLoki); s == "" || s != summary(fromFiles) {
		t.Errorf("findings from Loki:\n%s\nfrom files:\n%s", s, summary(fromFiles))
	}
	if !strings.Contains(summary(fromLoki), "hard-cut-without-drain vm-c") {
		t.Errorf("no hard cut on vm-c:\n%s", summary(fromLoki))
	}
	if !strings.Contains(out, `loki:{filename=`) {
		t.Errorf("no loki: source in the output")
	}

	// Loki's timestamps select the lines, --from/--to also clip the events:
	// the query window is the Loki time of the fixture (04:00 plus seconds).
	// Wrong tenant: the 401 body is reported and the run stops (status 2).
	bad := append([]string(nil), args...)
	bad[9] = "other"
	if _, errOut, st := runCLI(t, bad...); st != ExitUsage || !strings.Contains(errOut, "HTTP 401: no org id") {
		t.Errorf("wrong tenant: status %d, %q", st, errOut)
	}
	for _, tc := range [][]string{
		{"rules", "run", "--loki", srv.URL, "--logql", "{a=\"b\"}"},                                           // no window, no files
		{"rules", "run", "--loki", srv.URL, "--from", "2026-05-01T00:00:00Z", "--to", "2026-05-01T01:00:00Z"}, // no logql
		{"rules", "run", "--logql", "{a=\"b\"}", dir},                                                         // logql without loki
		{"rules", "run"},
	} {
		if _, _, st := runCLI(t, tc...); st != ExitUsage {
			t.Errorf("%v: status %d, want %d", tc, st, ExitUsage)
		}
	}
}

// TestAnalyzeFromLoki: analyze with only --loki classifies the hard cut and
// lists the Loki streams as sources.
func TestAnalyzeFromLoki(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	srv := lokiFixture(t, dir)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok"), 0o600)
	out, errOut, st := runCLI(t, "analyze", "--format", "json", "--loki", srv.URL, "--logql", `{job=~".+"}`,
		"--loki-tenant", "ops", "--loki-bearer-token-file", tok,
		"--from", "2026-05-01T04:00:00Z", "--to", "2026-05-01T15:00:00Z")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var rep struct {
		Findings []struct {
			Case    string `json:"case"`
			Backend string `json:"backend"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Case != "hard-cut-without-drain" || rep.Findings[0].Backend != "vm-c" {
		t.Errorf("findings %+v", rep.Findings)
	}
	if !strings.Contains(out, `loki:{filename=\"nginx/`) {
		t.Errorf("Loki streams not listed as sources")
	}
}
