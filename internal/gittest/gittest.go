// Package gittest builds real git repositories for tests with the git
// binary: fixed author, committer and dates, no global or system
// configuration. Tests never fake git; in CI a missing binary fails them.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Repo is a work tree with its repository.
type Repo struct {
	t   testing.TB
	git string
	Dir string
}

// New makes an empty repository in a new directory named name under
// t.TempDir(). When git is missing the test fails if the environment
// variable CI is "true" and is skipped otherwise.
func New(t testing.TB, name string) *Repo {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git missing in CI: %v", err)
		}
		t.Skip("git not installed")
	}
	r := &Repo{t: t, git: git, Dir: filepath.Join(t.TempDir(), name)}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Git(time.Time{}, "init", "-q", "-b", "main")
	return r
}

// Git runs git in the work tree with author and committer dates set to
// when (if not zero) and returns its trimmed output.
func (r *Repo) Git(when time.Time, args ...string) string {
	r.t.Helper()
	full := append([]string{"-C", r.Dir, "-c", "user.name=Test Author", "-c", "user.email=author@example.com",
		"-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"}, args...)
	cmd := exec.Command(r.git, full...)
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "HOME=" + r.Dir, "PATH=" + os.Getenv("PATH")}
	if !when.IsZero() {
		d := when.Format(time.RFC3339)
		env = append(env, "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files (path -> content; "" deletes the file), commits them
// all at when with message msg, and returns the short hash.
func (r *Repo) Commit(when time.Time, msg string, files map[string]string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if content == "" {
			if err := os.Remove(full); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.Git(when, "add", "-A")
	r.Git(when, "commit", "-q", "--allow-empty", "-m", msg)
	return r.Git(time.Time{}, "rev-parse", "--short", "HEAD")
}
