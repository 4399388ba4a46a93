package metrics

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Raw is one series as a metric file or server gives it: the metric name
// (__name__, "" when the answer omits it), its labels and its samples sorted
// by time.
type Raw struct {
	Name   string
	Labels map[string]string
	Points []RawPoint
}

// RawPoint is one sample. Line is the 1-based line it was read from in a
// line-oriented file (text, CSV), 0 for JSON answers.
type RawPoint struct {
	Time  time.Time
	Value float64
	Line  int64
}

// File formats.
const (
	FormatQueryRange = "prometheus-query-range"
	FormatText       = "openmetrics"
	FormatCSV        = "metrics-csv"
)

// Sniff names the format of a metric file from its first bytes, or returns
// "" when it is not one: a Prometheus API answer (a JSON object with
// "status" and "data"), exposition text (a "# HELP" or "# TYPE" line first),
// or CSV with the header time,metric,labels,value.
func Sniff(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case len(t) > 0 && t[0] == '{':
		if bytes.Contains(t, []byte(`"status"`)) && bytes.Contains(t, []byte(`"data"`)) &&
			(bytes.Contains(t, []byte(`"resultType"`)) || bytes.Contains(t, []byte(`"result"`)) || len(t) >= 4096) {
			return FormatQueryRange
		}
	case bytes.HasPrefix(t, []byte("# HELP ")) || bytes.HasPrefix(t, []byte("# TYPE ")):
		return FormatText
	default:
		first, _, _ := bytes.Cut(t, []byte("\n"))
		h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(first)), " ", ""))
		if h == "time,metric,labels,value" {
			return FormatCSV
		}
	}
	return ""
}

// Parse reads a metric file of the given format. It never panics; a bad line
// of a line-oriented file is counted in the returned warnings and skipped.
func Parse(format string, r io.Reader) ([]Raw, []string, error) {
	switch format {
	case FormatQueryRange:
		return ParseQueryRange(r)
	case FormatText:
		return ParseText(r)
	case FormatCSV:
		return ParseCSV(r)
	}
	return nil, nil, fmt.Errorf("unknown metric file format %q", format)
}

type apiAnswer struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
	Data      json.RawMessage `json:"data"`
}

type apiData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type apiSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
	Value  *[2]any           `json:"value"`
}

// ParseQueryRange reads a Prometheus HTTP API answer exactly as
// /api/v1/query_range (matrix) or /api/v1/query (vector) returns it. The
// answer's warnings and infos are returned as warnings; status "error" is an
// error carrying Prometheus's message.
func ParseQueryRange(r io.Reader) ([]Raw, []string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var a apiAnswer
	if err := dec.Decode(&a); err != nil {
		return nil, nil, fmt.Errorf("not a Prometheus API answer: %v", err)
	}
	var warns []string
	for _, w := range a.Warnings {
		warns = append(warns, "prometheus warning: "+w)
	}
	for _, w := range a.Infos {
		warns = append(warns, "prometheus info: "+w)
	}
	if a.Status != "success" {
		msg := a.Error
		if a.ErrorType != "" {
			msg = a.ErrorType + ": " + msg
		}
		return nil, warns, fmt.Errorf("prometheus answer status %q: %s", a.Status, msg)
	}
	var d apiData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, warns, fmt.Errorf("prometheus answer: bad data: %v", err)
	}
	if d.ResultType != "matrix" && d.ResultType != "vector" {
		return nil, warns, fmt.Errorf("prometheus answer: result type %q: expected matrix (query_range) or vector", d.ResultType)
	}
	var ss []apiSeries
	dec2 := json.NewDecoder(bytes.NewReader(d.Result))
	dec2.UseNumber()
	if err := dec2.Decode(&ss); err != nil {
		return nil, warns, fmt.Errorf("prometheus answer: bad result: %v", err)
	}
	var out []Raw
	bad := 0
	for _, s := range ss {
		raw := Raw{Name: s.Metric["__name__"], Labels: s.Metric}
		if raw.Labels == nil {
			raw.Labels = map[string]string{}
		}
		vals := s.Values
		if s.Value != nil {
			vals = append(vals, *s.Value)
		}
		for _, v := range vals {
			t, ok1 := jsonTime(v[0])
			x, ok2 := jsonValue(v[1])
			if !ok1 || !ok2 {
				bad++
				continue
			}
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			raw.Points = append(raw.Points, RawPoint{Time: t, Value: x})
		}
		sortPoints(raw.Points)
		out = append(out, raw)
	}
	if bad > 0 {
		warns = append(warns, fmt.Sprintf("%d sample(s) with a bad time or value skipped", bad))
	}
	return out, warns, nil
}

func jsonTime(v any) (time.Time, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return time.Time{}, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(x, 64); err != nil {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	return unixFloat(f)
}

func unixFloat(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e13 {
		return time.Time{}, false
	}
	if f > 1e11 { // milliseconds
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), true
}

func jsonValue(v any) (float64, bool) {
	switch x := v.(type) {
	case string:
		return parseFloat(x)
	case json.Number:
		return parseFloat(x.String())
	}
	return 0, false
}

func parseFloat(s string) (float64, bool) {
	switch s {
	case "+Inf", "Inf":
		return math.Inf(1), true
	case "-Inf":
		return math.Inf(-1), true
	case "NaN":
		return math.NaN(), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func sortPoints(p []RawPoint) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Time.Before(p[j].Time) })
}

// textKey identifies a series while reading line-oriented formats.
type textKey struct{ name, labels string }

type collector struct {
	order []textKey
	byKey map[textKey]*Raw
}

