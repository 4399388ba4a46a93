// Package svgchart draws small, deterministic line charts as standalone SVG:
// one or more series over a time window, vertical markers for events and
// shaded bands for intervals. It has no dependencies beyond the standard
// library. The same Chart always yields the same bytes: numbers are written
// with a fixed precision, lines keep the caller's order, and every piece of
// text is XML-escaped, so labels taken from logs cannot inject markup.
package svgchart

import (
	"bytes"
	"encoding/xml"
	"math"
	"strconv"
	"time"
)

// Line is one series: Values[i] is the value at Times[i]. A NaN value
// breaks the line (a gap).
type Line struct {
	Name   string
	Times  []time.Time
	Values []float64
}

// Marker is a vertical line at Time. Kind picks its colour ("setting" or
// "state"); Label is drawn beside it and in its tooltip.
type Marker struct {
	Time  time.Time
	Kind  string
	Label string
}

// Band is a shaded interval [Start, End] with a label.
type Band struct {
	Start, End time.Time
	Label      string
}

// Chart is everything one chart shows. Start/End bound the x axis; Loc is
// the zone the axis is labelled in (UTC when nil) and ZoneLabel its name in
// the axis title (e.g. "UTC+09:00 JST"). Width and Height default to 960x260.
type Chart struct {
	Title     string
	YLabel    string
	ZoneLabel string
	Loc       *time.Location
	Start     time.Time
	End       time.Time
	Width     int
	Height    int
	Lines     []Line
	Markers   []Marker
	Bands     []Band
}

// palette colours lines in order; markers and bands use fixed colours.
var palette = []string{"#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#6e7781", "#bf3989"}

const (
	padLeft   = 64.0
	padRight  = 16.0
	padTop    = 30.0
	padBottom = 62.0
)

