//go:build unix

package ingest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNamedPipe reads a FIFO given on the command line (as with shell
// process substitution): sampled once, replayed, never re-read.
func TestNamedPipe(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(gz(t, numbered("piped", 1000)))
		w.Close()
	}()
	ss, errs := Discover([]string{p}, Options{})
	if len(errs) != 0 || len(ss) != 1 {
		t.Fatalf("%v %v", names(ss), errs)
	}
	// A FIFO inside a walked directory is not picked up.
	ss2, _ := Discover([]string{dir}, Options{})
	if len(ss2) != 0 {
		t.Errorf("walk picked up the fifo: %v", names(ss2))
	}
	sample, err := ss[0].Sample(2)
	if err != nil || len(sample) != 2 || string(sample[1]) != "piped 2" {
		t.Fatalf("sample %q %v", sample, err)
	}
	lines, st := readAll(t, ss[0])
	if len(lines) != 1000 || lines[999].text != "piped 1000" || st.PerFile[0].Compression != CompressionGzip {
		t.Errorf("read %d lines, stats %+v", len(lines), st)
	}
	if _, err := ss[0].ReadLinesAt(ss[0].Name, []int64{1}); err == nil {
		t.Error("ReadLinesAt on a pipe did not fail")
	}
}
