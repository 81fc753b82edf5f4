package html

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"
)

// Colours of the report's charts (also used by the stylesheet).
const (
	colorBlue   = "#2f5d8a"
	colorBand   = "#9dbbd9"
	colorGreen  = "#2e8b57"
	colorRed    = "#c0392b"
	colorGrey   = "#8c8c8c"
	colorOrange = "#d98c1f"
	colorPurple = "#7b4f9d"
)

// moneyAxis formats axis labels and tooltip values with the page's revcastMoney helper,
// which writes short amounts in the report currency (see pageTemplate).
var (
	moneyAxisLabel = &opts.AxisLabel{Formatter: opts.FuncOpts(`function (v) { return revcastMoney(v); }`)}
	moneyValue     = opts.FuncOpts(`function (v) { return revcastMoney(v); }`)
)

// globals are the options every chart shares: a fixed element id (so the page and its
// golden files are deterministic), full width, no animation (a screenshot or a print
// shows the final picture), and no preset JavaScript assets — go-echarts would otherwise
// link ECharts from its CDN; the page inlines it instead.
func globals(id, height string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: height}),
		charts.WithAnimation(false),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "2%", Right: "3%", Top: "40", Bottom: "2%", ContainLabel: opts.Bool(true)}),
	}
}

// snippet renders a chart's element and script for inlining into the page.
func snippet(c interface {
	RenderSnippet() render.ChartSnippet
	ClearPresetJSAssets()
}) template.HTML {
	c.ClearPresetJSAssets()
	s := c.RenderSnippet()
	script := s.Script
	// Strings in the options come from the warehouse: keep them from closing the element.
	if body, ok := strings.CutSuffix(strings.TrimSpace(script), "</script>"); ok {
		if start := strings.Index(body, ">"); start >= 0 {
			script = body[:start+1] + inlineScript(body[start+1:]) + "</script>"
		}
	}
	return template.HTML(`<div class="chart">` + s.Element + "\n" + script + "</div>\n")
}

// round2 rounds an amount to cents for the chart data (keeps the page small and stable).
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// nullable returns v for chart data, or nil (a gap) when v is not a number.
func nullable(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return round2(v)
}

func lineData(vs []float64) []opts.LineData {
	out := make([]opts.LineData, len(vs))
	for i, v := range vs {
		out[i] = opts.LineData{Value: nullable(v)}
	}
	return out
}

func barData(vs []float64) []opts.BarData {
	out := make([]opts.BarData, len(vs))
	for i, v := range vs {
		out[i] = opts.BarData{Value: nullable(v)}
	}
	return out
}

