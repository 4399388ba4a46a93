package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/postmortem-tool/postmortem/ingest/lokipush"
)

// pushEnvToken is the environment variable read for the push bearer token
// when --push-token is not given (a flag shows in the process list).
const pushEnvToken = "POSTMORTEM_PUSH_TOKEN"

// tailHook, when set (tests), adjusts the options of the next tail run
// after its flags are parsed (hooks that have no flag).
var tailHook func(*TailOptions)

// checkListen refuses a --listen address that is not a loopback address
// unless any is set. An empty host ("":3100) means every interface.
func checkListen(addr string, any bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--listen %q: expected HOST:PORT such as 127.0.0.1:3100", addr)
	}
	if any {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usagef("--listen %s is not a loopback address: the receiver would accept pushes from the network; add --listen-any to mean it (and set a token with --push-token or $%s)", addr, pushEnvToken)
}

// pushSource receives Loki pushes for tail and feeds them as lines of
// streams named lokipush.StreamName(labels).
type pushSource struct {
	mu       sync.Mutex
	nums     map[string]int64
	recent   map[string]*recentLines
	backends map[string]string
	lines    int64
	skipped  int64
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}
}

func newPushSource() *pushSource {
	return &pushSource{nums: map[string]int64{}, backends: map[string]string{}, recent: map[string]*recentLines{}}
}

// lineLookup returns the text of line num of the stream file, if kept.
type lineLookup func(file string, num int64) (string, bool)

// recentN is how many of its latest lines a pushed stream keeps for
// quoting evidence (a pushed line cannot be re-read like a file's).
const recentN = 2048

// recentLines keeps the latest recentN lines of a stream by number.
type recentLines struct {
	nums  [recentN]int64
	texts [recentN]string
}

// text returns line num of a pushed stream if it is among its latest
// recentN lines.
func (p *pushSource) text(file string, num int64) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.recent[file]
	if r == nil || num <= 0 || r.nums[num%recentN] != num {
		return "", false
	}
	return r.texts[num%recentN], true
}

// backendOf returns the backend the labels of a pushed stream name, and
// whether path is a pushed stream.
func (p *pushSource) backendOf(path string) (string, bool) {
	if !strings.HasPrefix(path, "loki:") {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backends[path], true
}

// start listens on addr and serves the push API until stop; each pushed
// line goes to feed with its own 1-based number within its stream.
func (p *pushSource) start(addr, token string, maxBody int64, feed func(path string, line []byte, num int64), errOut io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	h := &lokipush.Handler{Token: token, MaxBody: maxBody, MaxDecoded: 8 * maxBody,
		Deliver: func(ls lokipush.Labels, _ time.Time, text string) {
			name := lokipush.StreamName(ls)
			for _, line := range strings.Split(strings.TrimRight(text, "\r\n"), "\n") {
				line = strings.TrimSuffix(line, "\r")
				p.mu.Lock()
				if _, ok := p.backends[name]; !ok {
					p.backends[name] = lokipush.Backend(ls)
				}
				if len(line) > 1<<20 {
					p.skipped++
					p.mu.Unlock()
					continue
				}
				p.nums[name]++
				num := p.nums[name]
				r := p.recent[name]
				if r == nil {
					r = &recentLines{}
					p.recent[name] = r
				}
				// A copy: the line must not pin the decoded request.
				r.nums[num%recentN], r.texts[num%recentN] = num, strings.Clone(line)
				p.lines++
				p.mu.Unlock()
				feed(name, []byte(line), num)
			}
		}}
	mux := http.NewServeMux()
	mux.Handle(lokipush.Path, h)
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ready\n") })
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		ErrorLog: nil}
	p.ln = ln
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(errOut, "postmortem: tail: push receiver: %v\n", err)
		}
	}()
	return nil
}

// addr is the address listened on.
func (p *pushSource) addr() string { return p.ln.Addr().String() }

// stop ends the receiver, letting requests in flight finish (up to 5s).
func (p *pushSource) stop() {
	if p.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		p.srv.Close()
	}
	<-p.done
}

// stats returns the lines received and the over-long lines skipped.
func (p *pushSource) stats() (lines, skipped int64, streams int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines, p.skipped, len(p.nums)
}

// pushToken returns --push-token, else $POSTMORTEM_PUSH_TOKEN.
func pushToken(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(pushEnvToken)
}
