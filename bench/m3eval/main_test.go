package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSplitScore splits a two-series wide file and scores hand-made forecasts whose errors
// are known.
func TestSplitScore(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(path(name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A: train 1,2,3,4 (naive MAE scale 1), test 5,6. B: train 10,10,20,20 (scale 10/3),
	// test 20,20. Category padded with spaces and a trailing empty field, as in the M3 files.
	write("wide.csv", "Series,N,NF,Category,Starting Year,Starting Month,1,2,3,4,5,6,\n"+
		"A,6,2,MICRO       ,1990,1,1,2,3,4,5,6,\n"+
		"B,6,2,MICRO       ,1990,1,10,10,20,20,20,20,\n")
	if err := runSplit([]string{"--in", path("wide.csv"), "--train", path("train.csv"), "--test", path("test.csv")}); err != nil {
		t.Fatal(err)
	}
	test, _ := os.ReadFile(path("test.csv"))
	if want := "series_id,t,value\nA,5,5\nA,6,6\nB,5,20\nB,6,20\n"; string(test) != want {
		t.Fatalf("test.csv = %q, want %q", test, want)
	}
	// A: forecasts 5 and 4 (errors 0, 2), interval 80 holds h=1 only, 95 both.
	// B: forecasts 20, 20 (no error), empty bounds (no interval).
	write("fc.csv", "series_id,h,method,forecast,lo80,hi80,lo95,hi95\n"+
		"A,2,ets,4,3,5,0,10\n"+ // rows in any order
		"A,1,ets,5,4,6,0,10\n"+
		"B,1,naive,20,,,,\n"+
		"B,2,naive,20,,,,\n")
	var out strings.Builder
	if err := runScore([]string{"--train", path("train.csv"), "--test", path("test.csv"), "--forecast", path("fc.csv"), "--season", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	// sMAPE A = 200/2 * (0 + 2/10) = 20, B = 0: mean 10. MASE A = mean |e| 1 / scale 1 = 1,
	// B = 0: mean 0.5. Coverage over A's 2 points: 80% 1/2, 95% 2/2.
	want := "series=2 points=4 smape=10.000 mase=0.5000 cov80=0.5000 cov80_points=2 cov95=1.0000 cov95_points=2 methods=ets:1,naive:1\n"
	if out.String() != want {
		t.Errorf("score:\n got %q\nwant %q", out.String(), want)
	}

	write("short.csv", "series_id,h,method,forecast\nA,1,ets,5\nB,1,ets,20\nB,2,ets,20\n")
	err := runScore([]string{"--train", path("train.csv"), "--test", path("test.csv"), "--forecast", path("short.csv"), "--season", "1"}, &out)
	if err == nil || !strings.Contains(err.Error(), `series "A": forecasts for h=1..1, want h=1..2`) {
		t.Errorf("short forecast: err = %v", err)
	}
}
