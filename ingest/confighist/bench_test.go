package confighist

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/gittest"
)

// BenchmarkRepoChanges walks a repository of 1,000 commits, each changing
// one setting of a 120-line nginx configuration and a README, built with
// git fast-import.
func BenchmarkRepoChanges(b *testing.B) {
	r := gittest.New(b, "bench")
	var conf strings.Builder
	conf.WriteString("http {\n    keepalive_timeout %ds;\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&conf, "    upstream app%d {\n        server 10.0.%d.1:8080 weight=5;\n        server 10.0.%d.2:8080;\n        keepalive 32;\n    }\n", i, i, i)
	}
	conf.WriteString("}\n")
	var stream strings.Builder
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const commits = 1000
	for i := 0; i < commits; i++ {
		data := fmt.Sprintf(conf.String(), 1+i%90)
		readme := fmt.Sprintf("revision %d\n", i)
		ts := t0.Add(time.Duration(i) * time.Minute).Unix()
		fmt.Fprintf(&stream, "commit refs/heads/main\ncommitter Bench <b@example.com> %d +0000\ndata 3\nc%d\n", ts, i%10)
		fmt.Fprintf(&stream, "M 100644 inline nginx/vm-a/nginx.conf\ndata %d\n%s\n", len(data), data)
		fmt.Fprintf(&stream, "M 100644 inline README.md\ndata %d\n%s\n", len(readme), readme)
	}
	cmd := exec.Command("git", "-C", r.Dir, "fast-import", "--quiet")
	cmd.Stdin = strings.NewReader(stream.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v\n%s", err, out)
	}
	repo, err := OpenRepo(context.Background(), r.Dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := repo.Changes(context.Background(), Window{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Changes) != commits-1 {
			b.Fatalf("%d changes, want %d", len(res.Changes), commits-1)
		}
	}
	b.ReportMetric(float64(commits), "commits/op")
}
