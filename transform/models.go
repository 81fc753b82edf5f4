package transform

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/revcast/revcast"
)

// Model is one SQL model file.
type Model struct {
	Name        string   // table name: the file name without .sql
	Layer       string   // staging, core or marts
	Schema      string   // staging for the staging layer, main otherwise
	SQL         string   // the SELECT
	Description string   // header line 1, after "<name>:"
	Grain       string   // header "grain:" line
	Key         string   // header "key:" line
	Deps        []string // the models it reads, sorted
	// Raw, Views and Meta are the other tables it reads, sorted: raw tables (raw.<name>),
	// the generated staging views (staging.<name> that is no model; each reads
	// raw.<name>) and meta tables (meta.<name>).
	Raw, Views, Meta []string
	// Untracked lists what it reads after FROM or JOIN that is none of those (a table
	// another command writes): an incremental build cannot tell whether it changed, so
	// the model is rebuilt every time.
	Untracked []string
	// Incremental is the "-- incremental:" header line, nil when the model has none: how
	// the model can be brought up to date by recomputing only the partitions whose inputs
	// changed (see incremental.go).
	Incremental *Incremental
}

// QualifiedName is schema.name.
func (m Model) QualifiedName() string { return m.Schema + "." + m.Name }

// Layers are the model folders, in the order their schemas are conventionally read.
var Layers = []string{"staging", "core", "marts"}

// ParseModels reads the models under staging/, core/ and marts/ of fsys and orders them
// so that every model comes after the models it references. extra names tables that exist
// before models run (e.g. generated staging views) and may be referenced freely.
func ParseModels(fsys fs.FS) ([]Model, error) {
	var models []Model
	for _, layer := range Layers {
		entries, err := fs.ReadDir(fsys, layer)
		if err != nil {
			return nil, fmt.Errorf("models: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			data, err := fs.ReadFile(fsys, path.Join(layer, e.Name()))
			if err != nil {
				return nil, err
			}
			m, err := parseModel(layer, e.Name(), string(data))
			if err != nil {
				return nil, err
			}
			models = append(models, m)
		}
	}
	return orderModels(models)
}

var headerRE = regexp.MustCompile(`^--\s*(\w+):\s*(.*)$`)

func parseModel(layer, file, text string) (Model, error) {
	m := Model{Name: strings.TrimSuffix(file, ".sql"), Layer: layer, Schema: "main", SQL: strings.TrimSpace(text)}
	if layer == "staging" {
		m.Schema = "staging"
	}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "--") {
			break
		}
		sub := headerRE.FindStringSubmatch(line)
		if sub == nil {
			continue
		}
		switch {
		case i == 0 && sub[1] == m.Name:
			m.Description = sub[2]
		case sub[1] == "grain":
			m.Grain = sub[2]
		case sub[1] == "key":
			m.Key = sub[2]
		case sub[1] == "incremental":
			inc, err := parseIncremental(sub[2])
			if err != nil {
				return m, fmt.Errorf("model %s/%s: -- incremental: %w", layer, file, err)
			}
			m.Incremental = inc
		}
	}
	if m.Description == "" || m.Grain == "" || m.Key == "" {
		return m, fmt.Errorf("model %s/%s: the header must start with '-- %s: <what it is>' and have '-- grain:' and '-- key:' lines", layer, file, m.Name)
	}
	return m, nil
}

