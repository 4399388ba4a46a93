// Command loadgen drives bounded client load at the lab's load balancer.
// Every run is bounded by -duration and by -max (total requests or
// sessions); only loopback targets (127.0.0.0/8) are accepted.
//
// Modes:
//
//	http  -clients N: each client sends -burst requests back to back on a
//	      keep-alive connection, then idles -gap (±25% jitter), and repeats;
//	      with -conn-requests K it closes its connection every K requests.
//	ws    -clients N WebSocket sessions opened over -ramp, each sending a
//	      small text frame every -gap and reading the echo, held until
//	      -duration ends or the server closes them (with -reconnect, a
//	      client whose session ended reopens one after 1-3 s).
//
// It prints a summary line every 5 s and one at the end, with RFC 3339
// times, counting answers by status and failures by kind (reset, refused,
// eof, timeout, other).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postmortem-tool/postmortem/lab/internal/wsproto"
)

type stats struct {
	mu     sync.Mutex
	counts map[string]int64
	open   atomic.Int64
}

func (s *stats) inc(k string) {
	s.mu.Lock()
	s.counts[k]++
	s.mu.Unlock()
}

func (s *stats) line(mode string) string {
	s.mu.Lock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s loadgen mode=%s open=%d", time.Now().Format(time.RFC3339), mode, s.open.Load())
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, s.counts[k])
	}
	s.mu.Unlock()
	return b.String()
}

func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.ECONNRESET):
		return "err_reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "err_refused"
	case errors.Is(err, syscall.EPIPE):
		return "err_pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "EOF"):
		return "err_eof"
	case errors.Is(err, os.ErrDeadlineExceeded), strings.Contains(err.Error(), "timeout"):
		return "err_timeout"
	case strings.Contains(err.Error(), "connection reset"):
		return "err_reset"
	}
	return "err_other"
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

func main() {
	mode := flag.String("mode", "http", "http or ws")
	target := flag.String("url", "http://127.0.0.1:18080/api/items", "target URL (loopback only)")
	clients := flag.Int("clients", 50, "concurrent clients")
	burst := flag.Int("burst", 1, "http: requests per burst")
	gap := flag.Duration("gap", 200*time.Millisecond, "http: idle time between bursts; ws: time between frames")
	ramp := flag.Duration("ramp", 5*time.Second, "ws: spread session opens over this time")
	duration := flag.Duration("duration", 30*time.Second, "hard bound on run time")
	maxN := flag.Int64("max", 200000, "hard bound on requests (http) or sessions (ws)")
	reconnect := flag.Bool("reconnect", false, "ws: reopen a session 1-3 s after the server ends it (within -duration and -max)")
	perConn := flag.Int("conn-requests", 0, "http: close the connection after this many requests (0: keep it)")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		fmt.Fprintln(os.Stderr, "loadgen: target must be an IPv4 loopback address")
		os.Exit(2)
	}
	if *duration > 10*time.Minute || *clients > 5000 {
		fmt.Fprintln(os.Stderr, "loadgen: -duration is capped at 10m and -clients at 5000")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	st := &stats{counts: map[string]int64{}}
	var budget atomic.Int64
	budget.Store(*maxN)
	take := func() bool { return budget.Add(-1) >= 0 }

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	go func() {
		for range tick.C {
			fmt.Println(st.line(*mode))
		}
	}()

	var wg sync.WaitGroup
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		switch *mode {
		case "http":
			go func() { defer wg.Done(); httpClient(ctx, u.String(), *burst, *perConn, *gap, st, take) }()
		case "ws":
			delay := time.Duration(0)
			if *clients > 1 {
				delay = *ramp * time.Duration(i) / time.Duration(*clients)
			}
			go func() {
				defer wg.Done()
				for wsClient(ctx, u, delay, *gap, st, take) && *reconnect && ctx.Err() == nil {
					delay = time.Second + time.Duration(rand.Int64N(int64(2*time.Second)))
				}
			}()
		default:
			fmt.Fprintln(os.Stderr, "loadgen: unknown mode", *mode)
			os.Exit(2)
		}
	}
	wg.Wait()
	fmt.Println(st.line(*mode) + " done")
}

func httpClient(ctx context.Context, target string, burst, perConn int, gap time.Duration, st *stats, take func() bool) {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 5 * time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	// Spread the clients' phases.
	select {
	case <-time.After(jitter(gap)):
	case <-ctx.Done():
		return
	}
	sent := 0
	for ctx.Err() == nil {
		for i := 0; i < burst && ctx.Err() == nil; i++ {
			if !take() {
				return
			}
			if sent++; perConn > 0 && sent%perConn == 0 {
				tr.CloseIdleConnections()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			resp, err := c.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					st.inc(kind(err))
				}
				continue
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				st.inc(kind(err))
				continue
			}
			st.inc(fmt.Sprintf("s%d", resp.StatusCode))
		}
		select {
		case <-time.After(jitter(gap)):
		case <-ctx.Done():
		}
	}
}

// wsClient runs one session; it reports whether the session ended early
// (server close or error) with budget left, so that the caller may
// reconnect.
func wsClient(ctx context.Context, u *url.URL, delay, gap time.Duration, st *stats, take func() bool) (again bool) {
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return false
	}
	if !take() {
		return false
	}
	again = true
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		st.inc("ws_dial_" + kind(err))
		return
	}
	defer conn.Close()
	path := u.RequestURI()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, u.Host, wsproto.NewKey())
	if err != nil {
		st.inc("ws_handshake_" + kind(err))
		return
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		st.inc("ws_handshake_" + kind(err))
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		st.inc(fmt.Sprintf("ws_status_%d", resp.StatusCode))
		resp.Body.Close()
		return
	}
	st.inc("ws_opened")
	st.open.Add(1)
	defer st.open.Add(-1)
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_ = wsproto.WriteFrame(conn, wsproto.OpClose, []byte{0x03, 0xe8}, true)
	})
	defer stop()
	for seq := 0; ctx.Err() == nil; seq++ {
		select {
		case <-time.After(jitter(gap)):
		case <-ctx.Done():
			st.inc("ws_closed_by_client")
			return false
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := wsproto.WriteFrame(conn, wsproto.OpText, fmt.Appendf(nil, `{"seq":%d}`, seq), true); err != nil {
			if ctx.Err() == nil {
				st.inc("ws_" + kind(err))
			}
			return
		}
		op, _, err := wsproto.ReadFrame(br)
		if err != nil {
			if ctx.Err() == nil {
				st.inc("ws_" + kind(err))
			}
			return
		}
		if op == wsproto.OpClose {
			st.inc("ws_closed_by_server")
			return
		}
	}
	st.inc("ws_closed_by_client")
	return false
}
