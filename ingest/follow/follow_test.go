package follow

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

type collect struct{ lines []string }

func (c *collect) fn(l Line) {
	c.lines = append(c.lines, fmt.Sprintf("%s:%d %s", filepath.Base(l.Path), l.Num, l.Text))
}

// Lines written after the last poll and before a copytruncate are read from
// the copy, before the live file restarts at 0.
func TestCopytruncateRecoversFromCopy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendFile(t, p, "one\ntwo\n")
	f := New([]string{p}, Options{FromStart: true})
	var c collect
	f.Poll(c.fn)
	appendFile(t, p, "three\nfour\n")
	data, _ := os.ReadFile(p)
	os.WriteFile(p+".1", data, 0o644)
	os.Truncate(p, 0)
	appendFile(t, p, "five\n")
	f.Poll(c.fn)
	got := strings.Join(c.lines, "|")
	want := "app.log:1 one|app.log:2 two|app.log:3 three|app.log:4 four|app.log:1 five"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if st := f.Stats(); st.Recovered != 2 || st.Truncates != 1 {
		t.Errorf("stats %+v, want 2 recovered, 1 truncate", st)
	}
}

// A truncation that the file outgrows before the next poll is still seen,
// by its first bytes.
func TestTruncateOutgrownSeenByFingerprint(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendFile(t, p, "a1\n")
	f := New([]string{p}, Options{FromStart: true})
	var c collect
	f.Poll(c.fn)
	os.Truncate(p, 0)
	appendFile(t, p, "b1 longer than before\nb2\n")
	f.Poll(c.fn)
	if got, want := strings.Join(c.lines, "|"), "app.log:1 a1|app.log:1 b1 longer than before|app.log:2 b2"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Existing files are read from their end unless FromStart; a partial last
// line is completed, not cut; files and folders that appear later are read
// from their start; rotated names are not followed as streams.
func TestDiscoveryAndStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.log")
	appendFile(t, old, "before1\nbefore2\nhal")
	appendFile(t, filepath.Join(dir, "old.log.1"), "rotated\n")
	appendFile(t, filepath.Join(dir, "old.log.2.gz"), "x")
	f := New([]string{dir}, Options{Rescan: 1})
	var c collect
	f.Poll(c.fn)
	appendFile(t, old, "f\nafter\n")
	os.MkdirAll(filepath.Join(dir, "vm-d", "nginx"), 0o755)
	appendFile(t, filepath.Join(dir, "vm-d", "nginx", "error.log"), "new1\n")
	f.Poll(c.fn)
	f.Poll(c.fn)
	got := strings.Join(c.lines, "|")
	want := "old.log:3 half|old.log:4 after|error.log:1 new1"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestGlobPicksUpLaterFiles(t *testing.T) {
	dir := t.TempDir()
	f := New([]string{filepath.Join(dir, "*", "access.log")}, Options{Rescan: 1})
	var c collect
	f.Poll(c.fn)
	for _, vm := range []string{"vm-a", "vm-b"} {
		os.MkdirAll(filepath.Join(dir, vm), 0o755)
		appendFile(t, filepath.Join(dir, vm, "access.log"), vm+"\n")
		appendFile(t, filepath.Join(dir, vm, "access.log.1"), "no\n")
	}
	f.Poll(c.fn)
	if got, want := strings.Join(c.lines, "|"), "access.log:1 vm-a|access.log:1 vm-b"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestOverlongLineSkipped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendFile(t, p, "ok1\n"+strings.Repeat("y", 5000)+"\nok2\n")
	f := New([]string{p}, Options{FromStart: true, MaxLineBytes: 1024})
	var c collect
	f.Poll(c.fn)
	if got, want := strings.Join(c.lines, "|"), "x.log:1 ok1|x.log:3 ok2"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if st := f.Stats(); st.Skipped != 1 {
		t.Errorf("skipped %d, want 1", st.Skipped)
	}
}

func TestIsRotatedName(t *testing.T) {
	for name, want := range map[string]bool{
		"access.log": false, "access.log.1": true, "app.log.2.gz": true, "error.log-20260501": true,
		"vm-a.log": false, "ss-s.log": false, "web-02": true, "lb.log.old": true, "app.jsonl": false,
	} {
		if got := IsRotatedName(name); got != want {
			t.Errorf("IsRotatedName(%q) = %v, want %v", name, got, want)
		}
	}
}
