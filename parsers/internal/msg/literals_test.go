package msg

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// caseStrings returns the string constants of the case clauses in the
// function fn of file msg.go.
func caseStrings(t *testing.T, fn string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "msg.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
						s, _ := strconv.Unquote(bl.Value)
						out = append(out, s)
					}
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatalf("no case strings in %s", fn)
	}
	return out
}

// TestLiteralsCoverTheClassifier reads the classifier's word tables from
// its source: every word whose flag can make an event, every state word
// and every metric key must be a literal, and every literal must still be
// such a word (so the lists cannot drift from the switches).
func TestLiteralsCoverTheClassifier(t *testing.T) {
	for _, w := range caseStrings(t, "wordFlag") {
		if wordFlag([]byte(w))&emitFlags != 0 && !slices.Contains(flagWords, w) {
			t.Errorf("wordFlag word %q is missing from flagWords", w)
		}
	}
	for _, w := range flagWords {
		if wordFlag([]byte(w))&emitFlags == 0 {
			t.Errorf("flagWords has %q, which sets no emitting flag", w)
		}
	}
	states := caseStrings(t, "stateWord")
	for _, w := range states {
		if !slices.Contains(stateWords, w) {
			t.Errorf("stateWord word %q is missing from stateWords", w)
		}
	}
	for _, w := range stateWords {
		if stateWord([]byte(w)) == "" {
			t.Errorf("stateWords has %q, which stateWord does not know", w)
		}
	}
	for _, k := range caseStrings(t, "metricKey") {
		if !slices.Contains(metricKeys, k) {
			t.Errorf("metricKey key %q is missing from metricKeys", k)
		}
	}
	for _, k := range metricKeys {
		if _, _, ok := metricKey([]byte(k)); !ok {
			t.Errorf("metricKeys has %q, which metricKey does not know", k)
		}
	}
}

// holds is the reference literal check: a plain search, word boundaries
// checked by hand.
func holds(lits []parsers.Literal, line []byte) bool {
	low := bytes.ToLower(line)
	word := func(c byte) bool { return isWordByte(c) }
	for _, l := range lits {
		for i := 0; ; {
			k := bytes.Index(low[i:], []byte(l.Text))
			if k < 0 {
				break
			}
			a, b := i+k, i+k+len(l.Text)
			if !l.Word || ((a == 0 || !word(line[a-1])) && (b == len(line) || !word(line[b]))) {
				return true
			}
			i = a + 1
		}
	}
	return false
}

type anySink struct{ n int }

func (s *anySink) Event(timeline.Event)   { s.n++ }
func (s *anySink) Sample(timeline.Sample) { s.n++ }

// TestClassifierNeedsALiteral builds random messages from every word the
// classifier knows (keys, values, tags, arrows, punctuation, mixed case),
// and requires that each message it emits from holds a literal. Messages
// without an emitting word are built too, and must emit nothing.
func TestClassifierNeedsALiteral(t *testing.T) {
	var vocab []string
	for _, fn := range []string{"wordFlag", "stateWord", "metricKey", "keyValue", "isTextKey"} {
		vocab = append(vocab, caseStrings(t, fn)...)
	}
	vocab = append(vocab, "vm-a", "vm-c", "be_app/vm-b", "1800", "300", "2h", "30s", "3.2", "0")
	seps := []string{" ", " ", " ", "=", ": ", ", ", " -> ", "(", ")", ".", "-", "[", "] ", "\"", " && "}
	tags := []string{"", "[lb] ", "[deploy] ", "[app] ", "[x] "}
	lits := Literals(parsers.WantAll())
	rng := rand.New(rand.NewSource(7))
	at := Line{Time: time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC), Backend: "vm-a"}
	emitted, silent := 0, 0
	for _, deploy := range []bool{false, true} {
		c := New(Options{Deploy: deploy, StepDedup: -1})
		for i := 0; i < 40000; i++ {
			var b strings.Builder
			b.WriteString(tags[rng.Intn(len(tags))])
			if rng.Intn(10) == 0 {
				b.WriteString([]string{"Removing service [10.0.0.3]:8080 from VS [10.0.0.100]:80", "Started App in 3.2 seconds"}[rng.Intn(2)])
			}
			for j := 0; j < 1+rng.Intn(6); j++ {
				w := vocab[rng.Intn(len(vocab))]
				if rng.Intn(4) == 0 {
					w = strings.ToUpper(w)
				}
				b.WriteString(w)
				b.WriteString(seps[rng.Intn(len(seps))])
			}
			msg := []byte(b.String())
			s := &anySink{}
			at.Raw = msg
			c.Classify(msg, at, s)
			if s.n > 0 {
				emitted++
				if !holds(lits, msg) {
					t.Fatalf("deploy=%v: %q emits %d signal(s) but holds no literal", deploy, msg, s.n)
				}
			} else if !holds(lits, msg) {
				silent++
			}
		}
	}
	if emitted < 10000 || silent < 1000 {
		t.Fatalf("weak sample: %d emitting, %d silent without a literal", emitted, silent)
	}
}