func (c *collector) add(name string, labels map[string]string, p RawPoint) {
	k := textKey{name, labelString("", labels)}
	if c.byKey == nil {
		c.byKey = map[textKey]*Raw{}
	}
	r := c.byKey[k]
	if r == nil {
		r = &Raw{Name: name, Labels: labels}
		r.Labels["__name__"] = name
		c.byKey[k] = r
		c.order = append(c.order, k)
	}
	r.Points = append(r.Points, p)
}

func (c *collector) result() []Raw {
	out := make([]Raw, 0, len(c.order))
	for _, k := range c.order {
		r := c.byKey[k]
		sortPoints(r.Points)
		out = append(out, *r)
	}
	return out
}

// ParseText reads Prometheus or OpenMetrics exposition text whose samples
// carry timestamps: `name{label="v"} value timestamp`. A timestamp above
// 1e11 is read as milliseconds (Prometheus text), otherwise as seconds
// (OpenMetrics). Samples without a timestamp cannot be placed on the
// timeline and are counted in a warning, as are malformed lines.
func ParseText(r io.Reader) ([]Raw, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var c collector
	var n, bad, noTS int64
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest, ok := splitSeries(line)
		if !ok {
			bad++
			continue
		}
		if i := strings.Index(rest, " # "); i >= 0 { // OpenMetrics exemplar
			rest = rest[:i]
		}
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 {
			bad++
			continue
		}
		v, ok := parseFloat(f[0])
		if !ok {
			bad++
			continue
		}
		if len(f) == 1 {
			noTS++
			continue
		}
		ts, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			bad++
			continue
		}
		t, ok := unixFloat(ts)
		if !ok {
			bad++
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		c.add(name, labels, RawPoint{Time: t, Value: v, Line: n})
	}
	var warns []string
	if bad > 0 {
		warns = append(warns, fmt.Sprintf("%d line(s) not in exposition format skipped", bad))
	}
	if noTS > 0 {
		warns = append(warns, fmt.Sprintf("%d sample(s) without a timestamp skipped (export with timestamps to place them on the timeline)", noTS))
	}
	if err := sc.Err(); err != nil {
		warns = append(warns, fmt.Sprintf("read stopped at line %d: %v", n+1, err))
	}
	return c.result(), warns, nil
}

// splitSeries splits `name{a="b"} rest` into its parts.
func splitSeries(line string) (name string, labels map[string]string, rest string, ok bool) {
	i := 0
	for i < len(line) && isNameByte(line[i], i == 0) {
		i++
	}
	if i == 0 {
		return "", nil, "", false
	}
	name = line[:i]
	labels = map[string]string{}
	if i < len(line) && line[i] == '{' {
		end, lm, ok := parseLabels(line, i+1)
		if !ok {
			return "", nil, "", false
		}
		labels = lm
		i = end
	}
	if i >= len(line) || (line[i] != ' ' && line[i] != '\t') {
		return "", nil, "", false
	}
	return name, labels, strings.TrimSpace(line[i:]), true
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// parseLabels reads `a="b",c="d"}` starting at i; it returns the index after
// the closing brace.
func parseLabels(s string, i int) (int, map[string]string, bool) {
	out := map[string]string{}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return 0, nil, false
		}
		if s[i] == '}' {
			return i + 1, out, true
		}
		j := i
		for j < len(s) && isNameByte(s[j], j == i) {
			j++
		}
		if j == i || j+1 >= len(s) || s[j] != '=' || s[j+1] != '"' {
			return 0, nil, false
		}
		key := s[i:j]
		j += 2
		var sb strings.Builder
		for {
			if j >= len(s) {
				return 0, nil, false
			}
			c := s[j]
			if c == '"' {
				j++
				break
			}
			if c == '\\' && j+1 < len(s) {
				j++
				switch s[j] {
				case 'n':
					sb.WriteByte('\n')
				default:
					sb.WriteByte(s[j])
				}
				j++
				continue
			}
			sb.WriteByte(c)
			j++
		}
		out[key] = sb.String()
		i = j
	}
}

// ParseCSV reads CSV rows time,metric,labels,value (a header row is
// optional). time is RFC 3339 or Unix seconds (milliseconds above 1e11);
// labels is `{a="b",c="d"}`, `a=b;c=d` or empty.
func ParseCSV(r io.Reader) ([]Raw, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var c collector
	var bad int64
	var row int64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad++
				continue
			}
			return c.result(), []string{fmt.Sprintf("read stopped at row %d: %v", row, err)}, nil
		}
		if len(rec) != 4 {
			bad++
			continue
		}
		line, _ := cr.FieldPos(0)
		if row == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "time") {
			continue
		}
		t, ok := csvTime(strings.TrimSpace(rec[0]))
		name := strings.TrimSpace(rec[1])
		v, ok2 := parseFloat(strings.TrimSpace(rec[3]))
		labels, ok3 := csvLabels(strings.TrimSpace(rec[2]))
		if !ok || !ok2 || !ok3 || name == "" {
			bad++
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		c.add(name, labels, RawPoint{Time: t, Value: v, Line: int64(line)})
	}
	var warns []string
	if bad > 0 {
		warns = append(warns, fmt.Sprintf("%d row(s) not in time,metric,labels,value form skipped", bad))
	}
	return c.result(), warns, nil
}

func csvTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return unixFloat(f)
}

func csvLabels(s string) (map[string]string, bool) {
	if s == "" || s == "{}" {
		return map[string]string{}, true
	}
	if s[0] == '{' {
		end, m, ok := parseLabels(s, 1)
		return m, ok && end == len(s)
	}
	out := map[string]string{}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, false
		}
		out[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out, true
}
