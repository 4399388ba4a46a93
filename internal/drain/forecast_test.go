package drain

import (
	"math"
	"strings"
	"testing"
	"time"
)

func series(n int, step time.Duration, f func(sec float64) float64) []Reading {
	t0 := time.Date(2026, 5, 1, 15, 30, 0, 0, time.UTC)
	var rs []Reading
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i) * step)
		rs = append(rs, Reading{Time: at, Active: math.Round(f(at.Sub(t0).Seconds())), New: 0})
	}
	return rs
}

func TestPredict(t *testing.T) {
	cases := []struct {
		name      string
		rs        []Reading
		threshold float64
		model     string
		never     bool
		etaMin    time.Duration
		etaMax    time.Duration
	}{
		// 1197 sessions falling 3/min: about 6h38m to zero.
		{"slow linear", series(10, 30*time.Second, func(s float64) float64 { return 1210 - 3*s/60 }), 1, "linear", false, 6*time.Hour + 20*time.Minute, 6*time.Hour + 50*time.Minute},
		{"flat", series(10, 10*time.Second, func(s float64) float64 { return 1197 }), 10, "", true, 0, 0},
		{"rising", series(10, 10*time.Second, func(s float64) float64 { return 100 + s }), 10, "", true, 0, 0},
		// Halving every minute from 1000: below 10 after log2(100) ≈ 6.6 min.
		{"exponential", series(12, 10*time.Second, func(s float64) float64 { return 1000 * math.Pow(0.5, s/60) }), 10, "exponential", false, 4 * time.Minute, 6 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Predict(tc.rs, tc.threshold)
			if !f.OK {
				t.Fatal("no forecast")
			}
			if f.Never != tc.never {
				t.Fatalf("Never = %v, want %v (%+v)", f.Never, tc.never, f)
			}
			if tc.never {
				return
			}
			if f.Model != tc.model {
				t.Errorf("model %s, want %s", f.Model, tc.model)
			}
			if f.ETA < tc.etaMin || f.ETA > tc.etaMax {
				t.Errorf("ETA %s, want %s..%s (%+v)", f.ETA, tc.etaMin, tc.etaMax, f)
			}
		})
	}
	if f := Predict(series(2, time.Second, func(float64) float64 { return 5 }), 1); f.OK {
		t.Error("forecast from 2 readings")
	}
	// One wild outlier does not turn a fall into a rise.
	rs := series(10, 30*time.Second, func(s float64) float64 { return 1200 - s })
	rs[5].Active = 5000
	if f := Predict(rs, 1); f.Never || f.PerMinute > -50 {
		t.Errorf("outlier broke the fit: %+v", f)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{6*time.Hour + 38*time.Minute: "6h38m", 90 * time.Second: "1m30s", 40 * time.Second: "40s", time.Duration(math.MaxInt64): "more than 100 days"} {
		if got := FormatETA(d); got != want {
			t.Errorf("FormatETA(%s) = %q, want %q", d, got, want)
		}
	}
	if got := FormatRate(-3); got != "falling 3.0/min" {
		t.Errorf("FormatRate(-3) = %q", got)
	}
	if got := FormatRate(0.01); got != "flat" {
		t.Errorf("FormatRate(0.01) = %q", got)
	}
}

func TestParseShowStat(t *testing.T) {
	in := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,\n" +
		"fe,FRONTEND,,,3,3,262120,3,0,0,0,0,0,,,,,OPEN,,\n" +
		"be_ws,vm-c,0,0,3,3,,7,0,0,,0,,0,0,0,0,DRAIN,1,\n" +
		"be_ws,BACKEND,0,0,3,3,26212,3,0,0,0,0,,0,0,0,0,UP,1,\n" +
		"garbage \"line\n"
	rows, err := ParseShowStat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, r := range rows {
		if r["svname"] == "vm-c" {
			got = r["scur"] + "/" + r["stot"] + "/" + r["status"]
		}
	}
	if got != "3/7/DRAIN" {
		t.Errorf("vm-c row %q, want 3/7/DRAIN", got)
	}
	if _, err := ParseShowStat(strings.NewReader("Unknown command\n")); err == nil {
		t.Error("no error for a non-CSV answer")
	}
}

func FuzzParseShowStat(f *testing.F) {
	f.Add("# pxname,svname,scur,stot,status,\nbe,vm-c,3,7,DRAIN,\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ParseShowStat(strings.NewReader(s))
	})
}
