// Command app is the lab's stand-in for a Spring Boot service: a small HTTP
// server with a WebSocket endpoint that logs in the Spring Boot 3 console
// pattern, reports its open WebSocket sessions periodically and shuts down
// gracefully on SIGTERM. Standard library only.
//
// Endpoints: GET /healthz, GET /api/items[?delay=MS], GET /ws (WebSocket
// echo). SIGKILL leaves no trace, as with a real JVM.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postmortem-tool/postmortem/lab/internal/wsproto"
)

var (
	pid    = os.Getpid()
	logMu  sync.Mutex
	logOut = bufio.NewWriter(os.Stdout)
)

// logf writes one line in the Spring Boot 3 console pattern:
// %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %5p PID --- [%15.15t] %-40.40logger : msg
func logf(level, thread, logger, format string, args ...any) {
	if len(thread) > 15 {
		thread = thread[len(thread)-15:]
	}
	if len(logger) > 40 {
		logger = logger[len(logger)-40:]
	}
	ts := time.Now().Format("2006-01-02T15:04:05.000Z07:00")
	logMu.Lock()
	fmt.Fprintf(logOut, "%s %5s %d --- [%15s] %-40s : %s\n", ts, level, pid, thread, logger, fmt.Sprintf(format, args...))
	logOut.Flush()
	logMu.Unlock()
}

type session struct {
	conn  net.Conn
	start time.Time
	wmu   sync.Mutex
}

type hub struct {
	mu       sync.Mutex
	sessions map[*session]struct{}
}

func (h *hub) add(s *session) {
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(s *session) {
	h.mu.Lock()
	delete(h.sessions, s)
	h.mu.Unlock()
}

func (h *hub) stats(now time.Time) (n int, avg time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var sum time.Duration
	for s := range h.sessions {
		sum += now.Sub(s.start)
	}
	n = len(h.sessions)
	if n > 0 {
		avg = sum / time.Duration(n)
	}
	return n, avg
}

// closeAll sends a 1001 close frame to every session and closes it.
func (h *hub) closeAll() int {
	h.mu.Lock()
	list := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	for _, s := range list {
		s.wmu.Lock()
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = wsproto.WriteFrame(s.conn, wsproto.OpClose, []byte{0x03, 0xe9, 'g', 'o', 'i', 'n', 'g', ' ', 'a', 'w', 'a', 'y'}, false)
		s.wmu.Unlock()
		_ = s.conn.Close()
	}
	return len(list)
}

// age formats like the lab's Spring metric: "8m 20s", "2h 11m".
func age(d time.Duration) string {
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dm %ds", s/60, s%60)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "listen address")
	name := flag.String("name", "vm-a", "host name for the startup line")
	release := flag.String("release", "2026.05.01-0", "release label")
	interval := flag.Duration("metrics-interval", 5*time.Second, "ws_sessions log interval")
	grace := flag.Duration("shutdown-timeout", 20*time.Second, "graceful shutdown phase timeout")
	flag.Parse()

	start := time.Now()
	_, port, _ := net.SplitHostPort(*listen)
	logf("INFO", "main", "c.e.lab.LabApplication", "Starting LabApplication v%s on %s with PID %d", *release, *name, pid)
	h := &hub{sessions: map[*session]struct{}{}}
	var shuttingDown atomic.Bool

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"OUT_OF_SERVICE"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"UP"}`))
	})
	mux.HandleFunc("/api/items", func(w http.ResponseWriter, r *http.Request) {
		if ms, err := strconv.Atoi(r.URL.Query().Get("delay")); err == nil && ms > 0 && ms <= 5000 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"host":%q,"release":%q,"items":[1,2,3]}`, *name, *release)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") == "" {
			http.Error(w, "websocket upgrade required", http.StatusBadRequest)
			return
		}
		if shuttingDown.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			wsproto.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		if err := rw.Flush(); err != nil {
			conn.Close()
			return
		}
		s := &session{conn: conn, start: time.Now()}
		h.add(s)
		go func() {
			defer func() { h.remove(s); conn.Close() }()
			for {
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
				op, p, err := wsproto.ReadFrame(rw.Reader)
				if err != nil {
					return
				}
				s.wmu.Lock()
				switch op {
				case wsproto.OpText:
					err = wsproto.WriteFrame(conn, wsproto.OpText, p, false)
				case wsproto.OpPing:
					err = wsproto.WriteFrame(conn, wsproto.OpPong, p, false)
				case wsproto.OpClose:
					_ = wsproto.WriteFrame(conn, wsproto.OpClose, p, false)
					err = net.ErrClosed
				}
				s.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	})

	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logf("ERROR", "main", "o.s.boot.SpringApplication", "Application run failed: %v", err)
		os.Exit(1)
	}
	logf("INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port %s (http) with context path ''", port)
	logf("INFO", "main", "c.e.lab.LabApplication", "Started LabApplication in %.3f seconds (process running for %.3f)", time.Since(start).Seconds(), time.Since(start).Seconds())

	go func() {
		t := time.NewTicker(*interval)
		defer t.Stop()
		for now := range t.C {
			n, avg := h.stats(now)
			logf("INFO", "ws-metrics-1", "c.e.lab.ws.SessionMetrics", "[app] ws_sessions=%d, avg_age=%s", n, age(avg))
		}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		<-sig
		shuttingDown.Store(true)
		logf("INFO", "SpringApplicationShutdownHook", "o.s.b.w.e.tomcat.GracefulShutdown", "Commencing graceful shutdown. Waiting for active requests to complete")
		ctx, cancel := context.WithTimeout(context.Background(), *grace)
		err := srv.Shutdown(ctx)
		cancel()
		if n := h.closeAll(); n > 0 {
			logf("INFO", "SpringApplicationShutdownHook", "c.e.lab.ws.SessionRegistry", "Closed %d WebSocket sessions with status 1001 (going away)", n)
		}
		if err != nil {
			logf("INFO", "tomcat-shutdown", "o.s.b.w.e.tomcat.GracefulShutdown", "Graceful shutdown aborted with one or more requests still active")
		} else {
			logf("INFO", "tomcat-shutdown", "o.s.b.w.e.tomcat.GracefulShutdown", "Graceful shutdown complete")
		}
		close(done)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		logf("ERROR", "main", "o.s.boot.SpringApplication", "Application run failed: %v", err)
		os.Exit(1)
	}
	<-done
}
