package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// haproxyLab is a real HAProxy on 127.0.0.1 in TCP mode with one server,
// vm-c, that is a local echo server, and an admin stats socket.
type haproxyLab struct {
	sock    string
	front   string
	clients []net.Conn
}

func startHAProxy(t *testing.T) *haproxyLab {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy not installed: %v", err)
		}
		t.Skip("haproxy not installed")
	}
	// The backend: accept and echo, holding connections open.
	back, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	go func() {
		for {
			c, err := back.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	// A free port for the frontend.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	lab := &haproxyLab{sock: filepath.Join(dir, "admin.sock"), front: front}
	cfg := fmt.Sprintf(`global
  stats socket %s mode 600 level admin
  maxconn 1000
defaults
  mode tcp
  timeout connect 2s
  timeout client 120s
  timeout server 120s
frontend fe_ws
  bind %s
  default_backend be_ws
backend be_ws
  server vm-c %s
`, lab.sock, front, back.Addr())
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", lab.sock); err == nil {
			c.Close()
			if c2, err := net.Dial("tcp", front); err == nil {
				c2.Close()
				return lab
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("haproxy did not come up")
	return nil
}

// connect opens n long-lived client sessions through HAProxy and checks
// each round-trips.
func (h *haproxyLab) connect(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", h.front)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "hello %d\n", i)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		h.clients = append(h.clients, c)
	}
	t.Cleanup(func() {
		for _, c := range h.clients {
			c.Close()
		}
	})
}

func (h *haproxyLab) admin(t *testing.T, cmd string) {
	t.Helper()
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", cmd)
	io.ReadAll(c)
}

func runGate(args ...string) (int, string) {
	var out, errOut syncBuffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	code := MainWith(append([]string{"gate", "drain"}, args...), d)
	return code, out.String() + errOut.String()
}

// Sessions that stay up: the gate sees the drain, forecasts that it will
// not finish, and exits with ExitGate on timeout, saying why.
func TestGateDrainTimeoutRealHAProxy(t *testing.T) {
	lab := startHAProxy(t)
	lab.connect(t, 20)
	// The gate starts before the drain does, and must see it start.
	go func() {
		time.Sleep(500 * time.Millisecond)
		lab.admin(t, "set server be_ws/vm-c state drain")
	}()
	code, out := runGate("--backend", "vm-c", "--threshold", "2", "--timeout", "2500ms", "--interval", "200ms", "--haproxy-socket", lab.sock)
	t.Log(out)
	if code != ExitGate {
		t.Fatalf("exit %d, want %d", code, ExitGate)
	}
	for _, want := range []string{
		"drain started: state=DRAIN",
		"active=20 new=0",
		"will not drain in time; send a drain notice to clients or take the approved forced stage",
		"timeout after 3s waiting for vm-c to drain: active 20",
		"state=no check active=20",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// Clients that leave: the forecast falls, and the gate exits 0 once they
// are gone.
func TestGateDrainCompletesRealHAProxy(t *testing.T) {
	lab := startHAProxy(t)
	lab.connect(t, 30)
	lab.admin(t, "set server be_ws/vm-c state drain")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Five sessions leave every 250ms.
		for i := 0; i < len(lab.clients); i += 5 {
			time.Sleep(250 * time.Millisecond)
			for _, c := range lab.clients[i : i+5] {
				c.Close()
			}
		}
	}()
	code, out := runGate("--backend", "vm-c", "--threshold", "1", "--timeout", "30s", "--interval", "100ms", "--haproxy-socket", lab.sock)
	wg.Wait()
	t.Log(out)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	if !strings.Contains(out, "vm-c drained: active 0 < 1 and no new sessions") {
		t.Errorf("no drained line")
	}
	if !strings.Contains(out, "falling") || !strings.Contains(out, "ETA") {
		t.Errorf("no falling forecast with an ETA")
	}
}

// With --fail-early the gate exits as soon as the forecast misses the
// timeout, long before it.
func TestGateDrainFailEarlyRealHAProxy(t *testing.T) {
	lab := startHAProxy(t)
	lab.connect(t, 10)
	lab.admin(t, "set server be_ws/vm-c state drain")
	start := time.Now()
	code, out := runGate("--backend", "vm-c", "--timeout", "10m", "--interval", "100ms", "--fail-early", "--haproxy-socket", lab.sock)
	t.Log(out)
	if code != ExitGate || !strings.Contains(out, "will not drain in time") {
		t.Fatalf("exit %d, want %d with a forecast", code, ExitGate)
	}
	if time.Since(start) > 5*time.Minute {
		t.Errorf("did not fail early")
	}
}

func TestGateDrainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--timeout", "1m", "--haproxy-socket", "x"},
		{"--backend", "vm-c", "--timeout", "1m"},
		{"--backend", "vm-c", "--haproxy-socket", "x", "--logs", "y"},
	} {
		if code, out := runGate(args...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, out, ExitUsage)
		}
	}
}

// The log source: LB controller lines with active_conn/new_conn gauges.
func TestGateDrainFromLogs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lb", "lb.log")
	os.MkdirAll(filepath.Dir(p), 0o755)
	now := time.Now().Format(time.RFC3339)
	os.WriteFile(p, []byte(now+" [lb] backend=vm-a draining new_conn=0 active_conn=1197\n"), 0o644)
	code, out := runGate("--backend", "vm-a", "--timeout", "1500ms", "--interval", "100ms", "--logs", dir)
	t.Log(out)
	if code != ExitGate || !strings.Contains(out, "active=1197 new=0") {
		t.Fatalf("stuck drain: exit %d, want %d with active=1197", code, ExitGate)
	}
	os.WriteFile(p, []byte(now+" [lb] backend=vm-a draining new_conn=0 active_conn=0\n"), 0o644)
	code, out = runGate("--backend", "vm-a", "--timeout", "5s", "--interval", "100ms", "--logs", dir)
	if code != ExitOK || !strings.Contains(out, "vm-a drained") {
		t.Fatalf("drained: exit %d\n%s", code, out)
	}
}
