package lokipush

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
)

// got collects delivered entries.
type got struct {
	mu sync.Mutex
	es []string
}

func (g *got) deliver(ls Labels, ts time.Time, line string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.es = append(g.es, fmt.Sprintf("%s %d %s", ls, ts.UnixNano(), line))
}

func (g *got) all() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.es...)
}

func server(t *testing.T, h *Handler) (*httptest.Server, *got) {
	g := &got{}
	h.Deliver = g.deliver
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, g
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

const (
	lbLine    = `2026-05-01T14:02:02+09:00 lb01 lvs[812]: backend=vm-c removed from pool reset_out=420/s active_conn 1800 -> 300`
	nginxLine = `2026/05/01 14:02:02 [error] 2211#2211: *9912 recv() failed (104: Connection reset by peer) while reading response header from upstream`
)

var t0 = time.Date(2026, 5, 1, 5, 2, 2, 0, time.UTC)

func protoBody(t *testing.T) []byte {
	req := push.PushRequest{Streams: []push.Stream{
		{Labels: `{job="lb", host="lb01"}`, Entries: []push.Entry{{Timestamp: t0, Line: lbLine}}},
		{Labels: `{job="nginx",filename="/var/log/nginx/vm-c/error.log"}`, Entries: []push.Entry{
			{Timestamp: t0, Line: nginxLine}, {Timestamp: t0.Add(time.Second), Line: nginxLine}}},
	}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func jsonBody() []byte {
	return []byte(fmt.Sprintf(`{"streams":[{"stream":{"job":"lb","host":"lb01"},"values":[["%d",%q]]},`+
		`{"stream":{"job":"nginx","filename":"/var/log/nginx/vm-c/error.log"},"values":[["%d",%q],["%d",%q,{"trace_id":"x"}]]}]}`,
		t0.UnixNano(), lbLine, t0.UnixNano(), nginxLine, t0.Add(time.Second).UnixNano(), nginxLine))
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func want() []string {
	lb := `{host="lb01",job="lb"}`
	ng := `{filename="/var/log/nginx/vm-c/error.log",job="nginx"}`
	return []string{
		fmt.Sprintf("%s %d %s", lb, t0.UnixNano(), lbLine),
		fmt.Sprintf("%s %d %s", ng, t0.UnixNano(), nginxLine),
		fmt.Sprintf("%s %d %s", ng, t0.Add(time.Second).UnixNano(), nginxLine),
	}
}

func TestPushAccepted(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(*testing.T) []byte
		hdr  map[string]string
	}{
		{"protobuf+snappy", protoBody, map[string]string{"Content-Type": "application/x-protobuf"}},
		{"protobuf, no content type", protoBody, nil},
		{"json", func(*testing.T) []byte { return jsonBody() }, map[string]string{"Content-Type": "application/json"}},
		{"json+gzip", func(*testing.T) []byte { return gz(jsonBody()) }, map[string]string{"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"}},
		{"json legacy", func(*testing.T) []byte {
			return []byte(fmt.Sprintf(`{"streams":[{"labels":"{job=\"lb\",host=\"lb01\"}","entries":[{"ts":%q,"line":%q}]},`+
				`{"labels":"{job=\"nginx\",filename=\"/var/log/nginx/vm-c/error.log\"}","entries":[{"ts":%q,"line":%q},{"ts":%q,"line":%q}]}]}`,
				t0.Format(time.RFC3339Nano), lbLine, t0.Format(time.RFC3339Nano), nginxLine, t0.Add(time.Second).Format(time.RFC3339Nano), nginxLine))
		}, map[string]string{"Content-Type": "application/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, g := server(t, &Handler{Token: "s3cret"})
			hdr := map[string]string{"Authorization": "Bearer s3cret"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			code, msg := post(t, srv.URL, tc.body(t), hdr)
			if code != http.StatusNoContent {
				t.Fatalf("status %d: %s", code, msg)
			}
			if g, w := strings.Join(g.all(), "\n"), strings.Join(want(), "\n"); g != w {
				t.Errorf("delivered:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// snappyBomb is a body of a few bytes whose snappy header claims n
// decoded bytes.
func snappyBomb(n uint64) []byte {
	b := binary.AppendUvarint(nil, n)
	return append(b, 0x00, 'x') // a one-byte literal
}

func TestPushRefused(t *testing.T) {
	const maxBody, maxDec = 64 << 10, 1 << 20
	for _, tc := range []struct {
		name string
		body []byte
		hdr  map[string]string
		code int
	}{
		{"no token", jsonBody(), map[string]string{"Content-Type": "application/json", "Authorization": ""}, 401},
		{"bad token", jsonBody(), map[string]string{"Content-Type": "application/json", "Authorization": "Bearer wrong"}, 401},
		{"basic auth", jsonBody(), map[string]string{"Content-Type": "application/json", "Authorization": "Basic czNjcmV0"}, 401},
		{"oversized body", bytes.Repeat([]byte("x"), maxBody+1), nil, 413},
		{"snappy bomb", snappyBomb(0xffffffff), nil, 413},
		{"snappy length beyond 32 bits", snappyBomb(1 << 40), nil, 400},
		{"snappy over limit", snappyBomb(maxDec + 1), nil, 413},
		{"gzip bomb", gz(bytes.Repeat([]byte{' '}, 8<<20)), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, 413},
		{"corrupt snappy", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, 400},
		{"not protobuf", snappy.Encode(nil, []byte("\xff\xff\xff garbage")), nil, 400},
		{"bad labels", func() []byte {
			raw, _ := (&push.PushRequest{Streams: []push.Stream{{Labels: `{job=nginx}`, Entries: []push.Entry{{Timestamp: t0, Line: "x"}}}}}).Marshal()
			return snappy.Encode(nil, raw)
		}(), nil, 400},
		{"bad json", []byte(`{"streams":[`), map[string]string{"Content-Type": "application/json"}, 400},
		{"bad json ts", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["yesterday","x"]]}]}`), map[string]string{"Content-Type": "application/json"}, 400},
		{"bad gzip", []byte("not gzip"), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400},
		{"zstd", jsonBody(), map[string]string{"Content-Type": "application/json", "Content-Encoding": "br"}, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, g := server(t, &Handler{Token: "s3cret", MaxBody: maxBody, MaxDecoded: maxDec})
			hdr := map[string]string{"Authorization": "Bearer s3cret"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			code, msg := post(t, srv.URL, tc.body, hdr)
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, strings.TrimSpace(msg), tc.code)
			}
			if n := len(g.all()); n != 0 {
				t.Errorf("%d entries delivered from a refused request", n)
			}
		})
	}
}

func TestPushMethod(t *testing.T) {
	srv, _ := server(t, &Handler{})
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// TestPushBombMemory sends decompression bombs over real HTTP and checks
// that the bytes allocated while serving them stay far below what they
// claim: 100 snappy bombs each claiming 1 GiB, and gzip bombs of 64 MiB.
func TestPushBombMemory(t *testing.T) {
	srv, _ := server(t, &Handler{MaxDecoded: 4 << 20})
	bomb := snappyBomb(1 << 30)
	gzBomb := gz(bytes.Repeat([]byte{' '}, 64<<20))
	runtime.GC()
	var before, mid, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if code, _ := post(t, srv.URL, bomb, nil); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("snappy bomb: %d", code)
		}
	}
	runtime.ReadMemStats(&mid)
	snappyAlloc := mid.TotalAlloc - before.TotalAlloc
	t.Logf("100 snappy bombs claiming 1 GiB each: %.2f MiB allocated in total (client and server)", float64(snappyAlloc)/(1<<20))
	if snappyAlloc > 16<<20 {
		t.Errorf("snappy bombs allocated %d bytes", snappyAlloc)
	}
	for i := 0; i < 3; i++ {
		if code, _ := post(t, srv.URL, gzBomb, map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("gzip bomb: %d", code)
		}
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("allocated %.1f MiB in total, heap in use grew %.1f MiB, for bombs claiming 100 GiB + 192 MiB",
		float64(alloc)/(1<<20), float64(heap)/(1<<20))
	// The gzip bombs may each allocate up to the 4 MiB limit (io.ReadAll
	// grows by doubling); nothing may approach what the bombs claim.
	if alloc > 64<<20 {
		t.Errorf("allocated %d bytes serving bombs", alloc)
	}
	if heap > 32<<20 {
		t.Errorf("heap in use grew by %d bytes", heap)
	}
}

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{job="nginx", host="vm-c"}`, `{host="vm-c",job="nginx"}`},
		{`{}`, `{}`},
		{`{a="x\"y", b="\\"}`, `{a="x\"y",b="\\"}`},
		{`{a="1",a="2"}`, `{a="2"}`},
		{`{a="1",}`, `{a="1"}`},
	} {
		ls, err := ParseLabels(tc.in)
		if err != nil || ls.String() != tc.want {
			t.Errorf("ParseLabels(%s) = %s, %v; want %s", tc.in, ls, err, tc.want)
		}
	}
	for _, bad := range []string{``, `job="x"`, `{job=x}`, `{job="x}`, `{9a="x"}`, `{="x"}`, `{a="\q"}`} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%s): no error", bad)
		}
	}
}

func TestBackend(t *testing.T) {
	for _, tc := range []struct{ labels, want string }{
		{`{backend="vm-b",host="vm-c"}`, "vm-b"},
		{`{filename="/var/log/nginx/vm-c/error.log",host="lb01"}`, "vm-c"},
		{`{job="app",instance="vm-a:8080"}`, "vm-a"},
		{`{host="vm-c"}`, "vm-c"},
		{`{instance="[::1]:9100"}`, "::1"},
		{`{job="deploy"}`, ""},
	} {
		ls, err := ParseLabels(tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := Backend(ls); got != tc.want {
			t.Errorf("Backend(%s) = %q, want %q", tc.labels, got, tc.want)
		}
	}
	ls, _ := ParseLabels(`{job="nginx",host="vm-c"}`)
	if got := StreamName(ls); got != `loki:{host="vm-c",job="nginx"}` {
		t.Errorf("StreamName = %s", got)
	}
}

// FuzzParseLabels: no input panics, and a parsed set prints to a form that
// parses back to itself.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{`{job="nginx", host="vm-c"}`, `{a="x\"y"}`, `{}`, `{a="\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLabels(s)
		if err != nil {
			return
		}
		again, err := ParseLabels(ls.String())
		if err != nil || again.String() != ls.String() {
			t.Fatalf("%q -> %s -> %v %v", s, ls, again, err)
		}
	})
}

// FuzzHandler: no body panics the handler.
func FuzzHandler(f *testing.F) {
	f.Add([]byte(jsonBody()), true)
	f.Add(snappyBomb(1<<40), false)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		h := &Handler{MaxDecoded: 1 << 20}
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		if isJSON {
			req.Header.Set("Content-Type", "application/json")
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}
