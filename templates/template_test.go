package templates

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

func TestDefaultParses(t *testing.T) {
	if _, err := Parse(DefaultName, DefaultSource()); err != nil {
		t.Fatal(err)
	}
	if Default().Name() != DefaultName {
		t.Errorf("name %q", Default().Name())
	}
}

func TestParseErrorPosition(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		substr    string
	}{
		{"# {{.Title}}\n\nSee {{.Title | shout}}\n", 3, 16, `function "shout" not defined: expected a known function`},
		{"a\nb {{.Title}\n", 2, 11, "bad character"},
		{"x\n  {{if .Findings}}x", 2, 20, "expected {{end}}"},
		{"ok\n{{end}}", 2, 1, "found {{end}}"},
		{"{{ $x }}", 1, 4, `undefined variable "$x"`},
		{"a {{.Title", 1, 3, `expected "}}"`},
		{"{{.Title))}}", 1, 9, `found ")"`},
		{"{{range}}{{end}}", 1, 3, "missing value for range"},
		{"{{ \"abc }}", 1, 4, "unterminated quoted string"},
	}
	for _, tc := range tests {
		_, err := Parse("custom.md.tmpl", tc.src)
		if err == nil {
			t.Errorf("%q: no error", tc.src)
			continue
		}
		var te *Error
		if !errors.As(err, &te) {
			t.Errorf("%q: %T is not *Error", tc.src, err)
			continue
		}
		prefix := fmt.Sprintf("custom.md.tmpl:%d:%d: ", tc.line, tc.col)
		if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.substr) {
			t.Errorf("%q:\n got %s\nwant prefix %q containing %q", tc.src, err, prefix, tc.substr)
		}
	}
}

func TestParseFileError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.md.tmpl")
	src := "# {{.Title}}\n{{range .Findings}}\n- {{.Summary}\n{{end}}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":3:13: ") {
		t.Fatalf("got %v, want %s:3:13: ...", err, path)
	}
}

func TestExecuteError(t *testing.T) {
	tp, err := Parse("custom.md.tmpl", "# {{.Title}}\n{{range .Findings}}\n  {{.Nope}}\n{{end}}")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = tp.Execute(&buf, NewReport(hardCutInput()))
	if err == nil || !strings.HasPrefix(err.Error(), "custom.md.tmpl:3:5: ") || !strings.Contains(err.Error(), "can't evaluate field Nope") {
		t.Fatalf("got %v", err)
	}
	if buf.Len() != 0 {
		t.Error("partial output written on error")
	}
}

// A line an attacker controls, in every place log text can reach a table.
const xss = "<script>alert(1)</script> | `x` *y* [z](javascript:alert(1)) <img src=x onerror=alert(1)>"

func xssInput() Input {
	b := timeline.NewBuilder(timeline.Options{})
	b.Event(timeline.Event{Time: t0, Kind: timeline.KindConfigChange, Backend: "vm|<b>",
		Pos: pos("deploy/<script>.log", 3), Text: xss,
		Attrs: map[string]string{"setting": xss, "from": "a|b", "to": "c\nd"}})
	b.Event(timeline.Event{Time: at("1s"), Kind: timeline.KindConnReset, Backend: "vm-c",
		Pos: pos(ngxErr, 9), Text: xss, Attrs: map[string]string{"errno": "104"}})
	res := rules.Result{Findings: []rules.Finding{{
		Rule: "hard-cut-without-drain", Case: "hard-cut-without-drain", Title: xss, Severity: rules.SeverityCritical,
		Confidence: 0.9, Start: t0, End: at("1m"), Backend: "vm|<b>", Summary: xss,
		Evidence:   []rules.Evidence{{Role: "resets", Evidence: timeline.Evidence{Pos: pos("lb/lb.log", 4), Time: at("2s"), Text: xss}}},
		Facts:      map[string]string{"k": xss},
		Prevention: []string{xss}, Mistakes: []string{xss}, Checklist: []string{xss}, Contributing: []string{xss},
	}}, Checks: []rules.Check{{Rule: "r", Case: "c", Why: xss}}}
	return Input{Now: clock, Timeline: b.Timeline(), Result: res, Warnings: []string{xss},
		Sources: []timeline.Source{{Path: "x|<i>.log", Format: "nginx", Warnings: []string{xss}}}}
}

// unescapedPipes counts the '|' not preceded by a backslash.
func unescapedPipes(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		if l[i] == '\\' {
			i++
			continue
		}
		if l[i] == '|' {
			n++
		}
	}
	return n
}

