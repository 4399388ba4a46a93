//go:build ignore

// Command generate writes the end-to-end incident fixtures in this folder
// (hard-cut, websocket-drain-stuck, timewait-explosion, clean-rolling-deploy,
// hard-cut-refused, article, broken). Every fixture is a simulated fleet
// (HAProxy lb01 -> nginx on each VM -> Spring Boot app) that writes the
// lines the real programs write, into files laid out the way a fleet's log
// collection leaves them.
//
// Run it from the module root:
//
//	go run ./testdata/incidents/generate.go
//
// or with -dir to write elsewhere. The random source has a fixed seed, so a
// run rewrites byte-identical files (gzip members included, for a given Go
// toolchain). expected.json and README.md are hand-written and not touched.
//
// Not committed: a file with one 10 MB line. Tests that need it create it
// at run time (e.g. bytes.Repeat into t.TempDir()).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

var kst = time.FixedZone("KST", 9*3600)

// ---------------------------------------------------------------- output

type outFiles struct {
	bufs  map[string]*bytes.Buffer
	gz    map[string]bool
	order []string
}

func newOut() *outFiles { return &outFiles{bufs: map[string]*bytes.Buffer{}, gz: map[string]bool{}} }

func (o *outFiles) buf(rel string) *bytes.Buffer {
	b := o.bufs[rel]
	if b == nil {
		b = &bytes.Buffer{}
		o.bufs[rel] = b
		o.order = append(o.order, rel)
	}
	return b
}

