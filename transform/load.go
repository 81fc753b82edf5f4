package transform

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// LakeSource names one configured source whose landed files live under
// <lake>/<Name>/<stream>/dt=*/*.parquet. Type is its connector type: raw tables are named
// raw.<type>__<stream>, so staging models are written once per connector, not per
// configured source; each raw row keeps its source name in _source.
type LakeSource struct {
	Name string
	Type string
	// Echo, by stream, says which landed versions are revcast's own write-back coming
	// back from the source rather than a change: see EchoRule.
	Echo map[string]EchoRule
}

// EchoRule recognises the versions of a stream's records that revcast's own write-back
// made. When revcast writes its results into fields of a source record (a win probability
// on a Salesforce Opportunity), the source stamps the record modified and the next
// extraction lands it again: a version that changed nothing the models read. Load sets
// such a version aside in raw.<table>__echo instead of raw.<table>, so the nightly run
// does not restage and rebuild every record revcast wrote to the night before. A new
// version is an echo when it is its record's only version in the files loaded together,
// no loaded version of the record (echo or not) is newer, it equals the record's latest
// version in raw.<table> (highest Order, then latest file) in every column other than Key,
// Order and Ignore, and no tombstone of the record was learned at or after that version (a
// record undeleted unchanged is a change). A late version older than an echo goes to
// raw.<table> and takes the newer echoes back with it, so raw.<table>'s latest version is
// always the record's. Nothing is lost: the lake keeps every file, and every landed row is
// in raw.<table> or raw.<table>__echo, once.
type EchoRule struct {
	Key    string   // the record key column (Salesforce: Id)
	Order  string   // the column versions are ordered by (Salesforce: SystemModstamp)
	Ignore []string // columns an echo may differ in: the fields revcast writes and the stamps the source sets on every write
}

// EchoSuffix ends the name of the raw table that keeps a stream's echo rows (EchoRule).
const EchoSuffix = "__echo"

// LoadResult says what Load added.
type LoadResult struct {
	Files int
	Rows  int64
	// Tables is rows added per raw table.
	Tables map[string]int64
	// Echoes is rows set aside as revcast's own write-back coming back (EchoRule), not
	// counted in Rows.
	Echoes int64
}

// RawTable returns the raw table name for a connector type and stream.
func RawTable(typ, stream string) string { return typ + "__" + stream }

// Load creates the raw tables every connector declares (empty until it lands data), then
// adds every lake file not loaded before to its raw table, one transaction per
// stream, so re-running Load never loads a file twice and a failure loads nothing of that
// stream. Each transaction's files are the next load batch (meta.loaded_files.batch):
// incremental builds read the rows of the batches loaded since a model was built, so raw
// tables must change through Load only. New columns in newer files are added to the raw
// table (schema drift); a column whose type changed is an error naming the stream and column.
func (w *Warehouse) Load(ctx context.Context, lakeDir string, sources []LakeSource) (res LoadResult, err error) {
	err = w.unordered(ctx, func() error {
		res, err = w.load(ctx, lakeDir, sources)
		return err
	})
	return res, err
}

