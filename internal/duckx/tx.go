// Package duckx holds small helpers for using the embedded DuckDB warehouse through
// database/sql where database/sql alone falls short.
package duckx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// Tx is a transaction on one pinned warehouse connection that can also bulk-append rows
// with DuckDB's Appender. database/sql's *sql.Tx gives no access to the driver connection
// the Appender needs, so Tx begins and ends the transaction with SQL statements on a
// *sql.Conn instead; rows appended through Append are part of the transaction and commit or
// roll back with everything else run through Exec and QueryRow.
//
// Why the Appender: a multi-row INSERT with bound parameters is prepared and bound per
// statement; for a log written in thousands of batches that preparation dominated (72% of
// write-back's CPU at 28.6k writes, `revcast writeback --cpuprofile`). The Appender writes
// values straight into DuckDB's column chunks.
type Tx struct {
	conn *sql.Conn
	done bool
}

// Begin pins a connection of db and begins a transaction on it. The caller must end it
// with Commit or Rollback (Rollback after Commit is a no-op, so `defer tx.Rollback()`
// is safe).
func Begin(ctx context.Context, db *sql.DB) (*Tx, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
		discard(conn)
		return nil, err
	}
	return &Tx{conn: conn}, nil
}

// ExecContext runs a statement inside the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.conn.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query inside the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(ctx, query, args...)
}

// Append appends n rows to schema.table with DuckDB's Appender, inside the transaction.
// row(i) returns the i-th row's values in the table's column order (nil for NULL), or an
// error that stops the append. A
// constraint violation (a duplicate primary key, a NULL in a NOT NULL column) fails the
// call; the caller should then roll back. Values are matched to columns by position, so
// callers keep row in step with the table's DDL. Append does not watch a context: it only
// copies values into the database, without I/O of its own.
func (t *Tx) Append(schema, table string, n int, row func(i int) ([]driver.Value, error)) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("duckdb connection does not implement driver.Conn")
		}
		a, err := duckdb.NewAppenderFromConn(c, schema, table)
		if err != nil {
			return fmt.Errorf("append to %s.%s: %w", schema, table, err)
		}
		for i := 0; i < n; i++ {
			v, err := row(i)
			if err != nil {
				a.Close()
				return fmt.Errorf("append to %s.%s: %w", schema, table, err)
			}
			if err := a.AppendRow(v...); err != nil {
				a.Close()
				return fmt.Errorf("append to %s.%s: row %d: %w", schema, table, i, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("append to %s.%s: %w", schema, table, err)
		}
		return nil
	})
}

// Commit commits the transaction and releases the connection.
func (t *Tx) Commit() error {
	if t.done {
		return errors.New("duckx: transaction already ended")
	}
	t.done = true
	if _, err := t.conn.ExecContext(context.Background(), "commit"); err != nil {
		discard(t.conn)
		return err
	}
	return t.conn.Close()
}

// Rollback rolls the transaction back and releases the connection; after Commit or an
// earlier Rollback it does nothing.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if _, err := t.conn.ExecContext(context.Background(), "rollback"); err != nil {
		discard(t.conn)
		return err
	}
	return t.conn.Close()
}

// discard closes conn without returning it to the pool: after a failed begin, commit or
// rollback its transaction state is unknown, and duckdb-go cannot reset a session.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
