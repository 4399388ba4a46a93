package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/postmortem-tool/postmortem/ingest/confighist"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/timeline"
)

// configOptions are the flags that read setting changes from the history of
// nginx and HAProxy configurations.
type configOptions struct {
	Repos     []string
	Snapshots []string
	Margin    time.Duration
}

func (o *configOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.Repos, "config-repo", nil, "read nginx/HAProxy setting changes from the commits of this git repository `PATH` (or a folder in one); repeatable")
	f.StringArrayVar(&o.Snapshots, "config-snapshots", nil, "read nginx/HAProxy setting changes from timestamped snapshots in `DIR` (nginx.conf.2026-05-01T14:09:20+09:00, 2026-05-01T140920Z/nginx.conf, ...); repeatable")
	f.DurationVar(&o.Margin, "config-margin", 24*time.Hour, "with --config-repo/--config-snapshots, also keep changes this long before the logs' start")
}

// apply checks the paths and adds one source per repository or snapshot
// folder to cfg. A missing path, a file, or a folder outside any git
// repository is a usage error naming the path.
func (o *configOptions) apply(cfg *pipeline.Config) error {
	if len(o.Repos) == 0 && len(o.Snapshots) == 0 {
		return nil
	}
	if o.Margin < 0 {
		return usagef("--config-margin %s: expected a duration of 0 or more", o.Margin)
	}
	bounds := cfg.Window
	margin := o.Margin
	window := func(logs timeline.Window) confighist.Window {
		w := logs
		if w.Start.IsZero() && w.End.IsZero() {
			w = bounds
		}
		var out confighist.Window
		if !w.Start.IsZero() {
			out.Since = w.Start.Add(-margin)
		}
		out.Until = w.End
		return out
	}
	for _, p := range o.Repos {
		repo, err := confighist.OpenRepo(context.Background(), p)
		if err != nil {
			return usagef("--config-repo %s: %s", p, describePathErr(err))
		}
		display := filepath.ToSlash(p)
		cfg.Extra = append(cfg.Extra, func(ctx context.Context, loc *time.Location, logs timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
			res, err := repo.Changes(ctx, window(logs))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("--config-repo %s: %w", display, err)
			}
			return historyPart(res, loc, display, "git")
		})
	}
	for _, p := range o.Snapshots {
		fi, err := os.Stat(p)
		if err != nil {
			return usagef("--config-snapshots %s: %s", p, describePathErr(err))
		}
		if !fi.IsDir() {
			return usagef("--config-snapshots %s: not a directory; expected a folder of timestamped configuration files", p)
		}
		dir, display := p, filepath.ToSlash(filepath.Clean(p))
		cfg.Extra = append(cfg.Extra, func(_ context.Context, loc *time.Location, logs timeline.Window) (*timeline.Timeline, []timeline.Source, []string, error) {
			res, err := confighist.ReadSnapshots(dir, display, loc, window(logs))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("--config-snapshots %s: %w", display, err)
			}
			return historyPart(res, loc, display, "config-snapshots")
		})
	}
	return nil
}

// historyPart turns the changes of one history source into its part of the
// timeline and its entry in the sources list.
func historyPart(res *confighist.Result, loc *time.Location, display, format string) (*timeline.Timeline, []timeline.Source, []string, error) {
	b := timeline.NewBuilder(timeline.Options{})
	for _, c := range res.Changes {
		e := c.Event()
		e.Time = e.Time.In(loc)
		b.Event(e)
	}
	warns := append([]string{}, res.Warnings...)
	src := timeline.Source{Path: display, Format: format, Events: int64(len(res.Changes)), Warnings: warns}
	return b.Timeline(), []timeline.Source{src}, nil, nil
}

// describePathErr says what is wrong with a history path.
func describePathErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, confighist.ErrNotRepo):
		return "not a git repository (give a work tree, a folder in one, or a bare repository)"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}
