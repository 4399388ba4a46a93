package ingest

import "testing"

func TestBackendFromPath(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		// Host directories.
		{"incident/nginx/vm-a/error.log", "vm-a"},
		{"nginx/vm-b/access.log.1.gz", "vm-b"},
		{"app/vm-c/app.log", "vm-c"},
		{"app/vm-c/ws-metrics.jsonl", "vm-c"},
		{"ss/vm-a/ss.log", "vm-a"},
		{"logs/web-01/nginx/error.log", "web-01"},
		{"logs/web01/access.log", "web01"},
		{"var/log/node3/kern.log", "node3"},
		{"ip-10-0-0-3/var/log/nginx/error.log", "ip-10-0-0-3"},
		{"ip-10-0-0-3.ec2.internal/var/log/messages", "ip-10-0-0-3"},
		{"10.0.0.7/haproxy.log", "10.0.0.7"},
		{"web-02.prod.example.com/logs/access.log", "web-02"},
		{"i-0abc1234def56789/app.log", "i-0abc1234def56789"},
		{"prod-api-3/logs/app.log", "prod-api-3"},
		{"VM-A/error.log", "vm-a"},
		// Innermost host dir wins.
		{"vm-a/archive/vm-b/error.log", "vm-b"},
		{"vm-a/old/error.log", "vm-a"},
		// Host in the file name.
		{"nginx-vm-a-error.log", "vm-a"},
		{"logs/vm-b.access.log", "vm-b"},
		{"logs/vm-b.access.log.2.gz", "vm-b"},
		{"web-01-access.log-20260501.gz", "web-01"},
		{"ss-vm-c.txt", "vm-c"},
		{"sockstat_node2.log", "node2"},
		{"haproxy-10.0.0.5.log", "10.0.0.5"},
		{"app-vm-a-2026-05-01.log", "vm-a"},
		{"nginx/vm-a-error.log.1", "vm-a"},
		// Nothing host-like.
		{"haproxy/haproxy.log", ""},
		{"haproxy/haproxy.log.1.gz", ""},
		{"lb/lb.log", ""},
		{"deploy/deploy.log", ""},
		{"app.log", ""},
		{"error.log", ""},
		{"ws-metrics.jsonl", ""},
		{"logs/2026-05-01/app.log", ""},
		{"logs2/app.log", ""},
		{"v2/app.log", ""},
		{"incident-42/app.log", ""},
		{"webserver/error.log", ""},
		{"k8s/app.log", ""},
		{"app-2026-05-01.log", ""},
		{"access.log-20260501", ""},
		{"stdin", ""},
		{"", ""},
		{"/", ""},
		{"a//b/../error.log", ""},
	}
	for _, tc := range tests {
		if got := BackendFromPath(tc.path); got != tc.want {
			t.Errorf("BackendFromPath(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestBackendStrong(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		{"incident/nginx/vm-a/error.log", "vm-a"},
		{"prod-api-3/app.log", ""},
		{"case-17/error.log", ""},
		{"10.1.2.3/error.log", "10.1.2.3"},
	}
	for _, tc := range tests {
		if got := backendFromPath(tc.path, true); got != tc.want {
			t.Errorf("strong(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func FuzzBackendFromPath(f *testing.F) {
	for _, s := range []string{"incident/nginx/vm-a/error.log", "ip-1-2-3-4", "a.b.c.d", "x-20260501.gz", "..//-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		_ = BackendFromPath(p) // must not panic
	})
}