func (o *outFiles) write(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, rel := range o.order {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		data := o.bufs[rel].Bytes()
		if strings.HasSuffix(rel, ".gz") && !o.gz[rel] {
			var z bytes.Buffer
			w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			w.Name = strings.TrimSuffix(filepath.Base(rel), ".gz")
			w.ModTime = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			w.Write(data)
			w.Close()
			data = z.Bytes()
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- fleet model

type vm struct {
	name, ip   string
	idx        int
	state      string // ready, drain, maint
	appUp      bool
	appPID     int
	master     int
	workers    [2]int
	conn       int64
	ws         float64 // open WebSocket sessions on the local app
	wsAge      float64 // average session age (s)
	wsTarget   float64
	wsLife     float64 // mean session lifetime when ready (s)
	drainLife  float64 // mean lifetime while draining
	ageEq      float64 // equilibrium average session age (s); 0: half of wsLife
	tw         float64
	twTarget   float64
	uctExtra   float64 // extra upstream connect time (s), from this nginx
	pAddr      float64 // P(connect() 99) per upstream connect
	pConnTO    float64
	pReset     float64 // P(reset while reading header) for requests to this app
	disabled   [8]int  // nginx passive health: upstream app idx -> disabled until
	release    string
	pending    []appLine
	stickyIdle bool
}

type appLine struct {
	ms int
	b  string
}

type client struct {
	ip     string
	ua     string
	mobile bool
}

type fleet struct {
	r        *rand.Rand
	o        *outFiles
	t0       time.Time
	T        int
	now      int
	sched    map[int][]func()
	vms      []*vm
	clients  []client
	rate     float64 // fleet API/page requests per second
	storm    float64
	rr       int
	cross    bool // nginx upstream pool spans all apps (else local app only)
	localUA  bool // local upstream written as 127.0.0.1
	haStyle  string
	haHost   string
	haPID    int
	haPath   string
	lbPath   string
	depPath  string
	rotateAt int // seconds; rotatable files before it go to .1.gz
	rotate   map[string]bool
	paths    map[string]string // kind/vm -> rel path
	ssEvery  int
	lbEvery  int
	fast     [][2]int // windows where lb lines are every 10 s
	drainAt  map[string]int
	wsJSON   bool
	subsec   int
}

func (f *fleet) tm(sec int) time.Time { return f.t0.Add(time.Duration(sec) * time.Second) }

func (f *fleet) at(clock string, fn func()) {
	t, err := time.ParseInLocation("15:04:05", clock, kst)
	if err != nil {
		panic(err)
	}
	base := time.Date(f.t0.Year(), f.t0.Month(), f.t0.Day(), t.Hour(), t.Minute(), t.Second(), 0, kst)
	s := int(base.Sub(f.t0) / time.Second)
	if s < 0 || s >= f.T {
		panic("event outside window: " + clock)
	}
	f.sched[s] = append(f.sched[s], fn)
}

func (f *fleet) path(kind string, v *vm) string {
	if p, ok := f.paths[kind]; ok {
		return strings.ReplaceAll(p, "{vm}", v.name)
	}
	return ""
}

func (f *fleet) emit(rel string, line string) {
	if rel == "" {
		return
	}
	if f.rotate[rel] && f.now < f.rotateAt {
		rel += ".1.gz"
	}
	f.o.buf(rel).WriteString(line)
}

func (f *fleet) poisson(l float64) int {
	if l <= 0 {
		return 0
	}
	L, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= f.r.Float64()
		if p <= L {
			return k
		}
		k++
	}
}

func (f *fleet) logn(median, sigma float64) float64 {
	return median * math.Exp(sigma*f.r.NormFloat64())
}

func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

func ageStr(s float64) string {
	m := int(s / 60)
	if m >= 60 {
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm %ds", m, int(s)%60)
}

// ---------------------------------------------------------------- line writers

func (f *fleet) deploy(msg string) {
	f.emit(f.depPath, f.tm(f.now).Format(time.RFC3339)+" [deploy] "+msg+"\n")
}

func (f *fleet) lb(msg string) {
	f.emit(f.lbPath, f.tm(f.now).Format(time.RFC3339)+" [lb] "+msg+"\n")
}

// syslog writes one HAProxy message; pri is the syslog priority (local0 + level).
func (f *fleet) syslog(pri int, msg string) {
	t := f.tm(f.now)
	var line string
	switch f.haStyle {
	case "rfc5424":
		f.subsec = (f.subsec + 1 + f.r.IntN(40000)) % 1000000
		ts := t.Add(time.Duration(f.subsec) * time.Microsecond).Format("2006-01-02T15:04:05.000000-07:00")
		line = fmt.Sprintf("<%d>1 %s %s haproxy %d - - %s\n", pri, ts, f.haHost, f.haPID, msg)
	default:
		line = fmt.Sprintf("%s %s haproxy[%d]: %s\n", t.Format(time.Stamp), f.haHost, f.haPID, msg)
	}
	f.emit(f.haPath, line)
}

const (
	priInfo   = 134
	priNotice = 133
	priWarn   = 132
	priAlert  = 129
)

func (f *fleet) haConns() (int, int) {
	ac := 0
	for _, v := range f.vms {
		ac += int(v.ws) + 40
	}
	return ac + 30, ac
}

func (f *fleet) haHTTP(c *client, v *vm, method, path, proto string, status, size int, flags string, tr, tc, tresp, ta int) {
	acc := f.tm(f.now).Add(-time.Duration(ta+f.r.IntN(300)) * time.Millisecond)
	ac, fc := f.haConns()
	trs := strconv.Itoa(tresp)
	st := strconv.Itoa(status)
	if status < 0 {
		st = "-1"
	}
	f.syslog(priInfo, fmt.Sprintf("%s:%d [%s] fe_https~ be_app/%s %d/0/%d/%s/%d %s %d - - %s %d/%d/%d/%d/0 0/0 \"%s %s %s\"",
		c.ip, 1024+f.r.IntN(64000), acc.Format("02/Jan/2006:15:04:05.000"), v.name, tr, tc, trs, ta, st, size+180, flags,
		ac, fc, fc-20, int(v.ws)+10, method, path, proto))
}

func (f *fleet) haTCP(c *client, v *vm, flags string, age float64) {
	acc := f.tm(f.now).Add(-time.Duration(age*1000) * time.Millisecond)
	ac, fc := f.haConns()
	f.syslog(priInfo, fmt.Sprintf("%s:%d [%s] fe_ws be_ws/%s 1/0/%d %d %s %d/%d/%d/%d/0 0/0",
		c.ip, 1024+f.r.IntN(64000), acc.Format("02/Jan/2006:15:04:05.000"), v.name, int(age*1000), 2000+f.r.IntN(400000), flags,
		ac, fc, fc-10, int(v.ws)))
}

func (f *fleet) nginxErr(v *vm, level string, pid int, conn int64, msg string) {
	s := f.tm(f.now).Format("2006/01/02 15:04:05") + " [" + level + "] " + strconv.Itoa(pid) + "#" + strconv.Itoa(pid) + ": "
	if conn > 0 {
		s += "*" + strconv.FormatInt(conn, 10) + " "
	}
	f.emit(f.path("error", v), s+msg+"\n")
}

func (f *fleet) app(v *vm, ms int, level, thread, logger, msg string, extra ...string) {
	if ms < 0 {
		ms = f.r.IntN(1000)
	}
	t := f.tm(f.now).Add(time.Duration(ms) * time.Millisecond)
	th := thread
	if len(th) > 15 {
		th = th[len(th)-15:]
	}
	lg := logger
	if len(lg) > 40 {
		lg = lg[:40]
	}
	s := fmt.Sprintf("%s %5s %d --- [%15s] %-40s : %s\n", t.Format("2006-01-02T15:04:05.000-07:00"), level, v.appPID, th, lg, msg)
	for _, e := range extra {
		s += e + "\n"
	}
	v.pending = append(v.pending, appLine{ms, s})
}

func (f *fleet) flushApp(v *vm) {
	sort.SliceStable(v.pending, func(i, j int) bool { return v.pending[i].ms < v.pending[j].ms })
	for _, l := range v.pending {
		f.emit(f.path("app", v), l.b)
	}
	v.pending = v.pending[:0]
}

func (f *fleet) ss(v *vm) {
	rel := f.path("ss", v)
	if rel == "" {
		return
	}
	estab := int(v.ws) + 60 + f.r.IntN(30)
	if !v.appUp {
		estab = 12 + f.r.IntN(5)
	}
	tw := int(v.tw) + f.r.IntN(50)
	closed := tw + 20 + f.r.IntN(40)
	tcp := estab + 40
	total := tcp + 180 + f.r.IntN(20)
	var b strings.Builder
	fmt.Fprintf(&b, "### %s %s ss -s; cat /proc/net/sockstat\n", f.tm(f.now).Format(time.RFC3339), v.name)
	fmt.Fprintf(&b, "Total: %d\nTCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)\n\n", total, tcp+closed, estab, closed, 0, tw)
	fmt.Fprintf(&b, "Transport Total     IP        IPv6\nRAW\t  1         0         1        \nUDP\t  6         4         2        \n")
	fmt.Fprintf(&b, "TCP\t  %-9d %-9d %-9d\nINET\t  %-9d %-9d %-9d\nFRAG\t  0         0         0        \n\n", tcp, tcp-7, 7, tcp+7, tcp-3, 10)
	fmt.Fprintf(&b, "sockets: used %d\nTCP: inuse %d orphan %d tw %d alloc %d mem %d\nUDP: inuse 4 mem 2\n\n", total, estab+30, 0, tw, tcp+170, 90+estab/6)
	f.emit(rel, b.String())
}

// ---------------------------------------------------------------- requests

var uas = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
	"ShopApp/5.12.1 (iPhone; iOS 17.4.1; Scale/3.00)",
	"ShopApp/5.12.0 (Android 14; SM-S918N; okhttp/4.12.0)",
	"okhttp/4.12.0",
}

type req struct {
	c                    *client
	method, path, proto  string
	host, referer        string
	status, size         int
	rt                   float64
	uct, urt, us, ua     []string
	idempotent, upstream bool
	want, wantSize       int // the app's answer if the request gets through
}

func (f *fleet) pick() *client {
	// a few heavy clients, many light ones
	i := int(math.Floor(math.Pow(f.r.Float64(), 2.2) * float64(len(f.clients))))
	return &f.clients[i]
}

func (f *fleet) newReq() *req {
	r := f.r
	q := &req{c: f.pick(), proto: "HTTP/1.1", host: "api.shop.example.com", referer: "-", upstream: true, idempotent: true}
	if r.IntN(4) == 0 {
		q.proto = "HTTP/2.0"
	}
	q.rt = f.logn(0.045, 0.7)
	switch k := r.IntN(100); {
	case k < 25:
		q.method, q.path, q.status, q.size = "GET", fmt.Sprintf("/api/v1/orders/%d", 1000000+r.IntN(9000000)), 200, 800+r.IntN(4000)
	case k < 45:
		q.method, q.path, q.status, q.size = "GET", fmt.Sprintf("/api/v1/products?page=%d&size=20&sort=popular", 1+r.IntN(30)), 200, 6000+r.IntN(20000)
	case k < 55:
		q.method, q.path, q.status, q.size = "GET", "/api/v1/cart", 200, 300+r.IntN(3000)
	case k < 63:
		q.method, q.path, q.status, q.size = "PUT", fmt.Sprintf("/api/v1/cart/items/%d", 10000+r.IntN(90000)), 204, 0
		q.idempotent = true
	case k < 70:
		q.method, q.path, q.status, q.size = "POST", "/api/v1/orders", 201, 400+r.IntN(400)
		q.idempotent = false
		q.rt *= 3
	case k < 74:
		q.method, q.path, q.status, q.size = "POST", "/api/v1/auth/login", 200, 512
		q.idempotent = false
	case k < 80:
		q.method, q.path, q.status, q.size = "GET", fmt.Sprintf("/api/v1/search?q=%s&page=1", []string{"shoes", "jacket", "bag", "laptop+stand"}[r.IntN(4)]), 200, 2000+r.IntN(30000)
		q.rt *= 2
	case k < 92:
		q.method, q.host, q.upstream = "GET", "shop.example.com", false
		q.path = []string{"/static/js/app.3f9c2a1d.js", "/static/css/main.8d1e77a2.css", "/images/p/48213/thumb.webp", "/favicon.ico"}[r.IntN(4)]
		q.status, q.size, q.rt = 200, 2000+r.IntN(200000), float64(r.IntN(3))/1000
		q.referer = "https://shop.example.com/"
		if r.IntN(3) == 0 {
			q.status, q.size = 304, 0
		}
	default:
		q.method, q.host, q.path, q.status, q.size = "GET", "shop.example.com", fmt.Sprintf("/products/%d", 10000+r.IntN(90000)), 200, 18000+r.IntN(30000)
		q.referer = "https://www.google.com/"
	}
	if q.c.mobile {
		q.referer = "-"
	}
	q.want, q.wantSize = q.status, q.size
	return q
}

func (f *fleet) accessLine(v *vm, q *req) {
	var b strings.Builder
	b.WriteString(q.c.ip)
	b.WriteString(" - - [")
	b.WriteString(f.tm(f.now).Format("02/Jan/2006:15:04:05 -0700"))
	fmt.Fprintf(&b, "] \"%s %s %s\" %d %d \"%s\" \"%s\" rt=%s", q.method, q.path, q.proto, q.status, q.size, q.referer, q.c.ua, f3(q.rt))
	if len(q.ua) == 0 {
		b.WriteString(" uct=- urt=- us=- ua=-\n")
	} else {
		fmt.Fprintf(&b, " uct=%s urt=%s us=%s ua=%s\n", strings.Join(q.uct, ", "), strings.Join(q.urt, ", "), strings.Join(q.us, ", "), strings.Join(q.ua, ", "))
	}
	f.emit(f.path("access", v), b.String())
}

func (f *fleet) upAddr(n, a *vm) string {
	if !f.cross && f.localUA {
		return "127.0.0.1:8080"
	}
	return a.ip + ":8080"
}

// upErr writes an nginx upstream error line on nginx n for request q to app a.
func (f *fleet) upErr(n, a *vm, q *req, level, msg string) {
	n.conn += 1 + int64(f.r.IntN(30))
	w := n.workers[f.r.IntN(2)]
	f.nginxErr(n, level, w, n.conn, fmt.Sprintf("%s, client: %s, server: %s, request: \"%s %s %s\", upstream: \"http://%s%s\", host: \"%s\"",
		msg, q.c.ip, q.host, q.method, q.path, q.proto, f.upAddr(n, a), q.path, q.host))
}

// proxy runs q through nginx n's upstream pool and fills the upstream fields.
func (f *fleet) proxy(n *vm, q *req) {
	var order []*vm
	if f.cross {
		f.rr++
		for i := 0; i < len(f.vms); i++ {
			order = append(order, f.vms[(f.rr+i)%len(f.vms)])
		}
	} else {
		order = []*vm{n}
	}
	body := q.rt
	q.rt = 0
	tried := 0
	for _, a := range order {
		if f.cross && n.disabled[a.idx] > f.now {
			continue
		}
		if tried > 0 && !q.idempotent {
			break
		}
		tried++
		q.ua = append(q.ua, f.upAddr(n, a))
		if !a.appUp {
			q.uct, q.urt, q.us = append(q.uct, "-"), append(q.urt, "0.000"), append(q.us, "502")
			f.upErr(n, a, q, "error", "connect() failed (111: Connection refused) while connecting to upstream")
			if f.cross {
				n.disabled[a.idx] = f.now + 10
				f.upErr(n, a, q, "warn", "upstream server temporarily disabled while connecting to upstream")
			}
			q.status, q.size = 502, 157
			continue
		}
		if f.r.Float64() < n.pAddr {
			q.uct, q.urt, q.us = append(q.uct, "-"), append(q.urt, "0.000"), append(q.us, "502")
			f.upErr(n, a, q, "crit", "connect() to "+f.upAddr(n, a)+" failed (99: Cannot assign requested address) while connecting to upstream")
			q.status, q.size = 502, 157
			continue
		}
		if f.r.Float64() < n.pConnTO {
			q.uct, q.urt, q.us = append(q.uct, "-"), append(q.urt, "3.001"), append(q.us, "504")
			q.rt += 3.001
			f.upErr(n, a, q, "error", "upstream timed out (110: Connection timed out) while connecting to upstream")
			q.status, q.size = 504, 167
			continue
		}
		uct := float64(f.r.IntN(2))/1000 + n.uctExtra*f.r.ExpFloat64()
		if f.r.Float64() < a.pReset {
			q.uct, q.urt, q.us = append(q.uct, f3(uct)), append(q.urt, f3(uct+body/2)), append(q.us, "502")
			q.rt += uct + body/2
			f.upErr(n, a, q, "error", "recv() failed (104: Connection reset by peer) while reading response header from upstream")
			q.status, q.size = 502, 157
			continue
		}
		q.uct, q.urt, q.us = append(q.uct, f3(uct)), append(q.urt, f3(uct+body)), append(q.us, strconv.Itoa(q.want))
		q.rt += uct + body + float64(f.r.IntN(2))/1000
		q.status, q.size = q.want, q.wantSize
		return
	}
	if tried == 0 {
		q.ua, q.uct, q.urt, q.us = []string{"app_backend"}, []string{"-"}, []string{"-"}, []string{"502"}
		n.conn++
		f.nginxErr(n, "error", n.workers[f.r.IntN(2)], n.conn, fmt.Sprintf("no live upstreams while connecting to upstream, client: %s, server: %s, request: \"%s %s %s\", upstream: \"http://app_backend%s\", host: \"%s\"",
			q.c.ip, q.host, q.method, q.path, q.proto, q.path, q.host))
		q.status, q.size = 502, 157
	}
}

// request sends one client request through haproxy to nginx n.
func (f *fleet) request(n *vm) {
	q := f.newReq()
	if q.upstream {
		f.proxy(n, q)
	}
	if q.status == 200 && q.upstream && f.r.IntN(700) == 0 { // client gave up
		q.status, q.size = 499, 0
		q.rt *= 4
		f.haHTTP(q.c, n, q.method, q.path, q.proto, -1, 0, "CD--", 0, 0, -1, int(q.rt*1000))
	}
	f.accessLine(n, q)
	if q.status >= 500 {
		ms := int(q.rt * 1000)
		f.haHTTP(q.c, n, q.method, q.path, q.proto, q.status, q.size, "----", 0, 0, ms, ms+1)
	}
	if q.upstream && q.status < 300 && q.method == "POST" && q.path == "/api/v1/orders" {
		a := n
		if f.cross && len(q.ua) > 0 {
			for _, v := range f.vms {
				if strings.HasPrefix(q.ua[len(q.ua)-1], v.ip+":") {
					a = v
				}
			}
		}
		if a.appUp {
			f.app(a, -1, "INFO", fmt.Sprintf("nio-8080-exec-%d", 1+f.r.IntN(200)), "c.e.shop.api.OrderController",
				fmt.Sprintf("Created order id=%d user=u-%d items=%d", 1000000+f.r.IntN(9000000), 100000+f.r.IntN(900000), 1+f.r.IntN(6)))
		}
	}
}

// wsClose logs the end of one WebSocket session on nginx/app v.
// kind: "" normal close, "reset" upstream reset, "refused-style" n/a.
func (f *fleet) wsClose(v *vm, kind string, age float64) {
	q := &req{c: f.pick(), method: "GET", path: "/ws/notifications?v=3", proto: "HTTP/1.1", host: "api.shop.example.com", referer: "-", status: 101}
	q.size = int(age*40) + f.r.IntN(2000)
	q.rt = age
	ua := f.upAddr(v, v)
	q.ua, q.uct, q.urt, q.us = []string{ua}, []string{"0.001"}, []string{f3(age)}, []string{"101"}
	switch kind {
	case "reset":
		if f.r.IntN(4) == 0 {
			f.upErr(v, v, q, "error", "recv() failed (104: Connection reset by peer) while proxying upgraded connection")
		}
		f.accessLine(v, q)
		f.haTCP(q.c, v, "SD", age)
	case "going-away":
		f.accessLine(v, q)
	default:
		f.accessLine(v, q)
		if f.r.IntN(6) == 0 && v.appUp {
			f.app(v, -1, "INFO", fmt.Sprintf("nio-8080-exec-%d", 1+f.r.IntN(200)), "c.e.shop.ws.NotificationWsHandler",
				fmt.Sprintf("WebSocket session closed id=%08x code=1000 age=%s", f.r.Uint32(), ageStr(age)))
		}
	}
}

func (f *fleet) sessionAge(v *vm) float64 {
	return math.Max(3, math.Min(4*math.Max(v.wsAge, 60), math.Max(v.wsAge, 60)*f.r.ExpFloat64()))
}

// dropWS ends n WebSocket sessions on v abruptly over the next few seconds.
func (f *fleet) dropWS(v *vm, n int) {
	for i := 0; i < n; i++ {
		f.wsClose(v, "reset", f.sessionAge(v))
	}
	v.ws -= float64(n)
	if v.ws < 0 {
		v.ws = 0
	}
}

// ---------------------------------------------------------------- app lifecycle

func (f *fleet) appStart(v *vm, release string) {
	v.appPID = 40000 + f.r.IntN(20000)
	v.appUp = true
	v.ws, v.wsAge = 0, 0
	v.release = release
	f.app(v, 100, "INFO", "main", "c.e.shop.ShopApplication", fmt.Sprintf("Starting ShopApplication v%s using Java 21.0.3 with PID %d (/opt/shop/shop.jar started by shop in /opt/shop)", release, v.appPID))
	f.app(v, 103, "INFO", "main", "c.e.shop.ShopApplication", "The following 1 profile is active: \"prod\"")
	f.app(v, 600, "INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat initialized with port 8080 (http)")
	f.app(v, 640, "INFO", "main", "o.apache.catalina.core.StandardService", "Starting service [Tomcat]")
	f.app(v, 700, "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting...")
	f.app(v, 910, "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed.")
	f.app(v, 980, "INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port 8080 (http) with context path ''")
	f.app(v, 990, "INFO", "main", "c.e.shop.ShopApplication", fmt.Sprintf("Started ShopApplication in %d.%03d seconds (process running for %d.%03d)", 8+f.r.IntN(3), f.r.IntN(1000), 9+f.r.IntN(3), f.r.IntN(1000)))
}

func (f *fleet) appGracefulStop(v *vm) {
	f.app(v, 12, "INFO", "SpringApplicationShutdownHook", "o.s.b.w.e.tomcat.GracefulShutdown", "Commencing graceful shutdown. Waiting for active requests to complete")
	f.app(v, 420, "INFO", "tomcat-shutdown", "o.s.b.w.e.tomcat.GracefulShutdown", "Graceful shutdown complete")
	f.app(v, 431, "INFO", "SpringApplicationShutdownHook", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Shutdown initiated...")
	f.app(v, 447, "INFO", "SpringApplicationShutdownHook", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Shutdown completed.")
}

func (f *fleet) nginxReload(v *vm) {
	from := 30000 + f.r.IntN(30000)
	f.nginxErr(v, "notice", from, 0, "signal process started")
	f.nginxErr(v, "notice", v.master, 0, fmt.Sprintf("signal 1 (SIGHUP) received from %d, reconfiguring", from))
	f.nginxErr(v, "notice", v.master, 0, "reconfiguring")
	f.nginxErr(v, "notice", v.master, 0, "using the \"epoll\" event method")
	f.nginxErr(v, "notice", v.master, 0, "start worker processes")
	old := v.workers
	for i := range v.workers {
		v.workers[i] = from + 7 + i
		f.nginxErr(v, "notice", v.master, 0, fmt.Sprintf("start worker process %d", v.workers[i]))
	}
	for _, w := range old {
		f.nginxErr(v, "notice", w, 0, "gracefully shutting down")
	}
	for _, w := range old {
		f.nginxErr(v, "notice", w, 0, "exiting")
		f.nginxErr(v, "notice", w, 0, "exit")
		f.nginxErr(v, "notice", v.master, 0, fmt.Sprintf("signal 17 (SIGCHLD) received from %d", w))
		f.nginxErr(v, "notice", v.master, 0, fmt.Sprintf("worker process %d exited with code 0", w))
		f.nginxErr(v, "notice", v.master, 0, "signal 29 (SIGIO) received")
	}
}

// ---------------------------------------------------------------- simulation loop

// drainActive is what the LB controller counts on draining v: its
// WebSocket sessions plus idle keep-alive connections, which close within a
// minute unless v.stickyIdle.
func (f *fleet) drainActive(v *vm) int {
	el := float64(f.now - f.drainAt[v.name])
	if v.stickyIdle {
		return int(v.ws) + 13
	}
	return int(v.ws) + int(13*math.Exp(-el/30))
}

func (f *fleet) inFast() bool {
	for _, w := range f.fast {
		if f.now >= w[0] && f.now < w[1] {
			return true
		}
	}
	return false
}

func (f *fleet) clockSec(clock string) int {
	t, _ := time.ParseInLocation("15:04:05", clock, kst)
	base := time.Date(f.t0.Year(), f.t0.Month(), f.t0.Day(), t.Hour(), t.Minute(), t.Second(), 0, kst)
	return int(base.Sub(f.t0) / time.Second)
}

func (f *fleet) run() {
	for f.now = 0; f.now < f.T; f.now++ {
		for _, fn := range f.sched[f.now] {
			fn()
		}
		// state evolution
		for _, v := range f.vms {
			switch {
			case !v.appUp:
				v.ws, v.wsAge = 0, 0
			case v.state == "drain":
				// sessions only end when clients leave
				if v.ws > 0 && f.r.Float64() < v.ws/v.drainLife {
					age := v.wsAge * (0.3 + f.r.Float64())
					f.wsClose(v, "", age)
					v.ws--
				}
				v.wsAge++
			case v.state == "ready":
				// closes at ws/wsLife per second, opens towards the target
				if n := f.poisson(v.ws / v.wsLife); n > 0 {
					for i := 0; i < n; i++ {
						f.wsClose(v, "", f.sessionAge(v))
					}
					v.ws -= float64(n)
				}
				v.ws += (v.wsTarget-v.ws)/120 + float64(f.poisson(v.ws/v.wsLife))
				if v.wsAge == 0 {
					v.wsAge = 20
				}
				eq := v.ageEq
				if eq == 0 {
					eq = 0.5 * v.wsLife
				}
				v.wsAge += (eq - v.wsAge) / 1800
			default: // maint with app up
				v.wsAge++
			}
			v.tw += (v.twTarget - v.tw) / 200
			v.pReset = math.Max(0.0004, v.pReset*0.996)
		}
		f.storm = 1 + (f.storm-1)*math.Exp(-1.0/120)
		// traffic through haproxy
		var pool []*vm
		for _, v := range f.vms {
			if v.state == "ready" {
				pool = append(pool, v)
			}
		}
		if len(pool) > 0 {
			for i, n := 0, f.poisson(f.rate*f.storm); i < n; i++ {
				f.request(pool[f.r.IntN(len(pool))])
			}
		}
		// haproxy health checks, logged by nginx
		for _, v := range f.vms {
			if f.now%30 == v.idx*7 && f.path("access", v) != "" {
				q := &req{c: &client{ip: "10.0.0.10", ua: "-"}, method: "GET", path: "/healthz", proto: "HTTP/1.0", host: v.ip, referer: "-", status: 200, size: 2, rt: 0.001, idempotent: true}
				if f.haHost != "lb01" {
					q.c.ip = "10.20.0.5"
				}
				if v.state != "maint" || v.appUp {
					if v.appUp {
						q.ua, q.uct, q.urt, q.us = []string{f.upAddr(v, v)}, []string{"0.000"}, []string{"0.001"}, []string{"200"}
						q.rt = 0.002
					} else {
						q.ua, q.uct, q.urt, q.us = []string{f.upAddr(v, v)}, []string{"-"}, []string{"0.000"}, []string{"502"}
						q.status, q.size = 502, 157
						f.upErr(v, v, q, "error", "connect() failed (111: Connection refused) while connecting to upstream")
					}
					f.accessLine(v, q)
				}
			}
		}
		// periodic lines
		fast := f.inFast()
		for _, v := range f.vms {
			active := int(v.ws) + 20 + f.r.IntN(12)
			if v.state == "maint" && !v.appUp {
				active = 0
			}
			if f.lbPath != "" && (f.now%f.lbEvery == 0 || (fast && f.now%10 == 0)) {
				switch v.state {
				case "drain":
					f.lb(fmt.Sprintf("backend=%s draining new_conn=0 active_conn=%d", v.name, f.drainActive(v)))
				case "maint":
					f.lb(fmt.Sprintf("backend=%s state=out_of_pool new_conn=0 active_conn=%d", v.name, active))
				default:
					f.lb(fmt.Sprintf("backend=%s state=active new_conn=%d active_conn=%d reset_out=0/s", v.name, 8+f.r.IntN(20), active))
				}
			}
			if f.now%60 == 0 && v.appUp {
				f.app(v, 0, "INFO", "ws-metrics-1", "c.e.shop.ws.SessionMetrics", fmt.Sprintf("[app] ws_sessions=%d, avg_age=%s", int(v.ws), ageStr(v.wsAge)))
				if f.wsJSON && f.path("wsjson", v) != "" {
					js, _ := json.Marshal(map[string]any{
						"@timestamp": f.tm(f.now).Format("2006-01-02T15:04:05.000-07:00"), "host": v.name, "logger": "com.example.shop.ws.SessionMetrics",
						"ws_sessions": int(v.ws), "avg_age": ageStr(v.wsAge), "avg_age_s": int(v.wsAge), "p99_age_s": int(v.wsAge * 3.1),
						"heap_used_mb": 900 + f.r.IntN(600), "tomcat_busy_threads": 5 + f.r.IntN(20),
					})
					f.emit(f.path("wsjson", v), string(js)+"\n")
				}
			}
			if f.now%300 == 1 && v.appUp {
				a := f.r.IntN(8)
				f.app(v, 1, "INFO", "HikariPool-1 housekeeper", "com.zaxxer.hikari.pool.HikariPool", fmt.Sprintf("HikariPool-1 - Pool stats (total=20, active=%d, idle=%d, waiting=0)", a, 20-a))
			}
			if f.now%f.ssEvery == 0 {
				f.ss(v)
			}
			f.flushApp(v)
		}
	}
}

func newFleet(seed uint64, start string, dur time.Duration, names, ips []string) *fleet {
	t0, err := time.Parse(time.RFC3339, start)
	if err != nil {
		panic(err)
	}
	f := &fleet{
		r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), o: newOut(), t0: t0.In(kst), T: int(dur / time.Second),
		sched: map[int][]func(){}, storm: 1, cross: true, haStyle: "rfc3164", haHost: "lb01", haPID: 2345,
		rotate: map[string]bool{}, paths: map[string]string{}, ssEvery: 300, lbEvery: 60, drainAt: map[string]int{}, wsJSON: true,
	}
	f.clients = make([]client, 4000)
	firsts := []int{1, 14, 27, 39, 42, 49, 58, 61, 101, 106, 110, 112, 115, 118, 121, 175, 180, 182, 211, 218, 220, 222}
	for i := range f.clients {
		ip := fmt.Sprintf("%d.%d.%d.%d", firsts[f.r.IntN(len(firsts))], f.r.IntN(256), f.r.IntN(256), 1+f.r.IntN(254))
		if f.r.IntN(20) == 0 {
			ip = fmt.Sprintf("2001:db8:%x:%x::%x", f.r.IntN(65536), f.r.IntN(65536), 1+f.r.IntN(65535))
		}
		u := f.r.IntN(len(uas))
		f.clients[i] = client{ip: ip, ua: uas[u], mobile: u >= 2}
	}
	for i := range names {
		v := &vm{name: names[i], ip: ips[i], idx: i, state: "ready", appUp: true, master: 1100 + 7*i, appPID: 4242 + 100*i,
			wsLife: 8 * 3600, drainLife: 400 * 3600, tw: 2000, twTarget: 2000, pReset: 0.0004, release: "2026.04.28-1"}
		v.workers = [2]int{v.master + 1, v.master + 2}
		v.conn = int64(100000 * (i + 1))
		f.vms = append(f.vms, v)
	}
	return f
}

func (f *fleet) warm(ws, age float64) {
	for _, v := range f.vms {
		v.ws, v.wsTarget, v.wsAge = ws, ws, age
	}
}

// ---------------------------------------------------------------- scenarios

func standardPaths(f *fleet) {
	f.haPath, f.lbPath, f.depPath = "haproxy/haproxy.log", "lb/lb.log", "deploy/deploy.log"
	f.paths = map[string]string{
		"access": "nginx/{vm}/access.log", "error": "nginx/{vm}/error.log", "app": "app/{vm}/app.log",
		"wsjson": "app/{vm}/ws-metrics.jsonl", "ss": "ss/{vm}/ss-s.log",
	}
}

var fleetNames, fleetIPs = []string{"vm-a", "vm-b", "vm-c"}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}

// hardCut: vm-c is SIGKILLed and pulled from the pool with no drain at
// 14:02:02; the hasty rollback at 14:10:05 repeats the cut.
func hardCut() *outFiles {
	f := newFleet(101, "2026-05-01T13:30:00+09:00", time.Hour, fleetNames, fleetIPs)
	standardPaths(f)
	f.rate = 0.25
	f.warm(1200, 5400)
	for _, v := range f.vms {
		v.wsLife = 12 * 3600
	}
	f.rotateAt = f.clockSec("13:45:00")
	for _, v := range f.vms {
		f.rotate[f.path("access", v)] = true
	}
	f.fast = [][2]int{{f.clockSec("14:01:00"), f.clockSec("14:13:00")}}
	A, B, C := f.vms[0], f.vms[1], f.vms[2]
	var before int
	f.at("13:45:00", func() {
		for _, v := range f.vms {
			f.nginxErr(v, "notice", v.master, 0, fmt.Sprintf("signal 10 (SIGUSR1) received from %d, reopening logs", 40000+f.r.IntN(9999)))
			f.nginxErr(v, "notice", v.master, 0, "reopening logs")
			for _, w := range v.workers {
				f.nginxErr(v, "notice", w, 0, "reopening logs")
			}
		}
	})
	cut := func(why string) {
		f.deploy("vm-c: terminating app (SIGKILL) and removing from pool" + why)
		if C.ws > 1213 {
			C.ws = 1213
		}
		before = int(C.ws) + 287
		f.syslog(priAlert, fmt.Sprintf("Server be_app/vm-c is going DOWN for maintenance. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", 287))
		f.syslog(priAlert, fmt.Sprintf("Server be_ws/vm-c is going DOWN for maintenance. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", int(C.ws)))
		f.lb("backend vm-c removed from pool abruptly")
		C.appUp, C.state = false, "maint"
		C.pReset = 1
		// requests in flight to the killed app, from every nginx
		for i := 0; i < 120; i++ {
			n := f.vms[f.r.IntN(3)]
			q := f.newReq()
			if q.upstream {
				q.ua, q.uct, q.urt, q.us = []string{C.ip + ":8080"}, []string{"0.001"}, []string{f3(q.rt)}, []string{"502"}
				f.upErr(n, C, q, "error", "recv() failed (104: Connection reset by peer) while reading response header from upstream")
				q.status, q.size = 502, 157
				if q.idempotent && n != C {
					other := A
					if n == A {
						other = B
					}
					q.ua, q.uct, q.urt, q.us = append(q.ua, other.ip+":8080"), append(q.uct, "0.000"), append(q.urt, f3(q.rt)), append(q.us, strconv.Itoa(q.want))
					q.status, q.size = q.want, q.wantSize
				}
				q.rt += 0.002
				f.accessLine(n, q)
				if n == C {
					f.haHTTP(q.c, n, q.method, q.path, q.proto, 502, 157, "SH--", 0, 0, -1, int(q.rt*1000))
				} else if q.status >= 500 {
					f.haHTTP(q.c, n, q.method, q.path, q.proto, 502, 157, "----", 0, 0, int(q.rt*1000), int(q.rt*1000)+1)
				}
			}
		}
		f.dropWS(C, int(C.ws))
		for _, v := range []*vm{A, B} {
			v.wsTarget = 1800
			v.pReset = 0.02
		}
		f.storm = 2.6
	}
	f.at("14:00:00", func() {
		f.deploy("rolling restart start release=2026.05.01-1 hosts=vm-c,vm-b,vm-a strategy=fast drain=skipped")
		f.deploy("WARNING: drain step disabled by flag --skip-drain")
	})
	f.at("14:02:02", func() { cut("") })
	f.at("14:02:12", func() {
		f.lb(fmt.Sprintf("reset_out=%d/s active_conn dropped %d -> %d in 10s", (before*28/10+120)/10, before+300, 300))
	})
	f.at("14:03:10", func() {
		f.deploy("vm-c: starting release 2026.05.01-1")
		f.appStart(C, "2026.05.01-1")
		C.pReset = 0.0004
	})
	f.at("14:03:40", func() {
		f.deploy("vm-c: health check passed (GET /healthz 200); adding back to pool")
		f.syslog(priNotice, "Server be_app/vm-c is UP/READY (leaving forced maintenance).")
		f.syslog(priNotice, "Server be_ws/vm-c is UP/READY (leaving forced maintenance).")
		f.lb("backend vm-c added to pool")
		C.state, C.wsTarget = "ready", 300
	})
	f.at("14:04:00", func() { f.deploy("vm-b: waiting for canary analysis (5m)") })
	f.at("14:10:00", func() {
		f.deploy("rollback start release=2026.04.28-1 (reason: api error rate 14.2% > 2%)")
	})
	f.at("14:10:05", func() { cut(" (rollback)") })
	f.at("14:10:15", func() {
		f.lb(fmt.Sprintf("reset_out=%d/s active_conn dropped %d -> %d in 10s", (before*28/10+120)/10, before+300, 300))
	})
	f.at("14:11:10", func() {
		f.deploy("vm-c: starting release 2026.04.28-1")
		f.appStart(C, "2026.04.28-1")
		C.pReset = 0.0004
	})
	f.at("14:11:40", func() {
		f.deploy("vm-c: health check passed (GET /healthz 200); adding back to pool")
		f.syslog(priNotice, "Server be_app/vm-c is UP/READY (leaving forced maintenance).")
		f.syslog(priNotice, "Server be_ws/vm-c is UP/READY (leaving forced maintenance).")
		f.lb("backend vm-c added to pool")
		C.state, C.wsTarget = "ready", 1200
		A.wsTarget, B.wsTarget = 1200, 1200
	})
	f.at("14:12:00", func() { f.deploy("rollback done release=2026.04.28-1 duration=2m0s") })
	f.run()
	return f.o
}

// wsDrainStuck: vm-a is put into drain at 15:30; its long-lived WebSocket
// sessions never leave, and the deploy gives up at 16:00.
func wsDrainStuck() *outFiles {
	f := newFleet(202, "2026-05-01T15:00:00+09:00", 75*time.Minute, fleetNames, fleetIPs)
	standardPaths(f)
	f.rate = 0.25
	f.warm(1200, 6060)
	for _, v := range f.vms {
		v.ageEq = 6060
	}
	A := f.vms[0]
	f.at("15:30:00", func() {
		f.deploy("rolling restart start release=2026.05.01-2 hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=1800s")
		f.deploy("vm-a: set haproxy state drain (be_app, be_ws)")
		f.syslog(priNotice, fmt.Sprintf("Server be_app/vm-a enters drain state. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", 17))
		f.syslog(priNotice, fmt.Sprintf("Server be_ws/vm-a enters drain state. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", int(A.ws)))
		A.state, A.stickyIdle = "drain", true
		A.drainLife = 37 * 3600
		f.drainAt["vm-a"] = f.now
		f.deploy(fmt.Sprintf("vm-a: waiting for drain completion (new_conn=0 && active_conn<10, timeout 1800s) active_conn=%d", f.drainActive(A)))
	})
	for m := 5; m < 30; m += 5 {
		m := m
		f.at(fmt.Sprintf("15:%02d:00", 30+m), func() {
			f.deploy(fmt.Sprintf("vm-a: still draining elapsed=%ds new_conn=0 active_conn=%d", m*60, f.drainActive(A)))
		})
	}
	f.at("16:00:00", func() {
		f.deploy("timeout waiting for drain completion (1800s)")
		f.deploy(fmt.Sprintf("vm-a: drain incomplete active_conn=%d; forced stage requires approval (ticket DEP-2291)", f.drainActive(A)))
	})
	f.at("16:02:00", func() {
		f.deploy("rollout aborted by oncall: vm-a returned to ready, vm-b,vm-c untouched")
		f.syslog(priNotice, "Server be_app/vm-a is UP/READY (leaving forced drain).")
		f.syslog(priNotice, "Server be_ws/vm-a is UP/READY (leaving forced drain).")
		A.state = "ready"
	})
	f.run()
	return f.o
}

// timewait: a config push to vm-b's nginx at 18:10 drops client keepalive to
// 2s and the upstream keepalive pool to 0; TIME_WAIT climbs to ~68k until
// the revert at 18:40. Different file names and RFC 5424 HAProxy lines.
func timewait() *outFiles {
	f := newFleet(303, "2026-05-01T17:45:00+09:00", 75*time.Minute, fleetNames, fleetIPs)
	f.cross = false
	f.haStyle, f.haPath = "rfc5424", "lb01/haproxy-5424.log"
	f.lbPath, f.depPath = "lb01/lb-controller.log", "changes/deploy.log"
	f.paths = map[string]string{
		"access": "nginx-{vm}-access.log", "error": "nginx-{vm}-error.log", "app": "{vm}/application.log", "ss": "{vm}/ss-s.txt",
	}
	f.wsJSON = false
	f.ssEvery = 60
	f.rate = 0.3
	f.warm(900, 4000)
	B := f.vms[1]
	f.at("18:10:00", func() {
		f.deploy("config push nginx vm-b: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0 (change CHG-7731)")
	})
	f.at("18:10:02", func() {
		f.nginxReload(B)
		B.twTarget, B.uctExtra, B.pAddr, B.pConnTO = 68300, 0.12, 0.08, 0.02
	})
	f.at("18:10:30", func() { f.deploy("config push nginx vm-b: reload ok (nginx -t passed)") })
	f.at("18:21:00", func() {
		f.syslog(priWarn, "Health check for server be_app/vm-b failed, reason: Layer4 timeout, check duration: 2001ms, status: 2/3 UP.")
	})
	f.at("18:21:10", func() {
		f.syslog(priNotice, "Health check for server be_app/vm-b succeeded, reason: Layer7 check passed, code: 200, check duration: 14ms, status: 3/3 UP.")
	})
	f.at("18:40:00", func() {
		f.deploy("config push nginx vm-b: revert CHG-7731 (keepalive_timeout 65s, upstream keepalive 64)")
	})
	f.at("18:40:03", func() {
		f.nginxReload(B)
		B.twTarget, B.uctExtra, B.pAddr, B.pConnTO = 2000, 0, 0, 0
	})
	f.run()
	return f.o
}

// cleanRolling: a night rolling restart with proper drains.
func cleanRolling() *outFiles {
	f := newFleet(404, "2026-05-01T02:50:00+09:00", 70*time.Minute, fleetNames, fleetIPs)
	standardPaths(f)
	f.cross = false
	f.rate = 0.25
	for _, v := range f.vms {
		v.wsLife = 1200
	}
	f.warm(60, 500)
	rel := "2026.05.01-0"
	f.at("03:10:00", func() {
		f.deploy("rolling restart start release=" + rel + " hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=1800s")
	})
	for i, v := range f.vms {
		v := v
		i := i
		t0 := f.clockSec("03:10:05") + i*330
		clock := func(off int) string { return f.tm(t0 + off).Format("15:04:05") }
		f.at(clock(0), func() {
			f.deploy(v.name + ": set haproxy state drain (be_app, be_ws)")
			f.syslog(priNotice, fmt.Sprintf("Server be_app/%s enters drain state. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", v.name, 4+f.r.IntN(6)))
			f.syslog(priNotice, fmt.Sprintf("Server be_ws/%s enters drain state. 2 active and 0 backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", v.name, int(v.ws)))
			v.state, v.drainLife = "drain", 35
			f.drainAt[v.name] = f.now
			f.deploy(fmt.Sprintf("%s: waiting for drain completion (new_conn=0 && active_conn<10, timeout 1800s) active_conn=%d", v.name, f.drainActive(v)))
		})
		f.at(clock(150), func() {
			f.deploy(fmt.Sprintf("%s: drained in 150s (active_conn=%d)", v.name, f.drainActive(v)))
			f.deploy(v.name + ": stopping app (SIGTERM)")
			for k := 0; k < int(v.ws); k++ {
				f.wsClose(v, "going-away", v.wsAge)
			}
			v.ws = 0
			f.appGracefulStop(v)
			if i == 1 { // a straggler keep-alive request hits the closing app
				v.pReset = 1
				f.request(v)
				v.pReset = 0.0004
			}
		})
		f.at(clock(152), func() {
			v.appUp = false
			f.deploy(v.name + ": app stopped in 1.4s; starting release " + rel)
		})
		f.at(clock(162), func() { f.appStart(v, rel) })
		f.at(clock(175), func() {
			f.deploy(v.name + ": health check passed (GET /healthz 200); set haproxy state ready")
			f.syslog(priNotice, fmt.Sprintf("Server be_app/%s is UP/READY (leaving forced drain).", v.name))
			f.syslog(priNotice, fmt.Sprintf("Server be_ws/%s is UP/READY (leaving forced drain).", v.name))
			v.state = "ready"
		})
	}
	f.at("03:27:00", func() { f.deploy("rolling restart done release=" + rel + " duration=17m0s") })
	f.run()
	return f.o
}

// hardCutRefused: web-02's app is killed by the deploy with no drain at all;
// nginx on web-02 (local upstream) answers 502 with 111 refused until
// haproxy's checks take web-02 out.
func hardCutRefused() *outFiles {
	names := []string{"web-01", "web-02", "web-03"}
	ips := []string{"10.20.0.11", "10.20.0.12", "10.20.0.13"}
	f := newFleet(505, "2026-05-01T09:30:00+09:00", time.Hour, names, ips)
	f.cross, f.localUA = false, true
	f.haHost, f.haPID, f.haPath = "edge01", 1873, "edge01/haproxy.log"
	f.lbPath, f.depPath = "", "ci/deploy-shop-api.log"
	f.paths = map[string]string{"access": "{vm}/nginx/access.log", "error": "{vm}/nginx/error.log", "app": "{vm}/app/shop-api.log"}
	f.wsJSON = false
	f.rate = 0.5
	f.warm(300, 3000)
	W := f.vms[1]
	f.at("10:02:30", func() {
		f.deploy("deploy shop-api 2026.05.01-3 to web-02 (mode=in-place, no lb step)")
		f.deploy("web-02: systemctl kill --signal=SIGKILL shop-api.service")
		W.appUp = false
		for i := 0; i < 25; i++ { // in-flight requests
			q := f.newReq()
			if !q.upstream {
				continue
			}
			q.ua, q.uct, q.urt, q.us = []string{"127.0.0.1:8080"}, []string{"0.000"}, []string{f3(q.rt)}, []string{"502"}
			f.upErr(W, W, q, "error", "upstream prematurely closed connection while reading response header from upstream")
			q.status, q.size = 502, 157
			f.accessLine(W, q)
			f.haHTTP(q.c, W, q.method, q.path, q.proto, 502, 157, "----", 0, 0, int(q.rt*1000), int(q.rt*1000)+1)
		}
		f.dropWS(W, int(W.ws))
		f.storm = 3
		// clients that gave up while their request hung
		for i := 0; i < 12; i++ {
			c := f.pick()
			f.haHTTP(c, W, "GET", fmt.Sprintf("/api/v1/orders/%d", 1000000+f.r.IntN(9000000)), "HTTP/1.1", -1, 0, "CD--", 0, 0, -1, 900+f.r.IntN(2000))
		}
	})
	f.at("10:02:37", func() {
		f.syslog(priWarn, "Health check for server be_app/web-02 failed, reason: Layer7 wrong status, code: 502, info: \"Bad Gateway\", check duration: 1ms, status: 2/3 UP.")
	})
	f.at("10:02:47", func() {
		f.syslog(priWarn, "Health check for server be_app/web-02 failed, reason: Layer7 wrong status, code: 502, info: \"Bad Gateway\", check duration: 1ms, status: 1/3 UP.")
	})
	f.at("10:02:57", func() {
		f.syslog(priAlert, "Server be_app/web-02 is DOWN, reason: Layer7 wrong status, code: 502, info: \"Bad Gateway\", check duration: 1ms. 2 active and 0 backup servers left. 3 sessions active, 0 requeued, 0 remaining in queue.")
		f.syslog(priAlert, "Server be_ws/web-02 is DOWN, reason: Layer7 wrong status, code: 502, info: \"Bad Gateway\", check duration: 1ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")
		W.state = "down"
	})
	f.at("10:03:20", func() {
		f.deploy("web-02: systemctl start shop-api.service")
		f.appStart(W, "2026.05.01-3")
	})
	f.at("10:03:44", func() {
		f.syslog(priNotice, "Server be_app/web-02 is UP, reason: Layer7 check passed, code: 200, check duration: 3ms. 3 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")
		f.syslog(priNotice, "Server be_ws/web-02 is UP, reason: Layer7 check passed, code: 200, check duration: 3ms. 3 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")
		W.state, W.wsTarget = "ready", 300
		f.deploy("web-02: deploy done in 1m14s")
	})
	f.run()
	return f.o
}

// article places the seed article's own log lines into a fleet's files,
// with the minimum of real context around them, on its example timeline
// (14:00 deploy, 14:02 cut, 14:10 rollback, 15:20 drain, 16:00 timeout,
// 18:10 keepalive change).
func article() *outFiles {
	f := newFleet(606, "2026-05-01T13:30:00+09:00", 315*time.Minute, fleetNames, fleetIPs)
	standardPaths(f)
	r := f.r
	A, B, C := f.vms[0], f.vms[1], f.vms[2]
	cut, back := f.clockSec("14:02:02"), f.clockSec("14:12:00")
	drain, timeout, abort := f.clockSec("15:20:00"), f.clockSec("16:00:00"), f.clockSec("16:02:00")
	push, revert := f.clockSec("18:10:00"), f.clockSec("18:40:00")
	wsA := 1240.0
	for f.now = 0; f.now < f.T; f.now++ {
		s := f.now
		switch s {
		case f.clockSec("14:00:00"):
			f.deploy("rolling restart start release=2026.05.01-1 hosts=vm-c,vm-b,vm-a strategy=fast drain=skipped")
		case cut:
			f.deploy("vm-c: terminating app and removing from pool")
			f.lb("backend vm-c removed from pool abruptly")
			C.state, C.appUp = "maint", false
		case cut + 10:
			f.lb("reset_out=420/s active_conn dropped 1800 -> 300 in 10s")
		case f.clockSec("14:10:00"):
			f.deploy("rollback start release=2026.04.28-1")
		case f.clockSec("14:11:20"):
			f.appStart(C, "2026.04.28-1")
		case back:
			f.deploy("vm-c: health check passed; adding back to pool")
			f.lb("backend vm-c added to pool")
			C.state = "ready"
		case back + 30:
			f.deploy("rollback done release=2026.04.28-1")
		case drain:
			f.deploy("rolling restart start release=2026.05.01-2 hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=1800s")
			f.deploy("vm-a: set lb state drain; drain_delay 600s before completion check")
			A.state = "drain"
		case drain + 600:
			f.deploy("vm-a: waiting for drain completion (new_conn=0 && active_conn<10, timeout 1800s)")
		case timeout:
			f.deploy("timeout waiting for drain completion (1800s)")
		case abort:
			f.deploy("rollout aborted: vm-a back to ready")
			A.state = "ready"
		case push:
			f.deploy("config push nginx vm-b: keepalive_timeout 65s -> 2s, upstream keepalive 64 -> 0")
		case push + 2:
			f.nginxReload(B)
		case revert:
			f.deploy("config push nginx vm-b: revert keepalive_timeout 65s, upstream keepalive 64")
		case revert + 3:
			f.nginxReload(B)
		}
		// the reset spike seen by nginx on vm-a and vm-b: upstream vm-c's app
		if s >= cut && s < cut+10 {
			for _, n := range []*vm{A, B} {
				for i := 0; i < 3+r.IntN(3); i++ {
					q := f.newReq()
					if !q.upstream {
						q.method, q.host, q.path = "GET", "api.shop.example.com", "/api/v1/cart"
					}
					f.upErr(n, C, q, "error", "recv() failed (104: Connection reset by peer) while reading response header from upstream")
				}
			}
		}
		if s%60 == 0 {
			for _, v := range f.vms {
				switch {
				case v == A && v.state == "drain":
					el := float64(s - drain)
					active := 1240 - int(43*el/float64(timeout-drain))
					if s == timeout {
						active = 1197
					}
					f.lb(fmt.Sprintf("backend=vm-a draining new_conn=0 active_conn=%d", active))
					wsA = float64(active - 13)
				case v.state == "maint":
					f.lb(fmt.Sprintf("backend=%s state=out_of_pool new_conn=0 active_conn=0", v.name))
				default:
					f.lb(fmt.Sprintf("backend=%s state=active new_conn=%d active_conn=%d reset_out=0/s", v.name, 20+r.IntN(20), 1220+r.IntN(60)))
				}
				if v.appUp {
					ws, age := 1200+r.IntN(40), 5400.0+float64(r.IntN(120))
					if v == A {
						ws = int(wsA)
						if s >= drain {
							age = 5460 + float64(s-drain)
						}
						if s == timeout {
							ws, age = 1184, 2*3600+11*60
						}
					}
					f.app(v, 0, "INFO", "ws-metrics-1", "c.e.shop.ws.SessionMetrics", fmt.Sprintf("[app] ws_sessions=%d, avg_age=%s", ws, ageStr(age)))
				}
				f.flushApp(v)
			}
		}
		// TIME_WAIT on vm-b
		every := 300
		if s >= push && s <= revert+600 {
			every = 60
		}
		if s%every == 0 {
			for _, v := range f.vms {
				if v != B && s%300 != 0 {
					continue
				}
				target := 1900.0 + float64(r.IntN(200))
				if v == B && s >= push {
					k := float64(s-push) / 60
					if s < revert {
						target = 68321 - 66400*math.Exp(-k/4)
					} else {
						target = 2000 + (68321-2000)*math.Exp(-float64(s-revert)/120)
					}
				}
				tw := int(target)
				if v == B && s == push+15*60 {
					tw = 68321
				}
				var b strings.Builder
				fmt.Fprintf(&b, "### %s %s ss -s; cat /proc/net/sockstat\n", f.tm(s).Format(time.RFC3339), v.name)
				fmt.Fprintf(&b, "Total: %d\nTCP:   %d (estab %d, closed %d, orphaned 0, timewait %d)\n\n", 1980, 1880+tw+60, 1770, tw+60, tw)
				fmt.Fprintf(&b, "Transport Total     IP        IPv6\nRAW\t  1         0         1        \nUDP\t  6         4         2        \n")
				fmt.Fprintf(&b, "TCP\t  %-9d %-9d %-9d\nINET\t  %-9d %-9d %-9d\nFRAG\t  0         0         0        \n\n", 1880, 1873, 7, 1887, 1877, 10)
				fmt.Fprintf(&b, "sockets: used 1980\nTCP: inuse 1840 orphan 0 tw %d alloc 2010 mem 321\nUDP: inuse 4 mem 2\n\n", tw)
				f.emit(f.path("ss", v), b.String())
				if v == B && (s == push-300 || s == push+15*60 || s == revert+240) {
					f.emit("ss/vm-b/netstat-timewait.log", fmt.Sprintf("### %s vm-b netstat -an | grep TIME_WAIT | wc -l\n%d\n", f.tm(s).Format(time.RFC3339), tw))
				}
			}
		}
	}
	return f.o
}

// broken writes inputs no parser should choke on.
func broken() *outFiles {
	o := newOut()
	r := rand.New(rand.NewPCG(707, 707))
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(r.UintN(256))
	}
	copy(bin, "\x7fELF\x02\x01\x01\x00")
	o.buf("binary.log").Write(bin)

	var acc bytes.Buffer
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&acc, "10.1.%d.%d - - [01/May/2026:12:%02d:%02d +0900] \"GET /api/v1/cart HTTP/1.1\" 200 %d \"-\" \"okhttp/4.12.0\" rt=0.0%02d uct=0.000 urt=0.0%02d us=200 ua=10.0.0.1:8080\n",
			r.IntN(256), 1+r.IntN(254), i/60, i%60, 300+r.IntN(3000), 10+r.IntN(80), 10+r.IntN(80))
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	w.Name = "access.log.1"
	w.ModTime = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	w.Write(acc.Bytes())
	w.Close()
	o.buf("nginx/access.log.1.gz").Write(z.Bytes()[:z.Len()/2])
	o.gz["nginx/access.log.1.gz"] = true

	u := o.buf("metrics-export.csv")
	u.WriteString("ts,host,metric,value\n")
	for i := 0; i < 120; i++ {
		fmt.Fprintf(u, "%d,vm-%c,node_netstat_Tcp_CurrEstab,%d\n", 1777611600+60*i, 'a'+byte(i%3), 400+r.IntN(100))
	}
	o.buf("empty.log")
	c := o.buf("nginx/crlf-access.log")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(c, "10.1.2.%d - - [01/May/2026:12:00:%02d +0900] \"GET /healthz HTTP/1.0\" 200 2 \"-\" \"-\" rt=0.002 uct=0.000 urt=0.001 us=200 ua=10.0.0.1:8080\r\n", 1+i, i)
		if i == 10 {
			c.WriteString("10.1.2.99 - - [01/May/2026:12:00:10 +0900] \"GET /\x00\xff\xfe HTTP/1.1\" 2\r\n")
		}
		if i == 20 {
			c.WriteString("2026/05/01 12:00:20 [error] 1101#1101: *12 recv() failed (104: Connection reset by peer) while reading\r\n")
		}
	}
	c.WriteString("10.1.2.200 - - [01/May/2026:12:00:59 +0900] \"GET /api/v1/cart HTTP/1.1\" 200 311 \"-\" \"-\" rt=0.01")
	return o
}

