// Package promtest starts a real Prometheus (the Debian package) for tests:
// on a free loopback port, stopped when the test ends. Tests never mock
// Prometheus; in CI a missing binary fails them.
package promtest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Need returns the paths of the named binaries. When one is missing the test
// fails if the environment variable CI is "true", and is skipped otherwise.
func Need(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing in CI: %v", n, err)
			}
			t.Skipf("%s not installed (install the Debian prometheus package)", n)
		}
		paths[i] = p
	}
	return paths
}

// Start runs prom with the config file and TSDB directory given, plus extra
// flags, listening on a free 127.0.0.1 port, and waits (30 s at most) until
// /-/ready answers. It returns the base URL; the process is killed when the
// test ends (and after 2 minutes in any case).
func Start(t testing.TB, prom, config, dataDir string, extra ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	args := append([]string{"--config.file=" + config, "--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr, "--log.level=warn"}, extra...)
	cmd := exec.CommandContext(ctx, prom, args...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	for i := 0; i < 150; i++ {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				return url
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("prometheus not ready at %s\n%s", url, logs.String())
	return ""
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
