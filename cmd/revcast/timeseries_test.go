package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func runTimeseries(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = NewMain(&out, &errb).Run(context.Background(), append([]string{"timeseries"}, args...))
	return code, out.String(), errb.String()
}

func TestTimeseries(t *testing.T) {
	dir := filepath.Join("testdata", "timeseries")

	t.Run("forecasts", func(t *testing.T) {
		code, out, errs := runTimeseries(t, "--in", filepath.Join(dir, "sales.csv"), "--horizon", "3", "--season", "4")
		if code != 0 {
			t.Fatalf("exit code %d, stderr:\n%s", code, errs)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("output is not CSV: %v\n%s", err, out)
		}
		want := []string{"series_id", "h", "method", "forecast", "lo80", "hi80", "lo95", "hi95"}
		if strings.Join(rows[0], ",") != strings.Join(want, ",") {
			t.Fatalf("header %v, want %v", rows[0], want)
		}
		// sales.csv: north (24 quarters, integer t), south (20 quarters, dates), tiny (3 points).
		if got := len(rows) - 1; got != 3*3 {
			t.Fatalf("%d rows, want 9 (3 series x 3 horizons)", got)
		}
		methods := map[string]string{}
		for _, r := range rows[1:] {
			methods[r[0]] = r[2]
			var v [5]float64
			for i := range v {
				if v[i], err = strconv.ParseFloat(r[3+i], 64); err != nil {
					t.Fatalf("row %v: column %s: %v", r, want[3+i], err)
				}
			}
			mean, lo80, hi80, lo95, hi95 := v[0], v[1], v[2], v[3], v[4]
			if !(lo95 <= lo80 && lo80 <= mean && mean <= hi80 && hi80 <= hi95) {
				t.Errorf("row %v: want lo95 <= lo80 <= forecast <= hi80 <= hi95", r)
			}
		}
		if methods["north"] != "combo" || methods["south"] != "combo" || methods["tiny"] != "naive" {
			t.Errorf("methods %v: want combo for north and south, naive for tiny", methods)
		}
		if !strings.Contains(errs, "tiny") || !strings.Contains(errs, "too short") {
			t.Errorf("stderr does not say that series tiny fell back:\n%s", errs)
		}
	})

	t.Run("levels and out file", func(t *testing.T) {
		outFile := filepath.Join(t.TempDir(), "fc.csv")
		code, _, errs := runTimeseries(t, "--in", filepath.Join(dir, "sales.csv"), "--horizon", "2",
			"--season", "4", "--method", "snaive", "--level", "90", "--out", outFile)
		if code != 0 {
			t.Fatalf("exit code %d, stderr:\n%s", code, errs)
		}
		b, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		data := string(b)
		if !strings.HasPrefix(data, "series_id,h,method,forecast,lo90,hi90\n") {
			t.Fatalf("output:\n%s", data)
		}
		if !strings.Contains(data, "north,1,snaive,") {
			t.Errorf("no seasonal naive row for north:\n%s", data)
		}
	})

	t.Run("bad line", func(t *testing.T) {
		code, _, errs := runTimeseries(t, "--in", filepath.Join(dir, "bad_value.csv"), "--horizon", "2", "--season", "1")
		if code != 2 {
			t.Fatalf("exit code %d, want 2; stderr:\n%s", code, errs)
		}
		if !strings.Contains(errs, "line 4") || !strings.Contains(errs, "value") {
			t.Errorf("stderr should name line 4 and the value column:\n%s", errs)
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"--horizon", "2", "--season", "1"}, // no --in
			{"--in", filepath.Join(dir, "sales.csv"), "--horizon", "0", "--season", "1"},
			{"--in", filepath.Join(dir, "sales.csv"), "--horizon", "2", "--season", "1", "--method", "arima"},
			{"--in", filepath.Join(dir, "sales.csv"), "--horizon", "2", "--season", "1", "--level", "80,100"},
		} {
			if code, _, errs := runTimeseries(t, args...); code != 2 {
				t.Errorf("%v: exit code %d, want 2; stderr:\n%s", args, code, errs)
			}
		}
	})
}
