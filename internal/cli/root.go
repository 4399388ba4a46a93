// Package cli implements the postmortem command line. Each command has an
// options struct that cobra fills and a run function that does the work,
// writing only to the injected IO streams, so tests drive commands without a
// process.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
)

// IO is the set of streams a command may use, plus facts about them.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTerminal reports whether Out is a terminal (tables, colours).
	IsTerminal func() bool
}

// DefaultIO returns the process's standard streams.
func DefaultIO() *IO {
	return &IO{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		IsTerminal: func() bool { return term.IsTerminal(int(os.Stdout.Fd())) },
	}
}

// Deps are the dependencies commands take as function fields, so tests
// inject fakes.
type Deps struct {
	IO *IO
	// Now is the clock used for "generated at" stamps.
	Now func() time.Time
	// WriteFile writes an output file.
	WriteFile func(name string, data []byte) error
	// ReadFile reads a template, rule or config file.
	ReadFile func(name string) ([]byte, error)
}

func defaultDeps(ios *IO) *Deps {
	return &Deps{
		IO:        ios,
		Now:       time.Now,
		WriteFile: func(name string, data []byte) error { return os.WriteFile(name, data, 0o644) },
		ReadFile:  os.ReadFile,
	}
}

// usageError is an error the user caused; it maps to ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// findingsError says --fail-on was met; it maps to ExitFindings.
type findingsError struct{ msg string }

func (e *findingsError) Error() string { return e.msg }

// Main runs the command line args with ios and returns the exit status.
func Main(args []string, ios *IO) int {
	return MainWith(args, defaultDeps(ios))
}

// MainWith is Main with injected dependencies.
func MainWith(args []string, d *Deps) int {
	root := NewRootCmd(d)
	root.SetArgs(args)
	root.SetIn(d.IO.In)
	root.SetOut(d.IO.Out)
	root.SetErr(d.IO.ErrOut)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ce interface{ ExitCode() int }
	if errors.As(err, &ce) {
		fmt.Fprintln(d.IO.ErrOut, err)
		return ce.ExitCode()
	}
	var fe *findingsError
	if errors.As(err, &fe) {
		fmt.Fprintln(d.IO.ErrOut, fe.msg)
		return ExitFindings
	}
	fmt.Fprintf(d.IO.ErrOut, "postmortem: %v\n", err)
	var ue *usageError
	var re *runError
	switch {
	case errors.As(err, &ue) || errors.Is(err, pipeline.ErrUsage):
		return ExitUsage
	case errors.As(err, &re):
		return ExitError
	}
	// Anything cobra itself rejected: unknown commands, flags, arguments.
	return ExitUsage
}

// flagError wraps cobra/pflag parse errors.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

// runError marks an error that happened while a command ran (not while its
// invocation was checked); it maps to ExitError unless it wraps a usage error.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// runE adapts a run function: its errors are run errors unless they say
// otherwise.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if err == nil {
			return nil
		}
		var ue *usageError
		var fe *findingsError
		if errors.As(err, &ue) || errors.As(err, &fe) || errors.Is(err, pipeline.ErrUsage) {
			return err
		}
		return &runError{err}
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(d *Deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "postmortem",
		Short: "Turn the logs of a bad deploy into a timeline, a diagnosis and a postmortem draft",
		Long: `postmortem reads what a fleet left behind after a bad deploy (L4 load balancer or
HAProxy logs, nginx access and error logs, application logs, deploy pipeline
logs, ss/kernel snapshots), merges them into one timeline, classifies the
failure with declarative rules, and drafts the postmortem with every claim
citing its evidence as file:line.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  # Review an incident folder and print the draft
  postmortem analyze incident/

  # The same as JSON, for other tools
  postmortem analyze --format json incident/ > findings.json

  # Just the merged timeline
  postmortem timeline incident/nginx incident/haproxy.log`,
	}
	var cpuProfile, memProfile string
	var stopProfile func()
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to `FILE`")
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile to `FILE` at exit")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		var err error
		stopProfile, err = startProfiles(cpuProfile, memProfile)
		return err
	}
	root.PersistentPostRun = func(cmd *cobra.Command, args []string) {
		if stopProfile != nil {
			stopProfile()
		}
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &flagError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newAnalyzeCmd(d, nil))
	root.AddCommand(newTimelineCmd(d, nil))
	root.AddCommand(newFormatsCmd(d))
	root.AddCommand(newRulesCmd(d))
	root.AddCommand(newTailCmd(d))
	root.AddCommand(newGateCmd(d))
	return root
}
