package confdiff

import (
	"fmt"
	"strings"
)

// tokKind is the kind of an nginx token.
type tokKind uint8

const (
	tokWord  tokKind = iota // a bare or quoted word
	tokSemi                 // ;
	tokOpen                 // {
	tokClose                // }
)

// Token is one lexical unit of an nginx configuration. Text is the word with
// quotes removed and escapes resolved; Quoted says it was quoted.
type Token struct {
	Kind   tokKind
	Text   string
	Quoted bool
	Line   int
}

// TokenizeNginx splits an nginx configuration into tokens: words (bare or
// in single or double quotes), ";", "{" and "}". Comments ("#" at the start
// of a word, to the end of the line) are dropped; "${var}" stays inside its
// word. It never fails: an unterminated quote runs to the end of the input
// and is reported in problems with its line.
func TokenizeNginx(data []byte) (toks []Token, problems []string) {
	line := 1
	i := 0
	n := len(data)
	for i < n {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < n && data[i] != '\n' {
				i++
			}
		case c == ';':
			toks = append(toks, Token{Kind: tokSemi, Text: ";", Line: line})
			i++
		case c == '{':
			toks = append(toks, Token{Kind: tokOpen, Text: "{", Line: line})
			i++
		case c == '}':
			toks = append(toks, Token{Kind: tokClose, Text: "}", Line: line})
			i++
		case c == '"' || c == '\'':
			start := line
			var sb strings.Builder
			i++
			closed := false
			for i < n {
				d := data[i]
				if d == '\\' && i+1 < n {
					e := data[i+1]
					switch e {
					case '"', '\'', '\\':
						sb.WriteByte(e)
					case 't':
						sb.WriteByte('\t')
					case 'r':
						sb.WriteByte('\r')
					case 'n':
						sb.WriteByte('\n')
					default:
						sb.WriteByte('\\')
						sb.WriteByte(e)
					}
					if e == '\n' {
						line++
					}
					i += 2
					continue
				}
				if d == c {
					closed = true
					i++
					break
				}
				if d == '\n' {
					line++
				}
				sb.WriteByte(d)
				i++
			}
			if !closed {
				problems = append(problems, fmt.Sprintf("line %d: unterminated quoted string", start))
			}
			toks = append(toks, Token{Kind: tokWord, Text: sb.String(), Quoted: true, Line: start})
		default:
			start := i
			for i < n {
				d := data[i]
				if d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == '\f' || d == '\v' || d == ';' || d == '}' {
					break
				}
				if d == '{' {
					if i > start && data[i-1] == '$' {
						// ${var}: the braces belong to the word.
						for i < n && data[i] != '}' && data[i] != '\n' {
							i++
						}
						if i < n && data[i] == '}' {
							i++
						}
						continue
					}
					break
				}
				if d == '\\' && i+1 < n && data[i+1] != '\n' {
					i += 2
					continue
				}
				i++
			}
			toks = append(toks, Token{Kind: tokWord, Text: string(data[start:i]), Line: line})
		}
	}
	return toks, problems
}

// node is a directive of an nginx configuration; a block has children.
type node struct {
	name     string
	args     []string
	line     int
	block    bool
	children []*node
}

// maxDepth bounds block nesting so that hostile input cannot exhaust the
// stack when the tree is walked.
const maxDepth = 64

// parseNginxTree builds the directive tree. Unbalanced braces and a missing
// final ";" are tolerated and reported.
func parseNginxTree(toks []Token) (root *node, problems []string) {
	root = &node{block: true}
	stack := []*node{root}
	var cur *node // directive being read
	for _, t := range toks {
		top := stack[len(stack)-1]
		switch t.Kind {
		case tokWord:
			if cur == nil {
				cur = &node{name: t.Text, line: t.Line}
				if t.Quoted {
					cur.name = quoteArg(t.Text)
				}
				continue
			}
			cur.args = append(cur.args, t.Text)
		case tokSemi:
			if cur == nil {
				problems = append(problems, fmt.Sprintf("line %d: unexpected \";\"", t.Line))
				continue
			}
			top.children = append(top.children, cur)
			cur = nil
		case tokOpen:
			if cur == nil {
				problems = append(problems, fmt.Sprintf("line %d: \"{\" without a block name", t.Line))
				cur = &node{name: "{", line: t.Line}
			}
			cur.block = true
			top.children = append(top.children, cur)
			if len(stack) < maxDepth {
				stack = append(stack, cur)
			} else {
				problems = append(problems, fmt.Sprintf("line %d: blocks nested deeper than %d", t.Line, maxDepth))
			}
			cur = nil
		case tokClose:
			if cur != nil {
				problems = append(problems, fmt.Sprintf("line %d: directive %q is missing its \";\"", cur.line, cur.name))
				top.children = append(top.children, cur)
				cur = nil
			}
			if len(stack) == 1 {
				problems = append(problems, fmt.Sprintf("line %d: unexpected \"}\"", t.Line))
				continue
			}
			stack = stack[:len(stack)-1]
		}
	}
	if cur != nil {
		problems = append(problems, fmt.Sprintf("line %d: directive %q is missing its \";\"", cur.line, cur.name))
		stack[len(stack)-1].children = append(stack[len(stack)-1].children, cur)
	}
	if len(stack) > 1 {
		problems = append(problems, fmt.Sprintf("end of file: %d block(s) not closed", len(stack)-1))
	}
	return root, problems
}