// load is Load with DuckDB's insertion order off.
func (w *Warehouse) load(ctx context.Context, lakeDir string, sources []LakeSource) (LoadResult, error) {
	res := LoadResult{Tables: map[string]int64{}}
	have, err := w.rawTables(ctx)
	if err != nil {
		return res, err
	}
	if err := w.ensureCanonicalRaw(ctx, have); err != nil {
		return res, err
	}
	specs, err := DeclaredRawSpecs(ctx)
	if err != nil {
		return res, err
	}
	if err := w.EnsureRaw(ctx, specs); err != nil {
		return res, err
	}
	loaded, err := w.loadedFiles(ctx)
	if err != nil {
		return res, err
	}
	for _, src := range sources {
		streams, err := os.ReadDir(filepath.Join(lakeDir, src.Name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("load %s: %w", src.Name, err)
		}
		// A stream's tombstones load before the stream, so the echo check sees them.
		sort.SliceStable(streams, func(i, j int) bool {
			return tombstonesFirst(streams[i].Name()) < tombstonesFirst(streams[j].Name())
		})
		for _, st := range streams {
			if !st.IsDir() {
				continue
			}
			files, err := newParquetFiles(lakeDir, src.Name, st.Name(), loaded)
			if err != nil {
				return res, fmt.Errorf("load %s/%s: %w", src.Name, st.Name(), err)
			}
			if len(files) == 0 {
				continue
			}
			table := RawTable(src.Type, st.Name())
			var echo *EchoRule
			if r, ok := src.Echo[st.Name()]; ok {
				echo = &r
			}
			n, echoes, err := w.loadFiles(ctx, src.Name, st.Name(), table, files, echo)
			if err != nil {
				return res, fmt.Errorf("load %s/%s into raw.%s: %w", src.Name, st.Name(), table, err)
			}
			res.Files += len(files)
			res.Rows += n
			res.Tables[table] += n
			res.Echoes += echoes
		}
	}
	return res, nil
}

// tombstonesFirst is the sort key that puts <stream>__deleted just before <stream>.
func tombstonesFirst(name string) string {
	if base, ok := strings.CutSuffix(name, extract.DeletedSuffix); ok {
		return base + "\x00"
	}
	return name + "\x01"
}

// newParquetFiles lists the landed .parquet files of source's stream under lakeDir that
// are not in loaded (keys of LakeKey), as absolute paths in landing order (dt, run id, part
// sequence all sort lexically).
func newParquetFiles(lakeDir, source, stream string, loaded map[string]bool) ([]string, error) {
	var files []string
	dir := filepath.Join(lakeDir, source, stream)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil // temp files end in .tmp and are never read
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if !loaded[LakeKey(abs, source, stream)] {
			files = append(files, abs)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// loadedFiles returns the lake files loaded before, by LakeKey.
func (w *Warehouse) loadedFiles(ctx context.Context) (map[string]bool, error) {
	rows, err := w.DB.QueryContext(ctx, `select path, coalesce(source, ''), coalesce(stream, '') from meta.loaded_files`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var p, source, stream string
		if err := rows.Scan(&p, &source, &stream); err != nil {
			return nil, err
		}
		m[LakeKey(p, source, stream)] = true
	}
	return m, rows.Err()
}

// LakeKey names a loaded file (meta.loaded_files.path, the absolute path it was loaded
// from) by where it sits in the lake, <source>/<stream>/<path below the stream>, so that a
// project moved or restored to another directory does not load its landed files a second
// time (each record twice in raw, and every model rebuilt from the start). The stream's
// folder is the last "/<source>/<stream>/" of the path; a path without it keys as itself.
func LakeKey(path, source, stream string) string {
	p := filepath.ToSlash(path)
	mid := "/" + source + "/" + stream + "/"
	if i := strings.LastIndex(p, mid); i >= 0 {
		return p[i+1:]
	}
	return p
}

// loadFiles appends files to raw.table inside one transaction, the rows echo recognises
// to raw.<table>__echo instead. It returns the rows added to each.
func (w *Warehouse) loadFiles(ctx context.Context, source, stream, table string, files []string, echo *EchoRule) (rows, echoes int64, err error) {
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = literal(f)
	}
	read := fmt.Sprintf(`read_parquet([%s], union_by_name = true, filename = '_file')`, strings.Join(list, ", "))
	exists, err := w.tableExists(ctx, "raw", table)
	if err != nil {
		return 0, 0, err
	}
	tombstones, err := w.tableExists(ctx, "raw", table+extract.DeletedSuffix)
	if err != nil {
		return 0, 0, err
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()

	if !exists {
		q := fmt.Sprintf(`create table raw.%s as select *, %s::varchar as _source from %s limit 0`, ident(table), literal(source), read)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, 0, err
		}
	} else if err := addDriftColumns(ctx, tx, table, read); err != nil {
		return 0, 0, err
	}
	if echo != nil && exists {
		rows, echoes, err = loadEchoAware(ctx, tx, source, table, read, *echo, tombstones)
	} else {
		rows, err = insertAll(ctx, tx, source, table, read)
	}
	if err != nil {
		return 0, 0, err
	}
	now := w.Now().UTC()
	// Each load transaction is the next batch: incremental builds read the rows of the
	// batches loaded since a model was built.
	var batch int64
	if err := tx.QueryRowContext(ctx, `select coalesce(max(batch), 0) + 1 from meta.loaded_files`).Scan(&batch); err != nil {
		return 0, 0, err
	}
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `insert into meta.loaded_files (path, source, stream, raw_table, rows, loaded_at, batch)
			values (?, ?, ?, ?, null, ?, ?)`, f, source, stream, table, now, batch); err != nil {
			return 0, 0, err
		}
	}
	return rows, echoes, tx.Commit()
}

