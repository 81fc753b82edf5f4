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
)

// LakeSource names one configured source whose landed files live under
// <lake>/<Name>/<stream>/dt=*/*.parquet. Type is its connector type: raw tables are named
// raw.<type>__<stream>, so staging models are written once per connector, not per
// configured source; each raw row keeps its source name in _source.
type LakeSource struct {
	Name string
	Type string
}

// LoadResult says what Load added.
type LoadResult struct {
	Files int
	Rows  int64
	// Tables is rows added per raw table.
	Tables map[string]int64
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
func (w *Warehouse) Load(ctx context.Context, lakeDir string, sources []LakeSource) (LoadResult, error) {
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
		for _, st := range streams {
			if !st.IsDir() {
				continue
			}
			files, err := newParquetFiles(filepath.Join(lakeDir, src.Name, st.Name()), loaded)
			if err != nil {
				return res, fmt.Errorf("load %s/%s: %w", src.Name, st.Name(), err)
			}
			if len(files) == 0 {
				continue
			}
			table := RawTable(src.Type, st.Name())
			n, err := w.loadFiles(ctx, src.Name, st.Name(), table, files)
			if err != nil {
				return res, fmt.Errorf("load %s/%s into raw.%s: %w", src.Name, st.Name(), table, err)
			}
			res.Files += len(files)
			res.Rows += n
			res.Tables[table] += n
		}
	}
	return res, nil
}

// newParquetFiles lists the landed .parquet files under dir that are not in loaded, in
// landing order (dt, run id, part sequence all sort lexically).
func newParquetFiles(dir string, loaded map[string]bool) ([]string, error) {
	var files []string
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
		if !loaded[abs] {
			files = append(files, abs)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func (w *Warehouse) loadedFiles(ctx context.Context) (map[string]bool, error) {
	rows, err := w.DB.QueryContext(ctx, `select path from meta.loaded_files`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		m[p] = true
	}
	return m, rows.Err()
}

// loadFiles appends files to raw.table inside one transaction.
func (w *Warehouse) loadFiles(ctx context.Context, source, stream, table string, files []string) (int64, error) {
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = literal(f)
	}
	read := fmt.Sprintf(`read_parquet([%s], union_by_name = true, filename = '_file')`, strings.Join(list, ", "))
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	exists, err := w.tableExists(ctx, "raw", table)
	if err != nil {
		return 0, err
	}
	if !exists {
		q := fmt.Sprintf(`create table raw.%s as select *, %s::varchar as _source from %s limit 0`, ident(table), literal(source), read)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	} else if err := addDriftColumns(ctx, tx, table, read); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, fmt.Sprintf(`insert into raw.%s by name select *, %s as _source from %s`, ident(table), literal(source), read))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	now := w.Now().UTC()
	// Each load transaction is the next batch: incremental builds read the rows of the
	// batches loaded since a model was built.
	var batch int64
	if err := tx.QueryRowContext(ctx, `select coalesce(max(batch), 0) + 1 from meta.loaded_files`).Scan(&batch); err != nil {
		return 0, err
	}
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `insert into meta.loaded_files (path, source, stream, raw_table, rows, loaded_at, batch)
			values (?, ?, ?, ?, null, ?, ?)`, f, source, stream, table, now, batch); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
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
