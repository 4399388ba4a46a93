package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replayInto writes the lines of a recorded incident into files under dir
// (same relative paths), those before from at once and the rest at real
// speed (log time elapsed = wall time elapsed) until stop is closed or the
// lines end. It returns when done; wrote reports the wall time at which
// the first line at or after mark was written.
func replayInto(t *testing.T, lines []live.ReplayLine, root, dir string, from time.Time, stop <-chan struct{}, mark time.Time, wrote *time.Time, started chan<- struct{}) {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(stream string) *os.File {
		if f := files[stream]; f != nil {
			return f
		}
		rel, err := filepath.Rel(root, stream)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = filepath.Base(stream)
		}
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Error(err)
			return nil
		}
		files[stream] = f
		return f
	}
	// Every stream's file exists from the start.
	for _, l := range lines {
		open(l.Stream)
	}
	i := 0
	for ; i < len(lines) && lines[i].Time.Before(from); i++ {
		open(lines[i].Stream).WriteString(lines[i].Text + "\n")
	}
	close(started)
	wallStart := time.Now()
	for ; i < len(lines); i++ {
		l := lines[i]
		wait := time.Until(wallStart.Add(l.Time.Sub(from)))
		if wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
		}
		if wrote.IsZero() && !l.Time.Before(mark) {
			*wrote = time.Now()
		}
		open(l.Stream).WriteString(l.Text + "\n")
	}
}

// TestTailGateHardCut is the end-to-end live test: the hard-cut fixture is
// replayed into followed files, everything before 14:01:58 at once and the
// rest at real speed; `tail --gate critical` must exit with ExitGate,
// naming vm-c, and write the draft.
func TestTailGateHardCut(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time replay")
	}
	root := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	reg, _ := builtin.Registry()
	lines, err := live.Replay([]string{root}, reg)
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("", 9*3600)
	from := time.Date(2026, 5, 1, 14, 1, 58, 0, zone)
	cut := time.Date(2026, 5, 1, 14, 2, 2, 0, zone)
	dir := t.TempDir()
	stop := make(chan struct{})
	started := make(chan struct{})
	var wrote time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		replayInto(t, lines, root, dir, from, stop, cut, &wrote, started)
	}()
	<-started
	var out, errOut syncBuffer
	draft := filepath.Join(t.TempDir(), "draft.md")
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	code := MainWith([]string{"tail", "--from-start", "--gate", "critical", "--for", "50s",
		"--poll", "50ms", "--eval-every", "200ms", "--status-every", "1s", "-o", draft, dir}, d)
	exited := time.Now()
	close(stop)
	<-done
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != ExitGate {
		t.Fatalf("exit %d, want ExitGate (%d)", code, ExitGate)
	}
	if !wrote.IsZero() {
		t.Logf("cut line written → gate exit: %s", exited.Sub(wrote))
	}
	o := out.String()
	if !strings.Contains(o, "FIRING critical hard-cut-without-drain backend=vm-c") {
		t.Errorf("no FIRING line for vm-c")
	}
	if !strings.Contains(o, "evidence [") {
		t.Errorf("finding printed without evidence")
	}
	if !strings.Contains(o, "status backend=vm-c") {
		t.Errorf("no status line for vm-c")
	}
	if !strings.Contains(errOut.String(), "gate critical: hard-cut-without-drain fired on vm-c") {
		t.Errorf("gate reason missing from stderr")
	}
	md, err := os.ReadFile(draft)
	if err != nil {
		t.Fatalf("draft not written: %v", err)
	}
	if !strings.Contains(string(md), "vm-c") || !strings.Contains(string(md), "hard-cut-without-drain") {
		t.Errorf("draft does not name the finding on vm-c:\n%.2000s", md)
	}
}

// End of standard input ends tail; the draft is written; without --gate
// the exit status is 0.
func TestTailStdinEnds(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "incidents", "hard-cut", "deploy", "deploy.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	draft := filepath.Join(t.TempDir(), "d.json")
	d := defaultDeps(&IO{In: bytes.NewReader(data), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	code := MainWith([]string{"tail", "--eval-every", "50ms", "-o", draft, "--format", "json", "-"}, d)
	if code != ExitOK {
		t.Fatalf("exit %d; stderr %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "end of standard input") {
		t.Errorf("stderr: %s", errOut.String())
	}
	js, err := os.ReadFile(draft)
	if err != nil || !strings.Contains(string(js), `"sources"`) {
		t.Errorf("json draft: %v %.300s", err, js)
	}
}

func TestTailBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"tail", "--gate", "severe", "x.log"},
		{"tail", "--until", "tomorrow", "x.log"},
		{"tail", "--format", "pdf", "x.log"},
	} {
		var out, errOut syncBuffer
		d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
		if code := MainWith(args, d); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
