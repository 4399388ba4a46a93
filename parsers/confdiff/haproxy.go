package confdiff

import (
	"fmt"
	"strings"
)

// HAProxyLine is one non-empty line of an HAProxy configuration split into
// words: quotes removed ("..." with backslash escapes, '...' literal), a
// backslash outside quotes escaping the next character, and "#" outside
// quotes starting a comment.
type HAProxyLine struct {
	Words []string
	Line  int
}

// TokenizeHAProxy splits an HAProxy configuration into lines of words,
// dropping comments and blank lines. It never fails; an unterminated quote
// ends with its line and is reported in problems.
func TokenizeHAProxy(data []byte) (out []HAProxyLine, problems []string) {
	for i, l := range splitLines(data) {
		words, ok := splitHAProxyWords(l)
		if !ok {
			problems = append(problems, fmt.Sprintf("line %d: unterminated quoted string", i+1))
		}
		if len(words) > 0 {
			out = append(out, HAProxyLine{Words: words, Line: i + 1})
		}
	}
	return out, problems
}

func splitHAProxyWords(l string) (words []string, ok bool) {
	var sb strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, sb.String())
			sb.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			flush()
		case c == '#':
			flush()
			return words, true
		case c == '\\' && i+1 < len(l):
			sb.WriteByte(l[i+1])
			inWord = true
			i++
		case c == '"' || c == '\'':
			inWord = true
			j := i + 1
			for ; j < len(l) && l[j] != c; j++ {
				if c == '"' && l[j] == '\\' && j+1 < len(l) {
					j++
				}
				sb.WriteByte(l[j])
			}
			if j >= len(l) {
				flush()
				return words, false
			}
			i = j
		default:
			sb.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, true
}

// sections are the HAProxy section keywords.
var sections = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"resolvers": true, "peers": true, "userlist": true, "cache": true, "program": true,
	"http-errors": true, "ring": true, "mailers": true, "log-forward": true,
	"crt-store": true, "traces": true, "fcgi-app": true,
}

// twoWord are keywords whose first argument is part of the setting's name.
var twoWord = map[string]bool{
	"timeout": true, "option": true, "stats": true, "compression": true,
	"email-alert": true,
}

// ParseHAProxy reads an HAProxy configuration into its settings. The
// context is the section: "global", "defaults" (or "defaults NAME"),
// "frontend fe", "backend be_app", "listen stats". "timeout X", "option
// X" ("no option X" gives the value "off") and "stats X" are settings of
// their own. A "server NAME ADDR ..." line is a server of its section,
// compared option by option (address, weight, maxconn, disabled, ...) in
// the context "BACKEND/NAME"; "default-server" likewise. ParseHAProxy never
// fails; what it could not make sense of is listed in Config.Problems.
func ParseHAProxy(data []byte) *Config {
	toks, problems := TokenizeHAProxy(data)
	cfg := &Config{Kind: HAProxy, Problems: problems}
	lines := splitLines(data)
	ctx, name := "", ""
	seen := map[string]int{}
	for _, l := range toks {
		w := l.Words
		kw := strings.ToLower(w[0])
		if sections[kw] {
			ctx = kw
			name = ""
			if len(w) > 1 {
				name = w[1]
				ctx += " " + name
			}
			seen[ctx]++
			if k := seen[ctx]; k > 1 {
				ctx += fmt.Sprintf(" #%d", k)
			}
			continue
		}
		sctx := ctx
		if sctx == "" {
			sctx = "(before any section)"
		}
		s := Setting{Context: sctx, Line: l.Line, Text: lineText(lines, l.Line)}
		args := w[1:]
		off := false
		if kw == "no" && len(args) > 0 {
			off = true
			kw, args = strings.ToLower(args[0]), args[1:]
		}
		if kw == "default" && len(args) > 0 && strings.EqualFold(args[0], "option") {
			kw, args = "option", args[1:]
		}
		s.Name = quoteArg(kw)
		if twoWord[kw] && len(args) > 0 {
			s.Name, args = kw+" "+quoteArg(args[0]), args[1:]
		}
		s.Value = joinArgs(args) // "on" when there are none
		if off {
			s.Value = "off"
		}
		if len(args) > 0 {
			s.Key = args[0]
		}
		if !off && (kw == "server" && len(args) >= 1 || kw == "default-server") {
			parseServer(&s, kw, args, name)
		}
		cfg.Settings = append(cfg.Settings, s)
	}
	return cfg
}

// parseServer fills the options of a server or default-server line.
func parseServer(s *Setting, kw string, args []string, section string) {
	s.Sub = map[string]string{}
	opts := args
	if kw == "server" {
		s.Key = args[0]
		s.Server = args[0]
		s.SubContext = section + "/" + args[0]
		opts = args[1:]
		if len(opts) > 0 {
			s.Sub["address"] = opts[0]
			opts = opts[1:]
		}
	} else {
		s.Key = ""
		s.SubContext = section + "/default-server"
	}
	for i := 0; i < len(opts); i++ {
		o := strings.ToLower(opts[i])
		if serverArgOpts[o] && i+1 < len(opts) {
			s.Sub[o] = opts[i+1]
			i++
			continue
		}
		s.Sub[o] = "yes"
	}
}

// serverArgOpts are the server options that take one argument.
var serverArgOpts = map[string]bool{
	"addr": true, "agent-addr": true, "agent-inter": true, "agent-port": true, "agent-send": true,
	"alpn": true, "ca-file": true, "check-alpn": true, "check-proto": true, "check-sni": true,
	"ciphers": true, "ciphersuites": true, "client-sigalgs": true, "cookie": true, "crl-file": true,
	"crt": true, "curves": true, "downinter": true, "error-limit": true, "fall": true,
	"fastinter": true, "guid": true, "hash-key": true, "id": true, "init-addr": true,
	"init-state": true, "inter": true, "log-bufsize": true, "log-proto": true, "max-reuse": true,
	"maxconn": true, "maxqueue": true, "minconn": true, "namespace": true, "npn": true,
	"observe": true, "on-error": true, "on-marked-down": true, "on-marked-up": true,
	"pool-conn-name": true, "pool-low-conn": true, "pool-max-conn": true, "pool-purge-delay": true,
	"port": true, "proto": true, "redir": true, "resolve-net": true, "resolve-opts": true,
	"resolve-prefer": true, "resolvers": true, "rise": true, "set-proxy-v2-tlv-fmt": true,
	"shard": true, "sigalgs": true, "slowstart": true, "sni": true, "source": true,
	"ssl-max-ver": true, "ssl-min-ver": true, "tcp-ut": true, "track": true, "verify": true,
	"verifyhost": true, "weight": true, "ws": true, "usesrc": true, "interface": true,
}