// ParseNginx reads an nginx configuration into its settings. Each directive
// becomes a Setting in the context of its enclosing blocks: "main" at the
// top, "http", "events", "upstream app", "server :443" (by its first listen
// address, with the server name added when two servers share it),
// "server :443 > location /ws". "include" stays a directive: included files
// are not read. Servers of an upstream block are parsed option by option.
// ParseNginx never fails; what it could not make sense of is listed in
// Config.Problems.
func ParseNginx(data []byte) *Config {
	toks, problems := TokenizeNginx(data)
	root, p2 := parseNginxTree(toks)
	cfg := &Config{Kind: Nginx, Problems: append(problems, p2...)}
	lines := splitLines(data)
	flattenNginx(cfg, root, nil, lines)
	return cfg
}

func flattenNginx(cfg *Config, n *node, path []string, lines []string) {
	labels := blockLabels(n.children)
	ctx := nginxContext(path)
	for i, c := range n.children {
		if c.block {
			flattenNginx(cfg, c, append(path[:len(path):len(path)], labels[i]), lines)
			continue
		}
		s := Setting{Context: ctx, Name: c.name, Value: joinArgs(c.args), Line: c.line, Text: lineText(lines, c.line)}
		if len(c.args) > 0 {
			s.Key = c.args[0]
		}
		if c.name == "server" && len(path) > 0 && strings.HasPrefix(path[len(path)-1], "upstream") && len(c.args) > 0 {
			s.Sub = map[string]string{"address": c.args[0]}
			for _, a := range c.args[1:] {
				if k, v, ok := strings.Cut(a, "="); ok {
					s.Sub[k] = v
				} else {
					s.Sub[a] = "yes"
				}
			}
			s.SubContext = ctx + " > server " + c.args[0]
			s.Server = c.args[0]
		}
		cfg.Settings = append(cfg.Settings, s)
	}
}

// nginxContext names a block path for display: "main" at the top, and the
// leading "http" dropped when something is nested inside it.
func nginxContext(path []string) string {
	if len(path) == 0 {
		return "main"
	}
	if len(path) > 1 && path[0] == "http" {
		path = path[1:]
	}
	return strings.Join(path, " > ")
}

// blockLabels names the blocks among siblings, uniquely.
func blockLabels(children []*node) []string {
	labels := make([]string, len(children))
	count := map[string]int{}
	for i, c := range children {
		if !c.block {
			continue
		}
		l := c.name
		if c.name == "server" && len(c.args) == 0 {
			l = "server " + listenKey(c)
			l = strings.TrimSpace(l)
		} else if len(c.args) > 0 {
			l += " " + joinArgs(c.args)
		}
		labels[i] = l
		count[l]++
	}
	// Servers sharing a listen address are told apart by server_name.
	for i, c := range children {
		if c.block && c.name == "server" && count[labels[i]] > 1 {
			if sn := firstArg(c, "server_name"); sn != "" {
				labels[i] += " " + sn
			}
		}
	}
	seen := map[string]int{}
	for i, c := range children {
		if !c.block {
			continue
		}
		seen[labels[i]]++
		if k := seen[labels[i]]; k > 1 {
			labels[i] += fmt.Sprintf(" #%d", k)
		}
	}
	return labels
}

// listenKey is the first listen address of a server block: "443" becomes
// ":443"; "" when there is none.
func listenKey(n *node) string {
	a := firstArg(n, "listen")
	if a == "" {
		return ""
	}
	if isDigits(a) {
		return ":" + a
	}
	return a
}

func firstArg(n *node, name string) string {
	for _, c := range n.children {
		if !c.block && c.name == name && len(c.args) > 0 {
			return c.args[0]
		}
	}
	return ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
