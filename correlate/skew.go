package correlate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// SkewSource is one clock to align: the events (and, optionally, the
// series) that one log stream yielded, with times as that stream's clock
// wrote them. Series let EstimateSkew bound state changes that a poller
// reports (a load-balancer controller logging "prev=bound state=draining"):
// the change happened after the poller's previous reading of that backend.
type SkewSource struct {
	ID     string
	Events []timeline.Event
	Series []*timeline.Series
}

// SkewOptions tune EstimateSkew.
type SkewOptions struct {
	// MaxSkew bounds the skew searched for (default 10m). Offsets of a
	// quarter hour and more are time-zone errors, not clock drift; they are
	// left to --tz and zone inference.
	MaxSkew time.Duration
	// MomentGap groups anchor pairs whose ends in the first source of a
	// link lie this close together into one moment (default 2s): pairs of
	// one moment are one independent observation, not several.
	MomentGap time.Duration
}

func (o SkewOptions) withDefaults() SkewOptions {
	if o.MaxSkew <= 0 {
		o.MaxSkew = 10 * time.Minute
	}
	if o.MomentGap <= 0 {
		o.MomentGap = 2 * time.Second
	}
	return o
}

// AnchorRule is a pair of events in two sources that must be
// near-simultaneous: the true time of the Right event minus that of the
// Left event lies in [Lo, Hi]. Typical is the most likely latency, used
// for the point estimate. Both ends must name the same backend.
type AnchorRule struct {
	Name        string
	Left, Right string // what each end is, for people
	Lo, Hi      time.Duration
	Typical     time.Duration
	left, right anchorKind
	symmetric   bool // Left and Right are the same kind: count a source pair once
}

type anchorKind int

// maxCandidates bounds the right ends one left end is paired with.
const maxCandidates = 8

const (
	aIntentOut anchorKind = iota + 1 // pipeline takes a backend out of the pool
	aIntentIn                        // pipeline puts it back
	aStop                            // pipeline sends SIGTERM
	aKill                            // pipeline kills the app
	aPush                            // pipeline pushes a config
	aLBOut                           // LB sees the backend leave (draining, removed)
	aLBIn                            // LB sees it come back (up, bound)
	aShutdown                        // app starts its graceful shutdown
	aFail                            // proxy's first upstream failures (burst)
	aReload                          // proxy reloads its configuration
)

// AnchorRules are the pairs EstimateSkew looks for. A "pipeline" source is
// one with deploy_step events; an "LB" source has backend_state events and
// no deploy steps; health-check transitions (down) and drain completion are
// not anchors, since their latency is the check interval or the clients'.
var AnchorRules = []AnchorRule{
	{Name: "pipeline-lb-out", Left: "pipeline unbind, drain start or pool removal", Right: "LB state draining/removed",
		Lo: -2 * time.Second, Hi: 5 * time.Second, left: aIntentOut, right: aLBOut},
	{Name: "pipeline-lb-in", Left: "pipeline bind (back into the pool)", Right: "LB state up/bound",
		Lo: -2 * time.Second, Hi: 5 * time.Second, left: aIntentIn, right: aLBIn},
	{Name: "lb-lb-out", Left: "LB state draining/removed", Right: "the same transition in another LB log",
		Lo: -2 * time.Second, Hi: 2 * time.Second, left: aLBOut, right: aLBOut, symmetric: true},
	{Name: "lb-lb-in", Left: "LB state up/bound", Right: "the same transition in another LB log",
		Lo: -2 * time.Second, Hi: 2 * time.Second, left: aLBIn, right: aLBIn, symmetric: true},
	{Name: "sigterm-shutdown", Left: "pipeline stop (SIGTERM)", Right: "app shutdown_start",
		Lo: -1 * time.Second, Hi: 3 * time.Second, left: aStop, right: aShutdown},
	{Name: "kill-upstream-errors", Left: "pipeline kill", Right: "first reset/refused burst in a proxy log of that host",
		Lo: -1 * time.Second, Hi: 5 * time.Second, left: aKill, right: aFail},
	{Name: "push-reload", Left: "pipeline config push", Right: "proxy config reload on that host",
		Lo: -2 * time.Second, Hi: 10 * time.Second, Typical: time.Second, left: aPush, right: aReload},
}

