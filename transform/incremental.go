package transform

// Incremental builds.
//
// A full build materialises every model from the whole of its inputs. An incremental
// build (BuildOptions.Incremental) gives the same tables with less work:
//   - a model none of whose inputs changed since it was built is skipped;
//   - a model with an "-- incremental:" header whose changed inputs are all partitioned
//     inputs (below) recomputes only the partitions those changes touch: it deletes its
//     rows of those partitions and inserts the rows its SELECT gives for them, with every
//     partitioned input restricted to them (raw tables to every version of the records in
//     them, so a late-arriving older version or a tombstone is weighed as a full build
//     would weigh it);
//   - any other model with a changed input is rebuilt in full, and so is a model never built
//     with this bookkeeping, one whose fingerprint changed (its SQL file, the settings it
//     reads, the columns of the raw tables and the definitions of the generated views it
//     reads: schema drift) and one that reads its own previous build (meta.<name>_previous).
//
// What changed is known from meta: every Load transaction gives its files the next batch
// number (meta.loaded_files.batch), and meta.model_state keeps per model the batch its raw
// inputs were read up to, a version that goes up whenever its table's rows change, and the
// versions of the models it read. Within one build, a model updated partition by partition
// keeps its changed rows (before and after) in a temporary table, from which its readers
// find the partitions they must recompute; a reader that finds no such rows for the change
// it missed (the model was rebuilt in full, or a failed build left the reader behind)
// rebuilds in full. Every model's rows and its meta.model_state row change in one
// transaction, so an interrupted build leaves nothing half-done.
//
// The header line:
//
//	-- incremental: <column>[, <column>...] = <input>[(<expr>, ...)] [by <expr> | by (<expr>, ...)][, <input>...]
//
// The columns are the partition: output columns such that the model's rows with one value
// of them depend only on the rows of each listed input whose expressions (over that
// input's columns; default: the same column names) give that value, and on inputs not
// listed. An input is a raw table (raw.<name>), a generated staging view
// (staging.files__<table>) or a model; wherever the SQL reads it (after FROM or JOIN) it
// reads only the rows of the partitions being recomputed. A raw table's records are its
// rows with one record key, every version of a record is assumed to fall in one partition
// unless "by" names the record key: then a change recomputes every partition any version
// of the changed record fell in. raw.<name>__deleted, when the model lists raw.<name> and
// reads it too, holds that table's tombstones: a new tombstone recomputes the partitions
// of the records whose last record-key column, as text, is its key. A generated view's
// record key is its table's key in the canonical contract. Changes to inputs not listed
// (fx_rates_daily, meta.settings, small lookup tables) rebuild the model in full.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// stateVersion is part of every model's fingerprint: changing it makes the next build of
// every model a full one (for a change in how incremental updates work).
const stateVersion = "revcast incremental 1"

// Incremental is a model's "-- incremental:" header.
type Incremental struct {
	Partition []string           // output columns
	Inputs    []IncrementalInput // the partitioned inputs
}

// IncrementalInput is one partitioned input of an Incremental model.
type IncrementalInput struct {
	Table string   // as written, lower case: raw.<name>, staging.<name>, <model> or main.<model>
	Exprs []string // one per partition column, over Table's columns
	By    []string // the record key of a raw table whose records may move between partitions
}

// BuildOptions choose how BuildWith brings the models up to date.
type BuildOptions struct {
	// Incremental skips models whose inputs did not change since they were built and
	// updates models with an "-- incremental:" header partition by partition; false
	// rebuilds every model from all of its inputs.
	Incremental bool
}

// Build modes, as BuiltModel.Mode and meta.models.build say them.
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
	ModeSkipped     = "skipped"
)