// insertAll appends every row of read to raw.table.
func insertAll(ctx context.Context, tx *sql.Tx, source, table, read string) (int64, error) {
	res, err := tx.ExecContext(ctx, fmt.Sprintf(`insert into raw.%s by name select *, %s as _source from %s`, ident(table), literal(source), read))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// loadEchoAware inserts the rows of read into raw.table and its echo rows (EchoRule) into
// raw.<table>__echo, creating that table like raw.table when it is missing. Tombstones
// (raw.<table>__deleted, when it exists) keep an undeleted record from counting as an echo.
func loadEchoAware(ctx context.Context, tx *sql.Tx, source, table, read string, r EchoRule, tombstones bool) (rows, echoes int64, err error) {
	var empty bool
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`select count(*) = 0 from (select 1 from raw.%s limit 1)`, ident(table))).Scan(&empty); err != nil {
		return 0, 0, err
	}
	if empty { // the first load: nothing to echo
		rows, err := insertAll(ctx, tx, source, table, read)
		return rows, 0, err
	}
	have, err := columnTypes(ctx, tx, fmt.Sprintf(`select * from raw.%s limit 0`, ident(table)))
	if err != nil {
		return 0, 0, err
	}
	got, err := columnTypes(ctx, tx, fmt.Sprintf(`select * from %s limit 0`, read))
	if err != nil {
		return 0, 0, err
	}
	for _, c := range []string{r.Key, r.Order} {
		_, inTable := have.types[c]
		_, inFiles := got.types[c]
		if !inTable || !inFiles {
			// Versions cannot be told apart without their key and order: all are changes.
			rows, err := insertAll(ctx, tx, source, table, read)
			return rows, 0, err
		}
	}
	skip := map[string]bool{strings.ToLower(r.Key): true, strings.ToLower(r.Order): true, "_file": true, "_source": true}
	for _, c := range r.Ignore {
		skip[strings.ToLower(c)] = true
	}
	// Columns the new files lack are null in them: compare those too, so a version that
	// drops a value is a change.
	var same []string
	for _, c := range have.order {
		if skip[strings.ToLower(c)] {
			continue
		}
		nc := "null"
		if _, ok := got.types[c]; ok {
			nc = "n." + ident(c)
		}
		same = append(same, fmt.Sprintf("p.%s is not distinct from %s", ident(c), nc))
	}
	if len(same) == 0 {
		same = []string{"true"}
	}
	key, order := ident(r.Key), ident(r.Order)
	tomb, alive := "", "true"
	if tombstones {
		tomb = fmt.Sprintf(`left join (select key, max(deleted_at) as deleted_at from raw.%s group by key) t on t.key = cast(l.%s as varchar)`,
			ident(table+extract.DeletedSuffix), key)
		alive = fmt.Sprintf(`(t.key is null or t.deleted_at < l.%s)`, order)
	}
	echoTable := table + EchoSuffix
	var n int
	if err := tx.QueryRowContext(ctx, `select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = ?`, echoTable).Scan(&n); err != nil {
		return 0, 0, err
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`create table raw.%s as select * from raw.%s limit 0`, ident(echoTable), ident(table))); err != nil {
			return 0, 0, err
		}
	} else if err := addDriftColumns(ctx, tx, echoTable, "raw."+ident(table)); err != nil {
		return 0, 0, err
	}
	const tmp = "revcast_load_echo"
	// p: the latest version in raw.table of each record in the new files, and whether it
	// is alive (no tombstone at or after it); e: the latest echo of the record. A new
	// version is an echo only when it is its record's one version in these files (two or
	// more may change a value and change it back: each would need comparing with the one
	// before it) and no version already loaded, echo or not, is newer.
	q := fmt.Sprintf(`create or replace temp table %[1]s as
with n as (
    select *, %[2]s::varchar as _source, count(*) over (partition by %[5]s) as _revcast_versions
    from %[3]s
),
p as (
    select l.%[5]s, l.%[6]s, %[8]s as _revcast_alive, l.* exclude (%[5]s, %[6]s)
    from (
        select * from raw.%[4]s
        where %[5]s in (select %[5]s from n)
        qualify row_number() over (partition by %[5]s order by %[6]s desc, _file desc) = 1
    ) l %[7]s
),
e as (
    select %[5]s, max(%[6]s) as _revcast_echo_order
    from raw.%[10]s
    where %[5]s in (select %[5]s from n)
    group by %[5]s
)
select n.* exclude (_revcast_versions),
    p.%[5]s is not null and n._revcast_versions = 1 and (e.%[5]s is null or e._revcast_echo_order <= n.%[6]s) as _revcast_echo
from n
left join p on p.%[5]s = n.%[5]s and p._revcast_alive and p.%[6]s <= n.%[6]s and %[9]s
left join e on e.%[5]s = n.%[5]s`,
		tmp, literal(source), read, ident(table), key, order, tomb, alive, strings.Join(same, " and "), ident(echoTable))
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return 0, 0, err
	}
	defer tx.ExecContext(context.WithoutCancel(ctx), `drop table if exists temp.main.`+tmp) //nolint:errcheck // best effort; the transaction ends anyway
	res, err := tx.ExecContext(ctx, fmt.Sprintf(`insert into raw.%s by name select * exclude (_revcast_echo) from %s where not _revcast_echo`, ident(table), tmp))
	if err != nil {
		return 0, 0, err
	}
	rows, _ = res.RowsAffected()
	res, err = tx.ExecContext(ctx, fmt.Sprintf(`insert into raw.%s by name select * exclude (_revcast_echo) from %s where _revcast_echo`, ident(echoTable), tmp))
	if err != nil {
		return 0, 0, err
	}
	// A version that arrives late, older than an echo already set aside, goes to the raw
	// table: the echoes newer than it go back there too, so the raw table's latest version
	// stays the record's latest (they are the values the late version was followed by).
	newer := fmt.Sprintf(`exists (select 1 from %[1]s t where not t._revcast_echo and t.%[2]s = raw.%[3]s.%[2]s and t.%[4]s < raw.%[3]s.%[4]s)`,
		tmp, key, ident(echoTable), order)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`insert into raw.%s by name select * from raw.%s where %s`, ident(table), ident(echoTable), newer)); err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`delete from raw.%s where %s`, ident(echoTable), newer)); err != nil {
		return 0, 0, err
	}
	echoes, _ = res.RowsAffected()
	return rows, echoes, nil
}

