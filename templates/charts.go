package templates

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/internal/svgchart"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Chart is one rendered chart of a key series. Name is a short slug used in
// file names ("timewait" -> FILE-timewait.svg); SVG is a complete <svg>
// element whose text is XML-escaped.
type Chart struct {
	Name  string
	Title string
	SVG   []byte
}

// chartSpec is one chart: which metrics it draws (every backend of each).
type chartSpec struct {
	name, title, ylabel string
	metrics             []timeline.Metric
}

var chartSpecs = []chartSpec{
	{"timewait", "Sockets in TIME_WAIT", "sockets", []timeline.Metric{timeline.MetricTimeWait}},
	{"active-conn", "Active connections", "connections", []timeline.Metric{timeline.MetricActiveConn}},
	{"new-conn", "New connections", "connections per interval", []timeline.Metric{timeline.MetricNewConn}},
	{"resets", "Connection resets", "resets/s", []timeline.Metric{timeline.MetricResetRate, timeline.MetricResets}},
	{"5xx", "HTTP 5xx responses", "responses/s", []timeline.Metric{timeline.MetricHTTP5xx, timeline.MetricUpstream5xx}},
	{"ws", "WebSocket sessions", "sessions", []timeline.Metric{timeline.MetricWSSessions}},
}

// Chart limits: lines per chart (the rest are named in the title) and
// markers per chart (the earliest are kept).
const (
	maxChartLines   = 8
	maxChartMarkers = 200
	chartPoints     = 240
)

// Charts draws each key series present in tl (TIME_WAIT, active and new
// connections, resets/s, 5xx/s, WebSocket sessions; one line per backend)
// over the report's window, with a vertical marker for every setting change
// (config_change, config_reload, deploy_step) and backend state transition
// in that window, and a shaded band for each finding. Charts with no data
// are left out. Times are labelled in loc (UTC when nil); when r.Redacted,
// labels taken from logs are redacted like the draft. The output is
// deterministic for the same inputs.
func Charts(tl *timeline.Timeline, r *Report, loc *time.Location) []Chart {
	if tl == nil || r == nil {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	win := timeline.Window{Start: r.Window.Start.Time, End: r.Window.End.Time}
	if win.Start.IsZero() || win.End.IsZero() {
		win = tl.Window()
	}
	if win.Start.IsZero() || !win.End.After(win.Start) {
		return nil
	}
	step := (win.End.Sub(win.Start) / chartPoints).Truncate(time.Second)
	if step < time.Second {
		step = time.Second
	}
	txt := func(s string) string {
		if r.Redacted {
			return Redact(s)
		}
		return s
	}
	var markers []svgchart.Marker
	for _, e := range tl.EventsIn(win) {
		kind := ""
		switch e.Kind {
		case timeline.KindConfigChange, timeline.KindConfigReload, timeline.KindDeployStep:
			kind = "setting"
		case timeline.KindBackendState:
			kind = "state"
		default:
			continue
		}
		if len(markers) == maxChartMarkers {
			break
		}
		markers = append(markers, svgchart.Marker{Time: e.Time, Kind: kind, Label: txt(e.Summary(loc))})
	}
	var bands []svgchart.Band
	for _, f := range r.Findings {
		if f.Start.IsZero() || f.End.IsZero() {
			continue
		}
		label := f.Rule + ": " + f.Title.Raw()
		if f.Backend != "" {
			label += " (" + f.Backend.Raw() + ")"
		}
		bands = append(bands, svgchart.Band{Start: f.Start.Time, End: f.End.Time, Label: label})
	}
	zone := "UTC" + r.Timezone
	if r.Timezone == "" || r.Timezone == "UTC" || r.Timezone == "+00:00" {
		zone = "UTC"
	}
	if r.TimezoneName != "" && r.TimezoneName != "UTC" {
		zone += " " + r.TimezoneName
	}
	var out []Chart
	for _, spec := range chartSpecs {
		var lines []svgchart.Line
		for _, m := range spec.metrics {
			for _, s := range tl.SeriesOf(m) {
				pts := s.Resample(win, step)
				if len(pts) == 0 {
					continue
				}
				name := string(m)
				if s.Backend != "" {
					name += "{" + txt(s.Backend) + "}"
				}
				l := svgchart.Line{Name: name, Times: make([]time.Time, len(pts)), Values: make([]float64, len(pts))}
				for i, p := range pts {
					l.Times[i], l.Values[i] = p.Time, p.Value
				}
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].Name < lines[j].Name })
		title := spec.title
		if len(lines) > maxChartLines {
			title += fmt.Sprintf(" (first %d of %d series)", maxChartLines, len(lines))
			lines = lines[:maxChartLines]
		}
		svg := svgchart.Render(svgchart.Chart{
			Title: title, YLabel: spec.ylabel, ZoneLabel: zone, Loc: loc,
			Start: win.Start, End: win.End, Lines: lines, Markers: markers, Bands: bands,
		})
		out = append(out, Chart{Name: spec.name, Title: title, SVG: svg})
	}
	return out
}

// ChartFile returns the file name of chart c written beside the Markdown
// file md: "out/report.md" and "timewait" give "out/report-timewait.svg".
func ChartFile(md string, c Chart) string {
	stem := strings.TrimSuffix(md, ".md")
	stem = strings.TrimSuffix(stem, ".markdown")
	return stem + "-" + c.Name + ".svg"
}

// ChartsMarkdown returns a "## Charts" section linking each chart's SVG
// file (ChartFile of md) with Markdown image syntax, relative to the
// Markdown file's folder. It returns nil when there are no charts.
func ChartsMarkdown(md string, charts []Chart) []byte {
	if len(charts) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("\n## Charts\n\n")
	for _, c := range charts {
		f := ChartFile(md, c)
		if i := strings.LastIndexAny(f, `/\`); i >= 0 {
			f = f[i+1:]
		}
		fmt.Fprintf(&b, "![%s](%s)\n\n", c.Title, url.PathEscape(f))
	}
	return b.Bytes()
}

// RenderHTMLCharts is RenderHTML with a "Charts" section after the draft:
// each SVG is inserted into the page structurally, after goldmark has
// rendered the Markdown in safe mode, so the Markdown never carries raw
// HTML. With no charts the page equals RenderHTML's.
func RenderHTMLCharts(md []byte, charts []Chart) ([]byte, error) {
	page, err := RenderHTML(md)
	if err != nil || len(charts) == 0 {
		return page, err
	}
	var sec bytes.Buffer
	sec.WriteString("<section class=\"charts\">\n<h2 id=\"charts\">Charts</h2>\n")
	for _, c := range charts {
		sec.WriteString("<figure id=\"chart-" + html.EscapeString(c.Name) + "\">\n")
		sec.Write(c.SVG)
		sec.WriteString("<figcaption>" + html.EscapeString(c.Title) + "</figcaption>\n</figure>\n")
	}
	sec.WriteString("</section>\n")
	i := bytes.LastIndex(page, []byte(pageFoot))
	if i < 0 {
		return nil, fmt.Errorf("templates: page footer not found")
	}
	out := make([]byte, 0, len(page)+sec.Len())
	out = append(out, page[:i]...)
	out = append(out, sec.Bytes()...)
	out = append(out, page[i:]...)
	return out, nil
}
