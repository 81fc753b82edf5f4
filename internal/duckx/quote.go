package duckx

import "strings"

// Ident quotes s as a DuckDB identifier: "s", inner double quotes doubled.
func Ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Literal quotes s as a DuckDB string literal: 's', inner single quotes doubled.
func Literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
