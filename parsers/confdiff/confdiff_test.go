package confdiff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// show renders changes compactly for comparison.
func show(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		old := ""
		if c.Old {
			old = " (old)"
		}
		out = append(out, fmt.Sprintf("%d%s [%s] %s: %q -> %q | %s", c.Line, old, c.Context, c.Setting, c.From, c.To, c.Text))
	}
	return out
}

const nginxBase = `# main config
user www-data;
worker_processes auto;
events { worker_connections 1024; }

http {
    keepalive_timeout 65s;
    proxy_read_timeout 60s;
    upstream app {
        server 10.0.0.1:8080 weight=5;
        server 10.0.0.2:8080;
        keepalive 32;
    }
    server {
        listen 443 ssl;
        server_name api.example.com;
        location /ws {
            proxy_pass http://app;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }
    }
}
`

func TestNginxDiff(t *testing.T) {
	tests := []struct {
		name string
		new  string
		want []string
	}{
		{"identical", nginxBase, []string{}},
		{"comments, whitespace, quoting and order only", `user   www-data ;
# a new comment
events {
  worker_connections "1024";   # same value, quoted
}
worker_processes auto;
http {
    proxy_read_timeout 60s;
    keepalive_timeout 65s;
    server { listen 443 ssl; server_name api.example.com;
        location /ws { proxy_set_header Connection upgrade; proxy_set_header Upgrade $http_upgrade; proxy_pass http://app; }
    }
    upstream app { keepalive 32; server 10.0.0.2:8080; server 10.0.0.1:8080 weight=5; }
}
`, []string{}},
		{"keepalive_timeout shortened", strings.Replace(nginxBase, "keepalive_timeout 65s;", "keepalive_timeout 2s;", 1),
			[]string{`7 [http] keepalive_timeout: "65s" -> "2s" | keepalive_timeout 2s;`}},
		{"upstream keepalive removed", strings.Replace(nginxBase, "        keepalive 32;\n", "", 1),
			[]string{`12 (old) [upstream app] keepalive: "32" -> "removed" | keepalive 32;`}},
		{"setting added in a location", strings.Replace(nginxBase, "proxy_pass http://app;", "proxy_pass http://app;\n            proxy_read_timeout 3600s;", 1),
			[]string{`19 [server :443 > location /ws] proxy_read_timeout: "" -> "3600s" | proxy_read_timeout 3600s;`}},
		{"worker_shutdown_timeout added at the top", strings.Replace(nginxBase, "worker_processes auto;", "worker_processes auto;\nworker_shutdown_timeout 10s;", 1),
			[]string{`4 [main] worker_shutdown_timeout: "" -> "10s" | worker_shutdown_timeout 10s;`}},
		{"upstream server marked down and weight changed", strings.Replace(nginxBase, "server 10.0.0.1:8080 weight=5;", "server 10.0.0.1:8080 weight=1 down;", 1),
			[]string{
				`10 [upstream app > server 10.0.0.1:8080] down: "no" -> "yes" | server 10.0.0.1:8080 weight=1 down;`,
				`10 [upstream app > server 10.0.0.1:8080] weight: "5" -> "1" | server 10.0.0.1:8080 weight=1 down;`,
			}},
		{"upstream server replaced", strings.Replace(nginxBase, "server 10.0.0.2:8080;", "server 10.0.0.3:8080;", 1),
			[]string{
				`11 (old) [upstream app] server: "10.0.0.2:8080" -> "removed" | server 10.0.0.2:8080;`,
				`11 [upstream app] server: "" -> "10.0.0.3:8080" | server 10.0.0.3:8080;`,
			}},
		{"repeated directive changed by key", strings.Replace(nginxBase, `proxy_set_header Connection "upgrade";`, `proxy_set_header Connection "";`, 1),
			[]string{`20 [server :443 > location /ws] proxy_set_header: "Connection upgrade" -> "Connection \"\"" | proxy_set_header Connection "";`}},
		{"include stays a directive", strings.Replace(nginxBase, "proxy_read_timeout 60s;", "proxy_read_timeout 60s;\n    include /etc/nginx/conf.d/*.conf;", 1),
			[]string{`9 [http] include: "" -> "/etc/nginx/conf.d/*.conf" | include /etc/nginx/conf.d/*.conf;`}},
		{"semicolon inside quotes and a # inside a word", strings.Replace(nginxBase, "keepalive_timeout 65s;", `keepalive_timeout 65s; add_header X-A "a; b#c" always; set $x a#b;`, 1),
			[]string{
				`7 [http] add_header: "" -> "X-A \"a; b#c\" always" | keepalive_timeout 65s; add_header X-A "a; b#c" always; set $x a#b;`,
				`7 [http] set: "" -> "$x \"a#b\"" | keepalive_timeout 65s; add_header X-A "a; b#c" always; set $x a#b;`,
			}},
	}
	old := ParseNginx([]byte(nginxBase))
	if len(old.Problems) > 0 {
		t.Fatalf("problems in the base config: %v", old.Problems)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := show(Diff(old, ParseNginx([]byte(tc.new))))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestNginxContexts(t *testing.T) {
	cfg := ParseNginx([]byte(`http {
  server { listen 80; server_name a.example; return 301 https://a; }
  server { listen 80; server_name b.example; return 301 https://b; }
  server { listen 127.0.0.1:8080; location = /health { return 200; } location ~ "\.php$" { deny all; } }
  server { root /srv; }
  map $http_upgrade $conn { default upgrade; '' close; }
}
stream { upstream db { server 10.0.0.9:5432 max_fails=3; } }
`))
	got := map[string]string{}
	for _, s := range cfg.Settings {
		got[s.Context+" | "+s.Name+" "+s.Value] = ""
	}
	for _, want := range []string{
		"server :80 a.example | return 301 https://a",
		"server :80 b.example | return 301 https://b",
		"server 127.0.0.1:8080 > location = /health | return 200",
		`server 127.0.0.1:8080 > location ~ \.php$ | deny all`,
		"server | root /srv",
		"map $http_upgrade $conn | default upgrade",
		`map $http_upgrade $conn | "" close`,
		"stream > upstream db | server 10.0.0.9:5432 max_fails=3",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %q; have %v", want, got)
		}
	}
	if len(cfg.Problems) != 0 {
		t.Errorf("problems: %v", cfg.Problems)
	}
}

func TestTokenizeNginx(t *testing.T) {
	tests := []struct {
		in       string
		want     []string
		problems int
	}{
		{`a b;`, []string{"a", "b", ";"}, 0},
		{"a 'x y' \"q\\\"z\";# c\nb{}", []string{"a", "x y", `q"z`, ";", "b", "{", "}"}, 0},
		{`set $a ${b}c;`, []string{"set", "$a", "${b}c", ";"}, 0},
		{`a "unterminated`, []string{"a", "unterminated"}, 1},
		{"a\\;b;", []string{`a\;b`, ";"}, 0},
	}
	for _, tc := range tests {
		toks, probs := TokenizeNginx([]byte(tc.in))
		got := []string{}
		for _, tk := range toks {
			got = append(got, tk.Text)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%q: (-want +got)\n%s", tc.in, d)
		}
		if len(probs) != tc.problems {
			t.Errorf("%q: problems %v, want %d", tc.in, probs, tc.problems)
		}
	}
}

func TestNginxBroken(t *testing.T) {
	for _, in := range []string{"}", "http {", "a b", "{ }", "http { server { listen 80 }", `"`, strings.Repeat("{", 200)} {
		cfg := ParseNginx([]byte(in))
		if len(cfg.Problems) == 0 {
			t.Errorf("%q: no problem reported", in)
		}
	}
}

const haproxyBase = `global
    maxconn 20000
    log /dev/log local0

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    option http-keep-alive

frontend fe_https
    bind :443 ssl crt /etc/ssl/site.pem
    default_backend be_app

backend be_app
    balance roundrobin
    server vm-a 10.0.0.1:8080 check weight 10 maxconn 500
    server vm-b 10.0.0.2:8080 check weight 10 maxconn 500
`

func TestHAProxyDiff(t *testing.T) {
	tests := []struct {
		name string
		new  string
		want []string
	}{
		{"identical", haproxyBase, []string{}},
		{"comments, spacing, quoting and order only", `# header
global
  log   /dev/log "local0"   # comment
  maxconn 20000
defaults
  timeout tunnel 1h
  timeout server 30s
  timeout client 30s
  timeout connect 5s
  option  http-keep-alive
  mode http
frontend fe_https
  default_backend be_app
  bind :443 ssl crt /etc/ssl/site.pem
backend be_app
  server vm-b 10.0.0.2:8080 maxconn 500 weight 10 check
  server vm-a 10.0.0.1:8080 check weight 10 maxconn 500
  balance roundrobin
`, []string{}},
		{"timeouts changed", strings.NewReplacer("timeout client 30s", "timeout client 5s", "timeout tunnel 1h", "timeout tunnel 10s").Replace(haproxyBase),
			[]string{
				`8 [defaults] timeout client: "30s" -> "5s" | timeout client 5s`,
				`10 [defaults] timeout tunnel: "1h" -> "10s" | timeout tunnel 10s`,
			}},
		{"maxconn and option off", strings.NewReplacer("maxconn 20000", "maxconn 4000", "option http-keep-alive", "no option http-keep-alive").Replace(haproxyBase),
			[]string{
				`2 [global] maxconn: "20000" -> "4000" | maxconn 4000`,
				`11 [defaults] option http-keep-alive: "on" -> "off" | no option http-keep-alive`,
			}},
		{"server disabled and weight", strings.Replace(haproxyBase, "server vm-a 10.0.0.1:8080 check weight 10 maxconn 500", "server vm-a 10.0.0.1:8080 check weight 0 maxconn 500 disabled", 1),
			[]string{
				`19 [be_app/vm-a] disabled: "no" -> "yes" | server vm-a 10.0.0.1:8080 check weight 0 maxconn 500 disabled`,
				`19 [be_app/vm-a] weight: "10" -> "0" | server vm-a 10.0.0.1:8080 check weight 0 maxconn 500 disabled`,
			}},
		{"server removed and added", strings.Replace(haproxyBase, "server vm-b 10.0.0.2:8080", "server vm-c 10.0.0.3:8080", 1),
			[]string{
				`20 (old) [backend be_app] server: "vm-b 10.0.0.2:8080 check weight 10 maxconn 500" -> "removed" | server vm-b 10.0.0.2:8080 check weight 10 maxconn 500`,
				`20 [backend be_app] server: "" -> "vm-c 10.0.0.3:8080 check weight 10 maxconn 500" | server vm-c 10.0.0.3:8080 check weight 10 maxconn 500`,
			}},
		{"address changed, option removed", strings.Replace(haproxyBase, "server vm-b 10.0.0.2:8080 check weight 10 maxconn 500", "server vm-b 10.0.0.20:8080 check weight 10", 1),
			[]string{
				`20 [be_app/vm-b] address: "10.0.0.2:8080" -> "10.0.0.20:8080" | server vm-b 10.0.0.20:8080 check weight 10`,
				`20 [be_app/vm-b] maxconn: "500" -> "removed" | server vm-b 10.0.0.20:8080 check weight 10`,
			}},
	}
	old := ParseHAProxy([]byte(haproxyBase))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := show(Diff(old, ParseHAProxy([]byte(tc.new))))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestTokenizeHAProxy(t *testing.T) {
	tests := []struct {
		in       string
		want     [][]string
		problems int
	}{
		{"  bind :80 # comment\n\n# only\nacl a hdr(x) -m str \"a b\" 'c\\d'", [][]string{{"bind", ":80"}, {"acl", "a", "hdr(x)", "-m", "str", "a b", `c\d`}}, 0},
		{`http-request set-header X "a\"b"`, [][]string{{"http-request", "set-header", "X", `a"b`}}, 0},
		{`log-format a\ b\#c`, [][]string{{"log-format", "a b#c"}}, 0},
		{`errorfile 503 "unterminated`, [][]string{{"errorfile", "503", "unterminated"}}, 1},
	}
	for _, tc := range tests {
		lines, probs := TokenizeHAProxy([]byte(tc.in))
		got := [][]string{}
		for _, l := range lines {
			got = append(got, l.Words)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%q: (-want +got)\n%s", tc.in, d)
		}
		if len(probs) != tc.problems {
			t.Errorf("%q: problems %v, want %d", tc.in, probs, tc.problems)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		path, content string
		want          Kind
	}{
		{"nginx.conf", "", Nginx},
		{"etc/nginx/sites-enabled/api.conf", "", Nginx},
		{"conf.d/upstreams.conf", "", Nginx},
		{"nginx-vm-b.conf", "", Nginx},
		{"haproxy.cfg", "", HAProxy},
		{"lb/edge.cfg", "", HAProxy},
		{"etc/systemd/x.conf", "", Unknown},
		{"README.md", "", Unknown},
		{"templates/lb.txt", haproxyBase, HAProxy},
		{"templates/proxy", nginxBase, Nginx},
		{"haproxy.cfg", nginxBase, Nginx},
		{"nginx.conf", haproxyBase, HAProxy},
		{"etc/systemd/x.conf", "[Unit]\nDescription=x\n", Unknown},
		{"nginx.conf", "\x00\x01binary", Unknown},
	}
	for _, tc := range tests {
		if got := Detect(tc.path, []byte(tc.content)); got != tc.want {
			t.Errorf("Detect(%q, %.20q) = %q, want %q", tc.path, tc.content, got, tc.want)
		}
	}
}

// FuzzNginx checks that tokenizing, parsing and diffing arbitrary input
// never panics, that a config never differs from itself, and that change
// lines point into the files.
func FuzzNginx(f *testing.F) {
	f.Add([]byte(nginxBase), []byte(strings.Replace(nginxBase, "65s", "2s", 1)))
	f.Add([]byte("http { server { listen 80; } }"), []byte("}}{{;;\"'#\\"))
	f.Add([]byte("set $a ${b"), []byte("a 'b\\"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ca, cb := ParseNginx(a), ParseNginx(b)
		if d := Diff(ca, ParseNginx(a)); len(d) != 0 {
			t.Fatalf("config differs from itself: %v", show(d))
		}
		checkLines(t, Diff(ca, cb), a, b)
		_ = Detect("x.conf", a)
	})
}

// FuzzHAProxy is FuzzNginx for HAProxy configurations.
func FuzzHAProxy(f *testing.F) {
	f.Add([]byte(haproxyBase), []byte(strings.Replace(haproxyBase, "weight 10", "weight 0 disabled", 1)))
	f.Add([]byte("backend\nserver\nno\nno option\ndefault-server inter"), []byte("\"'\\#"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ca, cb := ParseHAProxy(a), ParseHAProxy(b)
		if d := Diff(ca, ParseHAProxy(a)); len(d) != 0 {
			t.Fatalf("config differs from itself: %v", show(d))
		}
		checkLines(t, Diff(ca, cb), a, b)
	})
}

func checkLines(t *testing.T, cs []Change, a, b []byte) {
	t.Helper()
	na, nb := len(splitLines(a)), len(splitLines(b))
	for _, c := range cs {
		n := nb
		if c.Old {
			n = na
		}
		if c.Line < 1 || c.Line > n {
			t.Fatalf("change %+v: line outside 1..%d", c, n)
		}
		if c.Setting == "" || c.From == c.To {
			t.Fatalf("empty change %+v", c)
		}
	}
}
