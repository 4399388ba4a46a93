package confighist

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/confdiff"
	"github.com/postmortem-tool/postmortem/timeline"
)

// ErrNotRepo is returned by OpenRepo for a directory that is not in a git
// repository.
var ErrNotRepo = errors.New("not a git repository")

// Repo is a git repository holding configuration files.
type Repo struct {
	// Name is the repository's display name: the base name of its top
	// directory (of the directory given, for a bare repository).
	Name string
	// Git is the git binary to run; "git" by default.
	Git string

	dir    string // where git runs: the top of the work tree, or the bare repository
	prefix string // the subdirectory given, relative to dir ("" = all)
}

// maxBlob bounds the size of a configuration file version that is read.
const maxBlob = 8 << 20

// OpenRepo checks that dir is (inside) a git repository and returns it.
// Only paths under dir are read. It fails with an error wrapping ErrNotRepo
// when git says dir is not in a repository, and with the git error when
// git cannot run.
func OpenRepo(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{Git: "git"}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errors.New("not a directory")
	}
	out, err := r.run(ctx, dir, "rev-parse", "--is-bare-repository")
	if err != nil {
		if strings.Contains(err.Error(), "not a git repository") {
			return nil, fmt.Errorf("%w (%s)", ErrNotRepo, firstLine(err.Error()))
		}
		return nil, err
	}
	if strings.TrimSpace(string(out)) == "true" {
		abs, _ := filepath.Abs(dir)
		r.dir, r.Name = dir, strings.TrimSuffix(filepath.Base(abs), ".git")
		return r, nil
	}
	out, err = r.run(ctx, dir, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	r.dir = lines[0]
	if len(lines) > 1 {
		r.prefix = strings.TrimSuffix(lines[1], "/")
	}
	r.Name = filepath.Base(r.dir)
	return r, nil
}

// run runs git in dir and returns its standard output; the error carries
// git's standard error.
func (r *Repo) run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := r.command(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}

