package ingest

import (
	"strings"
)

// genericDirs are directory names that never name a backend.
var genericDirs = map[string]bool{
	"log": true, "logs": true, "var": true, "nginx": true, "haproxy": true,
	"app": true, "apps": true, "application": true, "deploy": true, "deploys": true,
	"lb": true, "ss": true, "metrics": true, "kernel": true, "archive": true,
	"archives": true, "current": true, "old": true, "rotated": true, "tmp": true,
	"data": true, "incident": true, "incidents": true, "logfiles": true,
	"journal": true, "syslog": true, "jvm": true, "java": true, "gc": true,
	"ws": true, "sockstat": true, "dmesg": true, "releases": true, "backup": true,
	"k8s": true, "ec2": true, "pods": true, "containers": true, "case": true,
	"run": true, "runs": true, "bundle": true, "dump": true, "collected": true,
	"postmortem": true, "pm": true, "day": true, "jdk": true, "python": true,
}

// roleWords are file-name words that say what a log is, not where it is from.
var roleWords = map[string]bool{
	"nginx": true, "access": true, "error": true, "errors": true, "haproxy": true,
	"app": true, "application": true, "log": true, "logs": true, "ws": true,
	"metrics": true, "ss": true, "sockstat": true, "kernel": true, "deploy": true,
	"lb": true, "gc": true, "jvm": true, "syslog": true, "messages": true,
	"dmesg": true, "stdout": true, "stderr": true, "out": true, "err": true,
	"server": true, "websocket": true, "upstream": true, "proxy": true,
}

// hostPrefixes start names that are hosts when followed by a short id:
// vm-a, web-01, node3, i-0abc12.
var hostPrefixes = []string{
	"vm", "web", "app", "api", "node", "host", "srv", "server", "worker", "be",
	"backend", "ws", "db", "www", "pod", "box", "instance", "edge", "proxy",
	"fe", "frontend", "cache", "lb", "nginx", "haproxy", "jvm",
}

// strip these extensions from file names, repeatedly.
var fileExts = []string{".log", ".txt", ".json", ".jsonl", ".ndjson", ".out", ".err", ".csv", ".gz", ".zst", ".zstd"}

// BackendFromPath guesses the backend (host) a log file belongs to from its
// slash-separated path, or returns "". Directory names are tried from the
// innermost outward, skipping generic ones (logs, nginx, archive, ...); the
// first that looks like a host (vm-a, web-01, ip-10-0-0-3, node3, 10.0.0.3)
// wins. Failing that, the file name is tried: rotation suffixes, extensions
// and role words (nginx, access, error, app, metrics, ...) are removed and
// what remains wins if it looks like a host: "nginx-vm-a-error.log" → "vm-a".
// Hosts with a domain give their first label. The result is lower case.
func BackendFromPath(p string) string {
	return backendFromPath(p, false)
}

// backendFromPath is BackendFromPath; with strong it accepts only names
// with a known host prefix or an IP address.
func backendFromPath(p string, strong bool) string {
	p = strings.ReplaceAll(p, "\\", "/")
	segs := strings.Split(p, "/")
	file := segs[len(segs)-1]
	for i := len(segs) - 2; i >= 0; i-- {
		s := strings.ToLower(segs[i])
		if s == "" || s == "." || s == ".." || genericDirs[s] {
			continue
		}
		if h := hostName(s, strong); h != "" {
			return h
		}
	}
	return backendFromFile(file, strong)
}

func backendFromFile(name string, strong bool) string {
	name = strings.ToLower(name)
	name = parseRotation(name).base
	for changed := true; changed; {
		changed = false
		for _, ext := range fileExts {
			if len(name) > len(ext) && strings.HasSuffix(name, ext) {
				name = strings.TrimSuffix(name, ext)
				changed = true
			}
		}
	}
	// Split into tokens, remembering the separator before each.
	type tok struct {
		sep  byte
		text string
	}
	var toks []tok
	var sep byte
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '-' && name[i] != '_' && name[i] != '.' {
			continue
		}
		if i > start {
			toks = append(toks, tok{sep, name[start:i]})
		}
		if i < len(name) {
			sep = name[i]
		}
		start = i + 1
	}
	// Drop role words and dates (20260501, or 2026 05 01).
	var kept []tok
	for i := 0; i < len(toks); i++ {
		t := toks[i].text
		if roleWords[t] {
			continue
		}
		if len(t) == 8 && allDigits(t) && plausibleDate(t) {
			continue
		}
		if len(t) == 4 && allDigits(t) && i+2 < len(toks) && len(toks[i+1].text) == 2 && len(toks[i+2].text) == 2 &&
			allDigits(toks[i+1].text) && allDigits(toks[i+2].text) && plausibleDate(t+toks[i+1].text+toks[i+2].text) {
			i += 2
			continue
		}
		kept = append(kept, toks[i])
	}
	var sb strings.Builder
	for i, t := range kept {
		if i > 0 {
			sb.WriteByte(t.sep)
		}
		sb.WriteString(t.text)
	}
	return hostName(sb.String(), strong)
}

// hostName returns s (or the first label of a dotted host name) if it looks
// like a host, else "".
func hostName(s string, strong bool) string {
	if s == "" || len(s) > 253 {
		return ""
	}
	if isIPv4(s) {
		return s
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	if isHostLike(s, strong) {
		return s
	}
	return ""
}

// isHostLike reports whether s, a lower-case name without dots, looks like
// a host: ip-10-0-0-3, a known prefix with a short id (vm-a, web-01, node3),
// or (unless strong) a dashed name with digits (prod-api-3).
func isHostLike(s string, strong bool) bool {
	if len(s) == 0 || len(s) > 63 || !validLabel(s) {
		return false
	}
	if strings.HasPrefix(s, "ip-") && isIPv4(strings.ReplaceAll(s[3:], "-", ".")) {
		return true
	}
	if strings.HasPrefix(s, "i-") && len(s) >= 10 && isHex(s[2:]) {
		return true // EC2 instance id
	}
	for _, p := range hostPrefixes {
		if !strings.HasPrefix(s, p) || len(s) == len(p) {
			continue
		}
		rest := s[len(p):]
		if c := rest[0]; c != '-' && c != '_' && (c < '0' || c > '9') {
			continue // "webserver" is not "web" + id
		}
		if rest[0] == '-' || rest[0] == '_' {
			rest = rest[1:]
			// vm-a, vm-b: a one- or two-letter id.
			if len(rest) >= 1 && len(rest) <= 2 && isAlpha(rest) {
				return true
			}
		}
		if rest != "" && hasDigit(rest) && validLabel(rest) {
			return true
		}
	}
	if strong {
		return false
	}
	// Any other name with letters and digits, not a version or a date,
	// whose letters are not just a generic word.
	if !hasDigit(s) || !hasAlpha(s) || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	if len(s) <= 4 && s[0] == 'v' && allDigits(strings.TrimLeft(s[1:], "0123456789.")+"0") {
		return false // v2, v10
	}
	word := strings.TrimRight(s, "0123456789-_")
	if genericDirs[word] || roleWords[word] {
		return false
	}
	return true
}

func validLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s[0] != '-' && s[len(s)-1] != '-'
}

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 3 || !allDigits(p) {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func hasAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}
