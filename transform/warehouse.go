// Package transform builds the DuckDB warehouse: it loads new lake files into raw tables,
// derives staging views, runs the SQL models in dependency order and runs data tests.
//
// Schemas: raw (lake files as landed, append-only, one table per connector type and
// stream: raw.<type>__<stream>; the versions that are only revcast's own write-back
// landed again go to raw.<type>__<stream>__echo, see EchoRule), staging (latest version of each record), main (the core
// and mart tables analysts query) and meta (what was loaded and built, and when).
package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/revcast/revcast/internal/duckx"
)

// Warehouse is an open warehouse.duckdb.
type Warehouse struct {
	DB       *sql.DB
	Path     string
	ReadOnly bool
	// Now is the clock used for bookkeeping columns; tests inject it.
	Now func() time.Time
	// SnapshotMemoryLimit, when set, is DuckDB's memory_limit while Snapshots reads the
	// snapshots and outcomes (after its feature tables are built), restored after.
	SnapshotMemoryLimit string
	// Vacuum says whether this open's checkpoints vacuum (DBSettings.VacuumDays).
	Vacuum bool

	vacuumDue time.Time // when a due vacuum (DBSettings.VacuumDays) began: Close records it
}

// DBSettings are DuckDB's resource limits and vacuum schedule for one process (zero
// values: DuckDB's defaults).
type DBSettings struct {
	// MemoryLimit caps DuckDB's buffer manager, e.g. "2GB" (DuckDB's default: 80% of RAM).
	// Beyond it DuckDB spills to the data folder's .tmp; Go's own heap is not included.
	MemoryLimit string
	// Threads is DuckDB's worker threads (default: one per core).
	Threads int
	// VacuumDays, when positive, lets a writable open's checkpoints vacuum (merge row groups
	// thinned by deletes) only on a UTC date at least this many days after the last vacuum
	// recorded in meta.vacuums; the other checkpoints write the changed rows and merge
	// nothing (they still drop row groups all of whose rows were deleted). Dates, not
	// durations, so that a nightly schedule's seventh night is due whatever its hour. Zero:
	// every checkpoint vacuums (DuckDB's default). The measurements are at vacuumSchedule.
	VacuumDays int
	// Now is the clock that decides whether a vacuum is due (default time.Now).
	Now func() time.Time
}

// Open opens (creating if needed) the warehouse at path with DuckDB's default limits. A
// read-only warehouse rejects every write statement; it must already exist.
func Open(ctx context.Context, path string, readOnly bool) (*Warehouse, error) {
	return OpenWith(ctx, path, readOnly, DBSettings{})
}

// OpenWith is Open with resource limits.
func OpenWith(ctx context.Context, path string, readOnly bool, set DBSettings) (*Warehouse, error) {
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("warehouse %s does not exist yet: run 'revcast transform' (or 'revcast demo') first", path)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	dsn := path
	if readOnly {
		dsn += "?access_mode=read_only"
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", path, friendlyLockError(err))
	}
	db := sql.OpenDB(connector)
	w := &Warehouse{DB: db, Path: path, ReadOnly: readOnly, Now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open warehouse %s: %w", path, friendlyLockError(err))
	}
	// DuckDB plans an ASOF join as a nested loop when it estimates at most
	// asof_loop_join_threshold (default 64) rows on its left side. The estimate is often
	// that low for a filtered input that is in fact large (a chunk of snapshot dates held
	// 44k deals), and the loop against a million-row right side then runs for minutes.
	// The sort-merge ASOF join costs little even for truly small inputs: always use it.
	//
	// DuckDB checkpoints whenever the write-ahead log reaches checkpoint_threshold (default
	// 16 MiB), and a checkpoint costs more than the rows it writes. At 256MB: loading the
	// large company's lake (13.5M rows) took 15-17 s instead of 26 s, and logging a large
	// first write-back (563k rows into each of writeback_log and audit_log, ~370 MB of WAL
	// in 790 commits) spent 3.9 s in commits instead of 10.7 s. The price: up to 256 MB of
	// log on disk between checkpoints, and the data waiting for a checkpoint in memory. A
	// standalone transform's peak stayed the same (1.29-1.32 GB against 1.31-1.37 GB, two
	// runs each), but in a whole large run the transform's stage peak rose from
	// 1,254-1,292 to 1,444 MiB and write-back's from 1,606-1,614 to 1,778 MiB, now the
	// run's peak and still under the 2 GiB target.
	settings := []string{`set global asof_loop_join_threshold = 0`, `set global checkpoint_threshold = '256MB'`}
	if set.MemoryLimit != "" {
		settings = append(settings, fmt.Sprintf(`set global memory_limit = '%s'`, strings.ReplaceAll(set.MemoryLimit, "'", "")))
	}
	if set.Threads > 0 {
		settings = append(settings, fmt.Sprintf(`set global threads = %d`, set.Threads))
	}
	for _, q := range settings {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("open warehouse %s: %s: %w", path, q, err)
		}
	}
	if !readOnly {
		if err := w.exec(ctx, bootstrapSQL); err != nil {
			db.Close()
			return nil, fmt.Errorf("warehouse bootstrap: %w", err)
		}
		if err := w.vacuumSchedule(ctx, set); err != nil {
			db.Close()
			return nil, fmt.Errorf("open warehouse %s: %w", path, err)
		}
	}
	return w, nil
}

