package duckx_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/revcast/revcast/internal/duckx"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`create table t (id bigint primary key, name varchar, n integer)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`select count(*) from t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func rows(from int64) func(i int) ([]driver.Value, error) {
	return func(i int) ([]driver.Value, error) {
		var name driver.Value = "r"
		if i%2 == 1 {
			name = nil
		}
		return []driver.Value{from + int64(i), name, int32(i)}, nil
	}
}

func TestTx(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		commit bool
		dup    bool // append a key that is already there
		want   int
	}{
		{name: "commit keeps appended and executed rows", commit: true, want: 1 + 1000 + 1},
		{name: "rollback drops both", commit: false, want: 1},
		{name: "duplicate key fails the append", commit: true, dup: true, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			if _, err := db.Exec(`insert into t values (0, 'seed', 0)`); err != nil {
				t.Fatal(err)
			}
			tx, err := duckx.Begin(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			from := int64(1)
			if tc.dup {
				from = 0
			}
			err = tx.Append("main", "t", 1000, rows(from))
			if tc.dup {
				if err == nil {
					t.Fatal("appending an existing primary key succeeded")
				}
				tx.Rollback()
				if got := count(t, db); got != tc.want {
					t.Fatalf("rows after the failed append: %d, want %d", got, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `insert into t values (5000, 'x', 1)`); err != nil {
				t.Fatal(err)
			}
			var inTx int
			if err := tx.QueryRowContext(ctx, `select count(*) from t`).Scan(&inTx); err != nil || inTx != 1002 {
				t.Fatalf("rows seen inside the transaction: %d (%v), want 1002", inTx, err)
			}
			if got := count(t, db); got != 1 {
				t.Fatalf("another connection sees %d rows before commit, want 1", got)
			}
			if tc.commit {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			} else if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if got := count(t, db); got != tc.want {
				t.Fatalf("rows: %d, want %d", got, tc.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	db := openDB(t)
	var got string
	if err := db.QueryRow(`select ` + duckx.Literal(`it's "x"`) + ` as ` + duckx.Ident(`a "b"`)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != `it's "x"` {
		t.Errorf("got %q", got)
	}
}
