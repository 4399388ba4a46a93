package prefilter

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers"
)

// naive is the reference: every occurrence of every literal, checked one
// by one.
func naive(lits []parsers.Literal, line []byte) bool {
	low := bytes.ToLower(line)
	for _, l := range lits {
		if l.Text == "" {
			continue
		}
		for i := 0; ; {
			k := bytes.Index(low[i:], []byte(l.Text))
			if k < 0 {
				break
			}
			a, b := i+k, i+k+len(l.Text)
			if !l.Word || ((a == 0 || !isWord(line[a-1])) && (b == len(line) || !isWord(line[b]))) {
				return true
			}
			i = a + 1
		}
	}
	return false
}

func TestMatcherTable(t *testing.T) {
	lits := []parsers.Literal{{Text: "reset by peer"}, {Text: "104: "}, {Text: "up", Word: true}, {Text: "drain", Word: true}, {Text: "nginx.conf", Word: true}}
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"recv() failed (104: Connection reset by peer)", true},
		{"Connection RESET BY PEER", true},
		{"upstream sent too big header", false}, // "up" inside a word
		{"backend vm-a is UP", true},
		{"state=up,", true},
		{"drained", false},
		{"[lb] vm-c drain.", true},
		{"x-drain-y", true}, // '-' is not a word byte
		{"my_drain", false},
		{"reload nginx.conf", true},
		{"reload nginx.confx", false},
		{"", false},
		{"10: 4", false},
	} {
		m := NewMatcher(lits)
		if got := m.Match([]byte(tc.line)); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.line, got, tc.want)
		}
		if got := naive(lits, []byte(tc.line)); got != tc.want {
			t.Errorf("naive %q: got %v, want %v", tc.line, got, tc.want)
		}
	}
	if NewMatcher(nil).Match([]byte("anything")) {
		t.Error("an empty matcher matched")
	}
}

// TestMatcherRandom compares the automaton with the naive search on random
// literals (overlapping, sharing prefixes and suffixes, mixed case) and
// random lines over a small alphabet, so that matches, near misses and
// word boundaries are frequent.
func TestMatcherRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alpha := []byte("abAB_- :1")
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return b
	}
	for round := 0; round < 300; round++ {
		var lits []parsers.Literal
		for i := 0; i < 1+rng.Intn(8); i++ {
			lits = append(lits, parsers.Literal{Text: string(bytes.ToLower(word(1 + rng.Intn(4)))), Word: rng.Intn(2) == 0})
		}
		m := NewMatcher(lits)
		for i := 0; i < 200; i++ {
			line := word(rng.Intn(16))
			if got, want := m.Match(line), naive(lits, line); got != want {
				t.Fatalf("literals %+v, line %q: got %v, want %v", lits, line, got, want)
			}
		}
	}
}

// TestMatcherLongLines compares the automaton with the naive search on
// lines long enough to be scanned as two halves, each with at most one
// literal (of up to 20 bytes) put at a random place, so that matches fall
// in either half, across the middle, and at both ends.
func TestMatcherLongLines(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	filler := []byte("xyzXYZ .:-_0")
	litAlpha := []byte("abcAB_ ")
	for round := 0; round < 200; round++ {
		var lits []parsers.Literal
		for i := 0; i < 1+rng.Intn(6); i++ {
			b := make([]byte, 2+rng.Intn(19))
			for k := range b {
				b[k] = litAlpha[rng.Intn(len(litAlpha))]
			}
			lits = append(lits, parsers.Literal{Text: string(bytes.ToLower(b)), Word: rng.Intn(3) == 0})
		}
		m := NewMatcher(lits)
		for i := 0; i < 300; i++ {
			line := make([]byte, 60+rng.Intn(400))
			for k := range line {
				line[k] = filler[rng.Intn(len(filler))]
			}
			if rng.Intn(4) != 0 {
				l := []byte(lits[rng.Intn(len(lits))].Text)
				if rng.Intn(2) == 0 {
					l = bytes.ToUpper(l)
				}
				at := rng.Intn(len(line) - len(l) + 1)
				switch rng.Intn(4) {
				case 0:
					at = 0
				case 1:
					at = len(line) - len(l)
				case 2: // around the middle, where the halves meet
					at = max(0, min(len(line)-len(l), len(line)/2-rng.Intn(len(l)+1)+rng.Intn(len(l)+1)))
				}
				copy(line[at:], l)
			}
			if got, want := m.Match(line), naive(lits, line); got != want {
				t.Fatalf("literals %+v, line %q: got %v, want %v", lits, line, got, want)
			}
		}
	}
}
