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
	Name        string // table name: the file name without .sql
	Layer       string // staging, core or marts
	Schema      string // staging for the staging layer, main otherwise
	SQL         string // the SELECT
	Description string // header line 1, after "<name>:"
	Grain       string // header "grain:" line
	Key         string // header "key:" line
	Deps        []string
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
		for _, id := range identRE.FindAllString(stripRE.ReplaceAllString(models[i].SQL, " "), -1) {
			name := strings.ToLower(id)
			if s, n, ok := strings.Cut(name, "."); ok {
				if s != "main" && s != "staging" {
					continue
				}
				name = n
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

// BuiltModel is one materialised model.
type BuiltModel struct {
	Name    string
	Rows    int64
	Elapsed time.Duration
}

// Settings are the values models read from meta.settings.
type Settings struct {
	BaseCurrency string    // ISO 4217; amounts convert into it (default USD)
	AsOf         time.Time // the date marts age and snapshot at (default: today, UTC)
}

// Build creates the generated staging views, then materialises every model as a table in
// dependency order, each with its header as the table comment. A failing model stops the
// build with the model's name and DuckDB's message.
func (w *Warehouse) Build(ctx context.Context, models []Model, s Settings) (BuildResult, error) {
	var res BuildResult
	if err := w.writeSettings(ctx, s); err != nil {
		return res, err
	}
	if err := w.createFileStaging(ctx); err != nil {
		return res, err
	}
	for _, m := range models {
		start := time.Now()
		if err := w.keepPrevious(ctx, m); err != nil {
			return res, err
		}
		q := fmt.Sprintf("create or replace table %s.%s as\n%s", m.Schema, ident(m.Name), m.SQL)
		if err := w.exec(ctx, q); err != nil {
			return res, fmt.Errorf("model %s (sql/%s/%s.sql): %w", m.Name, m.Layer, m.Name, err)
		}
		var n int64
		if err := w.DB.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from %s.%s`, m.Schema, ident(m.Name))).Scan(&n); err != nil {
			return res, err
		}
		el := time.Since(start)
		comment := fmt.Sprintf("%s (grain: %s; key: %s)", m.Description, m.Grain, m.Key)
		if err := w.exec(ctx, fmt.Sprintf(`comment on table %s.%s is %s`, m.Schema, ident(m.Name), literal(comment))); err != nil {
			return res, err
		}
		if err := w.exec(ctx, `insert or replace into meta.models values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Name, m.Schema, m.Layer, m.Description, m.Grain, m.Key, n, w.Now().UTC(), el.Seconds()); err != nil {
			return res, err
		}
		res.Models = append(res.Models, BuiltModel{Name: m.Name, Rows: n, Elapsed: el})
	}
	return res, nil
}

func (w *Warehouse) writeSettings(ctx context.Context, s Settings) error {
	if s.BaseCurrency == "" {
		s.BaseCurrency = "USD"
	}
	if s.AsOf.IsZero() {
		s.AsOf = w.Now()
	}
	if err := w.exec(ctx, `create or replace table meta.settings as select ?::varchar as base_currency, ?::date as as_of`,
		s.BaseCurrency, s.AsOf.UTC().Format(revcast.DateLayout)); err != nil {
		return err
	}
	// to_base converts an amount in currency at rate (units of base per unit) to the base
	// currency, rounded half away from zero to the cent as accounting systems do.
	return w.exec(ctx, `create or replace macro to_base(amount, currency, rate) as
		case when currency = (select base_currency from meta.settings) then cast(amount as decimal(18,2))
		     else cast(round(amount * rate, 2) as decimal(18,2)) end`)
}

// createFileStaging defines staging.files__<table> for every canonical table: the latest
// landed version of each record (by modified_at, then landing order), typed as the
// canonical contract says. The files connector lands the canonical shape, so its staging is
// mechanical and generated from revcast.Tables rather than written 18 times by hand.
func (w *Warehouse) createFileStaging(ctx context.Context) error {
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
		if err := w.exec(ctx, q); err != nil {
			return fmt.Errorf("staging view for %s: %w", t.Name, err)
		}
		if err := w.exec(ctx, fmt.Sprintf(`comment on view staging.%s is %s`, ident(RawTable("files", t.Name)),
			literal("latest landed version of each "+t.Name+" row from file exports"))); err != nil {
			return err
		}
	}
	return nil
}
