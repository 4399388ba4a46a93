package rulefmt

// Schema reference (every key not listed here is an error).
//
// File:
//
//	rules: [rule, ...]
//
// Rule:
//
//	rule:        id (lower-case, digits, - _ .); unique across loaded files
//	case:        failure case id reported in findings (default: the id)
//	severity:    info | warning | critical
//	escalate:    {severity: critical, if_any: [condition names]}
//	confidence_cap: {max: 0.4, unless_any: [condition names]}
//	             a finding none of whose named conditions held has its
//	             confidence capped at max (still reported, ranked low)
//	confidence:  base confidence in (0, 1] when only the required
//	             conditions hold (default 0.6); each supporting condition
//	             met, and each extra any_of alternative met, raises it
//	             linearly towards 1
//	anchor:      see Anchor
//	merge:       {within: 2m, across_backends: false, repeat_within: 1h,
//	              split_on: [matcher...]}  an event matching split_on
//	             between two anchors (same backend or none) keeps them
//	             apart: a backend put back and cut again is a new finding
//	require:     [condition, ...]  all must hold, evaluated in order; the
//	             first that fails is what the rule's Check reports
//	support:     [condition, ...]  optional; facts and evidence when met
//	trigger:     [event or cause condition names]  the first one met is cited as
//	             the finding's trigger
//	title, summary:                         template
//	contributing, prevention, mistakes, checklist: [template, ...]
//	                                        (items rendering blank are dropped)
//
// Anchor (exactly one of event, shift or changepoint):
//
//	event:        matcher or [matcher, ...]  (any matches)
//	backend_from: for anchor events without a backend:
//	              {event: [matcher...], within: 3h, until: [matcher...]}
//	              takes the backend of the most recent matching event,
//	              skipping backends that matched until since
//	shift:        {metric, factor, min, baseline: 30m, step: 10s, hold: 2m}
//	              a sustained level shift per backend series
//	              (correlate.LevelShifts); counters are resampled at step
//	changepoint:  {metric, direction: up, factor, min, hold: 2m}
//	              a change point of a backend's series as the draft lists
//	              it (correlate.Analyze: same resampling step and method):
//	              direction up|down, new/old level >= factor (old/new for
//	              down; omit for any size), higher level >= min, lasting
//	              hold before crossing back past the midpoint or the data
//	              ends; links to the preceding setting change are kept
//	              for cause conditions and the anchor_lag fact
//
// Matcher:
//
//	kind:  a timeline.Kind (conn_reset, upstream_error, aborted_session,
//	       http_5xx, backend_state, deploy_step, config_reload,
//	       config_change, app_lifecycle, kernel)
//	attrs: {attr: value | [v1, v2] | "!= value" | "=~ regexp" | "!~ regexp"}
//	       attributes must be known for the kind (KindAttrs); state,
//	       step and phase values must be known constants
//	text:  regexp on the line text
//
// Condition (common keys):
//
//	name:   lower_snake_case, unique in the rule; prefixes its facts
//	role:   evidence role (default: name with spaces)
//	window: [from, to] durations relative to the reference time
//	        ("-10s", "+2m", "0s"); required except for groups
//	from:   name of an earlier event condition: the window is relative to
//	        the event it found instead of to the anchor
//	join:   same (default) | any | prefer_same | same_or_none — which
//	        backends count relative to the anchor's
//	cite:   true (default) | false
//
// Condition types (exactly one key of):
//
//	event: matchers          count: N (lines, default 1)
//	                         pick: nearest (default) | first | last
//	       facts: X_time X_end X_ago X_count X_peak X_backend X_<attr>
//	absent: matchers         reset_by: matchers (a later match moves the
//	                         window start past it: "since it was last bound")
//	                         text: template stating the absence
//	       facts: X_since X_for
//	counter: counter metric  sum / peak / rate: threshold (">= 50")
//	       facts: X_sum X_peak X_rate X_backend
//	rise: metric             baseline: [from, to], factor: > 1, min: number,
//	                         per: counter metric (compare ratios of sums)
//	       window value = per-second rate (counter), mean (gauge) or ratio;
//	       baseline value = rate (counter), median (gauge) or ratio;
//	       holds when value >= factor*baseline and value >= min
//	       facts: X_before X_after X_factor X_peak X_sum X_backend
//	gauge: gauge metric      max / min / last / mean: threshold; span: 9m
//	                         (observations must cover at least this long)
//	       facts: X_max X_min X_last X_first X_mean X_span X_backend
//	changepoint: metric      direction, factor, min, hold as for the anchor;
//	                         a change point with its onset in the window
//	                         (the nearest to the reference time is cited)
//	       facts: X_time X_ago X_before X_after X_factor X_lag X_cause X_backend
//	cause: matchers          only with a changepoint anchor; no window,
//	                         from or join: holds when a change the analysis
//	                         linked to the anchor's change point (a
//	                         config_change, config_reload, deploy_step or
//	                         backend_state up to 15m before its onset, or
//	                         within one resampling step after it, never on
//	                         another backend) matches; the best-ranked match
//	                         is cited. max_lag: 10m narrows the range.
//	       facts: X_time X_end X_ago X_count X_peak X_backend X_lag X_reason X_<attr>
//	any_of / all_of: [condition, ...]
//	       facts: X_met (names of the alternatives that held)
//
// Thresholds are strings: ">= 50", "> 0", "<= 0", "< 3", "== 0", "≥ 5", or
// a bare number meaning ">=".
//
// Templates are Go text/template strings over the facts (a map of strings;
// missing facts render empty, so {{if .x}} tests whether a condition held).
// Built-in facts are listed in BuiltinFacts; the function "default" returns
// its first argument when the second is blank. range is rejected; facts a
// rule can never produce are load-time errors.
