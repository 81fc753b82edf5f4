package files_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/files"
	"github.com/revcast/revcast/extract/internal/laketest"
)

var testNow = time.Date(2026, 5, 27, 14, 15, 3, 0, time.UTC)

// newSource returns an initialised files source over dir; configure may adjust it first.
func newSource(t testing.TB, dir string, configure func(*files.Files)) *files.Files {
	t.Helper()
	src, err := extract.New(files.TypeName)
	if err != nil {
		t.Fatal(err)
	}
	f := src.(*files.Files)
	f.Name = "exports"
	f.Path = dir
	if configure != nil {
		configure(f)
	}
	if err := f.Init(); err != nil {
		t.Fatal(err)
	}
	return f
}

// runner returns a Runner into dataDir with a fixed clock.
func runner(dataDir, run string) *extract.Runner {
	return &extract.Runner{DataDir: dataDir, RunID: revcast.RunID(run), Now: func() time.Time { return testNow }}
}

func extractAll(t testing.TB, f *files.Files, dataDir, run string, opts extract.ExtractOptions) extract.Result {
	t.Helper()
	res, err := runner(dataDir, run).Extract(context.Background(), "exports", f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func streamResult(t testing.TB, res extract.Result, stream string) extract.StreamResult {
	t.Helper()
	for _, s := range res.Streams {
		if s.Stream == stream {
			return s
		}
	}
	t.Fatalf("no stream %s in result %+v", stream, res)
	return extract.StreamResult{}
}

func TestFiles_BadRowsAreRejectedAndTheRestLands(t *testing.T) {
	dataDir := t.TempDir()
	f := newSource(t, "testdata/bad_rows", nil)
	res := extractAll(t, f, dataDir, "r1", extract.ExtractOptions{})
	sr := streamResult(t, res, "opportunities")

	// The three planted rows: lines are 1-based file lines, the header is line 1 and
	// OPP-003 spans lines 4-5, so the bad rows sit on lines 6, 8 and 9.
	wantRejects := []extract.Reject{
		{Line: 6, Field: "close_date", Reason: `"2026-13-45": not a date in format "2006-01-02"`},
		{Line: 8, Field: "amount", Reason: `"12,x": not a number`},
		{Line: 9, Field: "opportunity_id", Reason: "missing required value"},
	}
	if sr.Rejected != 3 || len(sr.Rejects) != 3 {
		t.Fatalf("rejected = %d %+v, want 3", sr.Rejected, sr.Rejects)
	}
	for i, want := range wantRejects {
		got := sr.Rejects[i]
		if got.Line != want.Line || got.Field != want.Field || got.Reason != want.Reason {
			t.Errorf("reject %d = {%d %s %s}, want {%d %s %s}", i, got.Line, got.Field, got.Reason, want.Line, want.Field, want.Reason)
		}
		if got.Raw == "" {
			t.Errorf("reject %d has no raw row", i)
		}
	}
	b, err := os.ReadFile(sr.RejectsFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[0] != "line,field,reason,raw" ||
		!strings.HasPrefix(lines[1], `6,close_date,"""2026-13-45"": not a date`) ||
		!strings.HasPrefix(lines[2], `8,amount,"""12,x"": not a number",`) ||
		!strings.HasPrefix(lines[3], `9,opportunity_id,missing required value,`) {
		t.Errorf("rejects file:\n%s", b)
	}

	// Every good row lands with its values converted exactly.
	if sr.Rows != 7 || sr.Files != 1 {
		t.Fatalf("rows = %d, files = %d; want 7 rows in 1 file", sr.Rows, sr.Files)
	}
	rows := laketest.Rows(t, laketest.Files(t, dataDir, "exports", "opportunities")...)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r["opportunity_id"])
	}
	if want := []string{"OPP-001", "OPP-002", "OPP-003", "OPP-005", "OPP-008", "OPP-009", "OPP-010"}; !slices.Equal(ids, want) {
		t.Fatalf("landed ids = %v, want %v", ids, want)
	}
	checks := []struct {
		row        int
		col, value string // value "" means null
	}{
		{0, "amount", "1200.00"},
		{0, "close_date", "2026-03-31"},
		{0, "probability", "10"},
		{0, "is_won", "false"},
		{1, "amount", "-350.50"},
		{2, "name", "Multi\nline deal"},
		{2, "is_won", "true"},
		{2, "modified_at", "2026-02-28T09:30:00.123456Z"},
		{3, "owner_id", ""},
		{3, "probability", ""},
		{3, "amount", "0.01"},
		{4, "name", "Deal, with comma"},
		{4, "modified_at", "2026-01-31T17:00:00Z"},
		{5, "amount", "1000000.00"},
		{5, "is_closed", "false"},
		{6, "amount", "7.50"},
	}
	for _, c := range checks {
		if got := rows[c.row][c.col]; got != c.value {
			t.Errorf("%s.%s = %q, want %q", ids[c.row], c.col, got, c.value)
		}
	}
}

func TestFiles_MappingFormatsAndDrift(t *testing.T) {
	dataDir := t.TempDir()
	f := newSource(t, "testdata/mapped", func(f *files.Files) {
		f.StreamConfigs = map[string]*files.StreamConfig{"opportunities": {
			File: "opps_*.csv",
			Columns: map[string]string{"Opp ID": "opportunity_id", "Account": "account_id", "Amt": "amount",
				"Close": "close_date", "Created": "created_date", "Closed": "is_closed", "Won": "is_won",
				"Modified": "modified_at", "Secret": "-"},
			StreamOptions: files.StreamOptions{Delimiter: ";", DateFormat: "02/01/2006", DecimalSeparator: ",",
				ThousandsSeparator: ".", Currency: "EUR", Timezone: "Europe/Berlin"},
		}}
	})
	sr := streamResult(t, extractAll(t, f, dataDir, "r1", extract.ExtractOptions{}), "opportunities")
	if sr.Rows != 3 || sr.Rejected != 2 {
		t.Fatalf("rows = %d, rejected = %d; want 3 and 2 (%+v)", sr.Rows, sr.Rejected, sr.Rejects)
	}
	if r := sr.Rejects[0]; r.Line != 4 || r.Field != "amount" || !strings.Contains(r.Reason, `"12,345" (column "Amt"): more than 2 decimal places`) {
		t.Errorf("reject 0 = %+v", r)
	}
	if r := sr.Rejects[1]; r.Line != 5 || r.Field != "close_date" || !strings.Contains(r.Reason, `not a date in format "02/01/2006"`) {
		t.Errorf("reject 1 = %+v", r)
	}
	paths := laketest.Files(t, dataDir, "exports", "opportunities")
	tbl := laketest.ReadTable(t, paths[0])
	defer tbl.Release()
	var names []string
	for _, fl := range tbl.Schema().Fields() {
		names = append(names, fl.Name)
	}
	tab, _ := revcast.LookupTable("opportunities")
	if len(names) != len(tab.Columns)+1 || names[len(names)-1] != "notes" || slices.Contains(names, "secret") {
		t.Fatalf("landed columns = %v: want the canonical ones, then notes; secret dropped", names)
	}
	rows := laketest.Rows(t, paths...)
	want := []map[string]string{
		{"opportunity_id": "E-1", "account_id": "A-1", "stage": "Prospecting", "amount": "1234.56", "currency": "EUR",
			"close_date": "2026-03-31", "created_date": "2026-01-05", "is_closed": "false", "is_won": "false",
			"probability": "10", "notes": "first", "modified_at": "2026-01-05T09:00:00Z"},
		{"opportunity_id": "E-2", "account_id": "A-2", "stage": "Closed Won", "amount": "-0.50", "currency": "EUR",
			"close_date": "2026-02-28", "created_date": "2026-01-06", "is_closed": "true", "is_won": "true",
			"probability": "100", "modified_at": "2026-01-06T09:00:00Z"},
		{"opportunity_id": "E-5", "account_id": "A-5", "stage": "Proposal", "amount": "99.00", "currency": "EUR",
			"close_date": "2026-04-30", "created_date": "2026-01-07", "is_closed": "false", "is_won": "false",
			"notes": "empty probability", "modified_at": "2026-01-07T09:00:00Z"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v", rows)
	}
	for i := range want {
		if fmt.Sprint(rows[i]) != fmt.Sprint(want[i]) {
			t.Errorf("row %d:\n got %v\nwant %v", i, rows[i], want[i])
		}
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFiles_SchemaDrift(t *testing.T) {
	t.Run("missing required column fails naming file and column", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "accounts.csv"), "account_id,country\nA1,DE\n")
		f := newSource(t, dir, nil)
		res, err := runner(t.TempDir(), "r1").Extract(context.Background(), "exports", f, extract.ExtractOptions{})
		if err == nil || !strings.Contains(err.Error(), `accounts.csv: required column "account_name" is missing`) {
			t.Fatalf("err = %v", err)
		}
		if revcast.ErrorCode(err) != revcast.EINVALID || res.Streams[0].Err == nil {
			t.Errorf("code = %s, stream err = %v", revcast.ErrorCode(err), res.Streams[0].Err)
		}
	})
	t.Run("new column lands, missing optional is null, files with different columns", func(t *testing.T) {
		dir, dataDir := t.TempDir(), t.TempDir()
		writeFile(t, filepath.Join(dir, "accounts-1.csv"), "account_id,account_name,country,modified_at\nA1,Acme,DE,2026-01-01T00:00:00Z\n")
		writeFile(t, filepath.Join(dir, "accounts-2.csv"), "Account Name,account_id,Favourite Colour,modified_at\nBeta,A2,blue,2026-01-02T00:00:00Z\n")
		sr := streamResult(t, extractAll(t, newSource(t, dir, nil), dataDir, "r1", extract.ExtractOptions{}), "accounts")
		if sr.Rows != 2 || sr.Files != 2 {
			t.Fatalf("rows = %d, files = %d; want 2 files (schemas differ)", sr.Rows, sr.Files)
		}
		rows := laketest.Rows(t, laketest.Files(t, dataDir, "exports", "accounts")...)
		if rows[0]["country"] != "DE" || rows[1]["account_name"] != "Beta" || rows[1]["favourite_colour"] != "blue" {
			t.Errorf("rows = %v", rows)
		}
		if _, ok := rows[1]["country"]; ok {
			t.Errorf("country missing from the file should be null: %v", rows[1])
		}
	})
	t.Run("file without modified_at gets the file time", func(t *testing.T) {
		dir, dataDir := t.TempDir(), t.TempDir()
		p := filepath.Join(dir, "accounts.csv")
		writeFile(t, p, "account_id,account_name\nA1,Acme\n")
		mt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		os.Chtimes(p, mt, mt)
		extractAll(t, newSource(t, dir, nil), dataDir, "r1", extract.ExtractOptions{})
		rows := laketest.Rows(t, laketest.Files(t, dataDir, "exports", "accounts")...)
		if rows[0]["modified_at"] != "2026-03-01T12:00:00Z" {
			t.Errorf("modified_at = %q", rows[0]["modified_at"])
		}
	})
	t.Run("two columns mapping to one is an error", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "accounts.csv"), "account_id,Account ID,account_name\nA1,A1,Acme\n")
		_, err := runner(t.TempDir(), "r1").Extract(context.Background(), "exports", newSource(t, dir, nil), extract.ExtractOptions{})
		if err == nil || !strings.Contains(err.Error(), `columns "account_id" and "Account ID" both map to account_id`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFiles_DefaultDiscovery(t *testing.T) {
	dir := t.TempDir()
	acc := "account_id,account_name,modified_at\nA1,Acme,2026-01-01T00:00:00Z\n"
	for _, name := range []string{"accounts.csv", "accounts-2026-05.csv", "accounts/part-1.csv", "accounts/part-2.tsv",
		"accounts/.hidden.csv", "accounts-x.csv.tmp", "random.csv", "notes.txt"} {
		content := acc
		if strings.HasSuffix(name, ".tsv") {
			content = strings.ReplaceAll(acc, ",", "\t")
		}
		writeFile(t, filepath.Join(dir, name), content)
	}
	f := newSource(t, dir, nil)
	streams, err := f.Streams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "accounts" || streams[0].Key[0] != "account_id" {
		t.Fatalf("streams = %+v", streams)
	}
	sr := streamResult(t, extractAll(t, f, t.TempDir(), "r1", extract.ExtractOptions{}), "accounts")
	if sr.Rows != 4 { // accounts.csv, accounts-2026-05.csv, accounts/part-1.csv, accounts/part-2.tsv
		t.Errorf("rows = %d, want 4", sr.Rows)
	}
}

func TestFiles_Incremental(t *testing.T) {
	dir, dataDir := t.TempDir(), t.TempDir()
	head := "opportunity_id,account_id,stage,amount,currency,close_date,created_date,is_closed,is_won,modified_at\n"
	row := func(id string) string {
		return id + ",A1,Prospecting,10.00,USD,2026-06-30,2026-01-01,false,false,2026-01-01T00:00:00Z\n"
	}
	writeFile(t, filepath.Join(dir, "opportunities-a.csv"), head+row("a1")+row("a2"))
	writeFile(t, filepath.Join(dir, "opportunities-b.csv"), head+row("b1"))
	f := newSource(t, dir, nil)
	land := func(run string, opts extract.ExtractOptions) extract.StreamResult {
		t.Helper()
		return streamResult(t, extractAll(t, f, dataDir, run, opts), "opportunities")
	}
	newIDs := func(run string) []string {
		t.Helper()
		var ps []string
		for _, p := range laketest.Files(t, dataDir, "exports", "opportunities") {
			if strings.HasPrefix(filepath.Base(p), run+"-") {
				ps = append(ps, p)
			}
		}
		return laketest.Column(t, "opportunity_id", ps...)
	}

	steps := []struct {
		name        string
		change      func()
		opts        extract.ExtractOptions
		wantIDs     []string
		incremental bool
	}{
		{"first run lands everything", func() {}, extract.ExtractOptions{}, []string{"a1", "a2", "b1"}, false},
		{"second run lands nothing", func() {}, extract.ExtractOptions{}, nil, true},
		{"touch without change lands nothing", func() {
			later := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "opportunities-a.csv"), later, later)
		}, extract.ExtractOptions{}, nil, true},
		{"changed file lands again, whole", func() {
			writeFile(t, filepath.Join(dir, "opportunities-b.csv"), head+row("b1")+row("b2"))
		}, extract.ExtractOptions{}, []string{"b1", "b2"}, true},
		{"same size, different content lands", func() {
			writeFile(t, filepath.Join(dir, "opportunities-b.csv"), head+row("b1")+row("b3"))
		}, extract.ExtractOptions{}, []string{"b1", "b3"}, true},
		{"new file lands alone", func() {
			writeFile(t, filepath.Join(dir, "opportunities-c.csv"), head+row("c1"))
		}, extract.ExtractOptions{}, []string{"c1"}, true},
		{"full lands everything again", func() {}, extract.ExtractOptions{Full: true}, []string{"a1", "a2", "b1", "b3", "c1"}, false},
		{"after full, nothing", func() {}, extract.ExtractOptions{}, nil, true},
	}
	for i, s := range steps {
		run := fmt.Sprintf("r%d", i+1)
		s.change()
		sr := land(run, s.opts)
		got := newIDs(run)
		if !slices.Equal(got, s.wantIDs) || sr.Rows != int64(len(s.wantIDs)) || sr.Incremental != s.incremental {
			t.Fatalf("%s: landed %v (rows %d, incremental %v), want %v (incremental %v)", s.name, got, sr.Rows, sr.Incremental, s.wantIDs, s.incremental)
		}
	}
}

