package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/transform"
)

// TestWriteback_EchoIsNotAChange: after revcast writes its deal fields into Salesforce,
// the next extraction lands every written Opportunity again (Salesforce stamped it
// modified). Those versions are set aside in raw.salesforce__opportunity__echo and the
// models that read opportunities are not rebuilt for them; a person's change to an
// Opportunity made after the write-back is still a change. The next write-back diffs
// against the landed copy and reads back from the CRM only what differs: nothing, then the
// one record a person edited.
func TestWriteback_EchoIsNotAChange(t *testing.T) {
	ctx := context.Background()
	asOf := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	co, err := fixtures.Generate(fixtures.Options{Seed: 11, Opportunities: 800, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := co.WriteCSVWith(filepath.Join(dir, "exports"), fixtures.CSVOptions{Tables: demoFileTables}); err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.Start(co, "127.0.0.1:0", sandbox.ServerOptions{CRMs: []sandbox.CRM{sandbox.CRMSalesforce}, SAP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("SF_CLIENT_SECRET", sandbox.SalesforceDemoClientSecret)
	t.Setenv("SAP_PASSWORD", sandbox.SAPDemoPassword)
	sources := salesforceSourceYAML(srv.URLs["salesforce"], "") + sapSourceYAML(srv.URLs["sap"], "") + filesSourceYAML("./exports", "")
	cfg, err := writeConfig(dir, configTemplateData{DataDir: "./data", Sources: sources,
		Writeback: "writeback:\n  mode: auto\n  target: salesforce\n" + allowAll()}, true)
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, errs, code := run(t, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("revcast %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
		}
		return errs
	}
	day := "2026-06-30"
	cli("extract", "--log-level", "warn")
	cli("transform", "--as-of", day, "--log-level", "warn")
	cli("forecast", "--as-of", day, "--log-level", "warn")
	cli("writeback", "--log-level", "warn")

	whPath := filepath.Join(dir, "data", "warehouse.duckdb")
	query := func(q string) int64 {
		t.Helper()
		w, err := transform.Open(ctx, whPath, true)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		var n int64
		if err := w.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	written := query(`select count(distinct key) from writeback_log where object = 'Opportunity' and status = 'ok'`)
	if written < 50 {
		t.Fatalf("write-back wrote %d opportunities; the test needs a real write-back", written)
	}
	before := query(`select count(*) from raw.salesforce__opportunity`)
	echoes := written // rows raw.salesforce__opportunity__echo should hold
	built := query(`select count(*) from meta.models where name = 'opportunities'`)
	if built != 1 {
		t.Fatalf("opportunities built %d times, want 1", built)
	}

	// An extraction vouches for the copy of the writes made before its run started; run ids
	// have whole seconds, so a write in the same second as the run's start is not vouched for.
	nextSecond := func() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) }
	t.Run("the write-back comes back as echoes", func(t *testing.T) {
		nextSecond()
		cli("extract", "--source", "salesforce", "--log-level", "warn")
		errs := cli("transform", "--as-of", day, "--log-level", "debug")
		if got := query(`select count(*) from raw.salesforce__opportunity__echo`); got != echoes {
			t.Errorf("echo rows %d, want the %d opportunities written", got, echoes)
		}
		if got := query(`select count(*) from raw.salesforce__opportunity`); got != before {
			t.Errorf("raw.salesforce__opportunity grew from %d to %d rows", before, got)
		}
		for _, model := range []string{"salesforce__opportunity", "opportunities"} {
			line := lastLine(errs, `name=`+model+` `)
			t.Log(line)
			if !strings.Contains(line, "build=skipped") && !strings.Contains(line, "partitions=0") {
				t.Errorf("%s rebuilt for echoes only: %s", model, line)
			}
		}
	})
	// oppReads counts the Opportunity records write-back asked the CRM for since seq.
	oppReads := func(since int64) int {
		n := 0
		for _, r := range srv.Salesforce.Requests(since) {
			if strings.Contains(r.Query, "FROM Opportunity WHERE Id IN") {
				n += strings.Count(r.Query, "'") / 2
			}
		}
		return n
	}
	t.Run("the next write-back diffs against the landed copy", func(t *testing.T) {
		seq := lastSeq(srv.Salesforce)
		cli("writeback")
		if n := oppReads(seq); n != 0 {
			t.Errorf("write-back read %d opportunities back from the CRM, want 0 (the landed copy holds every value)", n)
		}
		noWrites(t, srv.Salesforce, seq)
	})
	t.Run("a person's edit of a revcast field is set back", func(t *testing.T) {
		c, err := LoadConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		src := c.Configured[0].Source.(*salesforce.Source)
		var id string
		var want any
		for _, r := range srv.Salesforce.Records("Opportunity") {
			rec, _ := srv.Salesforce.Get("Opportunity", r.ID)
			if v := rec["Revcast_Win_Probability__c"]; v != nil {
				id, want = r.ID, v
				break
			}
		}
		if id == "" {
			t.Fatal("no opportunity carries a win probability after the write-back")
		}
		if err := src.Update(ctx, "Opportunity", id, map[string]any{"Revcast_Win_Probability__c": 99.9}); err != nil {
			t.Fatal(err)
		}
		nextSecond()
		cli("extract", "--source", "salesforce", "--log-level", "warn")
		cli("transform", "--as-of", day, "--log-level", "warn")
		seq := lastSeq(srv.Salesforce)
		cli("writeback")
		if n := oppReads(seq); n != 1 {
			t.Errorf("write-back read %d opportunities back from the CRM, want the 1 edited", n)
		}
		if rec, _ := srv.Salesforce.Get("Opportunity", id); rec["Revcast_Win_Probability__c"] != want {
			t.Errorf("%s win probability %v after write-back, want revcast's %v back", id, rec["Revcast_Win_Probability__c"], want)
		}
		echoes++ // the edit: only a revcast field moved
		// Again, with no extraction between: the copy does not hold the write just made,
		// so that record is read back (and found as wanted); the others are not.
		seq = lastSeq(srv.Salesforce)
		cli("writeback")
		if n := oppReads(seq); n != 1 {
			t.Errorf("a second write-back read %d opportunities back, want the 1 written since the last extraction", n)
		}
		noWrites(t, srv.Salesforce, seq)
	})
	t.Run("a person's change is a change", func(t *testing.T) {
		if _, err := srv.Salesforce.Mutate("Opportunity", 5, 0, 3); err != nil {
			t.Fatal(err)
		}
		cli("extract", "--source", "salesforce", "--log-level", "warn")
		cli("transform", "--as-of", day, "--log-level", "warn")
		if got := query(`select count(*) from raw.salesforce__opportunity`); got != before+5 {
			t.Errorf("raw.salesforce__opportunity has %d rows, want %d (5 changed)", got, before+5)
		}
		echoes++ // revcast's restore of the edit above
		if got := query(`select count(*) from raw.salesforce__opportunity__echo`); got != echoes {
			t.Errorf("echo rows %d, want %d", got, echoes)
		}
	})
	t.Run("a moved project loads nothing again and keeps diffing against its copy", func(t *testing.T) {
		cli("writeback", "--log-level", "warn")
		nextSecond()
		cli("extract", "--source", "salesforce", "--log-level", "warn")
		cli("transform", "--as-of", day, "--log-level", "warn")
		// What a write-back reads back from the CRM here before the move (1 record of 800:
		// the copy vouches for the others) is what it must read after it.
		seq := lastSeq(srv.Salesforce)
		cli("writeback")
		readBefore := oppReads(seq)

		noWrites(t, srv.Salesforce, seq)
		if readBefore*10 > int(written) {
			t.Fatalf("write-back read %d of %d opportunities back before the move; the test needs a copy that vouches for most", readBefore, written)
		}
		rawRows := query(`select count(*) from raw.salesforce__opportunity`) + query(`select count(*) from raw.salesforce__opportunity__echo`)
		// The project restored under another directory: its paths are relative to the config.
		moved := filepath.Join(t.TempDir(), "moved")
		if err := os.Rename(dir, moved); err != nil {
			t.Fatal(err)
		}
		cfg = filepath.Join(moved, filepath.Base(cfg))
		whPath = filepath.Join(moved, "data", "warehouse.duckdb")
		errs := cli("transform", "--as-of", day, "--log-level", "info")
		if line := lastLine(errs, `msg="loaded lake files"`); !strings.Contains(line, " files=0 ") {
			t.Errorf("the moved project loaded its lake again: %s", line)
		}
		if got := query(`select count(*) from raw.salesforce__opportunity`) + query(`select count(*) from raw.salesforce__opportunity__echo`); got != rawRows {
			t.Errorf("raw opportunity rows %d after the move, want %d", got, rawRows)
		}
		seq = lastSeq(srv.Salesforce)
		cli("writeback")
		if n := oppReads(seq); n != readBefore {
			t.Errorf("write-back in the moved project read %d opportunities back from the CRM, want the %d it read before the move", n, readBefore)
		}
		noWrites(t, srv.Salesforce, seq)
	})
}
