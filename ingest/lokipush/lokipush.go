// Package lokipush receives log lines pushed with the Loki push API
// (POST /loki/api/v1/push), so that existing shippers (promtail, Grafana
// Alloy, Fluent Bit, Vector) can stream into postmortem.
//
// Two encodings are accepted, as Loki accepts them:
//   - protobuf (github.com/grafana/loki/pkg/push PushRequest) compressed
//     with raw block snappy, the default of every shipper;
//   - JSON ({"streams":[{"stream":{labels},"values":[["<ns>","line"]]}]}),
//     optionally with Content-Encoding gzip.
//
// Every request is bounded twice: the body by Options.MaxBody (413), and
// the decoded payload by Options.MaxDecoded, checked before any
// decompression buffer is allocated (snappy's stated length; a gzip stream
// is read through a limit), so a decompression bomb is refused with 413
// without the memory it claims.
package lokipush

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/postmortem-tool/postmortem/ingest"
)

// Path is the URL path the handler serves.
const Path = "/loki/api/v1/push"

// Default limits.
const (
	DefaultMaxBody    = 8 << 20
	DefaultMaxDecoded = 64 << 20
)

// Label is one stream label.
type Label struct{ Name, Value string }

// Labels are a stream's labels, sorted by name.
type Labels []Label

// Get returns the value of the label name ("" if absent).
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// String formats ls in the Prometheus/Loki selector syntax,
// {a="x",b="y"}, names sorted, values quoted with Go escapes.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

func fromMap(m map[string]string) Labels {
	ls := make(Labels, 0, len(m))
	for k, v := range m {
		ls = append(ls, Label{k, v})
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return ls
}

// ParseLabels parses a label set in selector syntax ({a="x", b="y"}), as
// the protobuf encoding carries it. Names are sorted in the result; a
// repeated name keeps its last value.
func ParseLabels(s string) (Labels, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, errors.New("labels: expected {name=\"value\",...}")
	}
	s = s[1 : len(s)-1]
	m := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, errors.New("labels: expected name=")
		}
		name := strings.TrimSpace(s[:eq])
		if !validName(name) {
			return nil, fmt.Errorf("labels: invalid name %q", name)
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		if s == "" || s[0] != '"' {
			return nil, errors.New("labels: expected a quoted value")
		}
		end := 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return nil, errors.New("labels: unterminated value")
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return nil, fmt.Errorf("labels: bad value: %v", err)
		}
		m[name] = v
		s = s[end+1:]
	}
	return fromMap(m), nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Handler serves the push API. Its fields are read-only once it serves.
type Handler struct {
	// MaxBody bounds the request body as sent (default DefaultMaxBody).
	MaxBody int64
	// MaxDecoded bounds the body once decompressed (default
	// DefaultMaxDecoded).
	MaxDecoded int64
	// Token, if not empty, must be sent as "Authorization: Bearer TOKEN".
	Token string
	// Deliver is called for each entry, in request order, from the
	// request's goroutine (concurrent requests call it concurrently). line
	// is only valid during the call.
	Deliver func(ls Labels, ts time.Time, line string)
}

// httpError is a status and a message for the client.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

