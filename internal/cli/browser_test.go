package cli

import (
	"bytes"
	"context"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// evilRequest is log text an attacker controls: a script tag and a pipe
// (which would split a Markdown table cell if left unescaped).
const evilRequest = `GET /<script>alert(1)</script>|x HTTP/1.1`

// browserIncident copies the hard-cut incident into a temporary folder and
// rewrites the first reset line of nginx vm-c, which becomes a finding's
// evidence, to carry evilRequest.
func browserIncident(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "incidents", "hard-cut")
	dst := filepath.Join(t.TempDir(), "hard-cut")
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == filepath.Join("nginx", "vm-c", "error.log") {
			lines := strings.Split(string(b), "\n")
			for i, l := range lines {
				if strings.Contains(l, "recv() failed") {
					lines[i] = strings.Replace(l, `request: "`, `request: "`+evilRequest+`", was: "`, 1)
					break
				}
			}
			b = []byte(strings.Join(lines, "\n"))
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// chromium runs headless Chromium with the test's flags plus args, with a
// time limit, and returns stdout and stderr.
func chromium(t *testing.T, bin, profile string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
		"--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

// TestHTMLReportInChromium renders a fixture's HTML report in a real
// browser: the page loads without console errors, the charts are in the
// DOM, a screenshot decodes as PNG, and a log line carrying
// <script>alert(1)</script> and | shows as plain text. A missing chromium
// fails under CI=true and skips elsewhere.
func TestHTMLReportInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed (CI=true: .ci/run installs Debian's chromium)")
		}
		t.Skip("chromium not installed")
	}
	inc := browserIncident(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	d, _, errb := fixedDeps("")
	if code := MainWith([]string{"analyze", "--format", "html", "-o", report, inc}, d); code != ExitOK {
		t.Fatalf("analyze exit %d: %s", code, errb)
	}
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script")) {
		t.Fatal("the page itself carries a <script> tag")
	}
	url := "file://" + filepath.ToSlash(report)

	dom, logs := chromium(t, bin, filepath.Join(dir, "profile-dom"), "--enable-logging=stderr", "--v=0", "--dump-dom", url)
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "Uncaught") || strings.Contains(l, ":CONSOLE") {
			t.Errorf("console message while loading the report: %s", l)
		}
	}
	if !strings.Contains(dom, `<section class="charts">`) || strings.Count(dom, "<svg") < 3 {
		t.Errorf("the DOM lacks the chart section or its SVGs (%d <svg>)", strings.Count(dom, "<svg"))
	}
	if strings.Contains(dom, "<script") {
		t.Error("a <script> element was injected into the DOM")
	}
	// The serialised DOM escapes text nodes, so plain text shows as &lt;script&gt;.
	if !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;|x") {
		t.Error("the hostile log line is not shown as plain text in the DOM")
	}

	shot := filepath.Join(dir, "shot.png")
	chromium(t, bin, filepath.Join(dir, "profile-shot"), "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot does not decode as PNG: %v", err)
	}
	bnd := img.Bounds()
	if bnd.Dx() < 1000 || bnd.Dy() < 1000 {
		t.Fatalf("screenshot is %dx%d", bnd.Dx(), bnd.Dy())
	}
	// Non-trivial: the page drew something, not one flat colour.
	colours := map[[3]uint32]bool{}
	for y := bnd.Min.Y; y < bnd.Max.Y && len(colours) < 16; y += 7 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r, g, b}] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("screenshot has only %d colours: blank page?", len(colours))
	}
}