// execQuerier is what *sql.Tx and *sql.DB share.
type execQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// addDriftColumns adds to raw.table the columns that the new files have and it lacks, and
// fails on a column whose type changed.
func addDriftColumns(ctx context.Context, tx execQuerier, table, read string) error {
	have, err := columnTypes(ctx, tx, fmt.Sprintf(`select * from raw.%s limit 0`, ident(table)))
	if err != nil {
		return err
	}
	got, err := columnTypes(ctx, tx, fmt.Sprintf(`select * from %s limit 0`, read))
	if err != nil {
		return err
	}
	for _, c := range got.order {
		t := got.types[c]
		old, ok := have.types[c]
		switch {
		case !ok:
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`alter table raw.%s add column %s %s`, ident(table), ident(c), t)); err != nil {
				return err
			}
		case old != t && old != "NULL" && t != "NULL":
			return revcast.Errorf(revcast.EINVALID, "column %s changed type from %s to %s: the source's schema changed incompatibly; land it with --full into a fresh lake folder or cast it in the connector", c, old, t)
		}
	}
	return nil
}

type columnSet struct {
	order []string
	types map[string]string
}

func columnTypes(ctx context.Context, tx execQuerier, q string) (columnSet, error) {
	rows, err := tx.QueryContext(ctx, `describe `+q)
	if err != nil {
		return columnSet{}, err
	}
	defer rows.Close()
	cs := columnSet{types: map[string]string{}}
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return cs, err
		}
		name, typ := fmt.Sprint(vals[0]), fmt.Sprint(vals[1])
		cs.order = append(cs.order, name)
		cs.types[name] = typ
	}
	return cs, rows.Err()
}

// ensureCanonicalRaw creates, empty, the raw table of every canonical stream of the files
// connector that has not landed yet, so staging views and core models always compile.
func (w *Warehouse) ensureCanonicalRaw(ctx context.Context, have map[string]bool) error {
	for _, t := range revcast.Tables {
		name := RawTable("files", t.Name)
		if have[name] {
			continue
		}
		cols := make([]string, 0, len(t.Columns)+2)
		for _, c := range t.Columns {
			cols = append(cols, ident(c.Name)+" "+c.Type.String())
		}
		cols = append(cols, `_file varchar`, `_source varchar`)
		if err := w.exec(ctx, fmt.Sprintf(`create table raw.%s (%s)`, ident(name), strings.Join(cols, ", "))); err != nil {
			return fmt.Errorf("create raw.%s: %w", name, err)
		}
	}
	return nil
}