// AnchorEnd is one end of an anchor pair: the source, the line and its time
// as that source's clock wrote it.
type AnchorEnd struct {
	Source string       `json:"source"`
	Pos    timeline.Pos `json:"pos"`
	Time   time.Time    `json:"time"`
	What   string       `json:"what"`
}

// AnchorPair is one observation of an AnchorRule between the two sources of
// a link: A is an event of the link's A source, B of its B source. Lo..Hi is
// the skew of B relative to A that this pair allows (the observed gap minus
// the rule's latency range, widened by the timestamps' resolution), and
// Estimate the skew it suggests at the rule's typical latency.
type AnchorPair struct {
	Rule     string        `json:"rule"`
	A        AnchorEnd     `json:"a"`
	B        AnchorEnd     `json:"b"`
	Lo       time.Duration `json:"lo"`
	Hi       time.Duration `json:"hi"`
	Estimate time.Duration `json:"estimate"`
	// Agrees reports whether the pair's interval holds the link's skew.
	Agrees bool `json:"agrees"`

	momentA, momentB int
}

// SkewLink is the skew between two sources measured directly, from the
// anchor pairs found between them: B's clock minus A's clock (positive: B
// runs ahead). Lo..Hi is the interval every agreeing pair allows, and
// Uncertainty the larger distance from Skew to its ends.
type SkewLink struct {
	A, B        string
	Skew        time.Duration
	Lo, Hi      time.Duration
	Uncertainty time.Duration
	// Moments counts independent observations (pairs more than MomentGap
	// apart); Agree counts those whose pairs hold Skew.
	Moments, Agree int
	// Consistent is true when at least two moments agree, at least three
	// quarters of them agree, and no other skew fits as many; Reason says
	// which of these failed.
	Consistent bool
	Reason     string
	// Pairs holds one pair per moment, agreeing ones first, in time order.
	Pairs []AnchorPair
}

// SourceSkew is the skew of one source relative to the reference: Source's
// clock minus Reference's (positive: Source runs ahead; subtract Skew to
// correct it). Via lists the sources between them when there is no direct
// link; Lo, Hi and Uncertainty then add up along the path, and Pairs is the
// number of agreeing moments of the weakest link.
type SourceSkew struct {
	Source, Reference string
	Via               []string
	Skew              time.Duration
	Lo, Hi            time.Duration
	Uncertainty       time.Duration
	Pairs             int
	Evidence          []AnchorPair
	// Confident is true when the source is linked to the reference through
	// consistent links and |Skew| exceeds Uncertainty. Otherwise Reason
	// says why not ("only 1 pair", "no detectable skew", ...), and
	// Reference may name the source of the link that was measured instead.
	Confident bool
	Reason    string
}

// SkewReport is what EstimateSkew found.
type SkewReport struct {
	// Reference is the source every skew is relative to, and
	// ReferenceReason why it was picked.
	Reference       string
	ReferenceReason string
	// Sources holds every source that shares at least one anchor pair with
	// another, except the reference, sorted by ID.
	Sources []SourceSkew
	// Links are the direct measurements, sorted by A then B.
	Links []SkewLink
}

type anchor struct {
	kind     anchorKind
	backend  string
	t        time.Time
	dlo, dhi time.Duration // the true time lies in [t+dlo, t+dhi]
	ev       *timeline.Event
}

type role int

const (
	roleOther role = iota
	rolePipeline
	roleLB
)

