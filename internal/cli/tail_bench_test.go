package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/live"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
)

// BenchmarkTailDetectionLatency measures the time from writing the lines of
// a hard cut (the hard-cut fixture from 14:02:02 on, everything before it
// already read) to `tail` printing the hard-cut finding, with the default
// --poll and --eval-every. It runs 20 trials per iteration and reports
// p50 and p99 in milliseconds.
func BenchmarkTailDetectionLatency(b *testing.B) {
	root := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	reg, _ := builtin.Registry()
	lines, err := live.Replay([]string{root}, reg)
	if err != nil {
		b.Fatal(err)
	}
	cut := time.Date(2026, 5, 1, 14, 2, 2, 0, time.FixedZone("", 9*3600))
	split := sort.Search(len(lines), func(i int) bool { return !lines[i].Time.Before(cut) })
	end := sort.Search(len(lines), func(i int) bool { return lines[i].Time.After(cut.Add(3 * time.Second)) })
	var lat []time.Duration
	for n := 0; n < b.N; n++ {
		for trial := 0; trial < 20; trial++ {
			lat = append(lat, latencyTrial(b, lines, root, split, end))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}

func latencyTrial(b *testing.B, lines []live.ReplayLine, root string, split, end int) time.Duration {
	dir := b.TempDir()
	files := map[string]*os.File{}
	open := func(stream string) *os.File {
		if f := files[stream]; f != nil {
			return f
		}
		rel, _ := filepath.Rel(root, stream)
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		files[stream] = f
		return f
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, l := range lines[:split] {
		open(l.Stream).WriteString(l.Text + "\n")
	}
	var fed atomic.Int64
	fired := make(chan time.Time, 1)
	o := &TailOptions{Args: []string{dir}, FromStart: true, Poll: 100 * time.Millisecond, EvalEvery: 250 * time.Millisecond,
		OutFormat: "md", Keep: 2 * time.Hour, ResolveAfter: 5 * time.Minute,
		Lines: func(string, []byte) { fed.Add(1) },
		Fired: func(c live.Change) {
			if !c.Resolved && c.Finding.Rule == "hard-cut-without-drain" {
				select {
				case fired <- time.Now():
				default:
				}
			}
		}}
	var out, errOut syncBuffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); runTail(ctx, d, o) }()
	defer func() { cancel(); wg.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); fed.Load() < int64(split); {
		if time.Now().After(deadline) {
			b.Fatalf("backfill not read: %d of %d", fed.Load(), split)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Let the backfill be evaluated before the cut is written.
	time.Sleep(400 * time.Millisecond)
	start := time.Now()
	for _, l := range lines[split:end] {
		open(l.Stream).WriteString(l.Text + "\n")
	}
	select {
	case t := <-fired:
		return t.Sub(start)
	case <-time.After(20 * time.Second):
		b.Fatalf("no finding; output %s", out.String())
	}
	return 0
}

// BenchmarkTailSoakRSS writes nginx access lines at 5,000 lines/s into a
// followed file while `tail` runs, sampling the process RSS every 10s. The
// soak lasts $POSTMORTEM_SOAK (a duration, default 20s). It reports the
// RSS after the first minute (or first sample) and at the end, in MiB.
func BenchmarkTailSoakRSS(b *testing.B) {
	dur := 20 * time.Second
	if s := os.Getenv("POSTMORTEM_SOAK"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			dur = d
		}
	}
	for n := 0; n < b.N; n++ {
		dir := b.TempDir()
		p := filepath.Join(dir, "nginx", "vm-a", "access.log")
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		var out, errOut syncBuffer
		d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
		o := &TailOptions{Args: []string{dir}, Poll: 100 * time.Millisecond, EvalEvery: 250 * time.Millisecond,
			OutFormat: "md", Keep: 2 * time.Hour, ResolveAfter: 5 * time.Minute}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); runTail(ctx, d, o) }()
		start := time.Now()
		tk := time.NewTicker(10 * time.Millisecond)
		var rss []float64
		lastSample := start
		seq := 0
		for time.Since(start) < dur {
			<-tk.C
			var sb strings.Builder
			now := time.Now()
			for i := 0; i < 50; i++ {
				seq++
				status := 200
				if seq%97 == 0 {
					status = 502
				}
				fmt.Fprintf(&sb, "10.1.%d.%d - - [%s] \"GET /api/v1/orders/%d HTTP/1.1\" %d 512 \"-\" \"okhttp/4.12.0\" rt=0.012 uct=0.000 urt=0.011 us=%d ua=10.0.0.1:8080\n",
					seq%250, seq%200, now.Format("02/Jan/2006:15:04:05 -0700"), seq, status, status)
			}
			f.WriteString(sb.String())
			if time.Since(lastSample) >= 10*time.Second {
				lastSample = time.Now()
				rss = append(rss, rssMiB())
			}
		}
		tk.Stop()
		cancel()
		wg.Wait()
		f.Close()
		rss = append(rss, rssMiB())
		first := rss[0]
		if len(rss) > 7 {
			first = rss[6] // after the first minute: the window is still filling before
		}
		b.ReportMetric(first, "rss-start-MiB")
		b.ReportMetric(rss[len(rss)-1], "rss-end-MiB")
		max := 0.0
		for _, v := range rss {
			if v > max {
				max = v
			}
		}
		b.ReportMetric(max, "rss-max-MiB")
		b.ReportMetric(float64(seq)/time.Since(start).Seconds(), "lines/s")
	}
}

func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
