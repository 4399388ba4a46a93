package confighist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postmortem-tool/postmortem/internal/gittest"
	"github.com/postmortem-tool/postmortem/timeline"
)

const nginxConf = `http {
    keepalive_timeout 65s;
    upstream app {
        server 127.0.0.1:8080;
        keepalive 32;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`

const haproxyCfg = `defaults
    timeout client 30s
    timeout tunnel 1h
backend be_app
    server vm-a 10.0.0.1:8080 check weight 10
    server vm-b 10.0.0.2:8080 check weight 10
`

var kst = time.FixedZone("", 9*3600)

// row renders an event for comparison.
func row(e timeline.Event) string {
	return fmt.Sprintf("%s %s [%s] %s %q -> %q %s:%d backend=%q commit=%s author=%q | %s",
		e.Time.Format(time.RFC3339), e.Attr("file"), e.Attr("context"), e.Attr("setting"), e.Attr("from"), e.Attr("to"),
		e.Pos.File, e.Pos.Line, e.Backend, e.Attr("commit"), e.Attr("author"), e.Text)
}

func rows(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, row(c.Event()))
	}
	return out
}

func TestRepoChanges(t *testing.T) {
	r := gittest.New(t, "infra")
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	c1 := r.Commit(t0, "initial", map[string]string{
		"nginx/vm-b/nginx.conf": nginxConf, "lb/haproxy.cfg": haproxyCfg, "README.md": "configs\n",
	})
	c2 := r.Commit(time.Date(2026, 5, 1, 18, 10, 20, 0, kst), "shorter keepalive on vm-b", map[string]string{
		"nginx/vm-b/nginx.conf": strings.NewReplacer("keepalive_timeout 65s;", "keepalive_timeout 2s;", "        keepalive 32;\n", "").Replace(nginxConf),
		"README.md":             "configs, changed\n",
	})
	c3 := r.Commit(time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC), "drain vm-a, tunnel timeout", map[string]string{
		"lb/haproxy.cfg": strings.NewReplacer("timeout tunnel 1h", "timeout tunnel 10s", "10.0.0.1:8080 check weight 10", "10.0.0.1:8080 check weight 0 disabled").Replace(haproxyCfg),
	})
	c4 := r.Commit(time.Date(2026, 5, 1, 9, 40, 0, 0, time.UTC), "comments and order only; new vm-c config", map[string]string{
		"lb/haproxy.cfg":        "# reordered\n" + strings.NewReplacer("timeout tunnel 1h", "timeout tunnel 10s", "10.0.0.1:8080 check weight 10", "10.0.0.1:8080 check   weight 0 disabled").Replace(haproxyCfg),
		"nginx-vm-c.conf":       "http { keepalive_timeout 30s; }\n",
		"nginx/vm-b/nginx.conf": "",
	})

	repo, err := OpenRepo(context.Background(), r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Name != "infra" {
		t.Errorf("Name = %q, want infra", repo.Name)
	}
	res, err := repo.Changes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2026-05-01T18:10:20+09:00 nginx/vm-b/nginx.conf [http] keepalive_timeout "65s" -> "2s" infra/nginx/vm-b/nginx.conf@` + c2 + `:2 backend="vm-b" commit=` + c2 + ` author="Test Author" | keepalive_timeout 2s;`,
		`2026-05-01T18:10:20+09:00 nginx/vm-b/nginx.conf [upstream app] keepalive "32" -> "removed" infra/nginx/vm-b/nginx.conf@` + c1 + `:5 backend="vm-b" commit=` + c2 + ` author="Test Author" | keepalive 32;`,
		`2026-05-01T09:30:00Z lb/haproxy.cfg [defaults] timeout tunnel "1h" -> "10s" infra/lb/haproxy.cfg@` + c3 + `:3 backend="" commit=` + c3 + ` author="Test Author" | timeout tunnel 10s`,
		`2026-05-01T09:30:00Z lb/haproxy.cfg [be_app/vm-a] disabled "no" -> "yes" infra/lb/haproxy.cfg@` + c3 + `:5 backend="vm-a" commit=` + c3 + ` author="Test Author" | server vm-a 10.0.0.1:8080 check weight 0 disabled`,
		`2026-05-01T09:30:00Z lb/haproxy.cfg [be_app/vm-a] weight "10" -> "0" infra/lb/haproxy.cfg@` + c3 + `:5 backend="vm-a" commit=` + c3 + ` author="Test Author" | server vm-a 10.0.0.1:8080 check weight 0 disabled`,
		`2026-05-01T09:40:00Z nginx-vm-c.conf [http] keepalive_timeout "" -> "30s" infra/nginx-vm-c.conf@` + c4 + `:1 backend="vm-c" commit=` + c4 + ` author="Test Author" | http { keepalive_timeout 30s; }`,
	}
	// The deletion of vm-b's file removes each of its settings, cited in
	// the parent commit (c3, which still holds c2's version).
	for _, l := range []struct {
		line           int
		ctx, set, from string
		text           string
	}{
		{2, "http", "keepalive_timeout", "2s", "keepalive_timeout 2s;"},
		{4, "upstream app", "server", "127.0.0.1:8080", "server 127.0.0.1:8080;"},
		{7, "server :80", "listen", "80", "listen 80;"},
		{8, "server :80 > location /", "proxy_pass", "http://app", "location / { proxy_pass http://app; }"},
	} {
		want = append(want, fmt.Sprintf(`2026-05-01T09:40:00Z nginx/vm-b/nginx.conf [%s] %s %q -> "removed" infra/nginx/vm-b/nginx.conf@%s:%d backend="vm-b" commit=%s author="Test Author" | %s`,
			l.ctx, l.set, l.from, c3, l.line, c4, l.text))
	}
	got := rows(res.Changes)
	// Changes are sorted by time; compare as sets of rows in time order.
	if d := cmp.Diff(sortedByTime(want), got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}

	// A window keeps only the commits inside it.
	res, err = repo.Changes(context.Background(), Window{Since: time.Date(2026, 5, 1, 9, 5, 0, 0, time.UTC), Until: time.Date(2026, 5, 1, 9, 35, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Changes {
		if c.Commit != c2 && c.Commit != c3 {
			t.Errorf("change of commit %s outside the window: %s", c.Commit, row(c.Event()))
		}
	}
	if len(res.Changes) != 5 {
		t.Errorf("window: %d changes, want 5 (commits %s and %s)", len(res.Changes), c2, c3)
	}

	// A subdirectory of the repository limits the walk to it.
	sub, err := OpenRepo(context.Background(), filepath.Join(r.Dir, "lb"))
	if err != nil {
		t.Fatal(err)
	}
	res, err = sub.Changes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Changes {
		if !strings.HasPrefix(c.Path, "lb/") {
			t.Errorf("change outside lb/: %s", row(c.Event()))
		}
	}
	if len(res.Changes) != 3 {
		t.Errorf("lb/: %d changes, want 3", len(res.Changes))
	}
}

// sortedByTime orders rows by their leading time, stably.
func sortedByTime(rs []string) []string {
	out := append([]string(nil), rs...)
	key := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339, strings.Fields(s)[0])
		return t
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && key(out[j]).Before(key(out[j-1])); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestOpenRepoErrors(t *testing.T) {
	gittest.New(t, "probe") // skips without git
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // never a repository above
	if _, err := OpenRepo(context.Background(), dir); !errors.Is(err, ErrNotRepo) {
		t.Errorf("plain directory: err = %v, want ErrNotRepo", err)
	}
	if _, err := OpenRepo(context.Background(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: err = %v, want not exist", err)
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if _, err := OpenRepo(context.Background(), f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: err = %v, want not a directory", err)
	}
	empty := gittest.New(t, "empty")
	repo, err := OpenRepo(context.Background(), empty.Dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := repo.Changes(context.Background(), Window{})
	if err != nil || len(res.Changes) != 0 || len(res.Warnings) != 1 {
		t.Errorf("empty repository: %+v, %v; want one warning", res, err)
	}
}

func TestSnapshotTime(t *testing.T) {
	tests := []struct {
		rel, want, config string
	}{
		{"nginx.conf.2026-05-01T14:09:20+09:00", "2026-05-01T14:09:20+09:00", "nginx.conf"},
		{"nginx.conf.2026-05-01T14:09:20Z", "2026-05-01T14:09:20Z", "nginx.conf"},
		{"nginx.conf.2026-05-01T14:09:20.5-0330", "2026-05-01T14:09:20.5-03:30", "nginx.conf"},
		{"nginx.conf@20260501T140920", "2026-05-01T14:09:20+02:00", "nginx.conf"},
		{"haproxy.cfg_20260501-140920", "2026-05-01T14:09:20+02:00", "haproxy.cfg"},
		{"haproxy.cfg.2026-05-01_14-09-20", "2026-05-01T14:09:20+02:00", "haproxy.cfg"},
		{"20260501T140920Z-haproxy.cfg", "2026-05-01T14:09:20Z", "haproxy.cfg"},
		{"2026-05-01T140920Z/nginx.conf", "2026-05-01T14:09:20Z", "nginx.conf"},
		{"vm-a/2026-05-01T140920Z/conf.d/app.conf", "2026-05-01T14:09:20Z", "vm-a/conf.d/app.conf"},
		{"vm-a/nginx.conf.1777612160", "2026-05-01T07:09:20+02:00", "vm-a/nginx.conf"},
		{"1777612160/haproxy.cfg", "2026-05-01T07:09:20+02:00", "haproxy.cfg"},
		{"nginx.conf", "", "nginx.conf"},
		{"nginx.conf.2026-05-01", "", "nginx.conf.2026-05-01"},
		{"nginx.conf.2026-13-01T14:09:20Z", "", "nginx.conf.2026-13-01T14:09:20Z"},
		{"nginx.conf.20260501T250000", "", "nginx.conf.20260501T250000"},
		{"nginx.conf.2026-05-01T14:09:20+25:00", "", "nginx.conf.2026-05-01T14:09:20+25:00"},
		{"nginx.conf.0000000042", "", "nginx.conf.0000000042"},
	}
	loc := time.FixedZone("", 2*3600)
	for _, tc := range tests {
		tm, config, ok := SnapshotTime(tc.rel, loc)
		got := ""
		if ok {
			got = tm.Format(time.RFC3339Nano)
		}
		if got != tc.want || config != tc.config {
			t.Errorf("SnapshotTime(%q) = %q, %q; want %q, %q", tc.rel, got, config, tc.want, tc.config)
		}
	}
}

func TestReadSnapshots(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vm-b/nginx.conf.2026-05-01T17:00:00+09:00", nginxConf)
	write("vm-b/nginx.conf.2026-05-01T18:10:20+09:00", strings.Replace(nginxConf, "keepalive_timeout 65s;", "keepalive_timeout 2s;", 1))
	write("vm-b/nginx.conf@20260501T184000", "# reverted\n"+nginxConf) // zone-less: read in loc
	write("2026-05-01T080000Z/haproxy.cfg", haproxyCfg)
	write("2026-05-01T091000Z/haproxy.cfg", strings.Replace(haproxyCfg, "timeout client 30s", "timeout client 5s", 1))
	write("notes.txt", "no time here\n")
	write("unit.conf.2026-05-01T08:00:00Z", "[Unit]\nDescription=x\n")
	write(".hidden/nginx.conf.2026-05-01T08:00:00Z", "garbage {")

	res, err := ReadSnapshots(dir, "snaps", kst, Window{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2026-05-01T18:10:00+09:00 haproxy.cfg [defaults] timeout client "30s" -> "5s" snaps/2026-05-01T091000Z/haproxy.cfg:2 backend="" commit= author="" | timeout client 5s`,
		`2026-05-01T18:10:20+09:00 vm-b/nginx.conf [http] keepalive_timeout "65s" -> "2s" snaps/vm-b/nginx.conf.2026-05-01T18:10:20+09:00:2 backend="vm-b" commit= author="" | keepalive_timeout 2s;`,
		`2026-05-01T18:40:00+09:00 vm-b/nginx.conf [http] keepalive_timeout "2s" -> "65s" snaps/vm-b/nginx.conf@20260501T184000:3 backend="vm-b" commit= author="" | keepalive_timeout 65s;`,
	}
	got := []string{}
	for _, c := range res.Changes {
		e := c.Event()
		e.Time = e.Time.In(kst)
		got = append(got, row(e))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if res.Versions != 5 {
		t.Errorf("Versions = %d, want 5", res.Versions)
	}
	joined := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"snaps/notes.txt: no time in the name", "snaps/unit.conf: not recognised"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
	if len(res.Warnings) != 2 {
		t.Errorf("warnings: %q, want 2", res.Warnings)
	}

	// The window drops changes outside it (the baseline still counts).
	res, err = ReadSnapshots(dir, "snaps", kst, Window{Since: time.Date(2026, 5, 1, 18, 10, 10, 0, kst), Until: time.Date(2026, 5, 1, 18, 30, 0, 0, kst)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].To != "2s" {
		t.Errorf("window: %v", rows(res.Changes))
	}

	if _, err := ReadSnapshots(filepath.Join(dir, "missing"), "missing", kst, Window{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := ReadSnapshots(filepath.Join(dir, "notes.txt"), "notes.txt", kst, Window{}); err == nil {
		t.Error("a file as folder: no error")
	}
}

// TestRepoMergeAndRename checks that a merged branch counts when it lands
// on the first-parent line (dated by the merge), and that a renamed file is
// compared with its old path.
func TestRepoMergeAndRename(t *testing.T) {
	r := gittest.New(t, "lbconf")
	at := func(min int) time.Time { return time.Date(2026, 5, 1, 10, min, 0, 0, time.UTC) }
	r.Commit(at(0), "initial", map[string]string{"lb/haproxy.cfg": haproxyCfg})
	r.Git(at(1), "checkout", "-q", "-b", "feature")
	r.Commit(at(2), "shorter client timeout", map[string]string{"lb/haproxy.cfg": strings.Replace(haproxyCfg, "timeout client 30s", "timeout client 5s", 1)})
	r.Git(at(3), "checkout", "-q", "main")
	r.Commit(at(4), "unrelated", map[string]string{"README": "x\n"})
	r.Git(at(5), "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	merge := r.Git(time.Time{}, "rev-parse", "--short", "HEAD")
	r.Git(at(6), "mv", "lb/haproxy.cfg", "lb/edge.cfg")
	mv := r.Commit(at(6), "rename, longer tunnel", map[string]string{"lb/edge.cfg": strings.NewReplacer("timeout client 30s", "timeout client 5s", "timeout tunnel 1h", "timeout tunnel 2h").Replace(haproxyCfg)})

	repo, err := OpenRepo(context.Background(), r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := repo.Changes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2026-05-01T10:05:00Z lb/haproxy.cfg [defaults] timeout client "30s" -> "5s" lbconf/lb/haproxy.cfg@` + merge + `:2 backend="" commit=` + merge + ` author="Test Author" | timeout client 5s`,
		`2026-05-01T10:06:00Z lb/edge.cfg [defaults] timeout tunnel "1h" -> "2h" lbconf/lb/edge.cfg@` + mv + `:3 backend="" commit=` + mv + ` author="Test Author" | timeout tunnel 2h`,
	}
	if d := cmp.Diff(want, rows(res.Changes)); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// FuzzSnapshotTime checks that any snapshot name is read without a panic,
// and that a time found is valid and leaves a non-empty configuration path.
func FuzzSnapshotTime(f *testing.F) {
	for _, s := range []string{"nginx.conf.2026-05-01T14:09:20+09:00", "2026-05-01T140920Z/nginx.conf", "a/1777612160/b", "x@20260501T140920", "9999-99-99T99:99:99+99:99", "/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		tm, config, ok := SnapshotTime(rel, kst)
		if !ok {
			return
		}
		if tm.Year() < 1970 || tm.Year() > 9999 {
			t.Fatalf("%q: implausible time %s", rel, tm)
		}
		if config == "" || len(config) >= len(rel) {
			t.Fatalf("%q: configuration path %q", rel, config)
		}
	})
}