// EstimateSkew estimates the clock skew between sources from events that
// must be near-simultaneous (see AnchorRules), and resolves it against one
// reference: the deploy pipeline log if there is one (most deploy steps),
// else the load-balancer log (most state changes), else the source with the
// most consistent links.
//
// For each pair of sources every candidate anchor pair within MaxSkew gives
// an interval of skews it allows; pairs of one moment count once, and the
// skew held by the most moments wins (a vote, so a wrong candidate pair does
// not pull the estimate). Skews relative to the reference follow the path of
// consistent links with the smallest total uncertainty. A skew is confident
// when at least two independent pairs agree and |Skew| > Uncertainty;
// otherwise it is reported with the reason and should not be applied.
// Sources are never compared with themselves, and a time-zone-sized offset
// (a multiple of 15 minutes) is never reported as confident.
func EstimateSkew(sources []SkewSource, opts SkewOptions) *SkewReport {
	opts = opts.withDefaults()
	srcs := append([]SkewSource(nil), sources...)
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].ID < srcs[j].ID })
	roles := make([]role, len(srcs))
	anchors := make([][]anchor, len(srcs))
	steps := make([]int, len(srcs))
	states := make([]int, len(srcs))
	for i := range srcs {
		for k := range srcs[i].Events {
			switch srcs[i].Events[k].Kind {
			case timeline.KindDeployStep:
				steps[i]++
			case timeline.KindBackendState:
				states[i]++
			}
		}
		switch {
		case steps[i] > 0:
			roles[i] = rolePipeline
		case states[i] > 0:
			roles[i] = roleLB
		}
		anchors[i] = extractAnchors(&srcs[i], roles[i])
	}

	rep := &SkewReport{}
	for i := range srcs {
		for j := i + 1; j < len(srcs); j++ {
			if srcs[i].ID == srcs[j].ID {
				continue
			}
			if l, ok := measureLink(srcs[i].ID, srcs[j].ID, anchors[i], anchors[j], opts); ok {
				rep.Links = append(rep.Links, l)
			}
		}
	}
	if len(rep.Links) == 0 {
		return rep
	}
	linked := map[string]bool{}
	consistentLinks := map[string]int{}
	for _, l := range rep.Links {
		linked[l.A], linked[l.B] = true, true
		if l.Consistent {
			consistentLinks[l.A]++
			consistentLinks[l.B]++
		}
	}
	ref := -1
	pick := func(score []int, why string) {
		for i := range srcs {
			if linked[srcs[i].ID] && score[i] > 0 && (ref < 0 || score[i] > score[ref]) {
				ref = i
				rep.ReferenceReason = why
			}
		}
	}
	pick(steps, "the deploy pipeline log")
	if ref < 0 {
		lb := make([]int, len(srcs))
		for i := range srcs {
			if roles[i] == roleLB {
				lb[i] = states[i]
			}
		}
		pick(lb, "the load-balancer log")
	}
	if ref < 0 {
		n := make([]int, len(srcs))
		for i := range srcs {
			n[i] = consistentLinks[srcs[i].ID]
		}
		pick(n, "the source with the most consistent links")
	}
	if ref < 0 {
		for i := range srcs {
			if linked[srcs[i].ID] {
				ref = i
				rep.ReferenceReason = "the first linked source (no link is consistent)"
				break
			}
		}
	}
	rep.Reference = srcs[ref].ID
	rep.Sources = resolve(rep.Reference, rep.Links, linked)
	return rep
}

// resolution is the step of a source's timestamps: a second when no event
// carries a fraction of one, else a millisecond.
func resolution(evs []timeline.Event) time.Duration {
	for i := range evs {
		if evs[i].Time.Nanosecond() != 0 {
			return time.Millisecond
		}
	}
	return time.Second
}

