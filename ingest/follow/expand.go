package follow

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// expand returns the paths the inputs name now: a plain path as given
// (whether or not it exists yet), the regular files under a directory
// (recursively) and the matches of a glob, leaving out hidden files and
// names that look rotated or compressed (those are older copies of a
// followed file, not streams of their own).
func (f *Follower) expand() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, in := range f.inputs {
		if strings.ContainsAny(in, "*?[") {
			ms, _ := filepath.Glob(in)
			for _, m := range ms {
				fi, err := os.Stat(m)
				if err != nil {
					continue
				}
				if fi.IsDir() {
					walk(m, add)
				} else if fi.Mode().IsRegular() && !IsRotatedName(filepath.Base(m)) {
					add(m)
				}
			}
			continue
		}
		fi, err := os.Stat(in)
		if err == nil && fi.IsDir() {
			walk(in, add)
			continue
		}
		add(in)
	}
	sort.Strings(out)
	return out
}

func walk(dir string, add func(string)) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if p != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && !IsRotatedName(name) {
			add(p)
		}
		return nil
	})
}

// IsRotatedName reports whether a file name looks like a rotated or
// compressed copy of a log: `access.log.1`, `app.log.2.gz`, `error.log-20260501`,
// `app-2026-05-01.log.gz`, `x.log.old`.
func IsRotatedName(name string) bool {
	if isCompressed(name) {
		return true
	}
	for _, s := range []string{".old", ".bak", ".tmp", ".swp", "~"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	i := strings.LastIndexAny(name, ".-_")
	if i < 0 || i == len(name)-1 {
		return false
	}
	suf := name[i+1:]
	for _, c := range suf {
		if c < '0' || c > '9' {
			return false
		}
	}
	// `.1`..`.999` and dates (20260501, 2026050112).
	return len(suf) <= 3 || len(suf) == 8 || len(suf) == 10
}