// fanChart draws the forecast by period: the P10–P90 band (a transparent P10 series with
// the band's width stacked on it), P50, the expected value, the CRM's stage-weighted
// pipeline, the reps' commit, and the target when there is one.
func fanChart(id string, rows []PeriodForecast) template.HTML {
	periods := make([]string, len(rows))
	var p10, width, p50, exp, stage, commit, target []float64
	hasTarget := false
	for i, r := range rows {
		periods[i] = r.Period
		p10 = append(p10, r.P10)
		width = append(width, r.P90-r.P10)
		p50 = append(p50, r.P50)
		exp = append(exp, r.Expected)
		stage = append(stage, r.StageWeighted)
		commit = append(commit, r.Commit)
		target = append(target, r.Target)
		if !math.IsNaN(r.Target) {
			hasTarget = true
		}
	}
	legend := []string{"P10–P90", "P50", "Expected", "CRM stage-weighted", "Reps' commit"}
	if hasTarget {
		legend = append(legend, "Target")
	}
	c := charts.NewLine()
	c.SetGlobalOptions(append(globals(id, "380px"),
		// The transparent P10 series only lifts the band: keep it out of the legend.
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", Data: legend}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", Formatter: opts.FuncOpts(fanTooltip)}),
		charts.WithYAxisOpts(opts.YAxis{AxisLabel: moneyAxisLabel}),
	)...)
	c.SetXAxis(periods)
	noSymbol := charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Stack: "band"})
	hidden := charts.WithLineStyleOpts(opts.LineStyle{Opacity: opts.Float(0)})
	c.AddSeries("P10", lineData(p10), noSymbol, hidden, charts.WithItemStyleOpts(opts.ItemStyle{Color: colorBand}))
	c.AddSeries("P10–P90", lineData(width), noSymbol, hidden,
		charts.WithAreaStyleOpts(opts.AreaStyle{Color: colorBand, Opacity: opts.Float(0.55)}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorBand}))
	c.AddSeries("P50", lineData(p50), charts.WithLineStyleOpts(opts.LineStyle{Color: colorBlue, Width: 3}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorBlue}))
	c.AddSeries("Expected", lineData(exp), charts.WithLineStyleOpts(opts.LineStyle{Color: colorPurple, Type: "dashed"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorPurple}))
	c.AddSeries("CRM stage-weighted", lineData(stage), charts.WithLineStyleOpts(opts.LineStyle{Color: colorGrey, Type: "dotted"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorGrey}))
	c.AddSeries("Reps' commit", lineData(commit), charts.WithLineStyleOpts(opts.LineStyle{Color: colorOrange, Type: "dotted"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorOrange}))
	if hasTarget {
		c.AddSeries("Target", lineData(target), charts.WithLineStyleOpts(opts.LineStyle{Color: colorRed, Width: 2}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: colorRed}))
	}
	return snippet(c)
}

// fanTooltip shows P90 (P10 plus the stacked band width) instead of the band's width.
const fanTooltip = `function (ps) {
  var out = ps.length ? ps[0].axisValueLabel : '';
  var p10 = 0;
  ps.forEach(function (p) {
    var v = p.value;
    if (p.seriesName === 'P10') { p10 = v; }
    var name = p.seriesName;
    if (name === 'P10–P90') { name = 'P90'; v = (v === null || v === undefined) ? v : p10 + v; }
    out += '<br>' + p.marker + name + ': ' + revcastMoney(v);
  });
  return out;
}`

