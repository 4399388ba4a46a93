// Package loki reads log lines from a Grafana Loki server through its HTTP
// query API (GET /loki/api/v1/query_range) with net/http and its own
// structs, and turns each Loki stream into a postmortem source whose lines
// are parsed by format detection, like a log file.
//
// Paging: queries run with direction=forward and a page limit; the next page
// starts at the last timestamp seen, and entries at that timestamp already
// returned are skipped, so a page boundary inside one nanosecond neither
// loses nor repeats lines as long as fewer lines share one nanosecond than
// the page limit (Stats.Crowded counts the timestamps where that failed). Requests that fail with 429, a 5xx status or a
// network error are retried with exponential backoff (honouring
// Retry-After); other errors stop the query with Loki's message. A tenant
// goes in X-Scope-OrgID; bearer or basic authentication is supported.
package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Client queries one Loki server. The zero value of each option field
// selects its default.
type Client struct {
	// URL is the server's base URL, e.g. http://loki:3100.
	URL string
	// Tenant, if set, is sent as X-Scope-OrgID.
	Tenant string
	// BearerToken, or User and Password, authenticate requests.
	BearerToken    string
	User, Password string
	// HTTP is the client used; default one with a 30 s timeout.
	HTTP *http.Client
	// Limit is the page size in entries (default 5000).
	Limit int
	// MaxEntries stops a query after this many entries (default 5,000,000);
	// Stats.Truncated says so.
	MaxEntries int
	// Retries is how many times a retryable failure is retried (default 5);
	// Backoff is the first wait, doubled each time up to 30 s (default 500ms).
	Retries int
	Backoff time.Duration
	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Entry is one log line of a stream.
type Entry struct {
	Time time.Time
	Line string
}

// Stats describes a finished query.
type Stats struct {
	Pages, Entries, Retries int
	// Truncated is true when MaxEntries stopped the query early.
	Truncated bool
	// Crowded counts pages made entirely of one nanosecond already seen:
	// more lines share that timestamp than the page limit, the query steps
	// past it and lines at it may be missing. Raise Limit.
	Crowded int
}

// Error is an error answer of the Loki API.
type Error struct {
	Status int
	// Msg is Loki's message (the "error" field of a JSON body, or the text
	// body), trimmed to 512 bytes.
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("loki: HTTP %d: %s", e.Status, e.Msg)
}

// response is the documented body of query_range.
type response struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type stream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

func (c *Client) limit() int {
	if c.Limit > 0 {
		return c.Limit
	}
	return 5000
}

// QueryRange runs the log query q over [start, end] and calls fn for each
// entry, stream by stream within a page and pages in time order. Labels is
// the stream's label set; fn must not keep it across calls if it modifies
// it. An error from fn stops the query and is returned.
func (c *Client) QueryRange(ctx context.Context, q string, start, end time.Time, fn func(labels map[string]string, e Entry) error) (Stats, error) {
	var st Stats
	if c.URL == "" {
		return st, errors.New("loki: no URL")
	}
	max := c.MaxEntries
	if max <= 0 {
		max = 5_000_000
	}
	from := start
	var lastTS int64 = -1
	seenAtLast := map[string]bool{}
	stalled := 0
	for {
		body, err := c.get(ctx, q, from, end, &st)
		if err != nil {
			return st, err
		}
		st.Pages++
		var r response
		if err := json.Unmarshal(body, &r); err != nil {
			return st, fmt.Errorf("loki: decoding response: %w", err)
		}
		if r.Status != "success" {
			return st, &Error{Status: 200, Msg: trim(r.ErrorType + ": " + r.Error)}
		}
		if r.Data.ResultType != "streams" {
			return st, fmt.Errorf("loki: query returned %q, not log streams: give a log query such as {job=\"nginx\"}, not a metric query", r.Data.ResultType)
		}
		var ss []stream
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			return st, fmt.Errorf("loki: decoding streams: %w", err)
		}
		n, newLast, fresh := 0, lastTS, 0
		type kv struct {
			ts   int64
			line string
		}
		// Sort entries within each stream by time (forward order is
		// documented, but do not rely on it) and deliver.
		nextSeen := map[string]bool{}
		pageMax := int64(-1)
		for _, s := range ss {
			for _, v := range s.Values {
				if ts, err := strconv.ParseInt(v[0], 10, 64); err == nil && ts > pageMax {
					pageMax = ts
				}
			}
		}
		for _, s := range ss {
			key := labelKey(s.Stream)
			vals := make([]kv, 0, len(s.Values))
			for _, v := range s.Values {
				ts, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					continue
				}
				vals = append(vals, kv{ts, v[1]})
			}
			sort.SliceStable(vals, func(i, j int) bool { return vals[i].ts < vals[j].ts })
			for _, v := range vals {
				n++
				id := key + "\x00" + strconv.FormatInt(v.ts, 10) + "\x00" + v.line
				if v.ts == pageMax {
					nextSeen[id] = true
				}
				if v.ts < lastTS || (v.ts == lastTS && seenAtLast[id]) {
					continue
				}
				fresh++
				if st.Entries >= max {
					st.Truncated = true
					return st, nil
				}
				st.Entries++
				if err := fn(s.Stream, Entry{Time: time.Unix(0, v.ts).UTC(), Line: v.line}); err != nil {
					return st, err
				}
			}
		}
		if pageMax > newLast {
			newLast = pageMax
		}
		if n < c.limit() || pageMax < 0 {
			return st, nil
		}
		if fresh == 0 {
			stalled++
		} else {
			stalled = 0
		}
		if pageMax < lastTS || stalled > 2 {
			return st, fmt.Errorf("loki: paging made no progress at %s: the server ignores the start parameter or repeats a page", time.Unix(0, lastTS).UTC().Format(time.RFC3339Nano))
		}
		if newLast == lastTS {
			for id := range nextSeen {
				seenAtLast[id] = true
			}
			if fresh == 0 {
				// A whole page at one nanosecond, all seen: step past it.
				newLast++
				st.Crowded++
				seenAtLast = map[string]bool{}
			}
		} else {
			seenAtLast = nextSeen
		}
		lastTS = newLast
		from = time.Unix(0, lastTS)
		if !from.Before(end) && !from.Equal(end) {
			return st, nil
		}
	}
}