// ---------------------------------------------------------------- expectations and READMEs

type finding struct {
	Case        string `json:"case"`
	Backend     string `json:"backend"`
	StartAfter  string `json:"start_after"`
	StartBefore string `json:"start_before"`
}

type expected struct {
	Findings         []finding `json:"findings"`
	NoWarningOrAbove bool      `json:"no_warning_or_above"`
}

func fd(c, b, after, before string) finding {
	return finding{Case: c, Backend: b, StartAfter: "2026-05-01T" + after + "+09:00", StartBefore: "2026-05-01T" + before + "+09:00"}
}

type fixture struct {
	name   string
	gen    func() *outFiles
	exp    expected
	readme string
}

var fixtures = []fixture{
	{"hard-cut", hardCut, expected{Findings: []finding{fd("hard-cut-without-drain", "vm-c", "14:01:30", "14:03:00")}}, `# hard-cut

One hour (13:30-14:30 +09:00) of a three-VM fleet: HAProxy on lb01 (fe_https/be_app
in HTTP mode, fe_ws/be_ws in TCP mode, ` + "`option dontlog-normal`" + ` so only abnormal
sessions are logged), nginx 1.22 on vm-a/vm-b/vm-c whose ` + "`upstream`" + ` pool spans all
three Spring Boot apps (10.0.0.1-3:8080), and an LB controller log.

At 14:00 a deploy starts with the drain step switched off. At 14:02:02 it
SIGKILLs the app on vm-c and forces the server into maintenance: HAProxy logs
"going DOWN for maintenance" with 287/1200-odd sessions still open and a burst
of ` + "`SD`" + ` tcplog lines on be_ws; nginx on every VM logs ` + "`recv() failed (104: Connection\nreset by peer)`" + ` for requests in flight to 10.0.0.3, then ` + "`111: Connection refused`" + `
and "upstream server temporarily disabled"; 502s show up in the access logs and
client retries raise the request rate. The app log on vm-c just stops (no
graceful-shutdown lines: SIGKILL). vm-c comes back at 14:03:40, and the
rollback at 14:10:05 repeats the same hard cut before vm-c returns at 14:11:40.

nginx access logs were rotated at 13:45: the earlier part is in ` + "`access.log.1.gz`" + `.

Expected: hard-cut-without-drain on vm-c starting at the 14:02:02 cut. The
rollback's repeat of the cut should appear as evidence or as a second
hard-cut finding (not listed, so either is accepted).
`},
	{"websocket-drain-stuck", wsDrainStuck, expected{Findings: []finding{fd("websocket-drain-stuck", "vm-a", "15:29:00", "16:00:30")}}, `# websocket-drain-stuck

75 minutes (15:00-16:15 +09:00) of the same fleet shape. At 15:30 a rolling
restart puts vm-a into drain on be_app and be_ws (HAProxy "enters drain
state"). New connections stop, but the app's WebSocket sessions (about 1,200,
averaging well over an hour old) are long-lived mobile connections that do not
go away: the LB controller keeps printing ` + "`draining new_conn=0 active_conn=~1200`" + `,
the app keeps reporting ` + "`[app] ws_sessions=...`" + ` (also in ws-metrics.jsonl) with
avg_age growing past 2h, and the deploy's "still draining" lines barely move.
At 16:00 the deploy gives up: ` + "`timeout waiting for drain completion (1800s)`" + `. The
rollout is aborted at 16:02 and vm-a goes back to ready; nothing is killed.

Expected: websocket-drain-stuck on vm-a, starting between the drain start and
the timeout.
`},
	{"timewait-explosion", timewait, expected{Findings: []finding{fd("timewait-explosion", "vm-b", "18:09:00", "18:25:00")}}, `# timewait-explosion

75 minutes (17:45-19:00 +09:00), with file names unlike the other folders to
test path-based detection: ` + "`nginx-vm-b-access.log`" + `, ` + "`nginx-vm-b-error.log`" + `,
` + "`vm-b/ss-s.txt`" + ` (one ` + "`ss -s; cat /proc/net/sockstat`" + ` block a minute per VM),
` + "`vm-b/application.log`" + `, ` + "`changes/deploy.log`" + `, ` + "`lb01/lb-controller.log`" + ` and an HAProxy log
in RFC 5424 form (` + "`<134>1 2026-05-01T18:10:03.123456+09:00 lb01 haproxy 2345 - - ...`" + `).
Each nginx proxies to its local app.

At 18:10 a config push changes vm-b's nginx only (keepalive_timeout 65s -> 2s,
upstream keepalive 64 -> 0) and reloads it (SIGHUP sequence in its error log).
Every request now opens a fresh upstream connection: TIME_WAIT on vm-b climbs
from about 2,000 to about 68,000 while vm-a and vm-c stay flat, upstream
connect time (uct) rises, and a few ` + "`connect() ... failed (99: Cannot assign\nrequested address)`" + ` and connect timeouts (502/504) appear; one HAProxy health check
times out. The change is reverted at 18:40 and TIME_WAIT falls back.

Expected: timewait-explosion on vm-b, starting after the 18:10 push.
`},
	{"clean-rolling-deploy", cleanRolling, expected{Findings: []finding{}, NoWarningOrAbove: true}, `# clean-rolling-deploy

70 minutes (02:50-04:00 +09:00) at night, when WebSocket sessions are few and
short. From 03:10 a rolling restart takes vm-a, vm-b and vm-c in turn: HAProxy
"enters drain state", the LB controller shows active_conn falling, the deploy
waits for new_conn=0 && active_conn<10, then SIGTERM: Spring logs "Commencing
graceful shutdown" and "Graceful shutdown complete", the app restarts, and the
server goes "UP/READY (leaving forced drain)". One straggler request on vm-b
gets a reset and a 502 while its app shuts down, and the baseline has the odd
client abort - the noise a real clean deploy has.

Expected: no finding of warning level or above.
`},
	{"hard-cut-refused", hardCutRefused, expected{Findings: []finding{fd("hard-cut-without-drain", "web-02", "10:02:00", "10:03:30")}}, `# hard-cut-refused

One hour (09:30-10:30 +09:00) of a different fleet: HAProxy on edge01
(RFC 3164 syslog, ` + "`edge01/haproxy.log`" + `) in front of web-01..web-03, each running
nginx with a local upstream (127.0.0.1:8080); logs are laid out per host
(` + "`web-02/nginx/error.log`" + `, ` + "`web-02/app/shop-api.log`" + `) and the deploy log is
` + "`ci/deploy-shop-api.log`" + `. There is no LB controller log.

At 10:02:30 an in-place deploy SIGKILLs the app on web-02 with no LB step.
Requests in flight end with "upstream prematurely closed connection"; after
that nginx on web-02 answers 502 with ` + "`connect() failed (111: Connection refused)`" + `
until HAProxy's health checks mark be_app/web-02 DOWN at 10:02:57 (three failed checks, 10 s apart). HAProxy logs
` + "`SD`" + ` on every WebSocket session that was on web-02 and ` + "`CD--`" + ` for clients that gave
up. The app is back at 10:03:20 and the server UP at 10:03:44.

Expected: hard-cut-without-drain on web-02 at 10:02:30.
`},
	{"article", article, expected{Findings: []finding{
		fd("hard-cut-without-drain", "vm-c", "14:01:30", "14:03:00"),
		fd("websocket-drain-stuck", "vm-a", "15:19:00", "16:00:30"),
		fd("timewait-explosion", "vm-b", "18:09:00", "18:26:00"),
	}}, `# article

The seed article's own example lines, put where a fleet would keep them and
stamped along its example timeline (13:30-18:45 +09:00):

- 14:00 deploy start with the drain skipped; 14:02:02 ` + "`[lb] backend vm-c removed\n  from pool abruptly`" + ` and, ten seconds later, ` + "`[lb] reset_out=420/s active_conn\n  dropped 1800 -> 300 in 10s`" + ` (lb/lb.log); the ` + "`recv() failed (104: Connection reset\n  by peer)`" + ` line as full nginx error-log lines on vm-a and vm-b, a few per second
  for ten seconds; 14:10 rollback, vm-c back at 14:12.
- 15:20 vm-a drain starts; ` + "`[lb] backend=vm-a draining new_conn=0 active_conn=...`" + `
  every minute down to 1197 at 16:00; ` + "`[app] ws_sessions=1184, avg_age=2h 11m`" + `
  in vm-a's Spring log at 16:00; ` + "`[deploy] timeout waiting for drain completion\n  (1800s)`" + ` at 16:00 (the deploy waited 600 s of drain delay before its 1800 s
  completion timer).
- 18:10 keepalive change on vm-b with an nginx reload; ` + "`ss -s`" + ` snapshots (5 min
  apart, then every minute) show tw rising to ` + "`TCP: inuse 1840 orphan 0 tw 68321\n  alloc 2010 mem 321`" + ` at 18:25; ` + "`ss/vm-b/netstat-timewait.log`" + ` holds the
  ` + "`netstat -an | grep TIME_WAIT | wc -l`" + ` count before, at the peak (68321) and after.

There are no access logs and no HAProxy log: only the article's signals and
the context they need.

Expected: all three cases.
`},
	{"broken", broken, expected{Findings: []finding{}, NoWarningOrAbove: true}, `# broken

Inputs that must not crash or stop an analysis:

- ` + "`binary.log`" + `: 4 KiB of random bytes behind an ELF header.
- ` + "`nginx/access.log.1.gz`" + `: a real gzip member cut in half (truncated stream).
- ` + "`metrics-export.csv`" + `: a format no parser knows.
- ` + "`empty.log`" + `: zero bytes.
- ` + "`nginx/crlf-access.log`" + `: CRLF line endings, a mangled line with NUL and
  invalid UTF-8, an error-log line in an access log and no final newline.

A file with one 10 MB line is not committed: tests that need it create it at
run time (e.g. ` + "`bytes.Repeat`" + ` into ` + "`t.TempDir()`" + `).

Expected: no finding of warning level or above.
`},
}

func main() {
	_, self, _, _ := runtime.Caller(0)
	dir := flag.String("dir", filepath.Dir(self), "folder to write the fixtures into")
	only := flag.String("only", "", "generate only this fixture")
	flag.Parse()
	for _, fx := range fixtures {
		if *only != "" && fx.name != *only {
			continue
		}
		o := fx.gen()
		js, _ := json.MarshalIndent(fx.exp, "", "  ")
		o.buf("expected.json").Write(append(js, '\n'))
		o.buf("README.md").WriteString(fx.readme)
		if err := o.write(filepath.Join(*dir, fx.name)); err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			os.Exit(1)
		}
		var total int
		for _, b := range o.bufs {
			total += b.Len()
		}
		fmt.Printf("%-24s %3d files %8d bytes uncompressed\n", fx.name, len(o.order), total)
	}
}