var (
	inputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?`)
	columnRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// parseIncremental parses the text after "-- incremental:".
func parseIncremental(text string) (*Incremental, error) {
	lhs, rhs, ok := strings.Cut(text, "=")
	if !ok {
		return nil, fmt.Errorf("want '<column>[, ...] = <input>[(<expr>, ...)] [by ...][, ...]', got %q", text)
	}
	inc := &Incremental{}
	for _, c := range splitTop(lhs) {
		if !columnRE.MatchString(c) {
			return nil, fmt.Errorf("partition column %q is not a column name", c)
		}
		inc.Partition = append(inc.Partition, strings.ToLower(c))
	}
	if len(inc.Partition) == 0 {
		return nil, fmt.Errorf("no partition column before '='")
	}
	for _, item := range splitTop(rhs) {
		loc := inputNameRE.FindStringIndex(item)
		if loc == nil {
			return nil, fmt.Errorf("input %q: want a table name first", item)
		}
		in := IncrementalInput{Table: strings.ToLower(item[:loc[1]]), Exprs: inc.Partition}
		rest := strings.TrimSpace(item[loc[1]:])
		if strings.HasPrefix(rest, "(") {
			end := closingParen(rest)
			if end < 0 {
				return nil, fmt.Errorf("input %q: unbalanced parentheses", item)
			}
			in.Exprs = splitTop(rest[1:end])
			rest = strings.TrimSpace(rest[end+1:])
		}
		if rest != "" {
			by, ok := cutPrefixFold(rest, "by ")
			if !ok {
				return nil, fmt.Errorf("input %q: unexpected %q (want 'by <record key>')", item, rest)
			}
			by = strings.TrimSpace(by)
			if strings.HasPrefix(by, "(") && closingParen(by) == len(by)-1 {
				in.By = splitTop(by[1 : len(by)-1])
			} else {
				in.By = []string{by}
			}
			if len(in.By) == 0 {
				return nil, fmt.Errorf("input %q: empty record key after 'by'", item)
			}
		}
		if len(in.Exprs) != len(inc.Partition) {
			return nil, fmt.Errorf("input %s: %d expressions for %d partition columns", in.Table, len(in.Exprs), len(inc.Partition))
		}
		inc.Inputs = append(inc.Inputs, in)
	}
	if len(inc.Inputs) == 0 {
		return nil, fmt.Errorf("no input after '='")
	}
	return inc, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// scanTop walks s byte by byte outside single-quoted string literals, calling visit with
// the byte's index, the byte, and the parenthesis depth before it; the walk stops when
// visit returns false.
func scanTop(s string, visit func(i int, c byte, depth int) bool) {
	depth := 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			inStr = !inStr
			continue
		}
		if inStr {
			continue
		}
		if !visit(i, c, depth) {
			return
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		}
	}
}

// splitTop splits s at the commas outside parentheses and string literals, trimming each
// part and dropping empty ones.
func splitTop(s string) []string {
	var parts []string
	start := 0
	add := func(p string) {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	scanTop(s, func(i int, c byte, depth int) bool {
		if c == ',' && depth == 0 {
			add(s[start:i])
			start = i + 1
		}
		return true
	})
	add(s[start:])
	return parts
}

// closingParen returns the index of the parenthesis closing s[0], or -1.
func closingParen(s string) int {
	end := -1
	scanTop(s, func(i int, c byte, depth int) bool {
		if c == ')' && depth == 1 {
			end = i
			return false
		}
		return true
	})
	return end
}

// inputKind says what an incremental input names.
type inputKind int

const (
	inputRaw   inputKind = iota // raw.<name>
	inputView                   // a generated staging view over raw.<name>
	inputModel                  // a model
)

// resolveInput returns the kind, the schema and the bare name of an input of m; ok is
// false when m does not read it.
func (m Model) resolveInput(in IncrementalInput) (kind inputKind, schema, name string, ok bool) {
	schema, name, qualified := strings.Cut(in.Table, ".")
	if !qualified {
		schema, name = "main", in.Table
	}
	switch schema {
	case "raw":
		return inputRaw, schema, name, slices.Contains(m.Raw, name)
	case "staging":
		if slices.Contains(m.Views, name) {
			return inputView, schema, name, true
		}
		return inputModel, schema, name, slices.Contains(m.Deps, name)
	case "main":
		return inputModel, schema, name, slices.Contains(m.Deps, name)
	}
	return 0, schema, name, false
}

// checkIncremental checks that every input the header lists is read by the model.
func (m Model) checkIncremental() error {
	if m.Incremental == nil {
		return nil
	}
	for _, in := range m.Incremental.Inputs {
		if _, _, _, ok := m.resolveInput(in); !ok {
			return fmt.Errorf("model %s (sql/%s/%s.sql): -- incremental: input %s is not a table the model reads", m.Name, m.Layer, m.Name, in.Table)
		}
		if in.By != nil && !strings.HasPrefix(in.Table, "raw.") {
			return fmt.Errorf("model %s (sql/%s/%s.sql): -- incremental: 'by' is for raw tables, not %s", m.Name, m.Layer, m.Name, in.Table)
		}
	}
	return nil
}

func restrictedSet(m map[string]string) map[string]bool {
	set := make(map[string]bool, len(m))
	for k := range m {
		set[k] = true
	}
	return set
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// modelState is a model's row of meta.model_state.
type modelState struct {
	Fingerprint string
	Version     int64
	Batch       int64
	Inputs      map[string]int64 // model read → its version then
}

// delta is what an incremental update of a model changed in this build: its rows of the
// partitions it recomputed before and after (temporary tables), taking it from version
// from to version to.
type delta struct {
	from, to int64
	old, new string
}

// builder carries one build's bookkeeping.
type builder struct {
	w       *Warehouse
	conn    *sql.Conn // temporary tables live in one connection
	s       Settings
	opts    BuildOptions
	state   map[string]modelState
	batch   int64                   // the highest load batch: every model reads up to it
	files   map[string][]loadedFile // raw table → files loaded after the oldest state batch
	rawCols map[string]string       // raw table → its columns and types
	views   map[string]string       // generated staging view → its SQL
	deltas  map[string]delta
	temps   []string                     // temporary tables to drop at the end
	cols    map[string]map[string]string // schema.table → column (lower case) → type, as the build started
	rows    map[string]int64             // meta.models rows by model
	skipped []BuiltModel                 // written by flush
}

// loadedFile is a row of meta.loaded_files.
type loadedFile struct {
	path  string
	batch int64
}

// newBuilder reads what a build of models needs to know: each model's state, the load
// batches since the oldest of them, meta.models' row counts and the warehouse's columns.
func (w *Warehouse) newBuilder(ctx context.Context, conn *sql.Conn, s Settings, views map[string]string, models []Model, opts BuildOptions) (*builder, error) {
	b := &builder{w: w, conn: conn, s: s, opts: opts, state: map[string]modelState{}, files: map[string][]loadedFile{},
		rawCols: map[string]string{}, views: views, deltas: map[string]delta{}, cols: map[string]map[string]string{}, rows: map[string]int64{}}
	rows, err := conn.QueryContext(ctx, `select name, fingerprint, version, batch, inputs from meta.model_state`)
	if err != nil {
		return nil, fmt.Errorf("read meta.model_state: %w", err)
	}
	for rows.Next() {
		var name, inputs string
		var st modelState
		if err := rows.Scan(&name, &st.Fingerprint, &st.Version, &st.Batch, &inputs); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(inputs), &st.Inputs); err != nil {
			st.Fingerprint = "" // unreadable: the model rebuilds in full
		}
		b.state[name] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := conn.QueryRowContext(ctx, `select coalesce(max(batch), 0) from meta.loaded_files`).Scan(&b.batch); err != nil {
		return nil, err
	}
	// Files loaded after the oldest batch any model of this build was built at.
	after := b.batch
	for _, m := range models {
		st, ok := b.state[m.Name]
		if !ok {
			after = 0
			break
		}
		after = min(after, st.Batch)
	}
	if opts.Incremental && after < b.batch {
		rows, err := conn.QueryContext(ctx, `select raw_table, path, coalesce(batch, 0) from meta.loaded_files where coalesce(batch, 0) > ? order by path`, after)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var t string
			var f loadedFile
			if err := rows.Scan(&t, &f.path, &f.batch); err != nil {
				rows.Close()
				return nil, err
			}
			b.files[t] = append(b.files[t], f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	rows, err = conn.QueryContext(ctx, `select name, coalesce(rows, 0) from meta.models`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return nil, err
		}
		b.rows[name] = n
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	rows, err = conn.QueryContext(ctx, `select schema_name, table_name, column_name, data_type from duckdb_columns()
		where database_name = current_database() and schema_name in ('raw', 'staging', 'main') order by schema_name, table_name, column_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	raw := map[string][]string{}
	for rows.Next() {
		var schema, table, col, typ string
		if err := rows.Scan(&schema, &table, &col, &typ); err != nil {
			return nil, err
		}
		t := schema + "." + table
		if b.cols[t] == nil {
			b.cols[t] = map[string]string{}
		}
		b.cols[t][strings.ToLower(col)] = typ
		if schema == "raw" {
			raw[table] = append(raw[table], col+" "+typ)
		}
	}
	for t, cols := range raw {
		b.rawCols[t] = strings.Join(cols, ", ")
	}
	return b, rows.Err()
}

