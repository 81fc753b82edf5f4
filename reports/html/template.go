package html

import "html/template"

// sectionTemplate is one section: heading, then either the missing-data line or the
// narrative and the body.
var sectionTemplate = template.Must(template.New("section").Parse(`<section id="{{.Key}}" class="section{{if .Missing}} nodata{{end}}">
<h2>{{.Title}}</h2>
{{- if .Missing}}
<p class="missing">{{.Missing}}</p>
{{- else}}
{{- if .Text}}
<div class="narrative"><p>{{.Text}}</p><p class="source"{{if .Why}} title="{{.Why}}"{{end}}>Narrative: {{.Source}}</p></div>
{{- end}}
{{.Body}}
{{- end}}
</section>
`))

// pageTemplate is the whole page. Everything it needs is inline: the stylesheet, ECharts,
// the money formatter the charts call, and the table sorter. No element refers to
// anything outside the file.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="revcast">
<title>{{.Title}} — as of {{.AsOf}}</title>
<style>
:root { --ink: #1d2733; --muted: #5f6b7a; --line: #dfe4ea; --bg: #f5f7fa; --blue: #2f5d8a; --red: #c0392b; --green: #2e8b57; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #1f3b57; color: #fff; padding: 18px 28px 14px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .meta, header .fresh { margin: 2px 0; color: #c9d6e3; font-size: 13px; }
header .meta b { color: #fff; font-weight: 600; }
nav { padding: 8px 28px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: var(--blue); text-decoration: none; white-space: nowrap; }
nav a.nodata { color: var(--muted); }
main { max-width: 1180px; margin: 0 auto; padding: 18px 20px 40px; }
.section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 0 0 18px; }
.section.nodata { background: #fafbfc; }
.section h2 { margin: 0 0 10px; font-size: 17px; }
.missing { color: var(--muted); font-style: italic; margin: 0; }
.narrative { border-left: 3px solid var(--blue); background: #f2f6fa; padding: 8px 12px; margin: 0 0 12px; }
.narrative p { margin: 0; }
.narrative .source { margin-top: 4px; color: var(--muted); font-size: 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 12px; }
.card { flex: 1 1 150px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .sub { color: var(--muted); font-size: 12px; }
.card .value.neg, td.neg { color: var(--red); }
.card .value.pos { color: var(--green); }
.chart { margin: 4px 0 10px; }
.caption { color: var(--muted); font-size: 12px; margin: 10px 0 4px; }
.empty { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef2f6; cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
h3 { font-size: 14px; margin: 14px 0 6px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 24px; }
@media print { nav { display: none; } body { background: #fff; } .section { break-inside: avoid; } }
</style>
<script>{{.ECharts}}</script>
<script>
"use strict";
var revcastMoneyPrefix = {{.MoneyPrefix}};
// revcastMoney writes an amount in the report currency in short form, as the tables' cards do.
function revcastMoney(v) {
  if (v === null || v === undefined || v === "-" || isNaN(v)) { return "n/a"; }
  var a = Math.abs(v), sign = v < 0 ? "-" : "", n;
  var short = function (x, s) { return (Math.round(x * 10) / 10).toString() + s; };
  if (a >= 1e9) { n = short(a / 1e9, "B"); } else if (a >= 1e6) { n = short(a / 1e6, "M"); } else if (a >= 1e3) { n = short(a / 1e3, "K"); } else { n = Math.round(a).toString(); }
  return sign + revcastMoneyPrefix + n;
}
// Sortable tables: click a header to sort by it, again to reverse; empty cells sort last.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("aria-sort") !== "ascending", num = th.getAttribute("data-type") === "num";
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
          if (x === y) { return 0; } if (x === "") { return 1; } if (y === "") { return -1; }
          var c = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return asc ? c : -c;
        });
        table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
});
window.addEventListener("resize", function () {
  document.querySelectorAll(".chart .item").forEach(function (el) { var c = echarts.getInstanceByDom(el); if (c) { c.resize(); } });
});
</script>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="meta">As of <b>{{.AsOf}}</b> · run <b>{{.RunID}}</b> · amounts in <b>{{.Currency}}</b> · generated {{.Generated}}{{if .Narratives}} · narrative: {{.Narratives}}{{end}}</p>
<p class="fresh">Data freshness (last loaded per source): {{if .Freshness}}{{range $i, $f := .Freshness}}{{if $i}} · {{end}}{{$f}}{{end}}{{else}}no source loaded yet{{end}}</p>
</header>
<nav>{{range .Nav}}<a href="#{{.Key}}"{{if .Missing}} class="nodata" title="no data yet"{{end}}>{{.Title}}</a>{{end}}</nav>
<main>
{{range .Sections}}{{.}}{{end}}
</main>
<footer>revcast · one self-contained file: no network needed to read it · charts by Apache ECharts</footer>
</body>
</html>
`))