// vacuumSchedule turns the checkpoints' vacuum off (DuckDB's max_vacuum_tasks = 0) unless
// set.VacuumDays is zero or the last vacuum in meta.vacuums was at least that many dates
// ago; Close checkpoints a due vacuum and records it. A warehouse without a recorded vacuum
// starts the clock.
//
// A DuckDB checkpoint vacuums a table it writes: it rewrites adjacent row groups whose live
// rows fit in fewer (2 into 1 once they hold at most one row group's 122,880 rows, 4 into 3
// at 25% deleted; duckdb PR 9931). Each night's incremental build deletes and re-appends
// about 1% of a table, which qualifies again and again: a table just under a row group
// (125k accounts, less 1% deleted, plus the 1% appended) is rewritten whole every night, and
// the partial row groups a parallel full build leaves are merged at the first night's
// deletes. Measured with 'revcast transform' on copies of one large warehouse after
// bench/pipeline.sh's nights (1% of records changed each), 3 runs each: the closing
// checkpoint took 7.4-7.9 s on night 1 and 4.7-5.8 s on night 2 with the vacuum, 2.1-2.8 s
// and 2.2-2.5 s without. Over nights 3 to 9 of one chain, vacuuming at every checkpoint cost
// 4.9-10.8 s a night, 53 s in all; with a 7-day schedule six nights cost 2.8-3.6 s and the
// seventh, which vacuums what the week deferred, 21.9 s: 40 s in all. Between vacuums the
// file grows by the week's deleted rows and small appended row groups (23 MB a night at
// large); the vacuum itself grew it by 383 MB of blocks that later writes reuse.
func (w *Warehouse) vacuumSchedule(ctx context.Context, set DBSettings) error {
	if set.VacuumDays <= 0 {
		w.Vacuum = true
		return nil
	}
	now := time.Now
	if set.Now != nil {
		now = set.Now
	}
	at := now().UTC()
	var last sql.NullTime
	if err := w.DB.QueryRowContext(ctx, `select max(vacuumed_at) from meta.vacuums`).Scan(&last); err != nil {
		return fmt.Errorf("read meta.vacuums: %w", err)
	}
	if !last.Valid {
		if err := w.exec(ctx, `insert into meta.vacuums values (?)`, at); err != nil {
			return fmt.Errorf("start meta.vacuums: %w", err)
		}
	} else if days := int(revcastDate(at).Sub(revcastDate(last.Time)) / (24 * time.Hour)); days >= set.VacuumDays {
		w.Vacuum, w.vacuumDue = true, at
		return nil
	}
	return w.exec(ctx, `set global max_vacuum_tasks = 0`)
}

// friendlyLockError explains DuckDB's single-writer lock.
func friendlyLockError(err error) error {
	if err != nil && strings.Contains(err.Error(), "Could not set lock") {
		return fmt.Errorf("%w (another revcast process has the warehouse open for writing; wait for it or stop it)", err)
	}
	return err
}