func (r *Repo) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := append([]string{"-C", dir, "-c", "core.quotePath=false", "--no-pager"}, args...)
	cmd := exec.CommandContext(ctx, r.Git, full...)
	// The repository is the one named, whatever the caller's environment says.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_DIR=") || strings.HasPrefix(kv, "GIT_WORK_TREE=") ||
			strings.HasPrefix(kv, "GIT_INDEX_FILE=") || strings.HasPrefix(kv, "GIT_OBJECT_DIRECTORY=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	return cmd
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// commit is one entry of the first-parent history.
type commit struct {
	hash, short, parent, parentShort string
	time                             time.Time
	author                           string
	files                            []fileChange
}

// fileChange is a path a commit touched; old differs from path on renames.
type fileChange struct{ old, path string }

// logSep starts each commit in the log output.
const logSep = "\x1e"

// Changes walks the first-parent history and diffs every nginx or HAProxy
// configuration a commit changed against the version in the commit's first
// parent. Only commits whose committer date is in w are compared. Files are
// chosen by name (nginx.conf, *.conf under nginx/, sites-*/, conf.d/,
// haproxy.cfg, *.cfg, names with nginx or haproxy) and then by content.
// The root commit is the baseline: it yields no changes. A repository
// without commits yields none and a warning.
func (r *Repo) Changes(ctx context.Context, w Window) (*Result, error) {
	args := []string{"log", "--first-parent", "-m", "--name-status", "-M",
		"--format=" + logSep + "%H%x1f%h%x1f%P%x1f%p%x1f%cI%x1f%an"}
	if r.prefix != "" {
		args = append(args, "--", r.prefix)
	}
	out, err := r.run(ctx, r.dir, args...)
	if err != nil {
		if strings.Contains(err.Error(), "does not have any commits") {
			return &Result{Warnings: []string{"the repository has no commits"}}, nil
		}
		return nil, err
	}
	commits, warns := parseLog(out)
	res := &Result{Warnings: warns}
	var probs problems

	type want struct {
		c    *commit
		f    fileChange
		kind confdiff.Kind
	}
	var wants []want
	for i := range commits {
		c := &commits[i]
		if c.parent == "" || !w.contains(c.time) {
			continue
		}
		for _, f := range c.files {
			if candidateName(f.path) || candidateName(f.old) {
				wants = append(wants, want{c: c, f: f})
			}
		}
	}
	if len(wants) == 0 {
		return res, nil
	}
	cat, err := r.catFile(ctx)
	if err != nil {
		return nil, err
	}
	defer cat.close()
	for _, wt := range wants {
		c, f := wt.c, wt.f
		oldData, oldOK, err := cat.get(c.parent + ":" + f.old)
		if err != nil {
			return nil, err
		}
		newData, newOK, err := cat.get(c.hash + ":" + f.path)
		if err != nil {
			return nil, err
		}
		if !oldOK && !newOK {
			continue
		}
		kind := confdiff.Detect(f.path, newData)
		if !newOK {
			kind = confdiff.Detect(f.old, oldData)
		}
		if kind == confdiff.Unknown {
			continue
		}
		res.Versions++
		var oc, nc *confdiff.Config
		if oldOK {
			oc = confdiff.Parse(kind, oldData)
			probs.add(r.Name+"/"+f.old+"@"+c.parentShort, oc)
		}
		if newOK {
			nc = confdiff.Parse(kind, newData)
			probs.add(r.Name+"/"+f.path+"@"+c.short, nc)
		}
		for _, d := range confdiff.Diff(oc, nc) {
			ch := Change{Change: d, Time: c.time, Path: f.path, Commit: c.short, Author: c.author,
				Pos: timeline.Pos{File: r.Name + "/" + f.path + "@" + c.short, Line: int64(d.Line)}}
			if d.Old {
				ch.Pos.File = r.Name + "/" + f.old + "@" + c.parentShort
			}
			ch.Backend = backendOf(f.path, d)
			res.Changes = append(res.Changes, ch)
		}
	}
	res.Warnings = append(res.Warnings, probs.warnings()...)
	sortChanges(res.Changes)
	return res, nil
}

// parseLog reads the output of git log --name-status with the format of
// Changes.
func parseLog(out []byte) ([]commit, []string) {
	var commits []commit
	var warns []string
	for _, rec := range strings.Split(string(out), logSep) {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		head, body, _ := strings.Cut(rec, "\n")
		f := strings.Split(head, "\x1f")
		if len(f) != 6 {
			warns = append(warns, fmt.Sprintf("git log: cannot read commit header %q", head))
			continue
		}
		t, err := time.Parse(time.RFC3339, f[4])
		if err != nil {
			warns = append(warns, fmt.Sprintf("git log: commit %s: bad date %q", f[1], f[4]))
			continue
		}
		c := commit{hash: f[0], short: f[1], time: t, author: f[5]}
		if ps := strings.Fields(f[2]); len(ps) > 0 {
			c.parent = ps[0]
		}
		if ps := strings.Fields(f[3]); len(ps) > 0 {
			c.parentShort = ps[0]
		}
		for _, l := range strings.Split(body, "\n") {
			parts := strings.Split(l, "\t")
			if len(parts) < 2 || parts[0] == "" {
				continue
			}
			status := parts[0][0]
			p := unquote(parts[len(parts)-1])
			fc := fileChange{old: p, path: p}
			if (status == 'R' || status == 'C') && len(parts) == 3 {
				fc.old = unquote(parts[1])
			}
			if strings.ContainsAny(fc.path+fc.old, "\n") {
				continue
			}
			c.files = append(c.files, fc)
		}
		commits = append(commits, c)
	}
	return commits, warns
}

// unquote undoes git's C-style quoting of unusual path names.
func unquote(p string) string {
	if len(p) >= 2 && p[0] == '"' {
		if u, err := strconv.Unquote(p); err == nil {
			return u
		}
	}
	return p
}

// catFile reads objects through one `git cat-file --batch` process.
type catFile struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func (r *Repo) catFile(ctx context.Context) (*catFile, error) {
	cmd := r.command(ctx, r.dir, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}, nil
}

// get returns the content of "REV:PATH"; ok is false when it does not
// exist or is not a file, or is larger than maxBlob.
func (c *catFile) get(obj string) (data []byte, ok bool, err error) {
	if _, err := io.WriteString(c.in, obj+"\n"); err != nil {
		return nil, false, fmt.Errorf("git cat-file: %w", err)
	}
	head, err := c.out.ReadString('\n')
	if err != nil {
		return nil, false, fmt.Errorf("git cat-file: %w", err)
	}
	f := strings.Fields(head)
	if len(f) != 3 {
		return nil, false, nil // "<obj> missing", "<obj> ambiguous"
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return nil, false, fmt.Errorf("git cat-file: bad header %q", head)
	}
	if size > maxBlob {
		if _, err := c.out.Discard(int(size) + 1); err != nil {
			return nil, false, fmt.Errorf("git cat-file: %w", err)
		}
		return nil, false, nil
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, buf); err != nil {
		return nil, false, fmt.Errorf("git cat-file: %w", err)
	}
	return buf[:size], f[1] == "blob", nil
}

func (c *catFile) close() {
	c.in.Close()
	_ = c.cmd.Wait()
}