// stripSQL removes comments and string literals so references are found only in code.
var stripRE = regexp.MustCompile(`(?s)--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'`)
var identRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?`)

// fromRE finds what a query reads after FROM or JOIN (group 2); group 1 is set for "is
// [not] distinct from", group 3 for a table function.
var fromRE = regexp.MustCompile(`(?i)(\bdistinct\s+)?\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(\s*\()?`)

// cteRE finds the names a query gives its common table expressions: a bare reference to
// one of them is that CTE, not a model of the same name.
var cteRE = regexp.MustCompile(`(?i)(?:\bwith(?:\s+recursive)?|,)\s*([A-Za-z_][A-Za-z0-9_]*)\s+as\s*(?:not\s+)?(?:materialized\s*)?\(`)

// orderModels finds each model's references to other models and sorts topologically
// (Kahn's algorithm, ties broken by layer then name so the order is stable).
func orderModels(models []Model) ([]Model, error) {
	byName := map[string]int{}
	for i, m := range models {
		if j, dup := byName[m.Name]; dup {
			return nil, fmt.Errorf("models: %s is defined in %s and %s", m.Name, models[j].Layer, m.Layer)
		}
		byName[m.Name] = i
	}
	indeg := make([]int, len(models))
	users := make([][]int, len(models))
	for i := range models {
		seen := map[string]bool{}
		other := map[string]map[string]bool{"raw": {}, "views": {}, "meta": {}}
		code := stripRE.ReplaceAllString(models[i].SQL, " ")
		ctes := map[string]bool{}
		for _, c := range cteRE.FindAllStringSubmatch(code, -1) {
			ctes[strings.ToLower(c[1])] = true
		}
		for _, id := range identRE.FindAllString(code, -1) {
			name := strings.ToLower(id)
			if s, n, ok := strings.Cut(name, "."); ok {
				switch {
				case s == "raw" || s == "meta":
					other[s][n] = true
					continue
				case s == "staging":
					if _, isModel := byName[n]; !isModel {
						other["views"][n] = true
						continue
					}
				case s != "main":
					continue
				}
				name = n
			} else if ctes[name] {
				continue // the query's own CTE of that name
			}
			j, ok := byName[name]
			if !ok || j == i || seen[name] {
				continue
			}
			seen[name] = true
			models[i].Deps = append(models[i].Deps, name)
			indeg[i]++
			users[j] = append(users[j], i)
		}
		sort.Strings(models[i].Deps)
		untracked := map[string]bool{}
		for _, r := range fromRE.FindAllStringSubmatch(code, -1) {
			if r[1] != "" || r[3] != "" {
				continue // a comparison or a table function
			}
			name := strings.ToLower(r[2])
			s, n, qualified := strings.Cut(name, ".")
			switch {
			case qualified && (s == "raw" || s == "meta" || s == "staging"):
				continue // raw, meta, a staging model or a generated view
			case qualified && s == "main":
				name = n
			case qualified:
				untracked[name] = true
				continue
			case ctes[name]:
				continue
			}
			if _, isModel := byName[name]; !isModel {
				untracked[name] = true
			}
		}
		models[i].Raw, models[i].Views, models[i].Meta = sortedKeys(other["raw"]), sortedKeys(other["views"]), sortedKeys(other["meta"])
		models[i].Untracked = sortedKeys(untracked)
		if err := models[i].checkIncremental(); err != nil {
			return nil, err
		}
	}
	rank := func(i int) string { return fmt.Sprintf("%d/%s", layerIndex(models[i].Layer), models[i].Name) }
	var ready, order []int
	for i := range models {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		sort.Slice(ready, func(a, b int) bool { return rank(ready[a]) < rank(ready[b]) })
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(models) {
		var cyc []string
		for i := range models {
			if indeg[i] > 0 {
				cyc = append(cyc, models[i].Name)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("models: reference cycle among %s", strings.Join(cyc, ", "))
	}
	out := make([]Model, len(order))
	for k, i := range order {
		out[k] = models[i]
	}
	return out, nil
}

func layerIndex(l string) int {
	for i, x := range Layers {
		if x == l {
			return i
		}
	}
	return len(Layers)
}

// BuildResult reports each model built.
type BuildResult struct {
	Models []BuiltModel
}

// BuiltModel is one model brought up to date.
type BuiltModel struct {
	Name    string
	Rows    int64
	Elapsed time.Duration
	// Mode is ModeFull (materialised from all of its inputs), ModeIncremental (only the
	// partitions whose inputs changed recomputed) or ModeSkipped (no input changed).
	Mode string
	// Reason says why the mode was chosen, e.g. which inputs changed.
	Reason string
	// Partitions is how many partitions an incremental update recomputed.
	Partitions int64
	// Steps is the wall time of each step of an incremental update, in order (finding
	// the slow statement of a large table's update); nil for the other modes. They start
	// after the plan and the transaction's begin, "old rows" includes creating the
	// restricted views, and the last ("state and commit") ends after the commit, which
	// Elapsed does not include: the steps can add up to a little more than Elapsed.
	Steps []Step
}

// Step is the wall time of one named step of a model's build.
type Step struct {
	Name    string
	Elapsed time.Duration
}

// Settings are the values models read from meta.settings.
type Settings struct {
	BaseCurrency string    // ISO 4217; amounts convert into it (default USD)
	AsOf         time.Time // the date marts age and snapshot at (default: today, UTC)
}

// Build creates the generated staging views, then materialises every model as a table in
// dependency order, each with its header as the table comment: a full rebuild. A failing
// model stops the build with the model's name and DuckDB's message.
func (w *Warehouse) Build(ctx context.Context, models []Model, s Settings) (BuildResult, error) {
	return w.BuildWith(ctx, models, s, BuildOptions{})
}

// BuildWith is Build with options: with opts.Incremental it brings every model up to date
// with the least work that gives the tables a full rebuild would (see incremental.go):
// models whose inputs did not change are skipped, models with an "-- incremental:" header
// recompute only the partitions whose inputs changed, and the rest are rebuilt.
func (w *Warehouse) BuildWith(ctx context.Context, models []Model, s Settings, opts BuildOptions) (res BuildResult, err error) {
	err = w.unordered(ctx, func() error {
		res, err = w.buildWith(ctx, models, s, opts)
		return err
	})
	return res, err
}

// buildWith is BuildWith with DuckDB's insertion order off.
func (w *Warehouse) buildWith(ctx context.Context, models []Model, s Settings, opts BuildOptions) (BuildResult, error) {
	var res BuildResult
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	// Settings and generated views in one transaction (one commit, not 40).
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	s, err = w.writeSettings(ctx, tx, s)
	if err != nil {
		return res, err
	}
	views, err := w.createFileStaging(ctx, tx)
	if err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, err
	}
	b, err := w.newBuilder(ctx, conn, s, views, models, opts)
	if err != nil {
		return res, err
	}
	defer b.close(ctx)
	for _, m := range models {
		bm, err := b.build(ctx, m)
		if err != nil {
			return res, err
		}
		res.Models = append(res.Models, bm)
	}
	return res, b.flush(ctx)
}

// toBaseSQL defines to_base, which converts an amount in currency at rate (units of base
// per unit) to the base currency, rounded half away from zero to the cent as accounting
// systems do. It is part of the fingerprint of the models that call it.
const toBaseSQL = `create or replace macro to_base(amount, currency, rate) as
		case when currency = (select base_currency from meta.settings) then cast(amount as decimal(18,2))
		     else cast(round(amount * rate, 2) as decimal(18,2)) end`

// writeSettings writes meta.settings and the to_base macro, and returns the settings with
// their defaults filled in.
func (w *Warehouse) writeSettings(ctx context.Context, tx execQuerier, s Settings) (Settings, error) {
	if s.BaseCurrency == "" {
		s.BaseCurrency = "USD"
	}
	if s.AsOf.IsZero() {
		s.AsOf = w.Now()
	}
	if _, err := tx.ExecContext(ctx, `create or replace table meta.settings as select ?::varchar as base_currency, ?::date as as_of`,
		s.BaseCurrency, s.AsOf.UTC().Format(revcast.DateLayout)); err != nil {
		return s, err
	}
	_, err := tx.ExecContext(ctx, toBaseSQL)
	return s, err
}

// createFileStaging defines staging.files__<table> for every canonical table: the latest
// landed version of each record (by modified_at, then landing order), typed as the
// canonical contract says. The files connector lands the canonical shape, so its staging is
// mechanical and generated from revcast.Tables rather than written 18 times by hand. It
// returns each view's SQL by name.
func (w *Warehouse) createFileStaging(ctx context.Context, tx execQuerier) (map[string]string, error) {
	views := map[string]string{}
	for _, t := range revcast.Tables {
		cols := make([]string, 0, len(t.Columns)+1)
		for _, c := range t.Columns {
			cols = append(cols, fmt.Sprintf("cast(%s as %s) as %s", ident(c.Name), c.Type, ident(c.Name)))
		}
		cols = append(cols, "_source")
		keys := make([]string, len(t.Key))
		for i, k := range t.Key {
			keys[i] = ident(k)
		}
		q := fmt.Sprintf(`create or replace view staging.%s as
select %s
from raw.%s
qualify row_number() over (partition by %s order by modified_at desc, _file desc) = 1`,
			ident(RawTable("files", t.Name)), strings.Join(cols, ", "), ident(RawTable("files", t.Name)), strings.Join(keys, ", "))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("staging view for %s: %w", t.Name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`comment on view staging.%s is %s`, ident(RawTable("files", t.Name)),
			literal("latest landed version of each "+t.Name+" row from file exports"))); err != nil {
			return nil, err
		}
		views[RawTable("files", t.Name)] = q
	}
	return views, nil
}
