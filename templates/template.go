package templates

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/postmortem-tool/postmortem/internal/mdesc"
)

// DefaultName is the name of the embedded template, used in its errors.
const DefaultName = "draft.md.tmpl"

//go:embed draft.md.tmpl
var defaultSource string

// DefaultSource returns the text of the embedded Markdown template, for
// users who want to copy and customise it.
func DefaultSource() string { return defaultSource }

// Template is a parsed Markdown draft template.
type Template struct {
	name string
	src  string
	t    *template.Template
}

// Name returns the name given to Parse (the file name in errors).
func (t *Template) Name() string { return t.name }

var (
	defaultOnce sync.Once
	defaultTmpl *Template
	defaultErr  error
)

// Default returns the embedded template. It panics only if the embedded
// source does not parse, which the package tests rule out.
func Default() *Template {
	defaultOnce.Do(func() { defaultTmpl, defaultErr = Parse(DefaultName, defaultSource) })
	if defaultErr != nil {
		panic(defaultErr)
	}
	return defaultTmpl
}

// Error is a template parse or execution error at FILE:LINE:COL. Line and
// Col are 1-based; Col is 1 when the column could not be worked out, and
// Line is 0 when text/template gave no position. Expected and Found, when
// set, restate the message as what the parser wanted and what it got.
type Error struct {
	File     string
	Line     int
	Col      int
	Msg      string
	Expected string
	Found    string
}

// Error formats e as "FILE:LINE:COL: message[: expected X, found Y]".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&sb, ":%d:%d", e.Line, e.Col)
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	if e.Expected != "" || e.Found != "" {
		sb.WriteString(": expected ")
		sb.WriteString(e.Expected)
		sb.WriteString(", found ")
		sb.WriteString(e.Found)
	}
	return sb.String()
}

// Parse parses a Markdown draft template. name is used in errors, so pass
// the file name. The template sees a *Report as dot and the functions of
// Funcs; a missing map key is an error. A parse error is an *Error.
func Parse(name, text string) (*Template, error) {
	t, err := template.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, parseError(name, text, err)
	}
	return &Template{name: name, src: text, t: t}, nil
}

// ParseFile reads and parses the template file path.
func ParseFile(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, string(b))
}