const bootstrapSQL = `
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists meta;
create table if not exists meta.loaded_files (
	path varchar primary key, source varchar, stream varchar, raw_table varchar,
	rows bigint, loaded_at timestamptz);
create table if not exists meta.models (
	name varchar primary key, schema_name varchar, kind varchar, description varchar,
	grain varchar, key varchar, rows bigint, built_at timestamptz, seconds double);
-- Incremental builds (incremental.go): the load batch of each file, how each model was
-- last brought up to date, and each model's state.
alter table meta.loaded_files add column if not exists batch bigint;
alter table meta.models add column if not exists build varchar;
create table if not exists meta.model_state (
	name varchar primary key, fingerprint varchar, version bigint, batch bigint, inputs varchar);
-- The vacuum schedule (DBSettings.VacuumDays): when checkpoints vacuumed, the first row
-- when the clock started.
create table if not exists meta.vacuums (vacuumed_at timestamptz);
`

// unordered runs fn, a bulk write (the lake's load, the models' build), with DuckDB's
// preserve_insertion_order off, then turns it back on (the default, which the forecast's
// paged outcomes read relies on: features.go). With it on, the checkpoint after a large
// insert compressed the inserted string columns all over again (perf: FSST and dictionary
// compression under the checkpoint's column writer): 6.4M history rows inserted from the
// lake in 10.1 s, then checkpointed in 11.7 s; with it off, 8.8 s and 0.09 s. On a fresh
// warehouse with the large company's lake (13.5M rows), checkpointing explicitly after
// each step: after the load 29.4 -> 7.8 s, after the models 16.4 -> 3.9 s, the load and
// the models themselves unchanged. No model relies on the order of a table's rows: one
// that orders says so with ORDER BY, which DuckDB keeps either way. The setting is the
// whole database instance's, not this connection's: that is safe because a process's
// pipeline stages run one after another (under the data directory's pipeline lock), so
// no outcomes are paged while a load or build runs.
// See https://duckdb.org/docs/stable/guides/performance/how_to_tune_workloads.
func (w *Warehouse) unordered(ctx context.Context, fn func() error) error {
	if _, err := w.DB.ExecContext(ctx, `set global preserve_insertion_order = false`); err != nil {
		return err
	}
	err := fn()
	if _, rerr := w.DB.ExecContext(context.WithoutCancel(ctx), `set global preserve_insertion_order = true`); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Close closes the database, checkpointing the write-ahead log. When this open's vacuum was
// due (DBSettings.VacuumDays), it checkpoints first and records the vacuum in meta.vacuums
// only once that checkpoint succeeded.
func (w *Warehouse) Close() error {
	var err error
	if at := w.vacuumDue; !at.IsZero() {
		w.vacuumDue = time.Time{}
		ctx := context.Background()
		if err = w.exec(ctx, `checkpoint`); err != nil {
			err = fmt.Errorf("vacuum %s: checkpoint: %w", w.Path, err)
		} else if err = w.exec(ctx, `insert into meta.vacuums values (?)`, at); err != nil {
			err = fmt.Errorf("vacuum %s: record it in meta.vacuums: %w", w.Path, err)
		}
	}
	return errors.Join(err, w.DB.Close())
}

func (w *Warehouse) exec(ctx context.Context, q string, args ...any) error {
	_, err := w.DB.ExecContext(ctx, q, args...)
	return err
}

// tableExists reports whether schema.name exists.
func (w *Warehouse) tableExists(ctx context.Context, schema, name string) (bool, error) {
	var n int
	err := w.DB.QueryRowContext(ctx,
		`select count(*) from duckdb_tables() where schema_name = ? and table_name = ?`, schema, name).Scan(&n)
	return n > 0, err
}

// ident quotes an SQL identifier.
func ident(s string) string { return duckx.Ident(s) }

// literal quotes an SQL string literal.
func literal(s string) string { return duckx.Literal(s) }

// ErrReadOnly is returned for a write attempted on a read-only warehouse.
var ErrReadOnly = errors.New("the warehouse is open read-only")
