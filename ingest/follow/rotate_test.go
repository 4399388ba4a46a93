package follow

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writer appends numbered lines to a log file at a fixed rate, the way a
// daemon does, and lets the test rotate the file under it.
type writer struct {
	t    *testing.T
	path string
	mu   sync.Mutex
	f    *os.File
	seq  int
}

func newWriter(t *testing.T, path string) *writer {
	w := &writer{t: t, path: path}
	w.reopen()
	return w
}

func (w *writer) reopen() {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f = f
}

// run writes rate lines per second until ctx is done. Every seventh line
// is written in two halves, so readers see partial lines.
func (w *writer) run(ctx context.Context, rate int) {
	const tick = 10 * time.Millisecond
	per := rate * int(tick) / int(time.Second)
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		w.mu.Lock()
		for i := 0; i < per; i++ {
			w.seq++
			line := fmt.Sprintf("2026-05-01T14:00:00+09:00 [lb] seq=%d backend=vm-a new_conn=1 active_conn=2\n", w.seq)
			if w.seq%7 == 0 {
				h := len(line) / 2
				w.write(line[:h])
				w.write(line[h:])
			} else {
				w.write(line)
			}
		}
		w.mu.Unlock()
	}
}

func (w *writer) write(s string) {
	if _, err := io.WriteString(w.f, s); err != nil {
		w.t.Errorf("write: %v", err)
	}
}

// Rotation styles.
func renameCreate(w *writer) {
	w.mu.Lock()
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		w.t.Error(err)
	}
	w.mu.Unlock()
	// The daemon keeps writing to the renamed file until it is told to
	// reopen (nginx USR1, a postrotate hook).
	time.Sleep(30 * time.Millisecond)
	w.mu.Lock()
	w.reopen()
	w.mu.Unlock()
}

func copyTruncate(w *writer) {
	// Lines written between the copy and the truncation are lost by
	// copytruncate itself; hold the writer across both, as the test is about
	// the reader.
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.t.Error(err)
		return
	}
	if err := os.WriteFile(w.path+".1", data, 0o644); err != nil {
		w.t.Error(err)
	}
	if err := os.Truncate(w.path, 0); err != nil {
		w.t.Error(err)
	}
}

func deleteRecreate(w *writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
	w.f = nil
	if err := os.Remove(w.path); err != nil {
		w.t.Error(err)
	}
	w.reopen()
}

func TestRotation(t *testing.T) {
	const rate = 5000
	cases := []struct {
		name   string
		rotate func(*writer)
		at     []time.Duration
	}{
		{"rename+create", renameCreate, []time.Duration{400 * time.Millisecond, 900 * time.Millisecond}},
		{"copytruncate", copyTruncate, []time.Duration{400 * time.Millisecond, 900 * time.Millisecond}},
		{"delete+recreate", deleteRecreate, []time.Duration{400 * time.Millisecond, 900 * time.Millisecond}},
		{"three-renames-in-1s", renameCreate, []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}},
		{"three-copytruncates-in-1s", copyTruncate, []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}},
		{"three-recreates-in-1s", deleteRecreate, []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "lb.log")
			w := newWriter(t, path)
			fol := New([]string{dir}, Options{FromStart: true, Poll: 20 * time.Millisecond})
			seen := map[int]int{}
			var mu sync.Mutex
			var bad []string
			fctx, fcancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				fol.Run(fctx, func(l Line) {
					mu.Lock()
					defer mu.Unlock()
					s := string(l.Text)
					i := strings.Index(s, "seq=")
					if i < 0 || l.Path != path {
						bad = append(bad, fmt.Sprintf("%s:%d %q", l.Path, l.Num, s))
						return
					}
					rest := s[i+4:]
					n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ' ')])
					if err != nil {
						bad = append(bad, s)
						return
					}
					seen[n]++
				})
			}()
			wctx, wcancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			wdone := make(chan struct{})
			go func() { w.run(wctx, rate); close(wdone) }()
			start := time.Now()
			for _, at := range tc.at {
				time.Sleep(time.Until(start.Add(at)))
				tc.rotate(w)
			}
			<-wdone
			wcancel()
			w.mu.Lock()
			total := w.seq
			w.mu.Unlock()
			// Wait (bounded) for the follower to catch up.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				mu.Lock()
				n := len(seen)
				mu.Unlock()
				if n >= total {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			fcancel()
			<-done
			mu.Lock()
			defer mu.Unlock()
			if len(bad) > 0 {
				t.Errorf("%d malformed line(s), first %s", len(bad), bad[0])
			}
			missing, dup := 0, 0
			first := 0
			for i := 1; i <= total; i++ {
				switch seen[i] {
				case 0:
					missing++
					if first == 0 {
						first = i
					}
				case 1:
				default:
					dup++
				}
			}
			st := fol.Stats()
			t.Logf("written %d, seen %d distinct, missing %d (first %d), duplicated %d; stats %+v", total, len(seen), missing, first, dup, st)
			if total < rate {
				t.Errorf("writer wrote only %d lines", total)
			}
			if missing > 0 || dup > 0 || len(seen) != total {
				t.Errorf("lost %d, duplicated %d of %d lines", missing, dup, total)
			}
			if st.Rotations+st.Truncates < int64(len(tc.at)) {
				t.Errorf("saw %d rotations and %d truncations, want %d", st.Rotations, st.Truncates, len(tc.at))
			}
		})
	}
}
