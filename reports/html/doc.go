// Package html writes revcast's report: one self-contained HTML file that RevOps can open
// offline, e-mail, or read months later. Every chart is drawn by ECharts, inlined into the
// page from the copy embedded at build time (see assets.go), so the file makes no network
// request at all.
//
// Each section follows the same four steps, so each can be tested without a warehouse:
//
//	query (Load, against the warehouse's DuckDB)  →  plain data (Headline, PipelineChanges, …)
//	plain data  →  facts (Content.Facts: the numbers the section shows, for its narrative)
//	plain data  →  HTML (Content.Body: go-echarts charts and sortable tables)
//
// Load probes which result and mart tables exist and which columns they carry, so a
// warehouse with only some results still gives a full report: a section whose table is
// missing or empty says "no data yet" and what produces it. Narrate asks
// reports/narrative for one paragraph per section; Render writes the page; StoreNarratives
// saves the paragraphs in the warehouse's narratives table.
package html
