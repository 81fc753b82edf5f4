package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newSQLCmd, newTablesCmd) }

func newSQLCmd(m *Main) *cobra.Command {
	var format string
	var tables bool
	cmd := &cobra.Command{
		Use:   "sql [QUERY]",
		Short: "Run read-only SQL on the warehouse (a prompt when no query is given)",
		Long: `Run read-only SQL on the warehouse. With no QUERY, read statements from a prompt
(or from standard input when it is not a terminal), each ended by ';'.
The warehouse is opened read-only: write statements fail. Any DuckDB client can also
open the warehouse file (see 'revcast tables' for what is in it).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "csv" && format != "json" {
				return &usageError{fmt.Errorf("--format %q: want table, csv or json", format)}
			}
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			w, err := cfg.OpenWarehouse(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer w.Close()
			if tables {
				return printTables(cmd.Context(), w, m.Stdout)
			}
			if len(args) == 1 {
				return runQuery(cmd.Context(), w, args[0], format, m.Stdout)
			}
			return m.prompt(cmd.Context(), w, format, cmd.InOrStdin())
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	cmd.Flags().BoolVar(&tables, "tables", false, "list the tables with their descriptions")
	return cmd
}

func newTablesCmd(m *Main) *cobra.Command {
	return &cobra.Command{
		Use:   "tables",
		Short: "List the warehouse tables with their one-line descriptions",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			w, err := cfg.OpenWarehouse(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer w.Close()
			return printTables(cmd.Context(), w, m.Stdout)
		},
	}
}

func printTables(ctx context.Context, w *transform.Warehouse, out io.Writer) error {
	ts, err := w.Tables(ctx)
	if err != nil {
		return err
	}
	res := &transform.Result{Columns: []string{"table", "kind", "rows", "description"}}
	for _, t := range ts {
		name, rows, desc := t.Name, fmt.Sprint(t.Rows), t.Comment
		if t.Schema != "main" {
			name = t.Schema + "." + t.Name
		}
		if t.Kind == "view" {
			rows = ""
		}
		res.Rows = append(res.Rows, []*string{&name, &t.Kind, &rows, &desc})
	}
	return writeResult(out, res, "table")
}

func runQuery(ctx context.Context, w *transform.Warehouse, q, format string, out io.Writer) error {
	res, err := w.Query(ctx, q)
	if err != nil {
		return err
	}
	return writeResult(out, res, format)
}

// prompt reads ';'-terminated statements; errors are printed and the prompt goes on.
func (m *Main) prompt(ctx context.Context, w *transform.Warehouse, format string, in io.Reader) error {
	interactive := false
	if f, ok := in.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		interactive = true
		fmt.Fprintln(m.Stdout, "revcast sql (read-only). End statements with ';'. '.tables' lists tables, '.quit' leaves.")
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var stmt strings.Builder
	failed := false
	for {
		if interactive {
			if stmt.Len() == 0 {
				fmt.Fprint(m.Stdout, "revcast> ")
			} else {
				fmt.Fprint(m.Stdout, "     ...> ")
			}
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
		if stmt.Len() == 0 {
			switch line {
			case "":
				continue
			case ".quit", ".exit", `\q`:
				return nil
			case ".tables":
				if err := printTables(ctx, w, m.Stdout); err != nil {
					fmt.Fprintln(m.Stderr, "error:", err)
				}
				continue
			}
		}
		stmt.WriteString(line)
		stmt.WriteString("\n")
		done, rest := splitStatements(stmt.String())
		for _, q := range done {
			if err := runQuery(ctx, w, q, format, m.Stdout); err != nil {
				fmt.Fprintln(m.Stderr, "error:", err)
				failed = true
			}
		}
		stmt.Reset()
		stmt.WriteString(rest)
	}
	if strings.TrimSpace(stmt.String()) != "" {
		if err := runQuery(ctx, w, stmt.String(), format, m.Stdout); err != nil {
			return err
		}
	}
	if failed && !interactive {
		return fmt.Errorf("some statements failed")
	}
	return sc.Err()
}

// writeResult prints a result as an aligned table, CSV or a JSON array of objects.
func writeResult(out io.Writer, res *transform.Result, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(out)
		cw.Write(res.Columns)
		for _, r := range res.Rows {
			rec := make([]string, len(r))
			for i, v := range r {
				if v != nil {
					rec[i] = *v
				}
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		objs := make([]map[string]*string, len(res.Rows))
		for i, r := range res.Rows {
			objs[i] = make(map[string]*string, len(r))
			for j, v := range r {
				objs[i][res.Columns[j]] = v
			}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(objs)
	}
	widths := make([]int, len(res.Columns))
	for i, c := range res.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	cell := func(v *string) string {
		if v == nil {
			return "NULL"
		}
		return *v
	}
	for _, r := range res.Rows {
		for i, v := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell(v)))
		}
	}
	bw := bufio.NewWriter(out)
	line := func(vals []string) {
		for i, v := range vals {
			if i > 0 {
				bw.WriteString("  ")
			}
			bw.WriteString(v)
			if i < len(vals)-1 {
				bw.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)))
			}
		}
		bw.WriteString("\n")
	}
	line(res.Columns)
	seps := make([]string, len(widths))
	for i, w := range widths {
		seps[i] = strings.Repeat("-", w)
	}
	line(seps)
	for _, r := range res.Rows {
		vals := make([]string, len(r))
		for i, v := range r {
			vals[i] = cell(v)
		}
		line(vals)
	}
	fmt.Fprintf(bw, "(%d rows)\n", len(res.Rows))
	return bw.Flush()
}

// splitStatements splits text at semicolons outside quotes and comments; it returns the
// complete statements and the unfinished rest.
func splitStatements(text string) (stmts []string, rest string) {
	start := 0
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ';':
			if q := strings.TrimSpace(text[start:i]); q != "" {
				stmts = append(stmts, q)
			}
			start = i + 1
		}
	}
	rest = text[start:]
	if strings.TrimSpace(rest) == "" {
		rest = ""
	}
	return stmts, rest
}
