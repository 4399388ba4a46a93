package svgchart

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func wellFormed(t testing.TB, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b)
		}
	}
}

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{0, 1, 1}, {-3, 1, 1}, {math.NaN(), 1, 1}, {1, 0.2, 1}, {7, 2, 8}, {420, 100, 500},
		{1800, 500, 2000}, {68321, 20000, 80000}, {0.03, 0.01, 0.03},
	} {
		step, top := niceAxis(tc.max)
		if math.Abs(step-tc.step) > 1e-9 || math.Abs(top-tc.top) > 1e-9 {
			t.Errorf("niceAxis(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", 1.005: "1", 12.345: "12.35", 1e7: "10000000", -3.5: "-3.5", math.Inf(1): "0"} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
	if yTick(1500) != "1.5k" || yTick(2.5e6) != "2.5M" || yTick(20) != "20" {
		t.Error("yTick")
	}
}

func TestTimeTicksInZone(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	ist := time.FixedZone("IST", 5*3600+1800)
	start := time.Date(2024, 5, 14, 4, 59, 40, 0, time.UTC)
	end := start.Add(12 * time.Minute)
	step := timeStep(end.Sub(start))
	if step != 2*time.Minute {
		t.Fatalf("step = %v", step)
	}
	for _, loc := range []*time.Location{time.UTC, jst, ist} {
		ticks := timeTicks(start, end, step, loc)
		if len(ticks) == 0 || len(ticks) > 8 {
			t.Fatalf("%v: %d ticks", loc, len(ticks))
		}
		for _, tk := range ticks {
			w := tk.In(loc)
			if w.Second() != 0 || w.Minute()%2 != 0 || tk.Before(start) || tk.After(end) {
				t.Errorf("%v: tick %v not on a 2-minute wall-clock boundary inside the window", loc, w)
			}
		}
	}
	if timeTicks(start, end, 0, time.UTC) != nil {
		t.Error("zero step")
	}
}

func TestRender(t *testing.T) {
	t0 := time.Date(2024, 5, 14, 5, 0, 0, 0, time.UTC)
	var ts []time.Time
	var vs []float64
	for i := 0; i < 10; i++ {
		ts = append(ts, t0.Add(time.Duration(i)*10*time.Second))
		vs = append(vs, float64(i*100))
	}
	vs[5] = math.NaN()
	c := Chart{
		Title: "TIME_WAIT <b>", YLabel: "sockets", ZoneLabel: "UTC", Start: t0, End: t0.Add(90 * time.Second),
		Lines:   []Line{{Name: "timewait{vm-a}", Times: ts, Values: vs}, {Name: "short", Times: ts[:2], Values: vs}},
		Markers: []Marker{{Time: t0.Add(20 * time.Second), Kind: "setting", Label: "a & b"}, {Time: t0.Add(time.Hour), Label: "outside"}},
		Bands:   []Band{{Start: t0.Add(30 * time.Second), End: t0.Add(40 * time.Second), Label: "f"}},
	}
	out := Render(c)
	wellFormed(t, out)
	s := string(out)
	if n := strings.Count(s, " M"); n != 1 || !strings.Contains(s, `d="M64 198`) {
		t.Errorf("the NaN should split the first line into two subpaths:\n%s", s)
	}
	if strings.Count(s, `class="marker"`) != 1 {
		t.Error("a marker outside the window was drawn")
	}
	if !strings.Contains(s, "TIME_WAIT &lt;b&gt;") || !strings.Contains(s, "a &amp; b") {
		t.Error("text not escaped")
	}
	if !bytes.Equal(out, Render(c)) {
		t.Error("not deterministic")
	}
	// Degenerate inputs do not panic and stay well-formed.
	wellFormed(t, Render(Chart{}))
	wellFormed(t, Render(Chart{Start: t0, End: t0, Lines: []Line{{Name: "x", Times: ts, Values: []float64{math.Inf(1)}}}}))
}

func FuzzRender(f *testing.F) {
	f.Add("timewait{vm-a}", "<script>alert(1)</script>|", 1200.5, int64(60))
	f.Add("", "\x00\xff]]>", -1.0, int64(0))
	f.Fuzz(func(t *testing.T, name, label string, v float64, secs int64) {
		t0 := time.Unix(1715662800, 0)
		c := Chart{Title: label, YLabel: label, ZoneLabel: label, Start: t0, End: t0.Add(time.Duration(secs%100000) * time.Second),
			Lines:   []Line{{Name: name, Times: []time.Time{t0, t0.Add(time.Second)}, Values: []float64{v, v * 2}}},
			Markers: []Marker{{Time: t0, Label: label}}, Bands: []Band{{Start: t0, End: t0.Add(time.Second), Label: label}}}
		out := Render(c)
		wellFormed(t, out)
		if bytes.Contains(out, []byte("<script")) {
			t.Fatal("unescaped markup")
		}
	})
}
