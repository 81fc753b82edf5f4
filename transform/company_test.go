package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/files"
	"github.com/revcast/revcast/fixtures"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// companyAsOf is the synthetic company's "today" in the model evaluations (the demo tests'
// date), and companySeed its seed.
var companyAsOf = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

const companySeed = 7

// companyTables are the core tables the collections and renewal inputs read, and their
// dependencies (fx_rates_daily).
var companyTables = map[string]bool{
	"fx_rates": true, "fx_rates_daily": true, "accounts": true, "erp_customers": true, "products": true, "opportunities": true,
	"opportunity_lines": true, "opportunity_history": true, "sales_orders": true, "invoices": true,
	"payments": true, "ar_open_items": true, "contracts": true, "cases": true,
}

// syntheticCompany is a warehouse built from the synthetic company the way `revcast demo`
// builds it (generate, CSV exports, files connector into the lake, load, core and mart
// models), with the generator's ground truth.
type syntheticCompany struct {
	W     *transform.Warehouse
	Truth *fixtures.Truth
	Build time.Duration
}

var (
	companiesMu sync.Mutex
	companies   = map[int]*syntheticCompany{}
	companyDirs []string
)

// TestMain removes the shared company warehouses after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	companiesMu.Lock()
	for _, c := range companies {
		c.W.Close()
	}
	for _, d := range companyDirs {
		os.RemoveAll(d)
	}
	companiesMu.Unlock()
	os.Exit(code)
}

// mustCompany returns the warehouse of the synthetic company with the given number of
// opportunities (fixtures.ScaleSmall, ScaleMedium), building it on first use and sharing it
// between the tests of this package (read it, write only result tables).
func mustCompany(t testing.TB, opportunities int) *syntheticCompany {
	t.Helper()
	companiesMu.Lock()
	defer companiesMu.Unlock()
	if c, ok := companies[opportunities]; ok {
		return c
	}
	start := time.Now()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "revcast-company-")
	if err != nil {
		t.Fatal(err)
	}
	companyDirs = append(companyDirs, dir)
	co, err := fixtures.Generate(fixtures.Options{Seed: companySeed, Opportunities: opportunities, AsOf: companyAsOf})
	if err != nil {
		t.Fatal(err)
	}
	exports := filepath.Join(dir, "exports")
	if err := co.WriteCSV(exports); err != nil {
		t.Fatal(err)
	}
	truth := co.Truth
	co = nil
	src := files.New()
	src.Path = exports
	if err := src.Init(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	runner := &extract.Runner{DataDir: data, RunID: "20260630T000000Z-000000", Now: func() time.Time { return companyAsOf }}
	if _, err := runner.Extract(ctx, "exports", src, extract.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := transform.Open(ctx, filepath.Join(data, "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return companyAsOf }
	if _, err := w.Load(ctx, filepath.Join(data, "lake"), []transform.LakeSource{{Name: "exports", Type: files.TypeName}}); err != nil {
		w.Close()
		t.Fatal(err)
	}
	all, err := transform.ParseModels(revsql.FS)
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	// The staging models (core tables union them) and only the core tables the collections
	// and renewal models read: other models may be
	// mid-change in the shared tree and are not what these tests measure.
	var models []transform.Model
	for _, m := range all {
		if m.Layer == "staging" || m.Layer == "core" && companyTables[m.Name] {
			models = append(models, m)
		}
	}
	if _, err := w.Build(ctx, models, transform.Settings{BaseCurrency: "USD", AsOf: companyAsOf}); err != nil {
		w.Close()
		t.Fatal(err)
	}
	c := &syntheticCompany{W: w, Truth: truth, Build: time.Since(start)}
	companies[opportunities] = c
	t.Logf("built the synthetic company (%d opportunities, seed %d) in %.1fs", opportunities, companySeed, c.Build.Seconds())
	return c
}
