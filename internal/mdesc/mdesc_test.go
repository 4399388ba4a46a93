package mdesc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text 1800 -> 300", `plain text 1800 -&gt; 300`},
		{"<script>alert(1)</script>", `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{"a|b", `a\|b`},
		{"`rm -rf`", "\\`rm -rf\\`"},
		{"*bold* _it_ [x](y) ~~s~~", `\*bold\* \_it\_ \[x\](y) \~\~s\~\~`},
		{"AT&T", `AT&amp;T`},
		{"line1\nline2\r\n\tline3", `line1 line2 line3`},
		{"# heading", `\# heading`},
		{"- item", `\- item`},
		{"12. ordered", `12\. ordered`},
		{"v1.2.3", `v1.2.3`},
		{"![img](x)", `\!\[img\](x)`},
		{`C:\path`, `C:\\path`},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"esc \x1b[31mred", `esc \[31mred`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Inline(tc.in); got != tc.want {
			t.Errorf("Inline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ in, want, cell string }{
		{"recv() failed (104)", "`recv() failed (104)`", "`recv() failed (104)`"},
		{"a ` b", "``a ` b``", "``a ` b``"},
		{"x ``` y", "````x ``` y````", "````x ``` y````"},
		{"`start", "`` `start ``", "`` `start ``"},
		{"a|b", "`a|b`", "`a\\|b`"},
		{"<b>", "`<b>`", "`<b>`"},
		{"multi\nline", "`multi line`", "`multi line`"},
		{"", "` `", "` `"},
	}
	for _, tc := range tests {
		if got := Code(tc.in); got != tc.want {
			t.Errorf("Code(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := CellCode(tc.in); got != tc.cell {
			t.Errorf("CellCode(%q) = %q, want %q", tc.in, got, tc.cell)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("abcdef", 4); got != "abc…" {
		t.Errorf("got %q", got)
	}
	if got := Truncate("äöü", 3); got != "äöü" {
		t.Errorf("got %q", got)
	}
	if got := Truncate("äöüß", 2); got != "ä…" {
		t.Errorf("got %q", got)
	}
	if got := Truncate("abc", 0); got != "abc" {
		t.Errorf("got %q", got)
	}
}

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEyMyJ9.c2lnbmF0dXJl"
	tests := []struct{ name, in, want string }{
		{"bearer header", "Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED]"},
		{"basic header", "authorization: Basic dXNlcjpwYXNz", "authorization: Basic [REDACTED]"},
		{"proxy auth", "Proxy-Authorization: Basic dXNlcjpwYXNz next", "Proxy-Authorization: Basic [REDACTED] next"},
		{"quoted header field", `http_authorization="Bearer xyz987654321"`, `http_authorization="Bearer [REDACTED]"`},
		{"raw token header", "Authorization: s3cr3tvalue", "Authorization: [REDACTED]"},
		{"cookie", "Cookie: sid=abc123; theme=dark", "Cookie: sid=[REDACTED]; theme=[REDACTED]"},
		{"set-cookie", "Set-Cookie: SESSION=xyz; Path=/; HttpOnly", "Set-Cookie: SESSION=[REDACTED]; Path=/; HttpOnly"},
		{"cookie in quotes", `cookie: "a=1; b=2" ok`, `cookie: "a=[REDACTED]; b=[REDACTED]" ok`},
		{"bare bearer", `"Bearer abcdefgh12345"`, `"Bearer [REDACTED]"`},
		{"query token", "GET /ws?token=abc123&room=7 HTTP/1.1", "GET /ws?token=[REDACTED]&room=7 HTTP/1.1"},
		{"access_token", "/cb?code=1&access_token=zz.yy", "/cb?code=1&access_token=[REDACTED]"},
		{"api_key", "api_key=K-123 user=u-1", "api_key=[REDACTED] user=u-1"},
		{"apiKey header", "x-api-key: 0123456789", "x-api-key: [REDACTED]"},
		{"password kv", "login password=hunter2, user=bob", "login password=[REDACTED], user=bob"},
		{"json secret", `{"client_secret":"s3cr3t","id":1}`, `{"client_secret":"[REDACTED]","id":1}`},
		{"db_password", "db_password: pa55", "db_password: [REDACTED]"},
		{"jwt", "sent " + jwt + " to client", "sent [REDACTED] to client"},
		{"jwt as token", "?token=" + jwt, "?token=[REDACTED]"},
		{"aws key", "key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"},
		{"aws secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=[REDACTED]"},
		{"url creds", "dial postgres://app:hunter2@db:5432/x", "dial postgres://app:[REDACTED]@db:5432/x"},
		{"nothing", "[lb] reset_out=420/s active_conn dropped 1800 -> 300 in 10s", "[lb] reset_out=420/s active_conn dropped 1800 -> 300 in 10s"},
		{"login method", "Login ok user=u-1 method=password", "Login ok user=u-1 method=password"},
		{"token count", "tokens=5 keyspace=3", "tokens=5 keyspace=3"},
		{"recv", "recv() failed (104: Connection reset by peer) while reading response header from upstream", "recv() failed (104: Connection reset by peer) while reading response header from upstream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.in)
			if got != tc.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if again := Redact(got); again != got {
				t.Errorf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func FuzzInline(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script> | x", "`a``b`", "# x\n- y", "Authorization: Bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Inline(s)
		if strings.ContainsAny(out, "<>\n\r") {
			t.Fatalf("Inline(%q) = %q keeps a raw <, > or newline", s, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		c := CellCode(s)
		if strings.ContainsAny(c, "\n\r") {
			t.Fatalf("CellCode(%q) = %q has a newline", s, c)
		}
		// Every pipe in a cell code span is escaped.
		for i := 0; i < len(c); i++ {
			if c[i] == '|' && (i == 0 || c[i-1] != '\\') {
				t.Fatalf("CellCode(%q) = %q has a bare pipe", s, c)
			}
		}
		r := Redact(s)
		if Redact(r) != r {
			t.Fatalf("Redact not idempotent on %q", s)
		}
	})
}
