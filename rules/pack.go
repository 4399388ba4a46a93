// Package rules evaluates declarative failure-case rules (see package
// rulefmt for the file format) over a timeline and reports findings.
//
// Classification is data, not code: every case is a YAML rule. The default
// pack (Default) is embedded from rules/pack/*.yaml and holds the cases
// hard-cut-without-drain, websocket-drain-stuck and timewait-explosion; users
// add or override rules with Load.
//
// Evaluation, per rule: find anchors (matching events, or level shifts of a
// series found by correlate.LevelShifts); for each anchor evaluate the
// required conditions in order (the first that fails is recorded for the
// rule's Check), then the supporting ones; fold candidates on the same
// backend whose spans overlap or lie within merge.within into one finding;
// mark later separate findings within merge.repeat_within as repeats; then
// render the rule's templates with the facts measured.
package rules

import (
	"embed"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/postmortem-tool/postmortem/rules/rulefmt"
)

//go:embed pack/*.yaml
var packFS embed.FS

// Pack is an ordered set of rules with distinct ids.
type Pack struct {
	Rules []*rulefmt.Rule
}

// Rule returns the rule with id, or nil.
func (p *Pack) Rule(id string) *rulefmt.Rule {
	for _, r := range p.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

var (
	defaultOnce sync.Once
	defaultPack *Pack
	defaultErr  error
)

// Default returns the embedded default pack. The pack is parsed once; the
// returned value is shared and must not be modified. The embedded files are
// checked by the package tests, so Default never fails in a released binary;
// should it, DefaultErr says why and Default holds the rules that parsed.
func Default() *Pack {
	defaultOnce.Do(func() {
		names, _ := packFS.ReadDir("pack")
		var files []namedData
		for _, n := range names {
			b, err := packFS.ReadFile("pack/" + n.Name())
			if err != nil {
				continue
			}
			files = append(files, namedData{"pack/" + n.Name(), b})
		}
		defaultPack, defaultErr = build(files)
	})
	return defaultPack
}

// DefaultErr returns the problems found in the embedded pack (nil normally).
func DefaultErr() error {
	Default()
	return defaultErr
}

type namedData struct {
	name string
	data []byte
}

// Parse parses one rule file's content into a pack. The error, if any, is a
// rulefmt.Errors listing every problem as file:line:col: message.
func Parse(name string, data []byte) (*Pack, error) {
	return build([]namedData{{name, data}})
}

// LoadFiles reads rule files (a directory stands for its *.yaml and *.yml
// files, in name order) into one pack. Rule ids must be distinct across the
// files. The error, if any, is a rulefmt.Errors listing every problem in
// every file; unreadable files are reported at 0:0.
func LoadFiles(paths ...string) (*Pack, error) {
	var files []namedData
	var errs rulefmt.Errors
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, rulefmt.Error{File: p, Msg: err.Error()})
			continue
		}
		list := []string{p}
		if st.IsDir() {
			list = nil
			ents, err := os.ReadDir(p)
			if err != nil {
				errs = append(errs, rulefmt.Error{File: p, Msg: err.Error()})
				continue
			}
			for _, e := range ents {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
					list = append(list, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(list)
		}
		for _, f := range list {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, rulefmt.Error{File: f, Msg: err.Error()})
				continue
			}
			files = append(files, namedData{f, b})
		}
	}
	pack, err := build(files)
	if err != nil {
		errs = append(errs, err.(rulefmt.Errors)...)
	}
	if len(errs) > 0 {
		return pack, errs
	}
	return pack, nil
}

// Load returns the default pack extended with the rules in paths (see
// LoadFiles). A loaded rule whose id equals a default rule's replaces it in
// place; other loaded rules follow the default ones.
func Load(paths ...string) (*Pack, error) {
	user, err := LoadFiles(paths...)
	if err != nil {
		return nil, err
	}
	return Combine(Default(), user), nil
}

// Combine concatenates packs in order; a rule with the id of an earlier one
// replaces it in place, so a user pack can override a default rule. Nil
// packs are skipped.
func Combine(packs ...*Pack) *Pack {
	out := &Pack{}
	index := map[string]int{}
	for _, p := range packs {
		if p == nil {
			continue
		}
		for _, r := range p.Rules {
			if i, ok := index[r.ID]; ok {
				out.Rules[i] = r
				continue
			}
			index[r.ID] = len(out.Rules)
			out.Rules = append(out.Rules, r)
		}
	}
	return out
}

func build(files []namedData) (*Pack, error) {
	var errs rulefmt.Errors
	p := &Pack{}
	seen := map[string]*rulefmt.Rule{}
	for _, f := range files {
		rf, es := rulefmt.Parse(f.name, f.data)
		errs = append(errs, es...)
		if rf == nil || len(es) > 0 {
			continue
		}
		for _, r := range rf.Rules {
			if prev := seen[r.ID]; prev != nil {
				errs = append(errs, rulefmt.Error{File: f.name, Pos: r.Pos,
					Msg: "duplicate rule \"" + r.ID + "\" (first defined in " + prev.File + ")"})
				continue
			}
			seen[r.ID] = r
			p.Rules = append(p.Rules, r)
		}
	}
	if len(errs) > 0 {
		return p, errs
	}
	return p, nil
}
