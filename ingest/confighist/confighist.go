// Package confighist finds setting changes in the history of nginx and
// HAProxy configurations: the commits of a git repository (read with the
// git binary) or a folder of timestamped snapshots. Each changed directive
// becomes a config_change event dated by its commit or snapshot, so that a
// postmortem can cite the change that preceded an incident.
package confighist

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/parsers/confdiff"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Change is one setting change found in configuration history.
type Change struct {
	confdiff.Change
	// Time is when the change took effect: the committer date of the
	// commit, or the time in the name of the newer snapshot.
	Time time.Time
	// Path is the configuration's path: inside the repository, or inside
	// the snapshot folder with the timestamp removed.
	Path string
	// Pos is the file version and line that show the directive: the new
	// version, or the old one for a removal.
	Pos timeline.Pos
	// Commit and Author are the short hash and author name (git only).
	Commit, Author string
	// Backend is the host the change applies to ("" = all): the server a
	// server line names when it looks like a host, else what the path says.
	Backend string
}

// Event returns c as a config_change event with Attrs setting, from (absent
// when the setting was added), to, context, file, and commit and author for
// git.
func (c Change) Event() timeline.Event {
	attrs := map[string]string{"setting": c.Setting, "to": c.To, "context": c.Context, "file": c.Path}
	if c.From != "" {
		attrs["from"] = c.From
	}
	if c.Commit != "" {
		attrs["commit"] = c.Commit
	}
	if c.Author != "" {
		attrs["author"] = c.Author
	}
	return timeline.Event{Time: c.Time, Kind: timeline.KindConfigChange, Backend: c.Backend,
		Attrs: attrs, Pos: c.Pos, Text: c.Text, Count: 1}
}

// Result is what reading one history source found.
type Result struct {
	Changes []Change
	// Versions counts the file versions compared (commits x files, or
	// snapshots).
	Versions int
	Warnings []string
}

// Window bounds the changes kept: Since and Until are inclusive; a zero
// bound is open.
type Window struct{ Since, Until time.Time }

func (w Window) contains(t time.Time) bool {
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || !t.After(w.Until))
}

// backendOf picks the backend of a change in the configuration at p: the
// server of an HAProxy server line (as HAProxy logs name it), else the
// host the path names.
func backendOf(p string, c confdiff.Change) string {
	if c.Server != "" && !strings.ContainsAny(c.Server, ":/[") {
		return c.Server
	}
	return ingest.BackendFromPath(p)
}

// candidateName reports whether a path may hold an nginx or HAProxy
// configuration, judged by name before its content is read.
func candidateName(p string) bool {
	if confdiff.KindFromName(p) != confdiff.Unknown {
		return true
	}
	base := strings.ToLower(path.Base(p))
	return strings.HasSuffix(base, ".conf") || strings.HasSuffix(base, ".cfg") ||
		strings.Contains(base, "nginx") || strings.Contains(base, "haproxy")
}

// maxProblems bounds the parse problems reported per source.
const maxProblems = 5

// problems collects parse problems without repeating them.
type problems struct {
	seen  map[string]bool
	list  []string
	extra int
}

func (p *problems) add(where string, cfg *confdiff.Config) {
	for _, s := range cfg.Problems {
		msg := where + ": " + s
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		if p.seen[msg] {
			continue
		}
		p.seen[msg] = true
		if len(p.list) < maxProblems {
			p.list = append(p.list, msg)
		} else {
			p.extra++
		}
	}
}

func (p *problems) warnings() []string {
	out := append([]string(nil), p.list...)
	if p.extra > 0 {
		out = append(out, fmt.Sprintf("%d more configuration problem(s) not shown", p.extra))
	}
	return out
}

// sortChanges orders changes by time, then configuration path, keeping
// the order of confdiff.Diff (by line) inside one file version.
func sortChanges(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Path, b.Path))
	})
}