// waterfallChart draws the pipeline change: the opening total, each movement floating on
// the running total (increases green, decreases red), and the closing total.
func waterfallChart(id string, d *PipelineChanges) template.HTML {
	labels := []string{"Start"}
	base := []float64{0}
	up := []float64{math.NaN()}
	down := []float64{math.NaN()}
	total := []float64{d.Start}
	running := d.Start
	for _, s := range d.Steps {
		labels = append(labels, s.Label)
		total = append(total, math.NaN())
		if s.Amount >= 0 {
			base = append(base, running)
			up = append(up, s.Amount)
			down = append(down, math.NaN())
			running += s.Amount
		} else {
			running += s.Amount
			base = append(base, running)
			up = append(up, math.NaN())
			down = append(down, -s.Amount)
		}
	}
	labels = append(labels, "End")
	base = append(base, 0)
	up = append(up, math.NaN())
	down = append(down, math.NaN())
	total = append(total, d.End)

	c := charts.NewBar()
	c.SetGlobalOptions(append(globals(id, "360px"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", Formatter: opts.FuncOpts(waterfallTooltip)}),
		charts.WithYAxisOpts(opts.YAxis{AxisLabel: moneyAxisLabel}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)...)
	c.SetXAxis(labels)
	stack := charts.WithBarChartOpts(opts.BarChart{Stack: "w"})
	c.AddSeries("base", barData(base), stack, charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"}))
	c.AddSeries("Pipeline", barData(total), stack, charts.WithItemStyleOpts(opts.ItemStyle{Color: colorBlue}))
	c.AddSeries("Increase", barData(up), stack, charts.WithItemStyleOpts(opts.ItemStyle{Color: colorGreen}))
	c.AddSeries("Decrease", barData(down), stack, charts.WithItemStyleOpts(opts.ItemStyle{Color: colorRed}))
	return snippet(c)
}

// waterfallTooltip hides the invisible base series.
const waterfallTooltip = `function (ps) {
  var out = ps.length ? ps[0].axisValueLabel : '';
  ps.forEach(function (p) {
    if (p.seriesName === 'base' || p.value === null || p.value === undefined || p.value === '-') { return; }
    var sign = p.seriesName === 'Decrease' ? '−' : (p.seriesName === 'Increase' ? '+' : '');
    out += '<br>' + p.marker + p.seriesName + ': ' + sign + revcastMoney(p.value);
  });
  return out;
}`

// barChart draws one bar series per named value list over categories; money says whether
// the values are amounts (axis and tooltip in the report currency) or counts.
func barChart(id, height string, categories []string, horizontal, money bool, series ...barSeries) template.HTML {
	c := charts.NewBar()
	tip := opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}
	var axis *opts.AxisLabel
	if money {
		tip.ValueFormatter = moneyValue
		axis = moneyAxisLabel
	}
	gl := append(globals(id, height), charts.WithTooltipOpts(tip))
	if len(series) < 2 {
		gl = append(gl, charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}))
	}
	if horizontal {
		gl = append(gl, charts.WithXAxisOpts(opts.XAxis{Type: "value", AxisLabel: axis}),
			charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: categories}))
	} else {
		gl = append(gl, charts.WithYAxisOpts(opts.YAxis{AxisLabel: axis}))
	}
	c.SetGlobalOptions(gl...)
	if horizontal {
		c.XYReversal()
	}
	c.SetXAxis(categories)
	for _, s := range series {
		so := []charts.SeriesOpts{charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color})}
		if s.stack != "" {
			so = append(so, charts.WithBarChartOpts(opts.BarChart{Stack: s.stack}))
		}
		c.AddSeries(s.name, barData(s.values), so...)
	}
	return snippet(c)
}

// barSeries is one series of barChart.
type barSeries struct {
	name   string
	color  string
	stack  string
	values []float64
}

// bandChart draws weekly (or any) expected values as bars with P10 and P90 as lines.
func bandChart(id string, labels []string, expected, p10, p90 []float64) template.HTML {
	c := charts.NewBar()
	c.SetGlobalOptions(append(globals(id, "340px"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", ValueFormatter: moneyValue}),
		charts.WithYAxisOpts(opts.YAxis{AxisLabel: moneyAxisLabel}),
	)...)
	c.SetXAxis(labels)
	c.AddSeries("Expected", barData(expected), charts.WithItemStyleOpts(opts.ItemStyle{Color: colorBlue}))
	if p10 != nil && p90 != nil {
		l := charts.NewLine()
		l.SetXAxis(labels)
		l.AddSeries("P10", lineData(p10), charts.WithLineStyleOpts(opts.LineStyle{Color: colorGrey, Type: "dashed"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: colorGrey}))
		l.AddSeries("P90", lineData(p90), charts.WithLineStyleOpts(opts.LineStyle{Color: colorGreen, Type: "dashed"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: colorGreen}))
		c.Overlap(l)
	}
	return snippet(c)
}

// calibrationChart plots observed win rate against mean predicted probability per bin,
// with the diagonal a perfectly calibrated model would follow.
func calibrationChart(id string, bins []CalibrationBin) template.HTML {
	c := charts.NewLine()
	pct := opts.FuncOpts(`function (v) { return Math.round(v * 100) + '%'; }`)
	c.SetGlobalOptions(append(globals(id, "340px"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", Formatter: opts.FuncOpts(
			`function (p) { return p.seriesName + '<br>predicted ' + Math.round(p.value[0] * 1000) / 10 + '%, observed ' + Math.round(p.value[1] * 1000) / 10 + '%'; }`)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "predicted probability", NameLocation: "middle", NameGap: 26, Min: 0, Max: 1, AxisLabel: &opts.AxisLabel{Formatter: pct}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "observed win rate", NameLocation: "middle", NameGap: 40, Min: 0, Max: 1, AxisLabel: &opts.AxisLabel{Formatter: pct}}),
		charts.WithGridOpts(opts.Grid{Left: "4%", Right: "3%", Top: "40", Bottom: "40", ContainLabel: opts.Bool(true)}),
	)...)
	models := []string{}
	byModel := map[string][]opts.LineData{}
	for _, b := range bins {
		if _, ok := byModel[b.Model]; !ok {
			models = append(models, b.Model)
		}
		byModel[b.Model] = append(byModel[b.Model], opts.LineData{Value: []float64{round4(b.Predicted), round4(b.Observed)}})
	}
	c.AddSeries("perfect calibration", []opts.LineData{{Value: []float64{0, 0}}, {Value: []float64{1, 1}}},
		charts.WithLineStyleOpts(opts.LineStyle{Color: colorGrey, Type: "dashed"}),
		charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colorGrey}))
	palette := []string{colorBlue, colorOrange, colorPurple, colorGreen, colorRed}
	for i, m := range models {
		name := m
		if name == "" {
			name = "model"
		}
		col := palette[i%len(palette)]
		c.AddSeries(name, byModel[m], charts.WithLineStyleOpts(opts.LineStyle{Color: col}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: col}))
	}
	return snippet(c)
}

