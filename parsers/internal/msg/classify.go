package msg

import (
	"bytes"

	"github.com/postmortem-tool/postmortem/timeline"
)

// lifecycle recognises application lifecycle messages: graceful shutdown
// begun, finished or aborted, and "Started XxxApplication in N seconds".
func (c *Classifier) lifecycle(s *scan, text []byte, at Line, backend string, sink timeline.Sink) bool {
	phase := ""
	var attrs map[string]string
	switch {
	case s.flags&fShutdown != 0 && s.tag != tagDeploy && !c.opts.Deploy:
		switch {
		case s.flags&fAborted != 0:
			phase = "shutdown_done"
			attrs = map[string]string{"aborted": "true"}
		case s.flags&fStart != 0:
			phase = "shutdown_start"
		case s.flags&fComplete != 0:
			phase = "shutdown_done"
		case s.flags&fGraceful != 0:
			phase = "shutdown_start"
		}
	case s.flags&fStart != 0 && s.flags&fSeconds != 0 && hasPrefixFold(text, "started ") && !c.opts.Deploy:
		phase = "started"
	}
	if phase == "" {
		return false
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["phase"] = phase
	c.event(at, timeline.KindAppLifecycle, backend, attrs, sink)
	return true
}

func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(b[i]) != p[i] {
			return false
		}
	}
	return true
}

// lbState reports a backend state change seen on a load balancer line.
func (c *Classifier) lbState(s *scan, at Line, backend string, sink timeline.Sink) bool {
	st := s.state
	if st == "" && s.flags&fPool != 0 {
		switch {
		case s.flags&fRemove != 0:
			st = timeline.StateRemoved
		case s.flags&(fAdd|fReady|fBack) != 0:
			st = timeline.StateBound
		}
	}
	if st == "" {
		return false
	}
	var extra map[string]string
	if s.flags&fAbrupt != 0 || (s.flags&fSkip != 0 && s.flags&(fDrain|fDraining) != 0) {
		extra = map[string]string{"abrupt": "true"}
	}
	return c.setState(at, backend, st, extra, sink)
}

// setState records st for backend and emits a KindBackendState event if it
// differs from the last state seen. The first state seen for a backend is
// reported unless it is bound (the steady state).
func (c *Classifier) setState(at Line, backend, st string, extra map[string]string, sink timeline.Sink) bool {
	prev, seen := c.states[backend]
	if seen && prev == st {
		return false
	}
	c.states[backend] = st
	if !seen && st == timeline.StateBound && extra == nil {
		return false
	}
	attrs := map[string]string{"state": st}
	if seen {
		attrs["prev"] = prev
	}
	for k, v := range extra {
		attrs[k] = v
	}
	c.event(at, timeline.KindBackendState, backend, attrs, sink)
	return true
}

const strongDeploy = fDrain | fDraining | fDrained | fRollout | fRollback | fUndrain

// deploy recognises deploy pipeline steps.
func (c *Classifier) deploy(s *scan, text []byte, at Line, backend string, sink timeline.Sink) bool {
	f := s.flags
	isConfig := f&fConfig != 0 && (f&(fPush|fRollback) != 0 || s.arrows > 0)
	ctx := c.opts.Deploy || s.tag == tagDeploy || f&strongDeploy != 0 || isConfig ||
		(f&fPool != 0 && f&(fRemove|fAdd) != 0) || s.drainSkip || f&fNoDrain != 0
	if !ctx || f&fPause != 0 {
		return false
	}
	drain := f&(fDrain|fDraining|fDrained) != 0
	skip := s.drainSkip || f&fNoDrain != 0 || (drain && f&fSkip != 0)
	if skip {
		drain = false
	}
	step := ""
	attrs := map[string]string{}
	removed := false
	switch {
	case isConfig:
		step = timeline.StepConfigPush
		if f&fRollback != 0 {
			attrs["revert"] = "true"
		}
	case f&fRollback != 0 && (f&fKill != 0 || (f&fRemove != 0 && f&fPool != 0)):
		// "vm-c: terminating app (SIGKILL) and removing from pool
		// (rollback)": the action is the kill; the rollback is context.
		step = timeline.StepKill
		removed = f&fRemove != 0
		attrs["rollback"] = "true"
	case f&fRollback != 0 || (f&fRollout != 0 && f&fBack != 0 && bytes.Contains(text, []byte("back"))):
		if f&fComplete != 0 {
			step = timeline.StepEnd
			attrs["rollback"] = "true"
		} else {
			step = timeline.StepRollback
		}
	case drain && f&(fTimeout|fIncomplete) != 0:
		step = timeline.StepDrainTimeout
		if len(s.timeout) == 0 && s.firstDur != nil {
			s.timeout = s.firstDur
		}
	case f&fDrained != 0 || (drain && f&fComplete != 0 && f&fWait == 0):
		step = timeline.StepDrained
	case drain && f&fWait != 0:
		step = timeline.StepDrainWait
	case f&fKill != 0 || (f&fRemove != 0 && f&fPool != 0):
		step = timeline.StepKill
		removed = f&fRemove != 0
	case f&fUndrain != 0 || (f&fReady != 0 && f&fDraining == 0) || (f&fAdd != 0 && f&fPool != 0):
		step = timeline.StepBind
	case drain:
		step = timeline.StepDrainStart
	case f&fStop != 0:
		step = timeline.StepStop
	case f&fRollout != 0 && f&fStart != 0:
		step = timeline.StepStart
	case f&fRollout != 0 && f&fComplete != 0:
		step = timeline.StepEnd
	}
	if step == "" {
		return false
	}
	if step == timeline.StepStart && skip {
		attrs["drain"] = "skipped"
	}
	if len(s.timeout) > 0 && (step == timeline.StepStart || step == timeline.StepDrainWait || step == timeline.StepDrainTimeout || step == timeline.StepDrainStart) {
		attrs["timeout"] = normTimeout(s.timeout)
	}
	if step != timeline.StepConfigPush && c.opts.StepDedup > 0 {
		k := stepKey{backend, step}
		// Only a repeat with no other step of that backend in between is
		// the same step said twice ("stopping app", "app stopped"); kill,
		// bind, kill is two kills.
		if last, ok := c.steps[k]; ok && c.lastStep[backend] == step {
			d := at.Time.Sub(last)
			if d >= 0 && d < c.opts.StepDedup {
				return false
			}
		}
		if c.lastStep == nil || len(c.lastStep) > 4096 {
			c.lastStep = map[string]string{}
		}
		c.lastStep[backend] = step
		if len(c.steps) > 4096 {
			clear(c.steps)
		}
		c.steps[k] = at.Time
	}
	attrs["step"] = step
	c.event(at, timeline.KindDeployStep, backend, attrs, sink)
	if removed {
		c.setState(at, backend, timeline.StateRemoved, map[string]string{"abrupt": "true"}, sink)
	}
	if step == timeline.StepConfigPush {
		c.configChanges(text, at, backend, f&fRollback != 0, sink)
	}
	return true
}

// normTimeout turns a stated timeout into "<seconds>s" when it parses as a
// duration ("30m" -> "1800s"); otherwise it is kept as written.
func normTimeout(b []byte) string {
	if v, n, ok := Duration(b); ok && n == len(b) {
		return formatSeconds(v)
	}
	return string(b)
}

func formatSeconds(v float64) string {
	if v == float64(int64(v)) {
		return itoa(int64(v)) + "s"
	}
	return itoa(int64(v*1000)) + "ms"
}

func itoa(v int64) string {
	var b [24]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