// ServeHTTP accepts one push request: 204 when every stream was
// delivered; 400 for a malformed body, 401 for a missing or wrong token,
// 405 for a method other than POST, 413 for a body over either limit, 415
// for an unknown content encoding.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		code := http.StatusBadRequest
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="postmortem"`)
		}
		if code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "push: use POST")
	}
	if h.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.Token)) != 1 {
			return fail(http.StatusUnauthorized, "push: missing or wrong bearer token")
		}
	}
	maxBody, maxDec := h.MaxBody, h.MaxDecoded
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if maxDec <= 0 {
		maxDec = DefaultMaxDecoded
	}
	if r.ContentLength > maxBody {
		return fail(http.StatusRequestEntityTooLarge, "push: body of %d bytes over the limit of %d", r.ContentLength, maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(http.StatusRequestEntityTooLarge, "push: body over the limit of %d bytes", maxBody)
		}
		return fail(http.StatusBadRequest, "push: reading body: %v", err)
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		if body, err = gunzip(body, maxDec); err != nil {
			return err
		}
	default:
		return fail(http.StatusUnsupportedMediaType, "push: content encoding %q not supported (gzip or none)", enc)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		return h.decodeJSON(body)
	}
	return h.decodeProto(body, maxDec)
}

// gunzip decompresses body, refusing output over limit without holding
// more than limit+1 bytes.
func gunzip(body []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "push: gzip: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "push: gzip: %v", err)
	}
	if int64(len(out)) > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "push: decompressed body over the limit of %d bytes", limit)
	}
	return out, nil
}

func (h *Handler) decodeProto(body []byte, limit int64) error {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return fail(http.StatusBadRequest, "push: snappy: %v", err)
	}
	if int64(n) > limit {
		return fail(http.StatusRequestEntityTooLarge, "push: snappy body decodes to %d bytes, over the limit of %d", n, limit)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return fail(http.StatusBadRequest, "push: snappy: %v", err)
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return fail(http.StatusBadRequest, "push: protobuf: %v", err)
	}
	// Validate every stream's labels before delivering any entry, so a
	// rejected request delivers nothing.
	labels := make([]Labels, len(req.Streams))
	for i, s := range req.Streams {
		if labels[i], err = ParseLabels(s.Labels); err != nil {
			return fail(http.StatusBadRequest, "push: stream %d: %v", i, err)
		}
	}
	for i, s := range req.Streams {
		for _, e := range s.Entries {
			h.deliver(labels[i], e.Timestamp, e.Line)
		}
	}
	return nil
}

// jsonRequest is the JSON push body; the legacy form (labels as a string,
// entries with RFC 3339 "ts") is accepted too.
type jsonRequest struct {
	Streams []struct {
		Stream  map[string]string   `json:"stream"`
		Values  [][]json.RawMessage `json:"values"`
		Labels  string              `json:"labels"`
		Entries []struct {
			TS   time.Time `json:"ts"`
			Line string    `json:"line"`
		} `json:"entries"`
	} `json:"streams"`
}

type jsonEntry struct {
	ls   Labels
	ts   time.Time
	line string
}

func (h *Handler) decodeJSON(body []byte) error {
	var req jsonRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return fail(http.StatusBadRequest, "push: json: %v", err)
	}
	var out []jsonEntry
	for i, s := range req.Streams {
		var ls Labels
		if s.Stream != nil {
			for k := range s.Stream {
				if !validName(k) {
					return fail(http.StatusBadRequest, "push: stream %d: invalid label name %q", i, k)
				}
			}
			ls = fromMap(s.Stream)
		} else {
			var err error
			if ls, err = ParseLabels(s.Labels); err != nil {
				return fail(http.StatusBadRequest, "push: stream %d: %v", i, err)
			}
		}
		for j, v := range s.Values {
			if len(v) < 2 || len(v) > 3 {
				return fail(http.StatusBadRequest, "push: stream %d value %d: expected [\"<unix ns>\", \"line\"]", i, j)
			}
			var nsText, line string
			if json.Unmarshal(v[0], &nsText) != nil || json.Unmarshal(v[1], &line) != nil {
				return fail(http.StatusBadRequest, "push: stream %d value %d: timestamp and line must be strings", i, j)
			}
			ns, err := strconv.ParseInt(nsText, 10, 64)
			if err != nil {
				return fail(http.StatusBadRequest, "push: stream %d value %d: timestamp %q is not unix nanoseconds", i, j, nsText)
			}
			out = append(out, jsonEntry{ls, time.Unix(0, ns).UTC(), line})
		}
		for _, e := range s.Entries {
			out = append(out, jsonEntry{ls, e.TS, e.Line})
		}
	}
	for _, e := range out {
		h.deliver(e.ls, e.ts, e.line)
	}
	return nil
}

func (h *Handler) deliver(ls Labels, ts time.Time, line string) {
	if h.Deliver != nil {
		h.Deliver(ls, ts, line)
	}
}

// StreamName names the source of a pushed stream: "loki:" and its labels,
// e.g. loki:{host="vm-c",job="nginx"}. Format detection, --input-format
// and --backend patterns work on this name as on a file path.
func StreamName(ls Labels) string { return "loki:" + ls.String() }

// Backend names the backend a pushed stream is about: the "backend" label;
// else the backend its "filename" (or "path") label names, as for a file;
// else the "host", "hostname", "instance" or "node" label without a port.
// It returns "" when none says.
func Backend(ls Labels) string {
	if b := ls.Get("backend"); b != "" {
		return b
	}
	for _, k := range []string{"filename", "path", "file"} {
		if f := ls.Get(k); f != "" {
			if b := ingest.BackendFromPath(f); b != "" {
				return b
			}
		}
	}
	for _, k := range []string{"host", "hostname", "instance", "node"} {
		h := ls.Get(k)
		if h == "" {
			continue
		}
		if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[:i], ":") {
			h = h[:i]
		} else if strings.HasPrefix(h, "[") {
			if j := strings.IndexByte(h, ']'); j > 0 {
				h = h[1:j]
			}
		}
		return h
	}
	return ""
}
