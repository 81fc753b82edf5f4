package files_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var (
	stages     = []string{"Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"}
	categories = []string{"pipeline", "best_case", "commit", "closed", "omitted"}
	currencies = []string{"USD", "EUR", "GBP"}
)

// genOpportunities writes n canonical opportunities rows with ids O-<start..start+n-1> to
// path and returns the ids.
func genOpportunities(t testing.TB, path string, start, n int) []string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("opportunity_id,account_id,owner_id,name,type,stage,forecast_category,probability,amount,currency," +
		"discount_pct,close_date,created_date,is_closed,is_won,lead_source,modified_at\n")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, 0, n)
	var b []byte
	for i := start; i < start+n; i++ {
		id := fmt.Sprintf("O-%07d", i)
		ids = append(ids, id)
		st := stages[i%len(stages)]
		b = append(b[:0], id...)
		b = append(b, ",A-"...)
		b = strconv.AppendInt(b, int64(i%5000), 10)
		b = append(b, ",U-"...)
		b = strconv.AppendInt(b, int64(i%97), 10)
		b = append(b, ",Deal "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ",new business,"...)
		b = append(b, st...)
		b = append(b, ',')
		b = append(b, categories[i%len(categories)]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(i%11*10), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(i*7919%1000000), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(10+i%90), 10)
		b = append(b, ',')
		b = append(b, currencies[i%len(currencies)]...)
		b = append(b, ',')
		b = strconv.AppendFloat(b, float64(i%30)/2, 'f', -1, 64)
		b = append(b, ',')
		b = base.AddDate(0, 0, 30+i%400).AppendFormat(b, "2006-01-02")
		b = append(b, ',')
		b = base.AddDate(0, 0, i%300).AppendFormat(b, "2006-01-02")
		b = append(b, ',')
		b = strconv.AppendBool(b, i%6 >= 4)
		b = append(b, ',')
		b = strconv.AppendBool(b, i%6 == 4)
		b = append(b, ",web,"...)
		b = base.Add(time.Duration(i)*time.Minute).AppendFormat(b, time.RFC3339)
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// genAccounts writes n canonical accounts rows with ids A-<start..> and returns the ids.
func genAccounts(t testing.TB, path string, start, n int) []string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("account_id,account_name,country,segment,created_date,modified_at\n")
	ids := make([]string, 0, n)
	for i := start; i < start+n; i++ {
		id := fmt.Sprintf("A-%06d", i)
		ids = append(ids, id)
		fmt.Fprintf(w, "%s,\"Company %d, Inc.\",DE,smb,2024-01-%02d,2026-01-01T00:00:00Z\n", id, i, 1+i%28)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}