func extractAnchors(s *SkewSource, r role) []anchor {
	res := resolution(s.Events)
	var out []anchor
	for i := range s.Events {
		e := &s.Events[i]
		if e.Backend == "" || e.Time.IsZero() {
			continue
		}
		var k anchorKind
		switch e.Kind {
		case timeline.KindDeployStep:
			if r != rolePipeline {
				continue
			}
			switch e.Attr("step") {
			case timeline.StepUnbind, timeline.StepDrainStart:
				k = aIntentOut
			case timeline.StepBind:
				k = aIntentIn
			case timeline.StepStop:
				k = aStop
			case timeline.StepKill:
				k = aKill
			case timeline.StepConfigPush:
				k = aPush
			}
		case timeline.KindBackendState:
			out, in := false, false
			switch e.Attr("state") {
			case timeline.StateDraining, timeline.StateRemoved:
				out = true
			case timeline.StateUp, timeline.StateBound:
				in = true
			}
			switch {
			case r == rolePipeline && out:
				k = aIntentOut
			case r == rolePipeline && in:
				k = aIntentIn
			case r == roleLB && out:
				k = aLBOut
			case r == roleLB && in:
				k = aLBIn
			}
		case timeline.KindAppLifecycle:
			if r != rolePipeline && e.Attr("phase") == "shutdown_start" {
				k = aShutdown
			}
		case timeline.KindConnReset, timeline.KindUpstreamError:
			if r == roleOther && e.Count >= 2 {
				k = aFail
			}
		case timeline.KindConfigReload:
			if r != rolePipeline {
				k = aReload
			}
		}
		if k == 0 {
			continue
		}
		a := anchor{kind: k, backend: e.Backend, t: e.Time, dhi: res, ev: e}
		if (k == aLBOut || k == aLBIn) && e.Attr("prev") != "" {
			// A poller's report: the change happened after its previous
			// reading of this backend, which bounds it from below.
			prev, ok := previousReading(s.Series, e.Backend, e.Time)
			if !ok {
				continue
			}
			a.dlo = prev.Sub(e.Time)
		}
		out = append(out, a)
	}
	return out
}

// previousReading returns the time of the last point of a series of backend
// strictly before t, within an hour.
func previousReading(ss []*timeline.Series, backend string, t time.Time) (time.Time, bool) {
	var best time.Time
	w := timeline.Window{Start: t.Add(-time.Hour), End: t.Add(-time.Nanosecond)}
	for _, s := range ss {
		if s.Backend != backend {
			continue
		}
		pts := s.Points(w)
		for k := len(pts) - 1; k >= 0; k-- {
			if pts[k].Time.Before(t) {
				if pts[k].Time.After(best) {
					best = pts[k].Time
				}
				break
			}
		}
	}
	return best, !best.IsZero()
}

