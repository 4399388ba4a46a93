// Package confdiff reads nginx and HAProxy configurations into the settings
// they declare, keyed by the context they sit in, and compares two versions
// of one configuration setting by setting: "keepalive_timeout 65s -> 2s in
// http", "keepalive 32 -> removed in upstream app", "weight 10 -> 0 on
// server be_app/vm-a".
//
// The comparison is semantic: whitespace, quoting of plain words, comments
// and the order of settings do not count as changes.
package confdiff

import (
	"cmp"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind is the dialect of a configuration file.
type Kind string

// Dialects.
const (
	Unknown Kind = ""
	Nginx   Kind = "nginx"
	HAProxy Kind = "haproxy"
)

// Config is what a configuration declares.
type Config struct {
	Kind     Kind
	Settings []Setting
	// Problems lists what the parser could not make sense of, with lines.
	Problems []string
}

// Setting is one directive in its context.
type Setting struct {
	// Context names the enclosing blocks or section: "http", "upstream
	// app", "server :443 > location /ws", "defaults", "backend be_app".
	Context string
	// Name is the directive, with the words that select what it sets for
	// HAProxy: "keepalive_timeout", "timeout tunnel", "option http-keep-alive".
	Name string
	// Key tells apart settings of one Name repeated in one context (the
	// first argument: the header of proxy_set_header, the server's name).
	Key string
	// Value is the normalised arguments ("on" when there are none).
	Value string
	// Line is the 1-based line of the directive; Text that line, trimmed.
	Line int
	Text string
	// Sub holds the options of a server line (address, weight, flags with
	// value "yes"), compared one by one in SubContext; nil for other
	// directives. Server names the server ("vm-a", "10.0.0.1:8080").
	Sub        map[string]string
	SubContext string
	Server     string
}

// Change is one difference between two versions of a configuration.
type Change struct {
	// Setting is what changed ("keepalive_timeout", "timeout client",
	// "weight", "server"), in Context.
	Setting string
	Context string
	// From is the old value, "" when the setting was added; To is the new
	// value, "removed" when it was removed.
	From, To string
	// Line and Text are the directive in the new version, or in the old
	// one when it was removed (then Old is true).
	Line int
	Text string
	Old  bool
	// Server is the server the change concerns, if any.
	Server string
}

// Removed is the To of a setting that is gone.
const Removed = "removed"

// Parse reads data as the given dialect; Unknown gives an empty Config.
func Parse(k Kind, data []byte) *Config {
	switch k {
	case Nginx:
		return ParseNginx(data)
	case HAProxy:
		return ParseHAProxy(data)
	}
	return &Config{}
}

// Diff returns the changes from old to new, sorted by line (in the new
// version; removals by their line in the old one), then context and
// setting. A nil Config counts as empty.
func Diff(old, new *Config) []Change {
	if old == nil {
		old = &Config{}
	}
	if new == nil {
		new = &Config{}
	}
	type gkey struct{ ctx, name string }
	group := func(c *Config) (map[gkey][]*Setting, []gkey) {
		m := map[gkey][]*Setting{}
		var order []gkey
		for i := range c.Settings {
			s := &c.Settings[i]
			k := gkey{s.Context, s.Name}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], s)
		}
		return m, order
	}
	om, oorder := group(old)
	nm, norder := group(new)
	keys := norder
	for _, k := range oorder {
		if _, ok := nm[k]; !ok {
			keys = append(keys, k)
		}
	}
	var out []Change
	for _, k := range keys {
		out = diffGroup(out, om[k], nm[k])
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), -compareBool(a.Old, b.Old), cmp.Compare(a.Context, b.Context),
			cmp.Compare(a.Setting, b.Setting), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return out
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// diffGroup compares the settings of one name in one context.
func diffGroup(out []Change, olds, news []*Setting) []Change {
	sub := len(olds) > 0 && olds[0].Sub != nil || len(news) > 0 && news[0].Sub != nil
	if !sub && len(olds) == 1 && len(news) == 1 {
		return modified(out, olds[0], news[0])
	}
	// Repeated (or server) settings: match by key, then by value.
	byKey := func(ss []*Setting) (map[string][]*Setting, []string) {
		m := map[string][]*Setting{}
		var order []string
		for _, s := range ss {
			if _, ok := m[s.Key]; !ok {
				order = append(order, s.Key)
			}
			m[s.Key] = append(m[s.Key], s)
		}
		return m, order
	}
	ok, oorder := byKey(olds)
	nk, norder := byKey(news)
	keys := norder
	for _, k := range oorder {
		if _, in := nk[k]; !in {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		os, ns := ok[k], nk[k]
		if len(os) == 1 && len(ns) == 1 {
			out = modified(out, os[0], ns[0])
			continue
		}
		// Drop identical values, then pair what is left in order.
		used := make([]bool, len(os))
		var ns2 []*Setting
		for _, n := range ns {
			found := false
			for i, o := range os {
				if !used[i] && sameSetting(o, n) {
					used[i], found = true, true
					break
				}
			}
			if !found {
				ns2 = append(ns2, n)
			}
		}
		var os2 []*Setting
		for i, o := range os {
			if !used[i] {
				os2 = append(os2, o)
			}
		}
		for len(os2) > 0 && len(ns2) > 0 {
			out = modified(out, os2[0], ns2[0])
			os2, ns2 = os2[1:], ns2[1:]
		}
		for _, o := range os2 {
			out = append(out, Change{Setting: o.Name, Context: o.Context, From: o.Value, To: Removed, Line: o.Line, Text: o.Text, Old: true, Server: o.Server})
		}
		for _, n := range ns2 {
			out = append(out, Change{Setting: n.Name, Context: n.Context, To: n.Value, Line: n.Line, Text: n.Text, Server: n.Server})
		}
	}
	return out
}

func sameSetting(a, b *Setting) bool {
	if a.Sub != nil || b.Sub != nil {
		return a.Sub != nil && b.Sub != nil && a.Key == b.Key && equalMaps(a.Sub, b.Sub)
	}
	return a.Value == b.Value
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// modified compares one old and one new setting of the same name.
func modified(out []Change, o, n *Setting) []Change {
	if o.Sub == nil || n.Sub == nil || o.Key != n.Key {
		if o.Sub != nil || n.Sub != nil {
			if sameSetting(o, n) {
				return out
			}
			if o.Key != n.Key {
				// A different server: one left, another came.
				out = append(out, Change{Setting: o.Name, Context: o.Context, From: o.Value, To: Removed, Line: o.Line, Text: o.Text, Old: true, Server: o.Server})
				return append(out, Change{Setting: n.Name, Context: n.Context, To: n.Value, Line: n.Line, Text: n.Text, Server: n.Server})
			}
		}
		if o.Value == n.Value {
			return out
		}
		return append(out, Change{Setting: n.Name, Context: n.Context, From: o.Value, To: n.Value, Line: n.Line, Text: n.Text, Server: n.Server})
	}
	keys := make([]string, 0, len(o.Sub)+len(n.Sub))
	for k := range n.Sub {
		keys = append(keys, k)
	}
	for k := range o.Sub {
		if _, ok := n.Sub[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ov, oin := o.Sub[k]
		nv, nin := n.Sub[k]
		c := Change{Setting: k, Context: n.SubContext, Line: n.Line, Text: n.Text, Server: n.Server}
		switch {
		case oin && nin && ov == nv:
			continue
		case oin && nin:
			c.From, c.To = ov, nv
		case nin && nv == "yes":
			c.From, c.To = "no", "yes"
		case nin:
			c.To = nv
		case ov == "yes":
			c.From, c.To = "yes", "no"
		default:
			c.From, c.To = ov, Removed
		}
		out = append(out, c)
	}
	return out
}

// joinArgs normalises arguments: single spaces, quotes only where a word
// needs them.
func joinArgs(args []string) string {
	if len(args) == 0 {
		return "on"
	}
	var sb strings.Builder
	for i, a := range args {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(quoteArg(a))
	}
	return sb.String()
}

// quoteArg returns a, or a in double quotes when it is empty or holds
// white space, quotes, comment or block characters.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\r\n\f\v\"';{}#") {
		return a
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch c := a[i]; c {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\n':
			sb.WriteString(`\n`)
		case '\t':
			sb.WriteString(`\t`)
		case '\r':
			sb.WriteString(`\r`)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// splitLines returns the lines of data, without their line ends.
func splitLines(data []byte) []string {
	return strings.Split(string(data), "\n")
}

// maxText bounds the quoted line text.
const maxText = 512

// lineText returns line n (1-based) trimmed, at most maxText bytes.
func lineText(lines []string, n int) string {
	if n < 1 || n > len(lines) {
		return ""
	}
	s := strings.TrimSpace(lines[n-1])
	if len(s) > maxText {
		s = s[:maxText]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// KindFromName guesses the dialect from a slash-separated path alone:
// nginx.conf, *.conf under nginx/, sites-*/ or conf.d/ are nginx;
// haproxy.cfg and *.cfg are HAProxy. A leading or trailing "nginx" or
// "haproxy" in the file name counts too (nginx-vm-b.conf).
func KindFromName(p string) Kind {
	p = strings.ToLower(strings.ReplaceAll(p, "\\", "/"))
	base := path.Base(p)
	ext := path.Ext(base)
	switch {
	case base == "nginx.conf":
		return Nginx
	case base == "haproxy.cfg":
		return HAProxy
	case ext == ".cfg":
		return HAProxy
	case ext != ".conf":
		return Unknown
	case strings.Contains(base, "haproxy"):
		return HAProxy
	case strings.Contains(base, "nginx"):
		return Nginx
	}
	for _, d := range strings.Split(path.Dir(p), "/") {
		if d == "nginx" || d == "conf.d" || strings.HasPrefix(d, "sites-") || strings.HasPrefix(d, "nginx") {
			return Nginx
		}
		if strings.HasPrefix(d, "haproxy") {
			return HAProxy
		}
	}
	return Unknown
}

// sniffBytes is how much of a file Sniff looks at.
const sniffBytes = 64 << 10

// Sniff guesses the dialect from content: HAProxy section headers
// (global, defaults, frontend, backend, listen) with HAProxy keywords, or
// nginx directives ending in ";" or opening "{" blocks. Unknown when
// neither is clear.
func Sniff(data []byte) Kind {
	if len(data) > sniffBytes {
		data = data[:sniffBytes]
	}
	if looksBinary(data) {
		return Unknown
	}
	var ngx, hap, sections int
	for _, l := range splitLines(data) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Fields(l)
		w := strings.ToLower(f[0])
		end := l[len(l)-1]
		if end == ';' || end == '{' {
			if nginxWords[strings.TrimRight(w, ";{")] {
				ngx++
			}
			continue
		}
		if sectionWords[w] {
			sections++
			continue
		}
		if haproxyWords[w] {
			hap++
		}
	}
	switch {
	case sections > 0 && hap > 0 && hap+sections > ngx:
		return HAProxy
	case ngx > 0:
		return Nginx
	}
	return Unknown
}

// Detect returns the dialect of a file: from its content when Sniff is
// sure, else from its name.
func Detect(p string, data []byte) Kind {
	if k := Sniff(data); k != Unknown {
		return k
	}
	if looksBinary(data[:min(len(data), sniffBytes)]) {
		return Unknown
	}
	return KindFromName(p)
}

func looksBinary(b []byte) bool {
	return slices.Contains(b, 0)
}

var nginxWords = map[string]bool{
	"http": true, "events": true, "server": true, "location": true, "upstream": true,
	"listen": true, "server_name": true, "proxy_pass": true, "keepalive_timeout": true,
	"keepalive": true, "worker_processes": true, "worker_connections": true, "include": true,
	"root": true, "error_log": true, "access_log": true, "proxy_read_timeout": true,
	"return": true, "rewrite": true, "ssl_certificate": true, "stream": true, "map": true,
	"gzip": true, "sendfile": true, "user": true, "pid": true, "proxy_set_header": true,
	"worker_shutdown_timeout": true, "index": true, "add_header": true, "log_format": true,
	"proxy_http_version": true, "keepalive_requests": true, "client_max_body_size": true,
}

var sectionWords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
}

var haproxyWords = map[string]bool{
	"timeout": true, "bind": true, "server": true, "mode": true, "balance": true,
	"option": true, "maxconn": true, "default_backend": true, "use_backend": true,
	"log": true, "acl": true, "http-request": true, "default-server": true,
	"stats": true, "retries": true, "nbthread": true, "daemon": true,
}
