// Command hactl is the lab's small client for HAProxy's stats socket and
// Prometheus' HTTP API (so the lab needs neither socat nor curl).
//
//	hactl -sock S cmd "set server be_app/vm-a state drain"
//	    sends one command and prints the answer.
//	hactl -sock S stat BACKEND SERVER
//	    prints "STATUS SCUR RATE" for one server from "show stat".
//	hactl -sock S watch -backend be_app -interval 2s -duration 3m -out FILE
//	    appends one "[lb]" line per server and interval to FILE:
//	    "RFC3339 [lb] backend=vm-a pool=be_app status=UP new_conn=RATE
//	    active_conn=SCUR econ=.. eresp=.. cli_abrt=.. srv_abrt=..",
//	    all values as "show stat" reports them.
//	hactl prom -url http://127.0.0.1:19090 -start RFC3339 -end RFC3339
//	    -step 2s -dir DIR NAME=EXPR...
//	    saves each query_range answer as DIR/NAME.json.
//
// Only unix sockets and loopback URLs are used.
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	sock := flag.String("sock", "", "HAProxy stats socket")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: hactl -sock S cmd|stat|watch|prom ...")
		os.Exit(2)
	}
	var err error
	switch args[0] {
	case "cmd":
		var out string
		out, err = command(*sock, strings.Join(args[1:], " "))
		fmt.Print(out)
	case "stat":
		if len(args) != 3 {
			err = fmt.Errorf("stat BACKEND SERVER")
			break
		}
		var rows []map[string]string
		rows, err = showStat(*sock)
		found := false
		for _, r := range rows {
			if r["pxname"] == args[1] && r["svname"] == args[2] {
				fmt.Println(r["status"], r["scur"], r["rate"])
				found = true
			}
		}
		if err == nil && !found {
			err = fmt.Errorf("no server %s/%s", args[1], args[2])
		}
	case "watch":
		err = watch(*sock, args[1:])
	case "prom":
		err = prom(args[1:])
	default:
		err = fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hactl:", err)
		os.Exit(1)
	}
}

func command(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func showStat(sock string) ([]map[string]string, error) {
	out, err := command(sock, "show stat")
	if err != nil {
		return nil, err
	}
	out = strings.TrimPrefix(out, "# ")
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("empty show stat")
	}
	hdr := recs[0]
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, v := range rec {
			if i < len(hdr) {
				m[hdr[i]] = v
			}
		}
		rows = append(rows, m)
	}
	return rows, nil
}

func watch(sock string, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	backend := fs.String("backend", "be_app", "backend to report")
	interval := fs.Duration("interval", 2*time.Second, "poll interval")
	duration := fs.Duration("duration", 3*time.Minute, "hard bound on run time")
	outPath := fs.String("out", "", "file to append to")
	_ = fs.Parse(args)
	if *duration > 30*time.Minute {
		return fmt.Errorf("-duration is capped at 30m")
	}
	f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	end := time.Now().Add(*duration)
	for time.Now().Before(end) {
		rows, err := showStat(sock)
		now := time.Now().Format(time.RFC3339)
		if err == nil {
			for _, r := range rows {
				if r["pxname"] != *backend || r["svname"] == "BACKEND" || r["svname"] == "FRONTEND" {
					continue
				}
				fmt.Fprintf(w, "%s [lb] backend=%s pool=%s status=%s new_conn=%s active_conn=%s econ=%s eresp=%s cli_abrt=%s srv_abrt=%s\n",
					now, r["svname"], r["pxname"], strings.ReplaceAll(r["status"], " ", "_"), r["rate"], r["scur"], orZero(r["econ"]), orZero(r["eresp"]), orZero(r["cli_abrt"]), orZero(r["srv_abrt"]))
			}
			_ = w.Flush()
		}
		time.Sleep(*interval)
	}
	return w.Flush()
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func prom(args []string) error {
	fs := flag.NewFlagSet("prom", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:19090", "Prometheus base URL")
	start := fs.String("start", "", "RFC3339 start")
	end := fs.String("end", "", "RFC3339 end")
	step := fs.String("step", "2s", "step")
	dir := fs.String("dir", ".", "output directory")
	_ = fs.Parse(args)
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("prometheus URL must be loopback")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	for _, q := range fs.Args() {
		name, expr, ok := strings.Cut(q, "=")
		if !ok {
			return fmt.Errorf("query %q: want NAME=EXPR", q)
		}
		v := url.Values{"query": {expr}, "start": {*start}, "end": {*end}, "step": {*step}}
		resp, err := c.Get(strings.TrimRight(*base, "/") + "/api/v1/query_range?" + v.Encode())
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("query %s: %s: %s", name, resp.Status, b)
		}
		if err := os.WriteFile(filepath.Join(*dir, name+".json"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
