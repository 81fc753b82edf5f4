package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/files"
	"github.com/revcast/revcast/fixtures"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// matchModels are the golden-record models: name normalisation, candidate pairs and their
// evidence, the account-to-customer links, CRM duplicates, and the customers they make.
var matchModels = []string{"match_names", "match_pairs", "account_matches", "account_duplicates", "customers"}

// matchBenchOpportunities sizes the company of BenchmarkGoldenRecord: the generator makes
// about one CRM account per 8 opportunities, so 200,000 give about 25,000 accounts and
// 20,000 ERP customers.
const matchBenchOpportunities = 200_000

// matchWarehouse is a warehouse holding the core tables the match models read (accounts,
// erp_customers and what they are built from), loaded the way `revcast demo` loads them,
// and the match models in build order. Built once per process and shared by every run of
// the benchmark (-count).
type matchWarehouse struct {
	w         *transform.Warehouse
	models    []transform.Model
	accounts  int64
	customers int64
	setup     time.Duration
	err       error
}

var (
	matchOnce  sync.Once
	matchBench matchWarehouse
)

func mustMatchWarehouse(b *testing.B) *matchWarehouse {
	b.Helper()
	matchOnce.Do(func() { matchBench = buildMatchWarehouse() })
	if matchBench.err != nil {
		b.Fatal(matchBench.err)
	}
	return &matchBench
}

func buildMatchWarehouse() (mw matchWarehouse) {
	start := time.Now()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "revcast-match-bench-")
	if err != nil {
		return matchWarehouse{err: err}
	}
	companiesMu.Lock()
	companyDirs = append(companyDirs, dir) // removed by TestMain
	companiesMu.Unlock()
	co, err := fixtures.Generate(fixtures.Options{Seed: companySeed, Opportunities: matchBenchOpportunities, AsOf: companyAsOf})
	if err != nil {
		return matchWarehouse{err: err}
	}
	exports := filepath.Join(dir, "exports")
	if err := co.WriteCSV(exports); err != nil {
		return matchWarehouse{err: err}
	}
	co = nil
	all, err := transform.ParseModels(revsql.FS)
	if err != nil {
		return matchWarehouse{err: err}
	}
	// The models the match models need, transitively, in build order; the match models
	// themselves are what each iteration rebuilds.
	byName := map[string]transform.Model{}
	for _, m := range all {
		byName[m.Name] = m
	}
	need := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if need[name] {
			return
		}
		need[name] = true
		for _, d := range byName[name].Deps {
			visit(d)
		}
	}
	for _, name := range matchModels {
		visit(name)
	}
	var setupModels []transform.Model
	var streams []string
	for _, m := range all {
		switch {
		case slices.Contains(matchModels, m.Name):
			mw.models = append(mw.models, m)
		case need[m.Name]:
			setupModels = append(setupModels, m)
			if m.Layer == "core" {
				streams = append(streams, m.Name) // the files connector lands core tables as <table>.csv
			}
		}
	}
	src := files.New()
	src.Path = exports
	if err := src.Init(); err != nil {
		return matchWarehouse{err: err}
	}
	data := filepath.Join(dir, "data")
	runner := &extract.Runner{DataDir: data, RunID: "20260630T000000Z-000000", Now: func() time.Time { return companyAsOf }}
	if _, err := runner.Extract(ctx, "exports", src, extract.ExtractOptions{Streams: streams}); err != nil {
		return matchWarehouse{err: err}
	}
	w, err := transform.Open(ctx, filepath.Join(data, "warehouse.duckdb"), false)
	if err != nil {
		return matchWarehouse{err: err}
	}
	w.Now = func() time.Time { return companyAsOf }
	mw.w = w
	if _, err := w.Load(ctx, filepath.Join(data, "lake"), []transform.LakeSource{{Name: "exports", Type: files.TypeName}}); err != nil {
		return matchWarehouse{err: err}
	}
	if _, err := w.Build(ctx, setupModels, transform.Settings{BaseCurrency: "USD", AsOf: companyAsOf}); err != nil {
		return matchWarehouse{err: err}
	}
	if err := w.DB.QueryRowContext(ctx, `select (select count(*) from main.accounts), (select count(*) from main.erp_customers)`).Scan(&mw.accounts, &mw.customers); err != nil {
		return matchWarehouse{err: err}
	}
	mw.setup = time.Since(start)
	return mw
}

// BenchmarkGoldenRecord measures the golden-record matching of a synthetic company of about
// 25,000 CRM accounts and 20,000 ERP customers: one iteration rebuilds the match models
// (match_names, match_pairs, account_matches, account_duplicates, customers) with
// Warehouse.Build on a warehouse whose core tables were loaded once, outside the timer.
// accounts/s is CRM accounts matched per second; pairs is the number of candidate pairs
// blocking let through (a change in it means the matching changed, not only its speed).
func BenchmarkGoldenRecord(b *testing.B) {
	mw := mustMatchWarehouse(b)
	b.Logf("warehouse with %d accounts and %d ERP customers set up in %.1fs", mw.accounts, mw.customers, mw.setup.Seconds())
	ctx := context.Background()
	settings := transform.Settings{BaseCurrency: "USD", AsOf: companyAsOf}
	b.ReportAllocs()
	var pairs int64
	for b.Loop() {
		res, err := mw.w.Build(ctx, mw.models, settings)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range res.Models {
			if m.Name == "match_pairs" {
				pairs = m.Rows
			}
		}
	}
	b.ReportMetric(float64(mw.accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	b.ReportMetric(float64(pairs), "pairs")
}