// close drops the build's temporary tables.
func (b *builder) close(ctx context.Context) {
	for _, t := range b.temps {
		// Without cancel: the connection goes back to the pool, and a temp table left
		// behind would live until the warehouse closes.
		b.conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists temp.main.`+t) //nolint:errcheck // best effort
	}
}

var (
	settingsRefRE      = regexp.MustCompile(`(?i)\bmeta\.settings\b`)
	settingsBaseOnlyRE = regexp.MustCompile(`(?i)select\s+base_currency\s+from\s+meta\.settings\b`)
	toBaseRE           = regexp.MustCompile(`(?i)\bto_base\s*\(`)
)

// settingsRead says which settings m reads: the base currency (meta.settings or the
// to_base macro) and the as-of date (any read of meta.settings other than
// "select base_currency from meta.settings").
func settingsRead(m Model) (base, asOf bool) {
	code := stripRE.ReplaceAllString(m.SQL, " ")
	refs := len(settingsRefRE.FindAllStringIndex(code, -1))
	baseOnly := len(settingsBaseOnlyRE.FindAllStringIndex(code, -1))
	return refs > 0 || toBaseRE.MatchString(code), refs > baseOnly
}

// fingerprint is what m's table is a function of besides its inputs' rows: a different
// fingerprint means the table must be rebuilt in full.
func (b *builder) fingerprint(m Model) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s.%s\n%s\n", stateVersion, m.Schema, m.Name, m.SQL)
	if base, asOf := settingsRead(m); base || asOf {
		fmt.Fprintf(h, "base_currency %s\n%s\n", b.s.BaseCurrency, toBaseSQL)
		if asOf {
			fmt.Fprintf(h, "as_of %s\n", b.s.AsOf.UTC().Format(revcast.DateLayout))
		}
	}
	for _, r := range m.Raw {
		fmt.Fprintf(h, "raw.%s (%s)\n", r, b.rawCols[r])
	}
	for _, v := range m.Views {
		fmt.Fprintf(h, "staging.%s: %s\nraw.%s (%s)\n", v, b.views[v], v, b.rawCols[v])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// volatile says whether m reads a meta table other than meta.settings (its own previous
// build) or a table the build does not track: it must be rebuilt every time.
func volatile(m Model) bool {
	if _, ok := previousColumns[m.Name]; ok || len(m.Untracked) > 0 {
		return true
	}
	for _, t := range m.Meta {
		if t != "settings" {
			return true
		}
	}
	return false
}

// newFiles returns the files of raw table loaded in a batch after after.
func (b *builder) newFiles(table string, after int64) []string {
	var out []string
	for _, f := range b.files[table] {
		if f.batch > after {
			out = append(out, f.path)
		}
	}
	return out
}

// newRows is a condition on raw table's rows: those of files loaded after batch after.
func (b *builder) newRows(table string, after int64) (string, bool) {
	files := b.newFiles(table, after)
	if len(files) == 0 {
		return "", false
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = literal(f)
	}
	return fmt.Sprintf("_file in (%s)", strings.Join(list, ", ")), true
}

// version returns the current version of model name, if it has one.
func (b *builder) version(name string) (int64, bool) {
	st, ok := b.state[name]
	return st.Version, ok
}

// plan decides how to bring m up to date.
func (b *builder) plan(m Model, fp string) (mode, reason string) {
	if !b.opts.Incremental {
		return ModeFull, "full build"
	}
	st, has := b.state[m.Name]
	switch {
	case !has || b.cols[m.Schema+"."+m.Name] == nil || st.Fingerprint == "":
		return ModeFull, "not built incrementally before"
	case st.Fingerprint != fp:
		return ModeFull, "its SQL, the settings it reads or the columns of its raw tables changed"
	case volatile(m):
		return ModeFull, "reads its previous build or a table the build does not track"
	}
	var changed []string
	for _, r := range append(slices.Clone(m.Raw), m.Views...) {
		if len(b.newFiles(r, st.Batch)) > 0 {
			changed = append(changed, "raw."+r)
		}
	}
	var changedDeps []string
	for _, d := range m.Deps {
		if v, ok := b.version(d); !ok || v != st.Inputs[d] {
			changedDeps = append(changedDeps, d)
		}
	}
	if len(changed) == 0 && len(changedDeps) == 0 {
		return ModeSkipped, "no input changed"
	}
	changed = append(changed, changedDeps...)
	if m.Incremental == nil {
		return ModeFull, "changed: " + strings.Join(changed, ", ")
	}
	partitioned := map[string]bool{}
	for _, in := range m.Incremental.Inputs {
		kind, _, name, _ := m.resolveInput(in)
		switch kind {
		case inputRaw:
			partitioned["raw."+name] = true
			if slices.Contains(m.Raw, name+extract.DeletedSuffix) {
				partitioned["raw."+name+extract.DeletedSuffix] = true
			}
		case inputView:
			partitioned["raw."+name] = true
		case inputModel:
			partitioned[name] = true
		}
	}
	for _, c := range changed {
		if !partitioned[c] {
			return ModeFull, c + " changed and is not a partitioned input"
		}
	}
	for _, d := range changedDeps {
		dl, ok := b.deltas[d]
		if v, _ := b.version(d); !ok || dl.from != st.Inputs[d] || dl.to != v {
			return ModeFull, d + " changed and its changed rows are not at hand"
		}
	}
	return ModeIncremental, "changed: " + strings.Join(changed, ", ")
}

// build brings m up to date.
func (b *builder) build(ctx context.Context, m Model) (BuiltModel, error) {
	start := time.Now()
	fp := b.fingerprint(m)
	mode, reason := b.plan(m, fp)
	bm := BuiltModel{Name: m.Name, Mode: mode, Reason: reason}
	var err error
	switch mode {
	case ModeSkipped:
		bm.Rows = b.rows[m.Name]
		bm.Elapsed = time.Since(start)
		b.skipped = append(b.skipped, bm)
	case ModeIncremental:
		err = b.incremental(ctx, m, fp, &bm, start)
	default:
		err = b.full(ctx, m, fp, &bm, start)
	}
	if err != nil {
		return bm, fmt.Errorf("model %s (sql/%s/%s.sql): %w", m.Name, m.Layer, m.Name, err)
	}
	return bm, nil
}

// record writes, in tx (the transaction that changed m's table), m's meta.models row.
func (b *builder) record(ctx context.Context, tx *sql.Tx, m Model, bm *BuiltModel, start time.Time) error {
	bm.Elapsed = time.Since(start)
	_, err := tx.ExecContext(ctx, `insert or replace into meta.models (name, schema_name, kind, description, grain, key, rows, built_at, seconds, build)
		values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Name, m.Schema, m.Layer, m.Description, m.Grain, m.Key, bm.Rows, b.w.Now().UTC(), bm.Elapsed.Seconds(), bm.Mode)
	return err
}

// flush records the skipped models, in one transaction: their state has read up to the
// current batch (no new rows of their raw tables), meta.models how long the check took.
func (b *builder) flush(ctx context.Context) error {
	if len(b.skipped) == 0 {
		return nil
	}
	tx, err := b.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	for _, bm := range b.skipped {
		if _, err := tx.ExecContext(ctx, `update meta.model_state set batch = ? where name = ?`, b.batch, bm.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `update meta.models set seconds = ?, build = ? where name = ?`, bm.Elapsed.Seconds(), bm.Mode, bm.Name); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// inputVersions returns the current versions of the models m reads.
func (b *builder) inputVersions(m Model) string {
	in := map[string]int64{}
	for _, d := range m.Deps {
		if v, ok := b.version(d); ok {
			in[d] = v
		} else {
			in[d] = -1 // not built with this bookkeeping: m rebuilds whenever it is read
		}
	}
	j, _ := json.Marshal(in)
	return string(j)
}

// saveState writes m's meta.model_state row (in tx) and remembers it for the rest of the build.
func (b *builder) saveState(ctx context.Context, tx *sql.Tx, m Model, fp string, version int64) error {
	inputs := b.inputVersions(m)
	if _, err := tx.ExecContext(ctx, `insert or replace into meta.model_state values (?, ?, ?, ?, ?)`, m.Name, fp, version, b.batch, inputs); err != nil {
		return err
	}
	st := modelState{Fingerprint: fp, Version: version, Batch: b.batch}
	_ = json.Unmarshal([]byte(inputs), &st.Inputs)
	b.state[m.Name] = st
	return nil
}

// full rebuilds m from all of its inputs.
func (b *builder) full(ctx context.Context, m Model, fp string, bm *BuiltModel, start time.Time) error {
	if err := b.w.keepPrevious(ctx, m); err != nil {
		return err
	}
	tx, err := b.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	table := m.Schema + "." + ident(m.Name)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("create or replace table %s as\n%s", table, m.SQL)); err != nil {
		return err
	}
	comment := fmt.Sprintf("%s (grain: %s; key: %s)", m.Description, m.Grain, m.Key)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`comment on table %s is %s`, table, literal(comment))); err != nil {
		return err
	}
	if err := b.saveState(ctx, tx, m, fp, b.state[m.Name].Version+1); err != nil {
		return err
	}
	delete(b.deltas, m.Name) // readers have no changed rows to go by: they rebuild in full
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from %s`, table)).Scan(&bm.Rows); err != nil {
		return err
	}
	if err := b.record(ctx, tx, m, bm, start); err != nil {
		return err
	}
	return tx.Commit()
}

// incremental recomputes the partitions of m whose inputs changed.
func (b *builder) incremental(ctx context.Context, m Model, fp string, bm *BuiltModel, start time.Time) error {
	st := b.state[m.Name]
	inc := m.Incremental
	types := b.cols[m.Schema+"."+m.Name] // as the build started: m was not rebuilt since
	partTypes := make([]string, len(inc.Partition))
	for i, c := range inc.Partition {
		if partTypes[i] = types[c]; partTypes[i] == "" {
			return fmt.Errorf("-- incremental: partition column %s is not a column of the table", c)
		}
	}
	// casts projects exprs as the partition columns _inc_c1, _inc_c2, ...
	casts := func(exprs []string) string {
		out := make([]string, len(exprs))
		for i, e := range exprs {
			out[i] = fmt.Sprintf("cast((%s) as %s) as _inc_c%d", e, partTypes[i], i+1)
		}
		return strings.Join(out, ", ")
	}
	// inPartitions is a join condition: exprs (over the other side) fall in _inc_p.
	inPartitions := func(exprs []string) string {
		out := make([]string, len(exprs))
		for i, e := range exprs {
			out[i] = fmt.Sprintf("cast((%s) as %s) is not distinct from _inc_p._inc_c%d", e, partTypes[i], i+1)
		}
		return strings.Join(out, " and ")
	}
	// keyed projects key as _inc_k1, _inc_k2, ...; sameKey joins two such projections.
	keyed := func(key []string) string {
		out := make([]string, len(key))
		for i, k := range key {
			out[i] = fmt.Sprintf("(%s) as _inc_k%d", k, i+1)
		}
		return strings.Join(out, ", ")
	}
	sameKey := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("r._inc_k%d is not distinct from n._inc_k%d", i+1, i+1)
		}
		return strings.Join(out, " and ")
	}
	// versionsOf: the partitions of every version of the records (by key) that rows
	// matching cond changed.
	versionsOf := func(table string, exprs, key []string, cond string) string {
		return fmt.Sprintf("select %s from (select *, %s from %s) r semi join (select distinct %s from %s where %s) n on %s",
			casts(exprs), keyed(key), table, keyed(key), table, cond, sameKey(len(key)))
	}

	// The partitions to recompute, and each partitioned input restricted to them.
	var pieces []string
	restricted := map[string]string{} // reference as written in SQL → restricted relation
	for _, in := range inc.Inputs {
		kind, schema, name, _ := m.resolveInput(in)
		switch kind {
		case inputRaw:
			table := "raw." + ident(name)
			key := in.By
			if key == nil {
				key = in.Exprs
			}
			if cond, ok := b.newRows(name, st.Batch); ok {
				if in.By == nil {
					pieces = append(pieces, fmt.Sprintf("select %s from %s where %s", casts(in.Exprs), table, cond))
				} else {
					pieces = append(pieces, versionsOf(table, in.Exprs, in.By, cond))
				}
			}
			if tomb := name + extract.DeletedSuffix; slices.Contains(m.Raw, tomb) {
				if cond, ok := b.newRows(tomb, st.Batch); ok {
					pieces = append(pieces, fmt.Sprintf(
						"select %s from (select *, cast((%s) as varchar) as _inc_tk from %s) r semi join (select key as _inc_tk from raw.%s where %s) t on r._inc_tk = t._inc_tk",
						casts(in.Exprs), key[len(key)-1], table, ident(tomb), cond))
				}
			}
			if in.By == nil {
				restricted["raw."+name] = fmt.Sprintf("select * from %s semi join _inc_p on %s", table, inPartitions(in.Exprs))
			} else {
				on := make([]string, len(in.By))
				for i, k := range in.By {
					on[i] = fmt.Sprintf("(%s) is not distinct from k._inc_k%d", k, i+1)
				}
				restricted["raw."+name] = fmt.Sprintf("select * from %s semi join (select distinct %s from %s semi join _inc_p on %s) k on %s",
					table, keyed(in.By), table, inPartitions(in.Exprs), strings.Join(on, " and "))
			}
		case inputView:
			if cond, ok := b.newRows(name, st.Batch); ok {
				pieces = append(pieces, versionsOf("raw."+ident(name), in.Exprs, viewKey(name), cond))
			}
			restricted["staging."+name] = fmt.Sprintf("select * from staging.%s semi join _inc_p on %s", ident(name), inPartitions(in.Exprs))
		case inputModel:
			if v, _ := b.version(name); v != st.Inputs[name] {
				// plan made sure b.deltas holds this change
				dl := b.deltas[name]
				pieces = append(pieces, fmt.Sprintf("select %[1]s from temp.main.%[2]s union all select %[1]s from temp.main.%[3]s", casts(in.Exprs), dl.old, dl.new))
			}
			rel := fmt.Sprintf("select * from %s.%s semi join _inc_p on %s", schema, ident(name), inPartitions(in.Exprs))
			if schema == "main" {
				restricted[name] = rel
				restricted["main."+name] = rel
			} else {
				restricted[schema+"."+name] = rel
			}
		}
	}
	if len(pieces) == 0 { // cannot happen: plan found a changed partitioned input
		return fmt.Errorf("no changed rows found for the changed inputs (%s)", bm.Reason)
	}

	tx, err := b.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	run := func(q string) error {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w\n%s", err, q)
		}
		return nil
	}
	t0 := time.Now()
	step := func(name string) {
		now := time.Now()
		bm.Steps = append(bm.Steps, Step{Name: name, Elapsed: now.Sub(t0)})
		t0 = now
	}
	if err := run("create or replace temp table _inc_p as select distinct * from (\n" + strings.Join(pieces, "\nunion all\n") + "\n)"); err != nil {
		return err
	}
	step("partitions")
	refs := make(map[string]string, len(restricted))
	viewOf := map[string]string{} // restricted relation → its view
	k := 0
	for _, ref := range sortedKeys(restrictedSet(restricted)) {
		rel := restricted[ref]
		if v, ok := viewOf[rel]; ok {
			refs[ref] = v
			continue
		}
		k++
		v := fmt.Sprintf("temp.main._inc_v%d", k)
		if err := run(fmt.Sprintf("create or replace temp view _inc_v%d as %s", k, rel)); err != nil {
			return err
		}
		viewOf[rel], refs[ref] = v, v
	}
	table := m.Schema + "." + ident(m.Name)
	outCols := make([]string, len(inc.Partition))
	for i, c := range inc.Partition {
		outCols[i] = ident(c)
	}
	mine := inPartitions(outCols)
	// The rows of those partitions before and after, kept for the readers of m.
	oldRows, newRows := ident("_inc_old_"+m.Name), ident("_inc_new_"+m.Name)
	if err := run(fmt.Sprintf("create or replace temp table %s as select * from %s semi join _inc_p on %s", oldRows, table, mine)); err != nil {
		return err
	}
	step("old rows")
	if err := run(fmt.Sprintf("create or replace temp table %s as select q.* from (\n%s\n) q semi join _inc_p on %s", newRows, rewriteRefs(m.SQL, refs), mine)); err != nil {
		return err
	}
	step("new rows")
	// The rows changed unless old and new are equal multisets: the same number of rows,
	// and every distinct old row is in new as often (EXCEPT of the rows with their counts).
	var diff, before, after int64
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`select (select count(*) from _inc_p), (select count(*) from %s), (select count(*) from %s)`,
		oldRows, newRows)).Scan(&bm.Partitions, &before, &after); err != nil {
		return err
	}
	if before != after {
		diff = 1
	} else {
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from (select *, count(*) from %s group by all except select *, count(*) from %s group by all)`,
			oldRows, newRows)).Scan(&diff); err != nil {
			return err
		}
	}
	step("compare")
	version := st.Version
	if diff > 0 {
		version++
		if err := run(fmt.Sprintf("delete from %s where exists (select 1 from _inc_p where %s)", table, mine)); err != nil {
			return err
		}
		step("delete")
		if err := run(fmt.Sprintf("insert into %s by name select * from %s", table, newRows)); err != nil {
			return err
		}
		step("insert")
	}
	drop := []string{"drop table temp.main._inc_p"}
	for i := 1; i <= k; i++ {
		drop = append(drop, fmt.Sprintf("drop view temp.main._inc_v%d", i))
	}
	if diff == 0 {
		drop = append(drop, "drop table temp.main."+oldRows, "drop table temp.main."+newRows)
	}
	if err := run(strings.Join(drop, ";\n")); err != nil {
		return err
	}
	if err := b.saveState(ctx, tx, m, fp, version); err != nil {
		return err
	}
	if n, ok := b.rows[m.Name]; ok {
		bm.Rows = n - before + after
	} else if err := tx.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from %s`, table)).Scan(&bm.Rows); err != nil {
		return err
	}
	if err := b.record(ctx, tx, m, bm, start); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	step("state and commit")
	if diff > 0 {
		b.temps = append(b.temps, oldRows, newRows)
		b.deltas[m.Name] = delta{from: st.Version, to: version, old: oldRows, new: newRows}
	}
	return nil
}

// viewKey is the record key of generated staging view name (files__<table>): its table's
// key in the canonical contract.
func viewKey(name string) []string {
	t := strings.TrimPrefix(name, "files__")
	for _, tab := range revcast.Tables {
		if tab.Name == t {
			key := make([]string, len(tab.Key))
			for i, k := range tab.Key {
				key[i] = ident(k)
			}
			return key
		}
	}
	panic("transform: no canonical table for staging view " + name)
}

// refRE finds a table reference after from or join, outside comments and literals.
var refRE = regexp.MustCompile(`(?i)\b(from|join)(\s+)([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\b`)

// codeRE splits SQL into comments, string literals, quoted identifiers and code.
var codeRE = regexp.MustCompile(`(?s)--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|"(?:[^"]|"")*"`)

// rewriteRefs replaces, in the code of q, the tables read after from or join whose
// lower-case name is a key of refs by its value.
func rewriteRefs(q string, refs map[string]string) string {
	var out strings.Builder
	last := 0
	replace := func(code string) string {
		return refRE.ReplaceAllStringFunc(code, func(s string) string {
			sub := refRE.FindStringSubmatch(s)
			if to, ok := refs[strings.ToLower(sub[3])]; ok {
				return sub[1] + sub[2] + to
			}
			return s
		})
	}
	for _, loc := range codeRE.FindAllStringIndex(q, -1) {
		out.WriteString(replace(q[last:loc[0]]))
		out.WriteString(q[loc[0]:loc[1]])
		last = loc[1]
	}
	out.WriteString(replace(q[last:]))
	return out.String()
}
