package drain

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Source yields readings of one backend.
type Source interface {
	// Read takes one reading. New is the sessions opened since the
	// previous call (-1 on the first).
	Read(ctx context.Context) (Reading, error)
	// Name says where readings come from, for messages.
	Name() string
}

// HAProxyStats reads a server's sessions from an HAProxy stats socket
// (`show stat`): scur summed over every proxy that has a server of that
// name (or only Proxy when set), and new sessions from the growth of stot.
type HAProxyStats struct {
	// Addr is the socket: a unix socket path, or host:port for a TCP
	// stats socket ("tcp:" or "unix:" prefixes are accepted).
	Addr string
	// Server is the server name (svname), e.g. "vm-c".
	Server string
	// Proxy, if set, restricts to one backend (pxname), e.g. "be_ws".
	Proxy string
	// Timeout bounds one exchange. Default 5s.
	Timeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	lastStot float64
	haveStot bool
}

// Name returns "haproxy stats ADDR".
func (h *HAProxyStats) Name() string { return "haproxy stats " + h.Addr }

func (h *HAProxyStats) dial(ctx context.Context) (net.Conn, error) {
	network, addr := "unix", h.Addr
	switch {
	case strings.HasPrefix(addr, "unix:"):
		addr = addr[len("unix:"):]
	case strings.HasPrefix(addr, "tcp:"):
		network, addr = "tcp", addr[len("tcp:"):]
	case !strings.Contains(addr, "/") && strings.Contains(addr, ":"):
		network = "tcp"
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Read implements Source.
func (h *HAProxyStats) Read(ctx context.Context) (Reading, error) {
	to := h.Timeout
	if to <= 0 {
		to = 5 * time.Second
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	c, err := h.dial(ctx)
	if err != nil {
		return Reading{}, fmt.Errorf("%s: %w", h.Name(), err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(to))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return Reading{}, fmt.Errorf("%s: %w", h.Name(), err)
	}
	rows, err := ParseShowStat(io.LimitReader(c, 64<<20))
	if err != nil {
		return Reading{}, fmt.Errorf("%s: %w", h.Name(), err)
	}
	r := Reading{Time: now(), New: -1}
	found := false
	var stot float64
	var states []string
	for _, row := range rows {
		if row["svname"] != h.Server || (h.Proxy != "" && row["pxname"] != h.Proxy) {
			continue
		}
		found = true
		r.Active += num(row["scur"])
		stot += num(row["stot"])
		if s := row["status"]; s != "" {
			states = append(states, s)
		}
	}
	if !found {
		where := "any backend"
		if h.Proxy != "" {
			where = "backend " + h.Proxy
		}
		return Reading{}, fmt.Errorf("%s: no server %q in %s", h.Name(), h.Server, where)
	}
	if h.haveStot {
		r.New = stot - h.lastStot
		if r.New < 0 { // counters reset (reload)
			r.New = 0
		}
	}
	h.lastStot, h.haveStot = stot, true
	r.State = strings.Join(dedupe(states), ",")
	return r, nil
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func num(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return v
}

// ParseShowStat parses the CSV that `show stat` prints (a header line
// starting with "# "), returning one map per row keyed by column name.
// Malformed rows are skipped.
func ParseShowStat(r io.Reader) ([]map[string]string, error) {
	br := bufio.NewReader(r)
	head, err := br.ReadString('\n')
	if err != nil && head == "" {
		return nil, fmt.Errorf("empty answer to show stat")
	}
	head = strings.TrimSpace(head)
	if !strings.HasPrefix(head, "# ") {
		return nil, fmt.Errorf("unexpected answer to show stat: %.80q", head)
	}
	cols := strings.Split(strings.TrimSuffix(head[2:], ","), ",")
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var out []map[string]string
	for n := 0; n < 1<<20; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue
		}
		if len(rec) < 2 {
			continue
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(rec) {
				m[c] = rec[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}
