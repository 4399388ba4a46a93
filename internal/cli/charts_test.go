package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyzeMarkdownCharts: -o FILE.md writes the charts beside the draft
// and links them; Markdown on standard output writes no chart files.
func TestAnalyzeMarkdownCharts(t *testing.T) {
	inc := filepath.Join(repoRoot(t), "testdata", "incidents", "timewait-explosion")
	dir := t.TempDir()
	md := filepath.Join(dir, "pm.md")
	d, _, errb := fixedDeps("")
	if code := MainWith([]string{"analyze", "-o", md, inc}, d); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	draft, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "pm-*.svg"))
	if len(svgs) == 0 {
		t.Fatal("no chart files beside the draft")
	}
	if _, err := os.Stat(filepath.Join(dir, "pm-timewait.svg")); err != nil {
		t.Errorf("TIME_WAIT chart missing: %v", err)
	}
	for _, f := range svgs {
		link := "](" + filepath.Base(f) + ")"
		if !strings.Contains(string(draft), link) {
			t.Errorf("draft does not link %s", filepath.Base(f))
		}
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "<svg ") || !strings.Contains(string(b), "UTC") {
			t.Errorf("%s is not a chart with a zone-labelled axis", f)
		}
	}

	d2, out, errb2 := fixedDeps("")
	t.Chdir(dir)
	if code := MainWith([]string{"analyze", inc}, d2); code != ExitOK {
		t.Fatalf("stdout run: exit %d: %s", code, errb2)
	}
	if strings.Contains(out.String(), "## Charts") {
		t.Error("Markdown on stdout links charts")
	}
	if after, _ := filepath.Glob(filepath.Join(dir, "*.svg")); len(after) != len(svgs) {
		t.Errorf("stdout run wrote chart files: %v", after)
	}
}