func TestUntrustedTextStaysText(t *testing.T) {
	r := NewReport(xssInput())
	md := render(t, r)
	s := string(md)
	// Table structure: every row of a table has as many cells as its header.
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		want := unescapedPipes(lines[i])
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|") {
			i++
			if got := unescapedPipes(lines[i]); got != want {
				t.Errorf("table row has %d cell borders, header %d: %s", got, want, lines[i])
			}
		}
	}
	// Outside code spans no raw '<' is left.
	noCode := regexp.MustCompile("(`+)[^`].*?[^`]?(`+)").ReplaceAllString(s, "")
	if strings.Contains(noCode, "<") {
		t.Errorf("raw '<' outside code spans:\n%s", noCode)
	}
	if !strings.Contains(s, "&lt;script&gt;alert(1)&lt;/script&gt; \\|") {
		t.Error("escaped form of the line not found in the Markdown")
	}

	h, err := RenderHTML(md)
	if err != nil {
		t.Fatal(err)
	}
	low := strings.ToLower(string(h))
	for _, bad := range []string{"<script", "<img", "href=", "onerror=alert(1)>"} {
		if strings.Contains(low, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(string(h), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the line is not shown as text in the HTML")
	}
	// The timeline table keeps four cells per row in the HTML too.
	tl := string(h)[strings.Index(string(h), "<th>Setting change</th>"):]
	tl = tl[:strings.Index(tl, "</table>")]
	for _, row := range strings.Split(tl, "<tr>")[1:] {
		if n := strings.Count(row, "<td"); n != 4 {
			t.Errorf("HTML timeline row with %d cells: %s", n, row)
		}
	}
}

func TestCustomTemplateEscapesByDefault(t *testing.T) {
	tp, err := Parse("mine.tmpl", "{{range .Timeline}}{{.Text}}|{{code .Text}}\n{{end}}")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tp.Execute(&buf, NewReport(xssInput())); err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(buf.String(), "|", 2)[0]
	if strings.Contains(first, "<") {
		t.Errorf("printing a Text did not escape it: %s", first)
	}
	if !strings.Contains(buf.String(), "``<script>alert(1)</script> | `x`") {
		t.Errorf("code span: %s", buf.String())
	}
}

func TestRenderHTMLDropsRawHTML(t *testing.T) {
	h, err := RenderHTML([]byte("# T <b>\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| <i>x</i> | y |\n"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(h, []byte("<script")) || bytes.Contains(h, []byte("<i>")) {
		t.Errorf("raw HTML passed through:\n%s", h)
	}
	if !bytes.Contains(h, []byte("<title>T &lt;b&gt;</title>")) {
		t.Errorf("title: %s", h)
	}
	if !bytes.HasPrefix(h, []byte("<!DOCTYPE html>")) || !bytes.Contains(h, []byte("<style>")) {
		t.Error("not a full page")
	}
}

func FuzzRender(f *testing.F) {
	f.Add(xss, "vm-c", "104")
	f.Add("Authorization: Bearer abc", "a|b", "`")
	f.Add("\x00\xff\r\n# h", "", "")
	f.Fuzz(func(t *testing.T, text, backend, attr string) {
		b := timeline.NewBuilder(timeline.Options{})
		b.Event(timeline.Event{Time: t0, Kind: timeline.KindConfigChange, Backend: backend, Pos: pos(text, 1), Text: text,
			Attrs: map[string]string{"setting": attr}})
		b.Event(timeline.Event{Time: at("1s"), Kind: timeline.KindConnReset, Backend: backend, Pos: pos("e.log", 2), Text: text})
		res := rules.Result{Findings: []rules.Finding{{Rule: "r", Case: attr, Title: text, Start: t0, End: at("1s"), Backend: backend,
			Summary: text, Evidence: []rules.Evidence{{Role: attr, Evidence: timeline.Evidence{Pos: pos(backend, 3), Time: t0, Text: text}}},
			Prevention: []string{text}}}}
		for _, redact := range []bool{false, true} {
			r := NewReport(Input{Now: clock, Timeline: b.Timeline(), Result: res, Redact: redact})
			var buf bytes.Buffer
			if err := Default().Execute(&buf, r); err != nil {
				t.Fatal(err)
			}
			h, err := RenderHTML(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(bytes.ToLower(h), []byte("<script")) {
				t.Fatalf("script tag from %q", text)
			}
			if err := r.WriteJSON(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultSource())
	f.Add("{{if .Findings}}{{range .Timeline}}{{.Text}}{{end}}")
	f.Add("{{ \"abc }}\n{{(.X}}")
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Parse("f.tmpl", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.tmpl") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		_ = tp.Execute(&bytes.Buffer{}, NewReport(Input{Now: clock}))
	})
}
