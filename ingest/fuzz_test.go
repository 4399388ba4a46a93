package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/postmortem-tool/postmortem/timeline"
)

// FuzzReadFile feeds arbitrary file contents (plain or damaged compressed)
// through Sample, Read and ReadLinesAt: nothing may panic, and line numbers
// must be the same in Read and ReadLinesAt.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"))
	f.Add(gz(f, "GET / 502\nrecv() failed (104: Connection reset by peer)\n"))
	f.Add(zst(f, "tw 68321\n"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.log")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ss, errs := Discover([]string{p}, Options{MaxLineBytes: 64})
		if len(errs) != 0 || len(ss) != 1 {
			t.Fatalf("%v", errs)
		}
		s := ss[0]
		s.Sample(3)
		got := map[int64]string{}
		var nums []int64
		st, err := s.Read(func(line []byte, pos timeline.Pos) {
			if len(line) > 64 {
				t.Fatalf("line of %d bytes over the cap", len(line))
			}
			got[pos.Line] = string(line)
			nums = append(nums, pos.Line)
		})
		if err != nil {
			return
		}
		if st.Lines != int64(len(nums)) {
			t.Fatalf("Lines %d, callbacks %d", st.Lines, len(nums))
		}
		m, _ := s.ReadLinesAt(s.Name, nums)
		for _, n := range nums {
			if m[n] != got[n] {
				t.Fatalf("line %d: Read %q, ReadLinesAt %q", n, got[n], m[n])
			}
		}
	})
}
