package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/transform"
)

// run executes revcast with args and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := NewMain(&out, &errb).Run(context.Background(), args)
	return out.String(), errb.String(), code
}

// TestDemo_WarehouseMatchesGenerator runs the demo end to end and checks that every core
// table holds exactly the generator's row count (read from its ground truth, not from the
// demo's own summary): through the Salesforce sandbox and connector (the default) and
// through file exports, at small and — unless -short — medium scale.
func TestDemo_WarehouseMatchesGenerator(t *testing.T) {
	for _, tc := range []struct{ via, erp, scale string }{
		{"sandbox", "sap", "small"}, {"sandbox", "netsuite", "small"}, {"files", "", "small"},
		{"sandbox", "sap", "medium"}, {"files", "", "medium"},
	} {
		t.Run(tc.via+"/"+tc.erp+"/"+tc.scale, func(t *testing.T) {
			if tc.scale == "medium" && testing.Short() {
				t.Skip("medium scale skipped with -short")
			}
			dir := t.TempDir()
			out, errs, code := run(t, "demo", "--via", tc.via, "--erp", cmp.Or(tc.erp, "sap"), "--dir", dir, "--scale", tc.scale, "--seed", "7", "--as-of", "2026-06-30", "--log-level", "warn")
			if code != 0 {
				t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			truth, err := fixtures.ReadTruth(filepath.Join(dir, "truth"))
			if err != nil {
				t.Fatal(err)
			}
			w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), true)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if len(truth.Counts) < 18 {
				t.Fatalf("ground truth has counts for %d tables, want every core table", len(truth.Counts))
			}
			for table, want := range truth.Counts {
				var got int
				if err := w.DB.QueryRow(fmt.Sprintf(`select count(*) from main.%q`, table)).Scan(&got); err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				if got != want {
					t.Errorf("%s: warehouse has %d rows, generator made %d", table, got, want)
				}
			}
			// The demo leaves a config behind so other commands work inside dir.
			q, errs, code := run(t, "--config", filepath.Join(dir, "revcast.yaml"), "sql", "--format", "csv",
				"select count(*) as n from opportunities where is_won and not is_closed")
			if code != 0 || strings.TrimSpace(q) != "n\n0" {
				t.Fatalf("sql after demo: exit %d, out %q, err %s", code, q, errs)
			}
		})
	}
}

