package cli

// Exit statuses of the postmortem command. Scripts and pipelines depend on
// them, so they never change meaning.
const (
	// ExitOK: the run completed; with --fail-on, nothing reached the level.
	ExitOK = 0
	// ExitFindings: --fail-on was given and a finding reached that severity.
	ExitFindings = 1
	// ExitUsage: a bad flag, an unreadable input, or a bad rule or template.
	ExitUsage = 2
	// ExitError: the run failed for another reason (an output file could not
	// be written, an internal error).
	ExitError = 3
	// ExitGate: a gate stopped the pipeline: `tail --gate` saw a finding of
	// that severity fire, or `gate drain` timed out (or will not drain in
	// time).
	ExitGate = 4
)
