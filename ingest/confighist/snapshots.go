package confighist

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/confdiff"
	"github.com/postmortem-tool/postmortem/timeline"
)

// tsPattern matches a timestamp in a snapshot name: a date and time
// (2026-05-01T14:09:20+09:00, 2026-05-01T140920Z, 20260501T140920,
// 20260501-140920, 2026-05-01_14-09-20, optional fraction and offset) or
// Unix seconds (10 digits).
const tsPattern = `(?:(\d{4})-?(\d{2})-?(\d{2})[T_ \-]?(\d{2})[:\-]?(\d{2})[:\-]?(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?|(\d{10}))`

var (
	tsWhole  = regexp.MustCompile(`^` + tsPattern + `$`)
	tsSuffix = regexp.MustCompile(`^(.+?)[.@_\-]` + tsPattern + `$`)
	tsPrefix = regexp.MustCompile(`^` + tsPattern + `[.@_\-](.+)$`)
)

// SnapshotTime finds the timestamp in a snapshot's slash-separated path
// relative to its folder and returns it with the path of the configuration
// it is a version of (the path with the timestamp removed):
//
//	nginx.conf.2026-05-01T14:09:20+09:00   -> nginx.conf
//	nginx.conf@20260501T140920             -> nginx.conf
//	20260501-140920_haproxy.cfg            -> haproxy.cfg
//	2026-05-01T140920Z/nginx.conf          -> nginx.conf
//	vm-a/1777612160/nginx.conf             -> vm-a/nginx.conf
//
// The file name is tried first, then the directories from the innermost
// out. A time without an offset is read in loc. ok is false when no
// segment carries a valid time.
func SnapshotTime(rel string, loc *time.Location) (t time.Time, config string, ok bool) {
	segs := strings.Split(rel, "/")
	last := len(segs) - 1
	if segs[last] == "" {
		return time.Time{}, rel, false // not a file
	}
	if t, name, ok := nameTime(segs[last], loc); ok {
		segs[last] = name
		return t, strings.Join(segs, "/"), true
	}
	for i := last - 1; i >= 0; i-- {
		if m := tsWhole.FindStringSubmatch(segs[i]); m != nil {
			if t, ok := matchTime(m[1:], loc); ok {
				return t, strings.Join(slices.Delete(segs, i, i+1), "/"), true
			}
		}
	}
	return time.Time{}, rel, false
}

// nameTime reads a file name with a timestamp suffix or prefix.
func nameTime(name string, loc *time.Location) (time.Time, string, bool) {
	if m := tsSuffix.FindStringSubmatch(name); m != nil {
		if t, ok := matchTime(m[2:], loc); ok {
			return t, m[1], true
		}
	}
	if m := tsPrefix.FindStringSubmatch(name); m != nil {
		if t, ok := matchTime(m[1:len(m)-1], loc); ok {
			return t, m[len(m)-1], true
		}
	}
	return time.Time{}, name, false
}

// matchTime builds the time from the groups of tsPattern.
func matchTime(g []string, loc *time.Location) (time.Time, bool) {
	if g[8] != "" {
		n, err := strconv.ParseInt(g[8], 10, 64)
		if err != nil || n < 1e9 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).In(loc), true
	}
	num := make([]int, 6)
	for i := range num {
		num[i], _ = strconv.Atoi(g[i])
	}
	z := loc
	if off := g[7]; off == "Z" {
		z = time.UTC
	} else if off != "" {
		s := strings.ReplaceAll(off[1:], ":", "")
		h, _ := strconv.Atoi(s[:2])
		m, _ := strconv.Atoi(s[2:])
		if h > 23 || m > 59 {
			return time.Time{}, false
		}
		secs := h*3600 + m*60
		if off[0] == '-' {
			secs = -secs
		}
		z = time.FixedZone("", secs)
	}
	ns := 0
	if f := g[6]; f != "" {
		frac := (f[1:] + "000000000")[:9]
		ns, _ = strconv.Atoi(frac)
	}
	t := time.Date(num[0], time.Month(num[1]), num[2], num[3], num[4], num[5], ns, z)
	if t.Year() != num[0] || int(t.Month()) != num[1] || t.Day() != num[2] || t.Hour() != num[3] ||
		t.Minute() != num[4] || t.Second() != num[5] || num[0] < 1970 {
		return time.Time{}, false
	}
	return t, true
}

// snapshot is one version of a configuration in a snapshot folder.
type snapshot struct {
	rel  string // path inside the folder
	t    time.Time
	data []byte
}

// ReadSnapshots reads a folder of timestamped configuration snapshots (see
// SnapshotTime for the names), groups them by configuration and diffs each
// version against the one before it; the oldest is the baseline. display
// is the folder as the user named it, used in positions. Changes outside w
// are dropped. Files whose names carry no time, and files that are not
// nginx or HAProxy configurations, are reported in the warnings. Only a
// folder that cannot be read is an error.
func ReadSnapshots(dir, display string, loc *time.Location, w Window) (*Result, error) {
	if loc == nil {
		loc = time.UTC
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", display)
	}
	res := &Result{}
	groups := map[string][]snapshot{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			res.Warnings = append(res.Warnings, err.Error())
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		t, config, ok := SnapshotTime(rel, loc)
		if !ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: no time in the name; skipped (expected e.g. nginx.conf.2026-05-01T14:09:20+09:00, nginx.conf@20260501T140920, 2026-05-01T140920Z/nginx.conf or Unix seconds)", path.Join(display, rel)))
			return nil
		}
		info, err := d.Info()
		if err == nil && info.Size() > maxBlob {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: larger than %d MiB; skipped", path.Join(display, rel), maxBlob>>20))
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			res.Warnings = append(res.Warnings, err.Error())
			return nil
		}
		groups[config] = append(groups[config], snapshot{rel: rel, t: t, data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var probs problems
	for _, config := range slices.Sorted(maps.Keys(groups)) {
		snaps := groups[config]
		slices.SortStableFunc(snaps, func(a, b snapshot) int {
			return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.rel, b.rel))
		})
		kind := confdiff.Unknown
		for _, s := range snaps {
			if kind = confdiff.Detect(config, s.data); kind != confdiff.Unknown {
				break
			}
		}
		if kind == confdiff.Unknown {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: not recognised as an nginx or HAProxy configuration; %d snapshot(s) skipped", path.Join(display, config), len(snaps)))
			continue
		}
		var prev *confdiff.Config
		for i, s := range snaps {
			cur := confdiff.Parse(kind, s.data)
			probs.add(path.Join(display, s.rel), cur)
			res.Versions++
			if i > 0 && s.t.Equal(snaps[i-1].t) {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s and %s: same time %s; compared in name order", path.Join(display, snaps[i-1].rel), path.Join(display, s.rel), s.t.Format(time.RFC3339)))
			}
			if prev != nil && w.contains(s.t) {
				for _, d := range confdiff.Diff(prev, cur) {
					ch := Change{Change: d, Time: s.t, Path: config,
						Pos: timeline.Pos{File: path.Join(display, s.rel), Line: int64(d.Line)}}
					if d.Old {
						ch.Pos.File = path.Join(display, snaps[i-1].rel)
					}
					ch.Backend = backendOf(path.Join(display, config), d)
					res.Changes = append(res.Changes, ch)
				}
			}
			prev = cur
		}
	}
	res.Warnings = append(res.Warnings, probs.warnings()...)
	sortChanges(res.Changes)
	return res, nil
}