func TestSQL_RejectsWrites(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := run(t, "demo", "--dir", dir, "--scale", "300", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	cfg := filepath.Join(dir, "revcast.yaml")
	_, errs, code := run(t, "--config", cfg, "sql", "drop table opportunities")
	if code == 0 || !strings.Contains(errs, "read-only") {
		t.Fatalf("write statement: exit %d, stderr %q; want a failure saying read-only", code, errs)
	}
	out, _, code := run(t, "--config", cfg, "tables")
	if code != 0 || !strings.Contains(out, "opportunities") || !strings.Contains(out, "grain: one row per opportunity") {
		t.Fatalf("tables: exit %d\n%s", code, out)
	}
	_, errs, code = run(t, "--config", cfg, "sql", "--format", "xml", "select 1")
	if code != 2 {
		t.Fatalf("bad --format: exit %d (%s), want 2", code, errs)
	}
}

func TestInit_WritesAValidConfig(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := run(t, "init", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "revcast.yaml") {
		t.Fatalf("init output %q", out)
	}
	// The exports folder does not exist yet: loading must say so, naming the key.
	_, err := LoadConfig(filepath.Join(dir, "revcast.yaml"))
	if err == nil || !strings.Contains(err.Error(), "path") {
		t.Fatalf("load before exports exist: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "exports"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "revcast.yaml"))
	if err != nil {
		t.Fatalf("the config init writes must load: %v", err)
	}
	if len(cfg.Configured) != 1 || cfg.Configured[0].Type != "files" || len(cfg.Schedule.Jobs) != 1 {
		t.Fatalf("decoded %+v", cfg)
	}
	if _, _, code := run(t, "init", "--dir", dir); code != 2 {
		t.Fatalf("second init without --force: exit %d, want 2", code)
	}
}

func TestRun_PipelineLock(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := run(t, "demo", "--dir", dir, "--scale", "200", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	cfgPath := filepath.Join(dir, "revcast.yaml")
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// A report that cannot be written fails the run, but not before the write-back ran.
	if err := os.RemoveAll(cfg.DataPath("reports")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.DataPath("reports"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := run(t, "--config", cfgPath, "run", "--log-level", "info")
	if code != 1 || !strings.Contains(errs, "report:") || !strings.Contains(errs, `msg="stage finished" stage=writeback`) {
		t.Fatalf("run with an unwritable report folder: exit %d, want 1 after the write-back stage\n%s", code, errs)
	}
	// The demo wrote a report; the run must write its own (the scheduled job is a run).
	if err := os.Remove(cfg.DataPath("reports")); err != nil {
		t.Fatal(err)
	}
	_, errs, code = run(t, "--config", cfgPath, "run", "--log-level", "info")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	var stages []string
	for _, line := range strings.Split(errs, "\n") {
		if _, rest, ok := strings.Cut(line, `msg="stage finished" stage=`); ok {
			stages = append(stages, strings.Fields(rest)[0])
			if runtime.GOOS == "linux" && (!strings.Contains(rest, " peak_rss_mib=") || !strings.Contains(rest, " process_peak_rss_mib=")) {
				t.Errorf("stage line without its peak memory: %s", line)
			}
			if runtime.GOOS == "linux" && !strings.Contains(rest, " cpu_seconds=") {
				t.Errorf("stage line without its CPU time: %s", line)
			}
		}
	}
	if want := "extract transform forecast report writeback"; strings.Join(stages, " ") != want {
		t.Fatalf("run's stages %v, want %s\n%s", stages, want, errs)
	}
	if reports, _ := filepath.Glob(cfg.DataPath("reports", "revcast-report-*.html")); len(reports) != 1 {
		t.Fatalf("run wrote reports %v, want one", reports)
	}
	unlock, err := lockPipeline(cfg) // another process (or scheduler job) holds the pipeline
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, errs, code = run(t, "--config", cfgPath, "run")
	if code != 1 || !strings.Contains(errs, "another revcast process") {
		t.Fatalf("run while locked: exit %d, stderr %q", code, errs)
	}
	out, _, code := run(t, "--config", cfgPath, "schedule", "--list", "3")
	if code != 0 || strings.Count(out, "nightly") != 3 {
		t.Fatalf("schedule --list: exit %d\n%s", code, out)
	}
}

func TestInit_Sandbox(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := run(t, "init", "--dir", dir, "--sandbox", "http://127.0.0.1:8700"); code != 0 {
		t.Fatalf("init --sandbox: exit %d: %s", code, errs)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "revcast.yaml"))
	if err != nil {
		t.Fatalf("the config init --sandbox writes must load: %v", err)
	}
	var got []string
	for _, s := range cfg.Configured {
		got = append(got, fmt.Sprintf("%s:%v", s.Name, s.Enabled))
	}
	if want := "salesforce:true hubspot:true dynamics:true sap:true netsuite:false"; strings.Join(got, " ") != want {
		t.Fatalf("sources %v, want %s", got, want)
	}
	if _, _, code := run(t, "init", "--dir", t.TempDir(), "--sandbox", "not a url"); code != 2 {
		t.Fatalf("bad --sandbox URL: exit %d, want 2", code)
	}
}

// TestExecJob_SingleStage: a scheduled job naming one stage runs it as a pipeline stage
// does (its time and memory logged), and an unknown command is refused by name.
func TestExecJob_SingleStage(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := run(t, "demo", "--dir", dir, "--scale", "200", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "revcast.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(cfg.DataPath("reports")); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := NewMain(&bytes.Buffer{}, &logs)
	m.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	for _, command := range []string{"transform", "report"} {
		if err := m.execJob(context.Background(), cfg, JobConfig{Name: "job-" + command, Command: command}); err != nil {
			t.Fatalf("%s job: %v", command, err)
		}
		if !strings.Contains(logs.String(), `msg="stage finished" stage=`+command+" ") {
			t.Fatalf("%s job logged no stage line:\n%s", command, logs.String())
		}
	}
	if reports, _ := filepath.Glob(cfg.DataPath("reports", "revcast-report-*.html")); len(reports) != 1 {
		t.Fatalf("report job wrote %v, want one report", reports)
	}
	err = m.execJob(context.Background(), cfg, JobConfig{Name: "odd", Command: "nonsense"})
	if err == nil || !strings.Contains(err.Error(), `command "nonsense"`) {
		t.Fatalf("unknown command: %v", err)
	}
}