// weekErrorChart draws each model's forecast error (MAPE) by the week of the quarter the
// forecast was made in.
func weekErrorChart(id string, rows []WeekError) template.HTML {
	maxWeek := 0
	for _, r := range rows {
		if r.Week > maxWeek {
			maxWeek = r.Week
		}
	}
	weeks := make([]string, maxWeek)
	for i := range weeks {
		weeks[i] = fmt.Sprintf("W%d", i+1)
	}
	var models []string
	byModel := map[string][]float64{}
	for _, r := range rows {
		if r.Week < 1 {
			continue
		}
		if _, ok := byModel[r.Model]; !ok {
			models = append(models, r.Model)
			byModel[r.Model] = make([]float64, maxWeek)
			for i := range byModel[r.Model] {
				byModel[r.Model][i] = math.NaN()
			}
		}
		byModel[r.Model][r.Week-1] = r.MAPE
	}
	pct := opts.FuncOpts(`function (v) { return (v === null || v === undefined) ? 'n/a' : Math.round(v * 1000) / 10 + '%'; }`)
	c := charts.NewLine()
	c.SetGlobalOptions(append(globals(id, "320px"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", ValueFormatter: pct}),
		charts.WithYAxisOpts(opts.YAxis{AxisLabel: &opts.AxisLabel{Formatter: pct}}),
	)...)
	c.SetXAxis(weeks)
	palette := []string{colorBlue, colorPurple, colorGreen, colorRed, colorGrey, colorOrange}
	for i, m := range models {
		col := palette[i%len(palette)]
		ls := opts.LineStyle{Color: col, Width: 2}
		if m == "stage_weighted" || m == "commit" {
			ls.Type = "dashed"
		}
		vals := make([]float64, len(byModel[m]))
		for j, v := range byModel[m] {
			vals[j] = round4(v)
			if math.IsNaN(v) {
				vals[j] = v
			}
		}
		c.AddSeries(m, lineDataRaw(vals), charts.WithLineStyleOpts(ls), charts.WithItemStyleOpts(opts.ItemStyle{Color: col}))
	}
	return snippet(c)
}

// lineDataRaw is lineData without rounding to cents (for fractions).
func lineDataRaw(vs []float64) []opts.LineData {
	out := make([]opts.LineData, len(vs))
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[i] = opts.LineData{Value: nil}
			continue
		}
		out[i] = opts.LineData{Value: v}
	}
	return out
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
