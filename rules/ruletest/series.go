package ruletest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Missing marks a step without a value in an expanded series (promtool's
// "_").
var Missing = math.NaN()

// maxSeriesPoints bounds how many values one series string may expand to,
// so a typo such as "0+1x99999999999" fails instead of eating memory.
const maxSeriesPoints = 1_000_000

// ExpandSeries expands promtool's series notation into one value per step.
// The string is a space-separated list of items:
//
//	a          the value a
//	_          one missing step
//	a+bxn      a, a+b, ..., a+n*b (n+1 values); a-bxn counts down
//	axn        a repeated n+1 times (a+0xn)
//	_xn        n missing steps
//
// Missing steps are returned as NaN (see Missing). Numbers are Go float
// literals (1e3, -4, 0.5). ExpandSeries never panics; it returns an error
// naming the first bad item.
func ExpandSeries(s string) ([]float64, error) {
	var out []float64
	for _, item := range strings.Fields(s) {
		vals, err := expandItem(item, maxSeriesPoints-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, vals...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("series %q: no values", s)
	}
	return out, nil
}

func expandItem(item string, room int) ([]float64, error) {
	bad := func(why string) error { return fmt.Errorf("series item %q: %s", item, why) }
	head, times, hasX := strings.Cut(item, "x")
	n := 0
	if hasX {
		v, err := strconv.Atoi(times)
		if err != nil || v < 0 {
			return nil, bad("expected a non-negative repeat count after x")
		}
		n = v
	}
	if n+1 > room {
		return nil, bad(fmt.Sprintf("expands to more than %d values", maxSeriesPoints))
	}
	if head == "_" {
		if !hasX {
			return []float64{Missing}, nil
		}
		out := make([]float64, n)
		for i := range out {
			out[i] = Missing
		}
		return out, nil
	}
	// Split "a+b" / "a-b", skipping a sign at the start and in an exponent.
	start, step := head, "0"
	for i := 1; i < len(head); i++ {
		c := head[i]
		if (c == '+' || c == '-') && head[i-1] != 'e' && head[i-1] != 'E' {
			start, step = head[:i], head[i:]
			break
		}
	}
	if step != "0" && !hasX {
		return nil, bad("a step (+b or -b) needs a repeat count (xN)")
	}
	a, err := parseValue(start)
	if err != nil {
		return nil, bad("bad number " + strconv.Quote(start))
	}
	b, err := parseValue(step)
	if err != nil {
		return nil, bad("bad step " + strconv.Quote(step))
	}
	out := make([]float64, n+1)
	for i := range out {
		out[i] = a + float64(i)*b
	}
	return out, nil
}

func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a finite number")
	}
	return v, nil
}

// ParseSeriesName splits `metric{backend="vm-b"}` into the metric and the
// backend label. Only the backend label is allowed; it may be omitted.
func ParseSeriesName(s string) (metric, backend string, err error) {
	s = strings.TrimSpace(s)
	name, rest, hasLabels := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", fmt.Errorf("series %q: no metric name", s)
	}
	if !hasLabels {
		return name, "", nil
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), "}")
	if !ok {
		return "", "", fmt.Errorf("series %q: missing }", s)
	}
	for _, kv := range strings.Split(body, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", "", fmt.Errorf("series %q: label %q: expected name=\"value\"", s, kv)
		}
		k = strings.TrimSpace(k)
		uq, err := strconv.Unquote(strings.TrimSpace(v))
		if err != nil {
			return "", "", fmt.Errorf("series %q: label %s: value must be quoted", s, k)
		}
		if k != "backend" {
			return "", "", fmt.Errorf("series %q: unknown label %q (only backend is used)", s, k)
		}
		backend = uq
	}
	return name, backend, nil
}
