package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
)

// countWarning matches the per-file warnings whose numbers move between
// unrecognised and prefiltered lines.
var countWarning = regexp.MustCompile(`line\(s\) not in \S+ format|skipped by the prefilter`)

// noteCount reads the count of prefilter.Note's warning (analyze shows no
// prefiltered counter).
var noteCount = regexp.MustCompile(`^(\d+) line\(s\) skipped by the prefilter`)

// prefilterCounts are the totals the prefilter is allowed to change.
type prefilterCounts struct {
	unrecognized, prefiltered int64
}

// normalize removes, at any depth, the "unrecognized" and "prefiltered"
// counters and the warnings that quote them, and returns what they were
// (summed).
func normalize(t *testing.T, doc []byte) (any, prefilterCounts) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, doc)
	}
	var c prefilterCounts
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if n, ok := x["unrecognized"].(float64); ok {
				c.unrecognized += int64(n)
			}
			if n, ok := x["prefiltered"].(float64); ok {
				c.prefiltered += int64(n)
			}
			delete(x, "unrecognized")
			delete(x, "prefiltered")
			for k, e := range x {
				x[k] = walk(e)
			}
			return x
		case []any:
			out := []any{}
			for _, e := range x {
				if s, ok := e.(string); ok && countWarning.MatchString(s) {
					if m := noteCount.FindStringSubmatch(s); m != nil {
						n, _ := strconv.ParseInt(m[1], 10, 64)
						c.prefiltered += n
					}
					continue
				}
				out = append(out, walk(e))
			}
			return out
		}
		return v
	}
	return walk(v), c
}

// checkSame compares an output made without the prefilter to one made with
// it: equal but for the counters, and the lines that stopped being
// unrecognised were skipped by the prefilter.
func checkSame(t *testing.T, name string, off, on []byte) int64 {
	t.Helper()
	vOff, cOff := normalize(t, off)
	vOn, cOn := normalize(t, on)
	if !reflect.DeepEqual(vOff, vOn) {
		a, _ := json.MarshalIndent(vOff, "", " ")
		b, _ := json.MarshalIndent(vOn, "", " ")
		t.Errorf("%s: output differs with the prefilter\n--- off\n%s\n--- on\n%s", name, a, b)
	}
	if cOff.prefiltered != 0 {
		t.Errorf("%s: %d lines prefiltered with --no-prefilter", name, cOff.prefiltered)
	}
	if cOn.unrecognized > cOff.unrecognized || cOff.unrecognized > cOn.unrecognized+cOn.prefiltered {
		t.Errorf("%s: unrecognised %d without the prefilter, %d with it and %d prefiltered", name, cOff.unrecognized, cOn.unrecognized, cOn.prefiltered)
	}
	return cOn.prefiltered
}

// fixtureDirs are the shipped incident and lab folders.
func fixtureDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, root := range []string{"incidents", "lab"} {
		ents, err := os.ReadDir(filepath.Join(repoRoot(t), "testdata", root))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(repoRoot(t), "testdata", root, e.Name()))
			}
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d fixture folders", len(dirs))
	}
	return dirs
}

// TestPrefilterKeepsRulesRunResults runs `rules run --format json` on every
// incident and lab fixture with the prefilter and with --no-prefilter, with
// the default rules and with packs that use fewer signals (so that whole
// formats are skipped), and requires the same output but for the counters.
func TestPrefilterKeepsRulesRunResults(t *testing.T) {
	packs := map[string][]string{
		"default":  nil,
		"timewait": {"--no-default-rules", "--rules", filepath.Join(repoRoot(t), "rules", "pack", "timewait-explosion.yaml")},
		"ws-drain": {"--no-default-rules", "--rules", filepath.Join(repoRoot(t), "rules", "pack", "websocket-drain-stuck.yaml")},
	}
	var skipped int64
	for _, dir := range fixtureDirs(t) {
		for pname, pargs := range packs {
			args := append([]string{"rules", "run", "--format", "json"}, pargs...)
			off, errOff, st := runCLI(t, append(append(args, "--no-prefilter"), dir)...)
			if st != 0 {
				t.Fatalf("%s: status %d: %s", dir, st, errOff)
			}
			on, errOn, st := runCLI(t, append(args, dir)...)
			if st != 0 {
				t.Fatalf("%s: status %d: %s", dir, st, errOn)
			}
			skipped += checkSame(t, filepath.Base(dir)+" "+pname, []byte(off), []byte(on))
		}
	}
	if skipped == 0 {
		t.Error("the prefilter skipped no line at all")
	}
	t.Logf("%d lines skipped over all runs", skipped)
}

// TestPrefilterKeepsAnalyzeResults: `analyze --prefilter` gives the same
// JSON draft as analyze without it, but for the counters.
func TestPrefilterKeepsAnalyzeResults(t *testing.T) {
	var skipped int64
	for _, dir := range fixtureDirs(t) {
		run := func(extra ...string) []byte {
			d, out, errb := fixedDeps("")
			if code := MainWith(append(append([]string{"analyze", "--format", "json"}, extra...), dir), d); code != ExitOK {
				t.Fatalf("analyze %s: exit %d\n%s", dir, code, errb)
			}
			return out.Bytes()
		}
		skipped += checkSame(t, filepath.Base(dir), run(), run("--prefilter"))
	}
	if skipped == 0 {
		t.Error("the prefilter skipped no line at all")
	}
}

// TestPrefilterKeepsCorpusResults: the same comparison on a generated
// archive (rotated, gzipped, 20 MiB), where most lines are access lines
// and the error and application logs carry the incidents among noise.
func TestPrefilterKeepsCorpusResults(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 20 MiB archive")
	}
	dir, _ := genCorpus(t, "20971520")
	off, errOff, st := runCLI(t, "rules", "run", "--format", "json", "--no-prefilter", dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOff)
	}
	on, errOn, st := runCLI(t, "rules", "run", "--format", "json", dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOn)
	}
	if n := checkSame(t, "corpus", []byte(off), []byte(on)); n == 0 {
		t.Error("the prefilter skipped no line of the corpus")
	} else {
		t.Logf("%d lines skipped", n)
	}
}