// measureLink finds the anchor pairs between sources a and b and votes on
// the skew of b relative to a. ok is false when there is no pair at all.
func measureLink(idA, idB string, as, bs []anchor, opts SkewOptions) (SkewLink, bool) {
	var pairs []AnchorPair
	add := func(rule *AnchorRule, left, right *anchor, leftIsA bool) {
		g := right.t.Sub(left.t)
		if g > opts.MaxSkew+rule.Hi || g < -opts.MaxSkew+rule.Lo {
			return
		}
		// right's skew s relative to left: right.t - s + δr - (left.t + δl)
		// lies in [Lo, Hi] for some δ in the ends' windows.
		lo := g + right.dlo - left.dhi - rule.Hi
		hi := g + right.dhi - left.dlo - rule.Lo
		est := g + (right.dlo+right.dhi)/2 - (left.dlo+left.dhi)/2 - rule.Typical
		p := AnchorPair{Rule: rule.Name}
		endL := AnchorEnd{Pos: left.ev.Pos, Time: left.t, What: left.ev.Summary(left.t.Location())}
		endR := AnchorEnd{Pos: right.ev.Pos, Time: right.t, What: right.ev.Summary(right.t.Location())}
		if leftIsA {
			endL.Source, endR.Source = idA, idB
			p.A, p.B, p.Lo, p.Hi, p.Estimate = endL, endR, lo, hi, est
		} else {
			endL.Source, endR.Source = idB, idA
			p.A, p.B, p.Lo, p.Hi, p.Estimate = endR, endL, -hi, -lo, -est
		}
		p.Estimate = clampDur(p.Estimate, p.Lo, p.Hi)
		pairs = append(pairs, p)
	}
	byKind := func(as []anchor) map[anchorKind][]*anchor {
		m := map[anchorKind][]*anchor{}
		for i := range as {
			m[as[i].kind] = append(m[as[i].kind], &as[i])
		}
		for _, l := range m {
			sort.SliceStable(l, func(i, j int) bool { return l[i].t.Before(l[j].t) })
		}
		return m
	}
	ka, kb := byKind(as), byKind(bs)
	// Each left end keeps the maxCandidates right ends nearest the rule's
	// typical latency: dense failure bursts would otherwise give thousands
	// of candidates per kill, and the vote is quadratic in pairs. Anchors
	// are in time order, so the nearest lie on both sides of the typical
	// time.
	match := func(rule *AnchorRule, ls, rs []*anchor, leftIsA bool) {
		for _, l := range ls {
			target := l.t.Add(rule.Typical)
			lo, hi := l.t.Add(-opts.MaxSkew+rule.Lo), l.t.Add(opts.MaxSkew+rule.Hi)
			j := sort.Search(len(rs), func(i int) bool { return !rs[i].t.Before(target) })
			i := j - 1
			for n := 0; n < maxCandidates; {
				var r *anchor
				switch {
				case i >= 0 && !rs[i].t.Before(lo) && (j >= len(rs) || rs[j].t.After(hi) || target.Sub(rs[i].t) <= rs[j].t.Sub(target)):
					r = rs[i]
					i--
				case j < len(rs) && !rs[j].t.After(hi):
					r = rs[j]
					j++
				}
				if r == nil {
					break
				}
				if r.backend == l.backend {
					add(rule, l, r, leftIsA)
					n++
				}
			}
		}
	}
	for ri := range AnchorRules {
		rule := &AnchorRules[ri]
		match(rule, ka[rule.left], kb[rule.right], true)
		if !rule.symmetric {
			match(rule, kb[rule.left], ka[rule.right], false)
		}
	}
	if len(pairs) == 0 {
		return SkewLink{}, false
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if !pairs[i].A.Time.Equal(pairs[j].A.Time) {
			return pairs[i].A.Time.Before(pairs[j].A.Time)
		}
		return pairs[i].A.Pos.Line < pairs[j].A.Pos.Line
	})
	// Moments: on each side, ends within MomentGap of each other are one
	// moment. A set of pairs counts as min(distinct A moments, distinct B
	// moments) observations, so neither an event paired with several
	// candidates nor the lines of one transition count twice.
	clusterEnds(pairs, opts.MomentGap, func(p *AnchorPair) (time.Time, *int) { return p.A.Time, &p.momentA })
	clusterEnds(pairs, opts.MomentGap, func(p *AnchorPair) (time.Time, *int) { return p.B.Time, &p.momentB })
	holding := func(s time.Duration) []int {
		var idx []int
		for i := range pairs {
			if pairs[i].Lo <= s && s <= pairs[i].Hi {
				idx = append(idx, i)
			}
		}
		return idx
	}
	maxW := time.Duration(0)
	nA, nB := 0, 0
	for i := range pairs {
		maxW = max(maxW, pairs[i].Hi-pairs[i].Lo)
		nA, nB = max(nA, pairs[i].momentA+1), max(nB, pairs[i].momentB+1)
	}
	moments := min(nA, nB)
	l := SkewLink{A: idA, B: idB, Moments: moments}

	// Vote: the skews held by the most moments. Closed intervals reach
	// their largest cover at some interval's start. Several separate
	// regions of equal cover are merged when they lie within one pair's
	// width of each other, and make the link ambiguous otherwise.
	// Sweep the interval ends in order (starts before ends at one
	// coordinate: intervals are closed), tracking how many pairs of each
	// moment hold the current point; the cover after the last start at a
	// coordinate is a candidate.
	type edge struct {
		at    time.Duration
		enter bool
		i     int
	}
	edges := make([]edge, 0, 2*len(pairs))
	for i := range pairs {
		edges = append(edges, edge{pairs[i].Lo, true, i}, edge{pairs[i].Hi, false, i})
	}
	sort.Slice(edges, func(a, b int) bool {
		if edges[a].at != edges[b].at {
			return edges[a].at < edges[b].at
		}
		return edges[a].enter && !edges[b].enter
	})
	inA, inB := make([]int, len(pairs)), make([]int, len(pairs))
	dA, dB := 0, 0
	var cands []time.Duration
	var covers []int
	for k, e := range edges {
		a, b := pairs[e.i].momentA, pairs[e.i].momentB
		if e.enter {
			if inA[a]++; inA[a] == 1 {
				dA++
			}
			if inB[b]++; inB[b] == 1 {
				dB++
			}
			if k+1 == len(edges) || !edges[k+1].enter || edges[k+1].at != e.at {
				cands = append(cands, e.at)
				covers = append(covers, min(dA, dB))
			}
			continue
		}
		if inA[a]--; inA[a] == 0 {
			dA--
		}
		if inB[b]--; inB[b] == 0 {
			dB--
		}
	}
	bestN := slices.Max(covers)
	type region struct {
		lo, hi time.Duration
		idx    []int
	}
	var groups []region
	for i, s := range cands {
		if covers[i] != bestN {
			continue
		}
		r := region{lo: time.Duration(math.MinInt64), hi: time.Duration(math.MaxInt64), idx: holding(s)}
		for _, k := range r.idx {
			r.lo, r.hi = max(r.lo, pairs[k].Lo), min(r.hi, pairs[k].Hi)
		}
		// cands ascend, so a region can only join the last group.
		if n := len(groups); n > 0 && max(groups[n-1].hi, r.hi)-groups[n-1].lo <= maxW {
			g := &groups[n-1]
			g.hi = max(g.hi, r.hi)
			g.idx = append(g.idx, r.idx...)
			continue
		}
		groups = append(groups, r)
	}
	ambiguous := len(groups) > 1
	chosen := groups[0]
	for _, g := range groups[1:] {
		if absDur(g.lo+(g.hi-g.lo)/2) < absDur(chosen.lo+(chosen.hi-chosen.lo)/2) {
			chosen = g
		}
	}
	lo, hi := chosen.lo, chosen.hi
	for _, k := range chosen.idx {
		pairs[k].Agrees = true
	}
	agree := map[int][]time.Duration{}
	for i := range pairs {
		if pairs[i].Agrees {
			agree[pairs[i].momentA] = append(agree[pairs[i].momentA], clampDur(pairs[i].Estimate, lo, hi))
		}
	}
	var perMoment []time.Duration
	for _, k := range slices.Sorted(maps.Keys(agree)) {
		perMoment = append(perMoment, medianDur(agree[k]))
	}
	l.Agree = bestN
	l.Lo, l.Hi = lo, hi
	l.Skew = clampDur(medianDur(perMoment), lo, hi)
	l.Uncertainty = max(l.Skew-lo, hi-l.Skew)
	switch {
	case l.Agree < 2:
		l.Reason = fmt.Sprintf("only %d %s", l.Agree, plural(l.Agree, "pair", "pairs"))
		if moments > l.Agree {
			l.Reason = fmt.Sprintf("only %d of %d pairs agree", l.Agree, moments)
		}
	case 4*l.Agree < 3*moments:
		l.Reason = fmt.Sprintf("pairs disagree: %d of %d agree", l.Agree, moments)
	case ambiguous:
		l.Reason = "ambiguous: another skew fits as many pairs"
	default:
		l.Consistent = true
	}
	// One pair per moment: the agreeing one nearest the skew, else the one
	// nearest the agreed interval.
	byMoment := map[int]int{}
	score := func(p *AnchorPair) time.Duration {
		if p.Agrees {
			return absDur(p.Estimate - l.Skew)
		}
		return time.Duration(math.MaxInt64/2) + min(absDur(p.Lo-l.Skew), absDur(p.Hi-l.Skew))/2
	}
	for i := range pairs {
		k, ok := byMoment[pairs[i].momentA]
		if !ok || score(&pairs[i]) < score(&pairs[k]) {
			byMoment[pairs[i].momentA] = i
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byMoment)) {
		l.Pairs = append(l.Pairs, pairs[byMoment[k]])
	}
	sort.SliceStable(l.Pairs, func(i, j int) bool { return l.Pairs[i].Agrees && !l.Pairs[j].Agrees })
	return l, true
}

