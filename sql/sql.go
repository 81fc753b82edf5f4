// Package sql embeds revcast's SQL models. Import it as revsql to keep database/sql's name.
//
// Layout: staging/ (source-specific cleaning, schema "staging"), core/ (the canonical model,
// schema main), marts/ (analyses built on core, schema main), tests/ (data tests: each file
// is a query returning the offending rows, key first; zero rows pass).
//
// Every model file starts with a comment header:
//
//	-- <table>: what the table is, in one line.
//	-- grain: one row per ...
//	-- key: column[, column]
//
// A model is a single SELECT; the transform runner materialises it as a table named after
// the file and orders models by the names they reference, so no order is hand-listed.
package sql

import "embed"

// FS holds staging/, core/, marts/, tests/ and features/ (the forecast's snapshot queries,
// read by transform/features.go rather than built as tables).
//
//go:embed staging core marts tests features
var FS embed.FS
