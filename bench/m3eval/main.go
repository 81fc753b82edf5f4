// Command m3eval prepares the M3 competition data for `revcast timeseries` and scores what
// any forecaster wrote in revcast's output format, so that revcast and other tools (see
// bench/m3.sh and bench/compare.sh) are measured on the same split by the same code.
//
//	m3eval split --in m3_monthly.csv --train TRAIN.csv --test TEST.csv [--every K]
//	m3eval score --train TRAIN.csv --test TEST.csv --forecast FC.csv --season M
//
// split reads a wide M3 file (Series, N, NF, Category, Starting Year, Starting
// Month|Quarter, then the N observations; see ../shared/datasets/README.md) and writes two
// long CSVs series_id,t,value: the first N-NF observations (t = 1..N-NF) for training and the
// last NF (t = N-NF+1..N) held out. --every K keeps every K-th series in file order (the
// 1st, the K+1-th, ...), a deterministic subset.
//
// score reads the training and held-out CSVs and a forecast CSV with the columns
// series_id,h,method,forecast and optionally lo<L>,hi<L> pairs (what `revcast timeseries`
// writes; empty bounds mean no interval) and prints one line of key=value pairs:
//
//	series=1428 points=25704 smape=14.141 mase=0.8650 cov80=0.8012 cov95=0.9213 methods=ets:1428
//
// smape and mase are means over series (timeseries.SMAPE, the M3 definition
// 200/h sum |y-f|/(|y|+|f|), and timeseries.MASE, scaled by the in-sample seasonal naive
// with period --season) of the per-series means over horizons 1..NF; cov<L> is the share of
// held-out points inside the level-L interval, over the points that have one; methods counts
// the method column per series (fallbacks show there). Series whose MASE scale is zero or
// undefined are left out of the MASE mean and counted as mase_skipped.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/revcast/revcast/models/timeseries"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "split":
		err = runSplit(os.Args[2:])
	case "score":
		err = runScore(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "m3eval:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  m3eval split --in m3_monthly.csv --train TRAIN.csv --test TEST.csv [--every K]
  m3eval score --train TRAIN.csv --test TEST.csv --forecast FC.csv --season M`)
	os.Exit(2)
}

func runSplit(args []string) error {
	fs := flag.NewFlagSet("split", flag.ExitOnError)
	in := fs.String("in", "", "wide M3 CSV (e.g. m3_monthly.csv)")
	trainPath := fs.String("train", "", "output: training observations, long CSV series_id,t,value")
	testPath := fs.String("test", "", "output: held-out observations, long CSV series_id,t,value")
	every := fs.Int("every", 1, "keep every K-th series in file order (1: all)")
	_ = fs.Parse(args)
	if *in == "" || *trainPath == "" || *testPath == "" || *every < 1 {
		return errors.New("split: --in, --train and --test are required, --every >= 1")
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	defer f.Close()
	series, err := readM3(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("split: %s: %w", *in, err)
	}
	var train, test strings.Builder
	train.WriteString("series_id,t,value\n")
	test.WriteString("series_id,t,value\n")
	kept := 0
	for i, s := range series {
		if i%*every != 0 {
			continue
		}
		kept++
		for k, v := range s.values {
			b := &train
			if k >= len(s.values)-s.nf {
				b = &test
			}
			fmt.Fprintf(b, "%s,%d,%s\n", s.id, k+1, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	if err := os.WriteFile(*trainPath, []byte(train.String()), 0o644); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	if err := os.WriteFile(*testPath, []byte(test.String()), 0o644); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	fmt.Fprintf(os.Stderr, "m3eval split: %d of %d series from %s\n", kept, len(series), *in)
	return nil
}

// m3Series is one row of an M3 file: its id, all N observations and the horizon NF.
type m3Series struct {
	id     string
	values []float64
	nf     int
}

// readM3 reads a wide M3 file: Series, N, NF, Category, Starting Year, Starting
// Month|Quarter, then N observations (the row may be padded with empty fields).
func readM3(r io.Reader) ([]m3Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var out []m3Series
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 6 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 6", line, len(rec))
		}
		id := strings.TrimSpace(rec[0])
		n, err1 := strconv.Atoi(strings.TrimSpace(rec[1]))
		nf, err2 := strconv.Atoi(strings.TrimSpace(rec[2]))
		if err1 != nil || err2 != nil || nf < 1 || nf >= n || len(rec) < 6+n {
			return nil, fmt.Errorf("line %d: series %s: bad N/NF or fewer than N values", line, id)
		}
		s := m3Series{id: id, values: make([]float64, n), nf: nf}
		for k := range s.values {
			if s.values[k], err = strconv.ParseFloat(strings.TrimSpace(rec[6+k]), 64); err != nil {
				return nil, fmt.Errorf("line %d: series %s value %d: %w", line, id, k+1, err)
			}
		}
		out = append(out, s)
	}
}

func runScore(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	trainPath := fs.String("train", "", "training observations, long CSV series_id,t,value (for the MASE scale)")
	testPath := fs.String("test", "", "held-out observations, long CSV series_id,t,value")
	fcPath := fs.String("forecast", "", "forecasts: series_id,h,method,forecast[,lo<L>,hi<L>...]")
	season := fs.Int("season", 0, "seasonal period of the MASE scale (12 monthly, 4 quarterly, 1 yearly/other)")
	_ = fs.Parse(args)
	if *trainPath == "" || *testPath == "" || *fcPath == "" || *season < 1 {
		return errors.New("score: --train, --test, --forecast and --season >= 1 are required")
	}
	train, err := readLong(*trainPath)
	if err != nil {
		return err
	}
	test, err := readLong(*testPath)
	if err != nil {
		return err
	}
	fcs, levels, err := readForecasts(*fcPath)
	if err != nil {
		return err
	}
	trainByID := make(map[string][]float64, len(train))
	for _, s := range train {
		trainByID[s.ID] = s.Values
	}

	var (
		smapeSum, maseSum    float64
		maseN, maseSkipped   int
		points               int
		inside, withInterval = make([]int, len(levels)), make([]int, len(levels))
		methods              = map[string]int{}
	)
	for _, s := range test {
		y := s.Values
		fc, ok := fcs[s.ID]
		if !ok {
			return fmt.Errorf("score: %s: no forecast for series %q", *fcPath, s.ID)
		}
		tr, ok := trainByID[s.ID]
		if !ok {
			return fmt.Errorf("score: %s: no training data for series %q", *trainPath, s.ID)
		}
		if len(fc.mean) < len(y) {
			return fmt.Errorf("score: %s: series %q: forecasts for h=1..%d, want h=1..%d", *fcPath, s.ID, len(fc.mean), len(y))
		}
		f := fc.mean[:len(y)]
		for k, v := range f {
			if math.IsNaN(v) {
				return fmt.Errorf("score: %s: series %q: no forecast at h=%d", *fcPath, s.ID, k+1)
			}
		}
		smapeSum += timeseries.SMAPE(y, f)
		if len(tr) > *season {
			if v := timeseries.MASE(tr, y, f, *season); !math.IsNaN(v) && !math.IsInf(v, 0) {
				maseSum += v
				maseN++
			} else {
				maseSkipped++
			}
		} else {
			maseSkipped++
		}
		for j := range levels {
			for k, v := range y {
				lo, hi := fc.lower[j][k], fc.upper[j][k]
				if math.IsNaN(lo) || math.IsNaN(hi) {
					continue
				}
				withInterval[j]++
				if v >= lo && v <= hi {
					inside[j]++
				}
			}
		}
		points += len(y)
		methods[fc.method]++
	}
	if len(test) == 0 {
		return fmt.Errorf("score: %s: no held-out series", *testPath)
	}
	fmt.Fprintf(stdout, "series=%d points=%d smape=%.3f mase=%.4f", len(test), points,
		smapeSum/float64(len(test)), maseSum/float64(max(maseN, 1)))
	if maseSkipped > 0 {
		fmt.Fprintf(stdout, " mase_skipped=%d", maseSkipped)
	}
	for j, l := range levels {
		cov := math.NaN()
		if withInterval[j] > 0 {
			cov = float64(inside[j]) / float64(withInterval[j])
		}
		fmt.Fprintf(stdout, " cov%s=%.4f", l, cov)
		if withInterval[j] < points {
			fmt.Fprintf(stdout, " cov%s_points=%d", l, withInterval[j])
		}
	}
	names := make([]string, 0, len(methods))
	for m := range methods {
		names = append(names, m)
	}
	sort.Strings(names)
	for i, m := range names {
		names[i] = fmt.Sprintf("%s:%d", m, methods[m])
	}
	fmt.Fprintf(stdout, " methods=%s\n", strings.Join(names, ","))
	return nil
}

// readLong reads a long CSV series_id,t,value with timeseries.ReadLongCSV.
func readLong(path string) ([]timeseries.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	defer f.Close()
	s, err := timeseries.ReadLongCSV(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("score: %s: %w", path, err)
	}
	return s, nil
}

// seriesForecast is one series of a forecast CSV, indexed by h-1; missing horizons are NaN.
type seriesForecast struct {
	method       string
	mean         []float64
	lower, upper [][]float64 // [level][h-1]
}

// readForecasts reads a forecast CSV in the format of `revcast timeseries`: a header with
// series_id, h, method, forecast and any number of lo<L>,hi<L> pairs, one row per series and
// horizon. Empty or "nan" cells are NaN. It returns the forecasts by series id and the
// interval levels as written in the header (e.g. "80", "95").
func readForecasts(path string) (map[string]*seriesForecast, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("score: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("score: %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	for _, name := range []string{"series_id", "h", "forecast"} {
		if _, ok := col[name]; !ok {
			return nil, nil, fmt.Errorf("score: %s: no %q column in the header %q", path, name, strings.Join(header, ","))
		}
	}
	var levels []string
	var loCol, hiCol []int
	for _, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if l, ok := strings.CutPrefix(name, "lo"); ok {
			if j, ok := col["hi"+l]; ok {
				levels = append(levels, l)
				loCol = append(loCol, col[name])
				hiCol = append(hiCol, j)
			}
		}
	}
	methodCol, hasMethod := col["method"]
	num := func(s string) (float64, error) {
		s = strings.TrimSpace(s)
		if s == "" || strings.EqualFold(s, "nan") {
			return math.NaN(), nil
		}
		return strconv.ParseFloat(s, 64)
	}
	out := map[string]*seriesForecast{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, levels, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("score: %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		id := strings.TrimSpace(rec[col["series_id"]])
		h, err := strconv.Atoi(strings.TrimSpace(rec[col["h"]]))
		if err != nil || h < 1 {
			return nil, nil, fmt.Errorf("score: %s line %d: h %q: want an integer >= 1", path, line, rec[col["h"]])
		}
		s := out[id]
		if s == nil {
			s = &seriesForecast{lower: make([][]float64, len(levels)), upper: make([][]float64, len(levels))}
			if hasMethod {
				s.method = strings.TrimSpace(rec[methodCol])
			}
			out[id] = s
		}
		for len(s.mean) < h {
			s.mean = append(s.mean, math.NaN())
			for j := range levels {
				s.lower[j] = append(s.lower[j], math.NaN())
				s.upper[j] = append(s.upper[j], math.NaN())
			}
		}
		if s.mean[h-1], err = num(rec[col["forecast"]]); err != nil {
			return nil, nil, fmt.Errorf("score: %s line %d: forecast: %w", path, line, err)
		}
		for j := range levels {
			if s.lower[j][h-1], err = num(rec[loCol[j]]); err != nil {
				return nil, nil, fmt.Errorf("score: %s line %d: lo%s: %w", path, line, levels[j], err)
			}
			if s.upper[j][h-1], err = num(rec[hiCol[j]]); err != nil {
				return nil, nil, fmt.Errorf("score: %s line %d: hi%s: %w", path, line, levels[j], err)
			}
		}
	}
}
