package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/postmortem-tool/postmortem/ingest/lokipush"
	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
)

// pushLines sends lines to a receiver as a shipper would: protobuf with
// raw snappy, one request per batch of up to 200 lines in time order,
// each line in the stream its file would be (labels job and filename, the
// path relative to the fixture). It stops at the first failed request
// (tail may have exited at its gate) and returns how many lines were
// accepted.
func pushLines(url, token string, lines []live.ReplayLine, root string) (int, error) {
	sent := 0
	for i := 0; i < len(lines); {
		end := min(i+200, len(lines))
		var req push.PushRequest
		idx := map[string]int{}
		for _, l := range lines[i:end] {
			rel, err := filepath.Rel(root, l.Stream)
			if err != nil || strings.HasPrefix(rel, "..") {
				rel = filepath.Base(l.Stream)
			}
			rel = filepath.ToSlash(rel)
			labels := fmt.Sprintf(`{job=%q, filename=%q}`, strings.SplitN(rel, "/", 2)[0], rel)
			j, ok := idx[labels]
			if !ok {
				j = len(req.Streams)
				idx[labels] = j
				req.Streams = append(req.Streams, push.Stream{Labels: labels})
			}
			req.Streams[j].Entries = append(req.Streams[j].Entries, push.Entry{Timestamp: l.Time, Line: l.Text})
		}
		raw, err := req.Marshal()
		if err != nil {
			return sent, err
		}
		hr, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, raw)))
		hr.Header.Set("Content-Type", "application/x-protobuf")
		if token != "" {
			hr.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			return sent, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return sent, fmt.Errorf("push: status %d", resp.StatusCode)
		}
		sent += end - i
		i = end
	}
	return sent, nil
}

// TestTailPushGateHardCut is the end-to-end test of the push receiver: the
// hard-cut fixture is pushed over real HTTP (protobuf+snappy, with a
// token) into `tail --listen 127.0.0.1:0 --gate critical`, which must exit
// with ExitGate naming vm-c.
func TestTailPushGateHardCut(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	reg, _ := builtin.Registry()
	lines, err := live.Replay([]string{root}, reg)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	pushed := make(chan error, 1)
	var sent int
	o := []string{"tail", "--listen", "127.0.0.1:0", "--push-token", "t0ken", "--gate", "critical",
		"--for", "50s", "--eval-every", "100ms", "--status-every", "0"}
	code := mainWithTail(o, d, func(to *TailOptions) {
		to.PushReady = func(addr string) {
			go func() {
				// A wrong token is refused and delivers nothing.
				if _, err := pushLines("http://"+addr+lokipush.Path, "wrong", lines[:10], root); err == nil || !strings.Contains(err.Error(), "401") {
					pushed <- fmt.Errorf("wrong token: %v, want status 401", err)
					return
				}
				var err error
				sent, err = pushLines("http://"+addr+lokipush.Path, "t0ken", lines, root)
				pushed <- err
			}()
		}
	})
	perr := <-pushed
	t.Logf("pushed %d of %d lines (%v)\nstdout:\n%.3000s\nstderr:\n%s", sent, len(lines), perr, out.String(), errOut.String())
	if perr != nil && strings.Contains(perr.Error(), "wrong token") {
		t.Fatal(perr)
	}
	if code != ExitGate {
		t.Fatalf("exit %d, want ExitGate (%d)", code, ExitGate)
	}
	if !strings.Contains(out.String(), "FIRING critical hard-cut-without-drain backend=vm-c") {
		t.Errorf("no FIRING line for vm-c")
	}
	if !strings.Contains(errOut.String(), "gate critical: hard-cut-without-drain fired on vm-c") {
		t.Errorf("gate reason missing from stderr")
	}
	if !strings.Contains(out.String(), `loki:{filename="`) {
		t.Errorf("evidence does not name the pushed stream")
	}
	// Evidence cited by position only is quoted from the lines kept.
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "  evidence [") && strings.Contains(l, "loki:{") && strings.HasSuffix(l, " ") {
			t.Errorf("evidence without its text: %s", l)
		}
	}
}

// mainWithTail runs the CLI with args after letting set adjust the tail
// options (hooks that have no flag).
func mainWithTail(args []string, d *Deps, set func(*TailOptions)) int {
	tailHook = set
	defer func() { tailHook = nil }()
	return MainWith(args, d)
}

func TestTailListenFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"tail", "--listen", "0.0.0.0:3100"}, ExitUsage},
		{[]string{"tail", "--listen", ":3100"}, ExitUsage},
		{[]string{"tail", "--listen", "192.0.2.1:3100"}, ExitUsage},
		{[]string{"tail", "--listen", "3100"}, ExitUsage},
		{[]string{"tail"}, ExitUsage},
		{[]string{"tail", "--listen", "127.0.0.1:0", "--push-max-bytes", "0"}, ExitUsage},
	} {
		var out, errOut syncBuffer
		d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
		if code := MainWith(tc.args, d); code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr %s", tc.args, code, tc.code, errOut.String())
		}
	}
	for _, ok := range []string{"127.0.0.1:3100", "[::1]:3100", "localhost:3100", "127.0.0.2:0"} {
		if err := checkListen(ok, false); err != nil {
			t.Errorf("checkListen(%s): %v", ok, err)
		}
	}
	if err := checkListen("0.0.0.0:3100", true); err != nil {
		t.Errorf("--listen-any refused: %v", err)
	}
}

// A receiver with nothing pushed stops at --for with status 0 and says
// how much it received.
func TestTailListenFor(t *testing.T) {
	var out, errOut syncBuffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	var addr string
	code := mainWithTail([]string{"tail", "--listen", "127.0.0.1:0", "--for", "300ms"}, d, func(o *TailOptions) {
		o.PushReady = func(a string) { addr = a }
	})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if addr == "" || !strings.Contains(errOut.String(), "receiving Loki pushes on http://"+addr+lokipush.Path) ||
		!strings.Contains(errOut.String(), "received 0 pushed line(s)") {
		t.Errorf("stderr: %s", errOut.String())
	}
	_ = time.Second
}
