package ingest

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/timeline"
)

// TestPiecesReadAsWhole cuts a plain file with lines of many lengths, CRLF
// endings, empty lines and over-long lines (some placed across the cuts)
// into pieces of many sizes, and checks that reading the pieces gives the
// lines of one Read, with the same numbers once each piece is moved by the
// lines of the pieces before it, the same counts, and marks at line starts.
func TestPiecesReadAsWhole(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	rng := rand.New(rand.NewSource(3))
	var sb strings.Builder
	for i := 1; sb.Len() < 3<<20; i++ {
		switch r := rng.Intn(40); {
		case r == 0:
			sb.WriteString(strings.Repeat("z", 1000+rng.Intn(3000)) + "\n") // over-long
		case r == 1:
			sb.WriteString("\n")
		case r < 6:
			fmt.Fprintf(&sb, "line %d %s\r\n", i, strings.Repeat("c", rng.Intn(200)))
		default:
			fmt.Fprintf(&sb, "line %d %s\n", i, strings.Repeat("v", rng.Intn(300)))
		}
	}
	sb.WriteString("last line without newline")
	text := sb.String()
	write(t, "p/app.log", []byte(text))
	write(t, "p/app.log.1.gz", gz(t, "old 1\nold 2\n"))
	ss, _ := Discover([]string{"p"}, Options{MaxLineBytes: 900})
	if len(ss) != 1 || len(ss[0].Files) != 2 {
		t.Fatalf("streams: %+v", ss)
	}
	st := ss[0]
	type got struct {
		text string
		pos  timeline.Pos
	}
	var want []got
	whole, err := st.Read(func(line []byte, pos timeline.Pos) { want = append(want, got{string(line), pos}) })
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{100 << 10, 333 << 10, 1 << 20, 1<<20 + 7} {
		pieces := st.Pieces(size)
		if n := len(pieces); n < 3 {
			t.Fatalf("size %d: %d pieces", size, n)
		}
		if !pieces[0].Whole() || pieces[0].File != 0 {
			t.Errorf("size %d: the gzip file is not one whole piece: %+v", size, pieces[0])
		}
		var lines []got
		var sum FileStats
		moved := map[int]int64{}
		for _, p := range pieces {
			var mine []got
			fst, err := st.ReadPiece(p, func(line []byte, pos timeline.Pos) {
				pos.Line += moved[p.File]
				mine = append(mine, got{string(line), pos})
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range fst.Marks {
				if m.Offset == 0 || text[m.Offset-1] != '\n' {
					t.Errorf("size %d: mark %+v not at a line start", size, m)
				}
			}
			moved[p.File] += fst.Lines + fst.Skipped
			lines = append(lines, mine...)
			if p.File == 1 {
				sum.Lines += fst.Lines
				sum.Skipped += fst.Skipped
				sum.Bytes += fst.Bytes
			}
		}
		if !slices.Equal(lines, want) {
			for i := range min(len(lines), len(want)) {
				if lines[i] != want[i] {
					t.Fatalf("size %d: line %d: got %+v, want %+v", size, i, lines[i], want[i])
				}
			}
			t.Fatalf("size %d: %d lines, want %d", size, len(lines), len(want))
		}
		w := whole.PerFile[1]
		if sum.Lines != w.Lines || sum.Skipped != w.Skipped || sum.Bytes != w.Bytes {
			t.Errorf("size %d: pieces count %d lines, %d skipped, %d bytes; whole: %d, %d, %d", size, sum.Lines, sum.Skipped, sum.Bytes, w.Lines, w.Skipped, w.Bytes)
		}
	}
}