// clusterEnds numbers the moments of one side of the pairs: ends within gap
// of the previous one (in time order) share a moment.
func clusterEnds(pairs []AnchorPair, gap time.Duration, end func(*AnchorPair) (time.Time, *int)) {
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ta, _ := end(&pairs[idx[a]])
		tb, _ := end(&pairs[idx[b]])
		return ta.Before(tb)
	})
	m := 0
	var prev time.Time
	for n, i := range idx {
		t, dst := end(&pairs[i])
		if n > 0 && t.Sub(prev) > gap {
			m++
		}
		*dst, prev = m, t
	}
}

// resolve walks consistent links from ref (least total uncertainty first)
// and reports every linked source.
func resolve(ref string, links []SkewLink, linked map[string]bool) []SourceSkew {
	type edge struct {
		to   string
		link *SkewLink
		sign time.Duration // +1: to is B; -1: to is A
	}
	adj := map[string][]edge{}
	for i := range links {
		l := &links[i]
		if !l.Consistent {
			continue
		}
		adj[l.A] = append(adj[l.A], edge{l.B, l, 1})
		adj[l.B] = append(adj[l.B], edge{l.A, l, -1})
	}
	type state struct {
		skew, lo, hi time.Duration
		width        time.Duration
		pairs        int
		via          []string
		evidence     []AnchorPair
		done         bool
	}
	st := map[string]*state{ref: {pairs: math.MaxInt}}
	for {
		// Pick the undone reached source of least width (ties: by name).
		var cur string
		for _, id := range slices.Sorted(maps.Keys(st)) {
			s := st[id]
			if !s.done && (cur == "" || s.width < st[cur].width) {
				cur = id
			}
		}
		if cur == "" {
			break
		}
		cs := st[cur]
		cs.done = true
		for _, e := range adj[cur] {
			l := e.link
			sk, lo, hi := l.Skew, l.Lo, l.Hi
			if e.sign < 0 {
				sk, lo, hi = -sk, -hi, -lo
			}
			w := cs.width + (hi - lo)
			if ns, ok := st[e.to]; ok && (ns.done || ns.width <= w) {
				continue
			}
			via := append([]string(nil), cs.via...)
			if cur != ref {
				via = append(via, cur)
			}
			st[e.to] = &state{
				skew: cs.skew + sk, lo: cs.lo + lo, hi: cs.hi + hi, width: w,
				pairs: min(cs.pairs, l.Agree), via: via,
				evidence: append(append([]AnchorPair(nil), cs.evidence...), agreeing(l.Pairs)...),
			}
		}
	}
	var out []SourceSkew
	for _, id := range slices.Sorted(maps.Keys(linked)) {
		if id == ref {
			continue
		}
		if s, ok := st[id]; ok {
			r := SourceSkew{Source: id, Reference: ref, Via: s.via, Skew: s.skew, Lo: s.lo, Hi: s.hi,
				Uncertainty: max(s.skew-s.lo, s.hi-s.skew), Pairs: s.pairs, Evidence: s.evidence}
			r.Confident, r.Reason = judge(r.Skew, r.Uncertainty)
			out = append(out, r)
			continue
		}
		// Not reachable: report the best direct measurement, preferring
		// the link to the reference, then the most agreeing moments.
		var best *SkewLink
		for i := range links {
			l := &links[i]
			if l.A != id && l.B != id {
				continue
			}
			if best == nil || better(l, best, ref) {
				best = l
			}
		}
		r := SourceSkew{Source: id, Reference: best.A, Skew: best.Skew, Lo: best.Lo, Hi: best.Hi,
			Uncertainty: best.Uncertainty, Pairs: best.Agree, Evidence: best.Pairs, Reason: best.Reason}
		if best.A == id {
			r.Reference, r.Skew, r.Lo, r.Hi = best.B, -best.Skew, -best.Hi, -best.Lo
			r.Evidence = nil
			for _, p := range best.Pairs {
				r.Evidence = append(r.Evidence, p.swap())
			}
		}
		if r.Reason == "" {
			r.Reason = "not linked to the reference " + ref
		}
		out = append(out, r)
	}
	return out
}