// num writes v with at most two decimals, no exponent, "-0" folded to "0".
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Render returns c as a complete <svg> element (no XML prolog, so it can be
// inlined into HTML as well as written to a .svg file).
func Render(c Chart) []byte {
	w, h := float64(c.Width), float64(c.Height)
	if w <= 0 {
		w = 960
	}
	if h <= 0 {
		h = 260
	}
	loc := c.Loc
	if loc == nil {
		loc = time.UTC
	}
	start, end := c.Start, c.End
	if !end.After(start) {
		end = start.Add(time.Minute)
	}
	plotW, plotH := w-padLeft-padRight, h-padTop-padBottom
	span := end.Sub(start).Seconds()
	xOf := func(t time.Time) float64 {
		f := t.Sub(start).Seconds() / span
		return padLeft + math.Max(0, math.Min(1, f))*plotW
	}
	ymax := 0.0
	for _, l := range c.Lines {
		for _, v := range l.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) && v > ymax {
				ymax = v
			}
		}
	}
	ystep, ytop := niceAxis(ymax)
	yOf := func(v float64) float64 { return padTop + plotH - v/ytop*plotH }

	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" role="img" class="pm-chart" width="` + num(w) + `" height="` + num(h) +
		`" viewBox="0 0 ` + num(w) + " " + num(h) + `" font-family="system-ui,sans-serif" font-size="11">` + "\n")
	b.WriteString("<title>" + esc(c.Title) + "</title>\n")
	b.WriteString(`<rect x="0" y="0" width="` + num(w) + `" height="` + num(h) + `" fill="#ffffff"/>` + "\n")
	b.WriteString(`<text x="` + num(padLeft) + `" y="18" font-size="13" font-weight="600" fill="#1f2328">` + esc(c.Title) + "</text>\n")
	// Bands first, under everything else.
	for _, bd := range c.Bands {
		if bd.End.Before(c.Start) || bd.Start.After(end) {
			continue
		}
		x0, x1 := xOf(bd.Start), xOf(bd.End)
		if x1-x0 < 2 {
			x1 = x0 + 2
		}
		b.WriteString(`<rect class="band" x="` + num(x0) + `" y="` + num(padTop) + `" width="` + num(x1-x0) + `" height="` + num(plotH) +
			`" fill="#cf222e" fill-opacity="0.12"><title>` + esc(bd.Label) + "</title></rect>\n")
	}
	// Y grid and labels.
	for v := 0.0; v <= ytop+ystep/2; v += ystep {
		y := yOf(v)
		b.WriteString(`<line x1="` + num(padLeft) + `" y1="` + num(y) + `" x2="` + num(padLeft+plotW) + `" y2="` + num(y) + `" stroke="#d0d7de" stroke-width="1"/>` + "\n")
		b.WriteString(`<text x="` + num(padLeft-6) + `" y="` + num(y+4) + `" text-anchor="end" fill="#59636e">` + esc(yTick(v)) + "</text>\n")
	}
	// X ticks.
	tstep := timeStep(end.Sub(start))
	for _, t := range timeTicks(start, end, tstep, loc) {
		x := xOf(t)
		b.WriteString(`<line x1="` + num(x) + `" y1="` + num(padTop+plotH) + `" x2="` + num(x) + `" y2="` + num(padTop+plotH+4) + `" stroke="#59636e"/>` + "\n")
		layout := "15:04"
		if tstep < time.Minute {
			layout = "15:04:05"
		}
		b.WriteString(`<text x="` + num(x) + `" y="` + num(padTop+plotH+16) + `" text-anchor="middle" fill="#59636e">` + esc(t.In(loc).Format(layout)) + "</text>\n")
	}
	xl := "time (" + start.In(loc).Format("2006-01-02") + ", " + c.ZoneLabel + ")"
	if c.ZoneLabel == "" {
		xl = "time (" + start.In(loc).Format("2006-01-02 -07:00") + ")"
	}
	b.WriteString(`<text x="` + num(padLeft+plotW/2) + `" y="` + num(padTop+plotH+32) + `" text-anchor="middle" fill="#1f2328">` + esc(xl) + "</text>\n")
	b.WriteString(`<text transform="translate(14 ` + num(padTop+plotH/2) + `) rotate(-90)" text-anchor="middle" fill="#1f2328">` + esc(c.YLabel) + "</text>\n")
	// Axes.
	b.WriteString(`<line x1="` + num(padLeft) + `" y1="` + num(padTop) + `" x2="` + num(padLeft) + `" y2="` + num(padTop+plotH) + `" stroke="#59636e"/>` + "\n")
	b.WriteString(`<line x1="` + num(padLeft) + `" y1="` + num(padTop+plotH) + `" x2="` + num(padLeft+plotW) + `" y2="` + num(padTop+plotH) + `" stroke="#59636e"/>` + "\n")
	// Lines.
	for i, l := range c.Lines {
		col := palette[i%len(palette)]
		var d bytes.Buffer
		pen := false
		for j := range l.Values {
			if j >= len(l.Times) {
				break
			}
			v := l.Values[j]
			if math.IsNaN(v) || math.IsInf(v, 0) || l.Times[j].Before(c.Start) || l.Times[j].After(end) {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			d.WriteString(num(xOf(l.Times[j])) + " " + num(yOf(v)))
			pen = true
		}
		if d.Len() > 0 {
			b.WriteString(`<path class="series" d="` + d.String() + `" fill="none" stroke="` + col + `" stroke-width="1.5"><title>` + esc(l.Name) + "</title></path>\n")
		}
	}
	// Markers on top.
	for _, m := range c.Markers {
		if m.Time.Before(c.Start) || m.Time.After(end) {
			continue
		}
		col, dash := "#8250df", "4 3"
		if m.Kind == "state" {
			col, dash = "#bc4c00", "2 2"
		}
		x := xOf(m.Time)
		b.WriteString(`<line class="marker" x1="` + num(x) + `" y1="` + num(padTop) + `" x2="` + num(x) + `" y2="` + num(padTop+plotH) +
			`" stroke="` + col + `" stroke-width="1.2" stroke-dasharray="` + dash + `"><title>` + esc(m.Label) + "</title></line>\n")
	}
	// Legend.
	lx := padLeft
	ly := h - 10
	for i, l := range c.Lines {
		col := palette[i%len(palette)]
		b.WriteString(`<rect x="` + num(lx) + `" y="` + num(ly-8) + `" width="12" height="3" fill="` + col + `"/>` + "\n")
		b.WriteString(`<text x="` + num(lx+16) + `" y="` + num(ly-4) + `" fill="#1f2328">` + esc(l.Name) + "</text>\n")
		lx += 28 + 6.5*float64(len([]rune(l.Name)))
	}
	if len(c.Markers) > 0 || len(c.Bands) > 0 {
		b.WriteString(`<text x="` + num(w-padRight) + `" y="18" text-anchor="end" fill="#59636e">dashed: setting change (purple), state change (orange); shaded: finding</text>` + "\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceAxis returns a tick step of 1, 2 or 5 x 10^k and the axis top (a
// multiple of the step at or above max), aiming at about five ticks.
func niceAxis(max float64) (step, top float64) {
	if !(max > 0) {
		return 1, 1
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	top = math.Ceil(max/step) * step
	return step, top
}

// yTick writes an axis value compactly: 1200 -> "1.2k", 2500000 -> "2.5M".
func yTick(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return num(v/1e6) + "M"
	case a >= 1e3:
		return num(v/1e3) + "k"
	}
	return num(v)
}

var steps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeStep picks the smallest step giving at most 8 ticks over d.
func timeStep(d time.Duration) time.Duration {
	for _, s := range steps {
		if d/s <= 8 {
			return s
		}
	}
	return d / 8
}

// timeTicks returns the times in [start, end] that are whole multiples of
// step on the wall clock of loc.
func timeTicks(start, end time.Time, step time.Duration, loc *time.Location) []time.Time {
	if step <= 0 {
		return nil
	}
	_, off := start.In(loc).Zone()
	sec := int64(step / time.Second)
	if sec <= 0 {
		sec = 1
	}
	wall := start.Unix() + int64(off)
	first := (wall/sec)*sec - int64(off)
	if first < start.Unix() || (first == start.Unix() && start.Nanosecond() > 0) {
		first += sec
	}
	var out []time.Time
	for t := first; t <= end.Unix() && len(out) < 64; t += sec {
		out = append(out, time.Unix(t, 0).In(loc))
	}
	return out
}