// get performs one query_range request with retries and returns the body.
func (c *Client) get(ctx context.Context, q string, start, end time.Time, st *Stats) ([]byte, error) {
	v := url.Values{}
	v.Set("query", q)
	v.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	v.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	v.Set("limit", strconv.Itoa(c.limit()))
	v.Set("direction", "forward")
	return c.request(ctx, "/loki/api/v1/query_range", v, st)
}

// request performs one GET of the API path with the parameters v, with
// retries, and returns the body.
func (c *Client) request(ctx context.Context, path string, v url.Values, st *Stats) ([]byte, error) {
	u, err := url.Parse(strings.TrimRight(c.URL, "/") + path)
	if err != nil {
		return nil, fmt.Errorf("loki: bad URL: %w", err)
	}
	u.RawQuery = v.Encode()
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	retries := c.Retries
	if retries <= 0 {
		retries = 5
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	sleep := c.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if c.Tenant != "" {
			req.Header.Set("X-Scope-OrgID", c.Tenant)
		}
		if c.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+c.BearerToken)
		} else if c.User != "" {
			req.SetBasicAuth(c.User, c.Password)
		}
		resp, err := hc.Do(req)
		var body []byte
		retry, after := false, time.Duration(0)
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, 256<<20))
			resp.Body.Close()
			if err == nil {
				switch {
				case resp.StatusCode == http.StatusOK:
					return body, nil
				case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
					retry = true
					if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s > 0 {
						after = time.Duration(s) * time.Second
					}
					err = &Error{Status: resp.StatusCode, Msg: errMsg(body)}
				default:
					return nil, &Error{Status: resp.StatusCode, Msg: errMsg(body)}
				}
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && !retry {
			retry = true // network error
		}
		if attempt >= retries {
			return nil, fmt.Errorf("loki: giving up after %d attempt(s): %w", attempt+1, err)
		}
		d := wait << attempt
		if d > 30*time.Second || d <= 0 {
			d = 30 * time.Second
		}
		if after > d {
			d = after
		}
		st.Retries++
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// StreamsWith returns the label sets of the streams of the log query q
// that have at least one line in [start, end], sorted by labelKey: one
// instant query (GET /loki/api/v1/query) of count_over_time(q [range]) at
// end plus a second, over a range that covers the window with a second to
// spare on each side (so it may also see a line up to two seconds
// outside). Loki answers with one series per stream; its series limit
// (max_query_series) or query length limit make it an error.
func (c *Client) StreamsWith(ctx context.Context, q string, start, end time.Time) ([]map[string]string, error) {
	if c.URL == "" {
		return nil, errors.New("loki: no URL")
	}
	secs := int64(end.Sub(start)/time.Second) + 3
	v := url.Values{}
	v.Set("query", fmt.Sprintf("count_over_time(%s [%ds])", strings.TrimSpace(q), secs))
	v.Set("time", strconv.FormatInt(end.Add(time.Second).UnixNano(), 10))
	var st Stats
	body, err := c.request(ctx, "/loki/api/v1/query", v, &st)
	if err != nil {
		return nil, err
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("loki: decoding response: %w", err)
	}
	if r.Status != "success" {
		return nil, &Error{Status: 200, Msg: trim(r.ErrorType + ": " + r.Error)}
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("loki: count_over_time returned %q, not a vector", r.Data.ResultType)
	}
	var vec []struct {
		Metric map[string]string `json:"metric"`
	}
	if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
		return nil, fmt.Errorf("loki: decoding vector: %w", err)
	}
	out := make([]map[string]string, 0, len(vec))
	for _, s := range vec {
		if s.Metric == nil {
			s.Metric = map[string]string{}
		}
		out = append(out, s.Metric)
	}
	sort.Slice(out, func(i, j int) bool { return labelKey(out[i]) < labelKey(out[j]) })
	return out, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errMsg extracts Loki's message from an error body: JSON {"error": ...}
// or {"message": ...}, else the text.
func errMsg(body []byte) string {
	var j struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil {
		if j.Error != "" {
			return trim(j.Error)
		}
		if j.Message != "" {
			return trim(j.Message)
		}
	}
	return trim(string(body))
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// labelKey renders labels as {a="x", b="y"} with sorted names.
func labelKey(ls map[string]string) string {
	names := make([]string, 0, len(ls))
	for k := range ls {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(ls[k]))
	}
	b.WriteByte('}')
	return b.String()
}
