package mdesc

import (
	"regexp"
	"strings"
)

// Redacted is what Redact puts in place of a secret value.
const Redacted = "[REDACTED]"

// The patterns are applied in order. Each keeps the name of what it hides
// (header, key, scheme) and replaces only the value. A value that is already
// Redacted matches again and is replaced by itself, so Redact is idempotent.
var (
	// Authorization: Bearer abc / Proxy-Authorization: Basic xyz /
	// authorization="Bearer abc" (quoted header fields in access logs).
	reAuthHeader = regexp.MustCompile(`(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:((?:bearer|basic|digest|negotiate|token|aws4-hmac-sha256)\s+)|\s*)([^\s"',;]+)`)
	// Cookie: a=1; b=2 and Set-Cookie: sid=abc; Path=/ — values up to the
	// end of the line or a closing quote.
	reCookieHeader = regexp.MustCompile(`(?i)(\b(set-cookie|cookie)\s*:\s*"?)([^"\r\n]*)`)
	// Bearer tokens quoted without the header name.
	reBearer = regexp.MustCompile(`(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})`)
	// JSON Web Tokens: header.payload.signature, both first parts JSON objects.
	reJWT = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)
	// AWS access key ids.
	reAWSKey = regexp.MustCompile(`\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b`)
	// key=value / key: value / "key":"value" for secret-looking keys, in
	// query strings, kv logs and JSON.
	reKV = regexp.MustCompile(`(?i)((?:^|[^A-Za-z0-9_-])[A-Za-z0-9_-]*(?:token|secret|password|passwd|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|secret[_-]?key|client[_-]?secret|session[_-]?id|sessionid)["']?\s*[:=]\s*["']?)(\[REDACTED\]|[^\s&"',;}\])]+)`)
	// Credentials in URLs: scheme://user:password@host.
	reURLCred = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@"']+:)([^/\s@"']+)(@)`)
)

// Redact returns s with secret values replaced by Redacted: Authorization
// and Proxy-Authorization credentials (the scheme word is kept), Cookie and
// Set-Cookie values (cookie names and Set-Cookie attributes are kept),
// bare "Bearer <token>", JWT-shaped strings, AWS access key ids, the values
// of token/secret/password/api_key-like keys in query strings, key=value
// and JSON, and passwords in URLs. It is meant for drafts that leave the
// team; it errs on the side of hiding too much. Text with nothing to hide
// is returned unchanged.
func Redact(s string) string {
	if s == "" || !mayHold(s) {
		return s
	}
	s = reAuthHeader.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = reCookieHeader.ReplaceAllStringFunc(s, redactCookie)
	s = reBearer.ReplaceAllString(s, "${1}"+Redacted)
	s = reJWT.ReplaceAllString(s, Redacted)
	s = reAWSKey.ReplaceAllString(s, Redacted)
	s = reKV.ReplaceAllString(s, "${1}"+Redacted)
	s = reURLCred.ReplaceAllString(s, "${1}"+Redacted+"${3}")
	return s
}

// mayHold is a cheap pre-check: every pattern needs one of these substrings
// (case-insensitively) or an AWS key prefix or a URL.
func mayHold(s string) bool {
	l := strings.ToLower(s)
	for _, k := range []string{"auth", "cookie", "bearer", "eyj", "akia", "asia", "aida", "aroa", "token", "secret", "pass", "pwd", "key", "session", "://"} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

// redactCookie rewrites one matched Cookie/Set-Cookie header: every
// name=value pair of a Cookie keeps its name; a Set-Cookie keeps its
// attributes (Path, Domain, Expires, ...) and hides only the first pair's
// value.
func redactCookie(m string) string {
	sub := reCookieHeader.FindStringSubmatch(m)
	if sub == nil {
		return m
	}
	prefix, name, val := sub[1], sub[2], sub[3]
	setCookie := strings.EqualFold(name, "set-cookie")
	parts := strings.Split(val, ";")
	for i, p := range parts {
		if setCookie && i > 0 {
			break
		}
		if strings.TrimSpace(p) == "" {
			continue
		}
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			lead := p[:len(p)-len(strings.TrimLeft(p, " "))]
			parts[i] = lead + Redacted
			continue
		}
		parts[i] = p[:eq+1] + Redacted
	}
	return prefix + strings.Join(parts, ";")
}
