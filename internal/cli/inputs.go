package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// inputOptions are the flags every command that reads logs shares.
type inputOptions struct {
	InputFormats []string // PATH=NAME
	NginxFormats []string
	TZ           string
	Offsets      []string // PATH=DURATION
	Backends     []string // PATH=NAME
	From, To     string
	MaxLine      int
	Workers      int
	Skew         string // auto|report|off
}

func (o *inputOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.InputFormats, "input-format", nil, "force the log format of matching inputs: `PATH=NAME` (see 'postmortem formats'); repeatable")
	f.StringArrayVar(&o.NginxFormats, "nginx-log-format", nil, "an nginx log_format string to parse access logs with; repeatable")
	f.StringVar(&o.TZ, "tz", "", "zone of timestamps that carry none: UTC, an IANA name, or +HH:MM (default: the offset sources state, else UTC)")
	f.StringArrayVar(&o.Offsets, "offset", nil, "shift the clock of matching inputs: `PATH=DURATION` (e.g. haproxy.log=-2.5s); repeatable")
	f.StringArrayVar(&o.Backends, "backend", nil, "set the backend label of matching inputs: `PATH=NAME`; repeatable")
	f.StringVar(&o.From, "from", "", "keep events from this time on (RFC 3339)")
	f.StringVar(&o.To, "to", "", "keep events up to this time (RFC 3339)")
	f.IntVar(&o.MaxLine, "max-line", 1<<20, "skip and count lines longer than this many bytes")
	f.IntVar(&o.Workers, "workers", 0, "files, and pieces of large access logs, parsed in parallel (default: twice the number of CPUs)")
	f.StringVar(&o.Skew, "skew", pipeline.SkewAuto, "clock skew between sources: auto (estimate, correct when confident), report (estimate only) or off; --offset always wins")
}

// pairs parses repeated KEY=VALUE flag values.
func pairs(flag string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, usagef("--%s %q: expected PATH=VALUE", flag, v)
		}
		out[k] = val
	}
	return out, nil
}

// config turns the flags into a pipeline configuration.
func (o *inputOptions) config(d *Deps, args []string) (pipeline.Config, error) {
	cfg := pipeline.Config{Inputs: args, Stdin: d.IO.In, MaxLineBytes: o.MaxLine, Workers: o.Workers}
	if len(args) == 0 {
		return cfg, usagef("no input: give files, directories, globs, or - for standard input")
	}
	if o.MaxLine < 1024 {
		return cfg, usagef("--max-line %d: expected at least 1024", o.MaxLine)
	}
	reg, err := builtin.Registry(o.NginxFormats...)
	if err != nil {
		return cfg, usagef("--nginx-log-format: %v", err)
	}
	cfg.Registry = reg
	if cfg.Formats, err = pairs("input-format", o.InputFormats); err != nil {
		return cfg, err
	}
	for k, name := range cfg.Formats {
		if _, ok := reg.Lookup(name); !ok {
			return cfg, usagef("--input-format %s=%s: unknown format; expected one of: %s", k, name, strings.Join(reg.Names(), ", "))
		}
	}
	if cfg.Backends, err = pairs("backend", o.Backends); err != nil {
		return cfg, err
	}
	offs, err := pairs("offset", o.Offsets)
	if err != nil {
		return cfg, err
	}
	cfg.Offsets = map[string]time.Duration{}
	for k, v := range offs {
		dur, err := time.ParseDuration(v)
		if err != nil {
			return cfg, usagef("--offset %s=%s: expected a duration such as 2s, -1m30s", k, v)
		}
		cfg.Offsets[k] = dur
	}
	if cfg.Skew, err = pipeline.ParseSkewMode(o.Skew); err != nil {
		return cfg, usagef("%v", err)
	}
	if o.TZ != "" {
		loc, err := pipeline.ParseZone(o.TZ)
		if err != nil {
			return cfg, usagef("%v", err)
		}
		cfg.Zone = loc
	}
	for _, x := range []struct {
		flag, val string
		dst       *time.Time
	}{{"from", o.From, &cfg.Window.Start}, {"to", o.To, &cfg.Window.End}} {
		if x.val == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, x.val)
		if err != nil {
			return cfg, usagef("--%s %q: expected an RFC 3339 time such as 2026-05-01T14:00:00+09:00", x.flag, x.val)
		}
		*x.dst = t
	}
	return cfg, nil
}

// ruleOptions select the rule packs.
type ruleOptions struct {
	Files     []string
	NoDefault bool
}

func (o *ruleOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.Files, "rules", nil, "load rules from this YAML `FILE` or directory too; repeatable")
	cmd.Flags().BoolVar(&o.NoDefault, "no-default-rules", false, "do not load the embedded default rule pack")
}

func (o *ruleOptions) pack() (*rules.Pack, error) {
	var packs []*rules.Pack
	if !o.NoDefault {
		packs = append(packs, rules.Default())
	}
	if len(o.Files) > 0 {
		p, err := rules.LoadFiles(o.Files...)
		if err != nil {
			return nil, usagef("%v", err)
		}
		packs = append(packs, p)
	}
	if len(packs) == 0 {
		return nil, usagef("--no-default-rules without --rules leaves no rule to run")
	}
	return rules.Combine(packs...), nil
}

func severityAtLeast(fs []rules.Finding, level string) (int, error) {
	min := rules.Severity(level).Rank()
	if min == 0 {
		return 0, usagef("--fail-on %q: expected info, warning or critical", level)
	}
	n := 0
	for _, f := range fs {
		if f.Severity.Rank() >= min {
			n++
		}
	}
	return n, nil
}

func sortedSources(src []timeline.Source) []timeline.Source {
	out := append([]timeline.Source(nil), src...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

var _ = fmt.Sprint