// Execute renders r through t and writes the Markdown to w. Nothing is
// written when execution fails; the error is then an *Error naming the
// template position.
func (t *Template) Execute(w io.Writer, r *Report) error {
	var buf bytes.Buffer
	if err := t.t.ExecuteTemplate(&buf, t.name, r); err != nil {
		return execError(t.name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Funcs returns the functions templates can call:
//
//	md V          V escaped for inline Markdown and table cells (what printing a Text does)
//	code V        V as an inline code span, fence longer than any backtick run
//	cellcode V    code for inside a table cell ('|' escaped)
//	trunc N V     V cut to N runes with "…"; keeps V a Text
//	join SEP LIST the elements of a []Text or []string joined by SEP, as a Text
//	pct F         0.85 -> "85%"
//	num F         420 -> "420", 0.5 -> "0.5"
//	add A B       A+B for ints
//	plural N S P  S when N == 1, else P
//
// V is a Text, string or anything printable; funcs never unescape.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"md":       func(v any) string { return mdesc.Inline(raw(v)) },
		"code":     func(v any) string { return mdesc.Code(raw(v)) },
		"cellcode": func(v any) string { return mdesc.CellCode(raw(v)) },
		"trunc":    func(n int, v any) Text { return Text(mdesc.Truncate(raw(v), n)) },
		"join":     join,
		"pct":      func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
		"num":      num,
		"add":      func(a, b int) int { return a + b },
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}
}

func raw(v any) string {
	switch x := v.(type) {
	case Text:
		return string(x)
	case *Text:
		if x == nil {
			return ""
		}
		return string(*x)
	case string:
		return x
	case nil:
		return ""
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func join(sep string, list any) (Text, error) {
	var parts []string
	switch l := list.(type) {
	case []Text:
		for _, t := range l {
			parts = append(parts, string(t))
		}
	case []string:
		parts = l
	case nil:
	default:
		return "", fmt.Errorf("join: want []Text or []string, got %T", list)
	}
	return Text(strings.Join(parts, sep)), nil
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// hints restate text/template's parse messages as expected/found pairs.
// Each pattern's first group, if any, is the offending token.
var hints = []struct {
	re       *regexp.Regexp
	expected string
	found    string // "" means: the quoted token
}{
	{regexp.MustCompile(`^unexpected EOF$`), "{{end}} closing an {{if}}, {{range}}, {{with}}, {{block}} or {{define}}", "end of file"},
	{regexp.MustCompile(`^unclosed action$`), `"}}" closing the action`, "end of line or file"},
	{regexp.MustCompile(`^unclosed action in command$`), `"}}" closing the action`, "end of line or file"},
	{regexp.MustCompile(`^unclosed left paren$`), `")"`, "end of action"},
	{regexp.MustCompile(`^unexpected (\{\{end\}\})$`), "an open {{if}}, {{range}}, {{with}}, {{block}} or {{define}} before it", ""},
	{regexp.MustCompile(`^unexpected (\{\{else\}\})$`), "an open {{if}}, {{range}} or {{with}} before it", ""},
	{regexp.MustCompile(`^function "([^"]*)" not defined$`), "a known function (" + funcList() + " or a text/template builtin)", ""},
	{regexp.MustCompile(`^undefined variable "([^"]*)"$`), "a variable declared earlier with :=", ""},
	{regexp.MustCompile(`^unexpected "?(.*?)"? in operand$`), "an operand (field, variable, function or constant)", ""},
	{regexp.MustCompile(`^unexpected (.*) in (.*)$`), "", ""},
	{regexp.MustCompile(`^missing value for (.*)$`), "a value", "nothing"},
	{regexp.MustCompile(`^expected end; found (.*)$`), "{{end}}", ""},
	{regexp.MustCompile(`^unterminated quoted string$`), `a closing '"'`, "end of action"},
	{regexp.MustCompile(`^unterminated raw quoted string$`), "a closing '`'", "end of file"},
	{regexp.MustCompile(`^unclosed comment$`), `"*/}}" closing the comment`, "end of file"},
	{regexp.MustCompile(`^unexpected right paren$`), "an operand", `")"`},
	{regexp.MustCompile(`^bad character (U\+[0-9A-F]+.*)$`), "a valid action character", ""},
}

func funcList() string {
	names := make([]string, 0, len(Funcs()))
	for k := range Funcs() {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var (
	reParseLoc = regexp.MustCompile(`^template: (.*?):(\d+): (.*)$`)
	reExecLoc  = regexp.MustCompile(`^template: (.*?):(\d+):(\d+): (executing .*)$`)
	reExecName = regexp.MustCompile(`^template: (.*?): (.*)$`)
	reBadChar  = regexp.MustCompile(`^U\+[0-9A-F]+ '(.+)'`)
)

// parseError turns a text/template parse error into an *Error, working
// out the column from the offending token where the message names one.
func parseError(name, text string, err error) error {
	msg := err.Error()
	m := reParseLoc.FindStringSubmatch(msg)
	if m == nil || !strings.HasPrefix(m[1], name) {
		// Unknown shape: keep the message, locate nothing.
		return &Error{File: name, Msg: strings.TrimPrefix(msg, "template: ")}
	}
	line, _ := strconv.Atoi(m[2])
	e := &Error{File: name, Line: line, Col: 1, Msg: m[3]}
	token := ""
	for _, h := range hints {
		sm := h.re.FindStringSubmatch(e.Msg)
		if sm == nil {
			continue
		}
		if len(sm) > 1 {
			token = sm[1]
		}
		if h.expected == "" && h.found == "" {
			// Generic "unexpected X in Y": X found, Y context.
			if len(sm) > 2 {
				e.Expected = "something valid in " + sm[2]
				e.Found = sm[1]
			}
			break
		}
		e.Expected = h.expected
		e.Found = h.found
		if e.Found == "" {
			e.Found = token
		}
		break
	}
	e.Col = column(text, line, e.Msg, token)
	return e
}

// column finds the 1-based byte column of the error on line: the offending
// token inside an action, else the last "{{" for unclosed actions, else 1.
func column(text string, line int, msg, token string) int {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	last := func(sub string) int {
		if i := strings.LastIndex(l, sub); i >= 0 {
			return i + 1
		}
		return 1
	}
	switch {
	case msg == "unexpected EOF":
		return len(l) + 1
	case strings.HasPrefix(msg, "unclosed action"):
		return last("{{")
	case msg == "unclosed left paren":
		return last("(")
	case msg == "unterminated quoted string":
		return last(`"`)
	case msg == "unterminated raw quoted string":
		return last("`")
	case msg == "unterminated character constant":
		return last("'")
	case msg == "unexpected right paren":
		token = ")"
	}
	if m := reBadChar.FindStringSubmatch(token); m != nil {
		token = m[1]
	}
	token = strings.Trim(token, `"`)
	if token == "" {
		return 1
	}
	// Search inside actions first so a token that also appears in plain
	// text is not mistaken for the error.
	for start := 0; ; {
		open := strings.Index(l[start:], "{{")
		if open < 0 {
			break
		}
		open += start
		end := strings.Index(l[open:], "}}")
		if end < 0 {
			end = len(l)
		} else {
			end += open + 2
		}
		if i := strings.Index(l[open:end], token); i >= 0 {
			return open + i + 1
		}
		start = end
		if start >= len(l) {
			break
		}
	}
	if i := strings.Index(l, token); i >= 0 {
		return i + 1
	}
	return 1
}

// execError turns a text/template execution error into an *Error.
func execError(name string, err error) error {
	var ee template.ExecError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = ee.Err.Error()
	}
	if m := reExecLoc.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		return &Error{File: m[1], Line: line, Col: col + 1, Msg: m[4]}
	}
	if m := reExecName.FindStringSubmatch(msg); m != nil {
		return &Error{File: m[1], Msg: m[2]}
	}
	return &Error{File: name, Msg: msg}
}