func better(l, cur *SkewLink, ref string) bool {
	lr, cr := l.A == ref || l.B == ref, cur.A == ref || cur.B == ref
	if lr != cr {
		return lr
	}
	if l.Agree != cur.Agree {
		return l.Agree > cur.Agree
	}
	return l.Moments > cur.Moments
}

func (p AnchorPair) swap() AnchorPair {
	p.A, p.B = p.B, p.A
	p.Lo, p.Hi, p.Estimate = -p.Hi, -p.Lo, -p.Estimate
	return p
}

func agreeing(ps []AnchorPair) []AnchorPair {
	var out []AnchorPair
	for _, p := range ps {
		if p.Agrees {
			out = append(out, p)
		}
	}
	return out
}

// judge decides whether a skew resolved through consistent links is worth
// applying.
func judge(skew, unc time.Duration) (bool, string) {
	const quarter = 15 * time.Minute
	if k := (skew + quarter/2*signDur(skew)) / quarter; k != 0 {
		if absDur(skew-k*quarter) <= max(unc, time.Minute) {
			return false, fmt.Sprintf("looks like a time-zone difference (%s), not clock skew: set --tz", FormatSkew(k*quarter))
		}
	}
	if absDur(skew) <= unc {
		return false, "no detectable skew"
	}
	return true, ""
}