func TestFiles_ConfigFromYAML(t *testing.T) {
	good := `
name: exports
type: files
path: testdata/mapped
date_format: "2006-01-02"
decimal_separator: "."
batch_rows: 1000
streams:
  opportunities:
    file: "opps_*.csv"
    columns: {"Opp ID": opportunity_id, "Amt": amount, "Secret": "-"}
    date_format: "02/01/2006"
    decimal_separator: ","
    thousands_separator: "."
    delimiter: ";"
    currency: EUR
`
	f := files.New()
	if err := yaml.UnmarshalWithOptions([]byte(good), f, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if err := f.Init(); err != nil {
		t.Fatal(err)
	}
	sc := f.StreamConfigs["opportunities"]
	if f.BatchRows != 1000 || sc.Currency != "EUR" || sc.DecimalSeparator != "," || sc.Columns["Amt"] != "amount" || f.DateFormat != "2006-01-02" {
		t.Errorf("decoded = %+v / %+v", f, sc)
	}
	if err := yaml.UnmarshalWithOptions([]byte("path: x\ndecimal_sep: \",\"\n"), files.New(), yaml.Strict()); err == nil {
		t.Error("an unknown key must fail in strict mode")
	}

	bad := []struct {
		name, yaml, want string
	}{
		{"no path", `type: files`, "path is required"},
		{"missing folder", `path: testdata/nope`, "testdata/nope"},
		{"not a table", "path: testdata\nstreams: {deals: {}}", "streams.deals: not a canonical table"},
		{"not a column", "path: testdata\nstreams: {opportunities: {columns: {X: amt}}}", `"X" maps to "amt", which is not a column of opportunities`},
		{"two to one", "path: testdata\nstreams: {opportunities: {columns: {X: amount, Y: amount}}}", `"X" and "Y" both map to amount`},
		{"separator", "path: testdata\ndecimal_separator: ';'", `decimal_separator ";"`},
		{"same separators", "path: testdata\ndecimal_separator: ','\nthousands_separator: ','", "both"},
		{"currency", "path: testdata\ncurrency: euro", `currency "euro"`},
		{"timezone", "path: testdata\ntimezone: Mars/Base", `timezone "Mars/Base"`},
		{"glob", "path: testdata\nstreams: {accounts: {file: '[x'}}", `file "[x"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := files.New()
			if err := yaml.UnmarshalWithOptions([]byte(tt.yaml), f, yaml.Strict()); err != nil {
				t.Fatal(err)
			}
			err := f.Init()
			if err == nil || !strings.Contains(err.Error(), tt.want) || revcast.ErrorCode(err) != revcast.EINVALID {
				t.Errorf("Init() = %v, want an EINVALID error containing %q", err, tt.want)
			}
		})
	}
}