// FormatSkew renders a skew for people: "7.2s", "-850ms", "1m30s".
func FormatSkew(d time.Duration) string {
	switch a := absDur(d); {
	case a == 0:
		return "0s"
	case a < time.Second:
		return d.Round(time.Millisecond).String()
	case a < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// Sentence describes s for a draft: "haproxy.log runs 8s ahead of
// deploy.log (±3s, 4 pairs)".
func (s *SourceSkew) Sentence() string {
	var sb strings.Builder
	sb.WriteString(s.Source)
	switch {
	case s.Skew > 0:
		fmt.Fprintf(&sb, " runs %s ahead of %s", FormatSkew(s.Skew), s.Reference)
	case s.Skew < 0:
		fmt.Fprintf(&sb, " runs %s behind %s", FormatSkew(-s.Skew), s.Reference)
	default:
		fmt.Fprintf(&sb, " agrees with %s", s.Reference)
	}
	fmt.Fprintf(&sb, " (±%s, %d %s", FormatSkew(s.Uncertainty), s.Pairs, plural(s.Pairs, "pair", "pairs"))
	if len(s.Via) > 0 {
		fmt.Fprintf(&sb, ", via %s", strings.Join(s.Via, ", "))
	}
	sb.WriteString(")")
	return sb.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func signDur(d time.Duration) time.Duration {
	if d < 0 {
		return -1
	}
	return 1
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func clampDur(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(hi, d))
}

func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1] + (s[n/2]-s[n/2-1])/2
}
