// Command winprobmatrix builds the win-probability model's training matrix exactly as
// `revcast forecast` does, writes it to CSV for other tools, and times revcast's logistic
// fit (winprob.Fit) on it. It is the revcast side of the scikit-learn comparison in
// bench/compare.sh (bench/python/logit_sklearn.py reads the CSVs).
//
//	winprobmatrix --warehouse DIR/data/warehouse.duckdb [--as-of YYYY-MM-DD]
//	              --train TRAIN.csv --test TEST.csv [--coef COEF.csv] [--runs 5] [--check]
//
// The matrix: the warehouse's forecast snapshots (transform.Warehouse.Snapshots over
// forecast.TrainingDays(asOf, 730) plus asOf, sampled as cmd/revcast/forecast.go samples
// them), then the win-model rows that forecast.Fit selects with its default Options
// (Features: forecast.Full): snapshots on the training grid in [asOf-730, asOf-90] days of
// deals closed before asOf, subsampled by a hash of the opportunity id above 400,000 rows,
// encoded by forecast.NewEncoder/Encode, and split by snapshot date: the latest 25% of
// dates are the held-out (calibration) fold, the rest the fitting fold. The label is 1 for
// a deal closed won. forecast.Fit keeps that selection internal, so it is repeated here;
// --check runs forecast.Fit on the same snapshots and verifies that its win model has the
// same row counts and the same coefficients as the fit here (it does, bit for bit, when the
// selection matches).
//
// The fit: winprob.Fit with the options forecast.Fit uses for the win model:
// Lambda = max(1e-4, 3/rows), GradTol 1e-5, MaxIter 2000; --runs times with every core
// (Workers 0 = GOMAXPROCS) and --runs times with one worker, reporting the median wall time
// of each (the data are in memory; reading the warehouse is not timed). The held-out
// log-loss is winprob.LogLoss of the uncalibrated probabilities sigma(z) on the test fold.
//
// CSV layout: a header with the feature names and "y", one row per snapshot, values with
// full float64 precision. Output lines are key=value pairs, one line per measurement.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/models/winprob"
	"github.com/revcast/revcast/transform"
)

// Settings of `revcast forecast` and forecast.Fit's defaults (models/forecast/model.go
// Options.withDefaults, cmd/revcast/forecast.go).
const (
	windowDays       = 730
	lagDays          = 90
	calibrationShare = 0.25
	maxWinRows       = 400_000
	winGradTol       = 1e-5
	winMaxIter       = 2000
	// forecast's lambdaFor: Lambda = max(lambdaFloor, lambdaRows / rows).
	lambdaFloor = 1e-4
	lambdaRows  = 3.0
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "winprobmatrix:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	whPath := flag.String("warehouse", "", "warehouse file (e.g. demo/data/warehouse.duckdb), opened read-only")
	asOfFlag := flag.String("as-of", "", "forecast date YYYY-MM-DD (default: the as-of of the warehouse's last transform)")
	trainPath := flag.String("train", "", "output: the fitting fold, CSV of features and y")
	testPath := flag.String("test", "", "output: the held-out fold, CSV of features and y")
	coefPath := flag.String("coef", "", "output (optional): revcast's fitted intercept and coefficients, on the standardised scale")
	runs := flag.Int("runs", 5, "fits per setting; the median wall time is reported")
	check := flag.Bool("check", false, "also run forecast.Fit and verify its win model matches the fit here")
	flag.Parse()
	if *whPath == "" || *trainPath == "" || *testPath == "" || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}

	w, err := transform.Open(ctx, *whPath, true)
	if err != nil {
		return err
	}
	defer w.Close()
	asOf, err := asOfDay(ctx, w, *asOfFlag)
	if err != nil {
		return err
	}

	// Snapshots as `revcast forecast` reads them.
	t := time.Now()
	data, dates, sampleMod, err := w.TrainingSnapshots(ctx, asOf, windowDays)
	if err != nil {
		return err
	}
	fmt.Printf("snapshots as_of=%s dates=%d rows=%d sample_mod=%d seconds=%.1f\n", asOf, len(dates), len(data.Snapshots), max(sampleMod, 1), time.Since(t).Seconds())

	fitD, testD := winMatrix(data.Snapshots, data.Outcomes, asOf)
	lambda := math.Max(lambdaFloor, lambdaRows/math.Max(float64(fitD.Rows()), 1))
	if err := writeCSV(*trainPath, fitD); err != nil {
		return err
	}
	if err := writeCSV(*testPath, testD); err != nil {
		return err
	}
	pos := 0.0
	for _, y := range fitD.Y {
		pos += y
	}
	fmt.Printf("matrix train_rows=%d test_rows=%d cols=%d train_win_rate=%.4f lambda=%.6g\n",
		fitD.Rows(), testD.Rows(), fitD.Cols(), pos/float64(max(fitD.Rows(), 1)), lambda)

	opts := winprob.Options{Lambda: lambda, GradTol: winGradTol, MaxIter: winMaxIter}
	var model *winprob.Model
	for _, workers := range []int{0, 1} {
		opts.Workers = workers
		times := make([]float64, 0, *runs)
		for range *runs {
			t := time.Now()
			m, err := winprob.Fit(fitD, opts)
			times = append(times, time.Since(t).Seconds())
			if err != nil {
				return fmt.Errorf("winprob fit: %w", err)
			}
			model = m
		}
		slices.Sort(times)
		label := "all"
		if workers == 1 {
			label = "1"
		}
		fmt.Printf("revcast_fit workers=%s runs=%d median_s=%.4f min_s=%.4f max_s=%.4f iterations=%d passes=%d status=%s objective=%.10g grad_norm=%.3g train_logloss=%.6f test_logloss=%.6f\n",
			label, *runs, median(times), times[0], times[len(times)-1], model.Fit.Iterations, model.Fit.FuncEvals, model.Fit.Status,
			model.Fit.Objective, model.Fit.GradNorm, model.Fit.Loss, winprob.LogLoss(model.PredictAll(testD.X, nil), testD.Y, nil))
	}
	if *coefPath != "" {
		if err := writeCoef(*coefPath, model); err != nil {
			return err
		}
	}

	if *check {
		t := time.Now()
		fm, err := forecast.Fit(data.Snapshots, data.Outcomes, asOf, forecast.Options{Features: forecast.Full})
		if err != nil {
			return fmt.Errorf("check: forecast.Fit: %w", err)
		}
		diff := math.Abs(fm.Win.Intercept - model.Intercept)
		for j := range model.Coef {
			diff = math.Max(diff, math.Abs(fm.Win.Coef[j]-model.Coef[j]))
		}
		ok := fm.Metrics.WinRows == fitD.Rows() && fm.Metrics.WinCalibrationRows == testD.Rows() &&
			slices.Equal(fm.Encoder.Names, fitD.Names) && diff < 1e-9
		fmt.Printf("check forecast_fit_win_rows=%d win_calibration_rows=%d max_coef_diff=%.3g match=%t seconds=%.1f\n",
			fm.Metrics.WinRows, fm.Metrics.WinCalibrationRows, diff, ok, time.Since(t).Seconds())
		if !ok {
			return errors.New("check: the matrix built here differs from forecast.Fit's win-model matrix; update winMatrix to follow models/forecast/model.go")
		}
	}
	return nil
}

// asOfDay parses --as-of, or reads meta.settings.as_of as `revcast forecast` does.
func asOfDay(ctx context.Context, w *transform.Warehouse, s string) (forecast.Day, error) {
	if s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, fmt.Errorf("--as-of %q: want YYYY-MM-DD", s)
		}
		return forecast.DayOf(t), nil
	}
	var t sql.NullTime
	if err := w.DB.QueryRowContext(ctx, `select as_of from meta.settings limit 1`).Scan(&t); err != nil || !t.Valid {
		return 0, fmt.Errorf("no as-of date in meta.settings (%v): pass --as-of YYYY-MM-DD", err)
	}
	return forecast.DayOf(t.Time), nil
}

// winMatrix repeats forecast.Fit's selection and encoding of the win model's rows
// (models/forecast/model.go: Fit and fitWin, default Options, Features Full) and returns the
// fitting fold and the held-out fold.
func winMatrix(snaps []forecast.Snapshot, outcomes []forecast.Outcome, asOf forecast.Day) (fitD, testD winprob.Dataset) {
	out := make(map[string]*forecast.Outcome, len(outcomes))
	for i := range outcomes {
		out[outcomes[i].OpportunityID] = &outcomes[i]
	}
	from := asOf - windowDays
	lagTo := asOf - lagDays
	grid := map[forecast.Day]bool{}
	for _, d := range forecast.TrainingDays(asOf, windowDays) {
		grid[d] = true
	}
	var idx []int
	for i := range snaps {
		s := &snaps[i]
		if s.Day < from || s.Day > lagTo || !grid[s.Day] {
			continue
		}
		if o := out[s.OpportunityID]; o != nil && o.Closed(asOf) {
			idx = append(idx, i)
		}
	}
	if len(idx) > maxWinRows { // forecast's subsample: keep a deal at every date or at none
		k := uint32((len(idx) + maxWinRows - 1) / maxWinRows)
		kept := idx[:0:0]
		for _, i := range idx {
			h := fnv.New32a()
			h.Write([]byte(snaps[i].OpportunityID))
			if h.Sum32()%k == 0 {
				kept = append(kept, i)
			}
		}
		idx = kept
	}
	train := make([]forecast.Snapshot, len(idx))
	for k, i := range idx {
		train[k] = snaps[i]
	}
	enc := forecast.NewEncoder(train, forecast.Full)

	days := make([]forecast.Day, 0, len(train))
	for i := range train {
		days = append(days, train[i].Day)
	}
	slices.Sort(days)
	days = slices.Compact(days)
	split := days[len(days)-max(1, int(math.Round(float64(len(days))*calibrationShare)))]
	if len(days) == 1 {
		split = days[0] + 1
	}
	fitD = winprob.Dataset{Names: enc.Names}
	testD = winprob.Dataset{Names: enc.Names}
	row := make([]float64, enc.Width())
	for i := range train {
		s := &train[i]
		enc.Encode(s, row)
		y := 0.0
		if out[s.OpportunityID].Won {
			y = 1
		}
		d := &fitD
		if s.Day >= split {
			d = &testD
		}
		d.X = append(d.X, row...)
		d.Y = append(d.Y, y)
	}
	if fitD.Rows() == 0 {
		fitD, testD = testD, winprob.Dataset{Names: enc.Names}
	}
	return fitD, testD
}

// writeCSV writes the feature names and y as a header, then one row per observation.
func writeCSV(path string, d winprob.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	quoted := make([]string, len(d.Names))
	for j, n := range d.Names {
		quoted[j] = strconv.Quote(n) // names hold '=' and '*', never a quote
	}
	bw.WriteString(strings.Join(quoted, ",") + ",y\n")
	var buf []byte
	for i := range d.Y {
		buf = buf[:0]
		for _, x := range d.Row(i) {
			buf = strconv.AppendFloat(buf, x, 'g', -1, 64)
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, d.Y[i], 'g', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// writeCoef writes name,coef rows: "(intercept)" first, then each standardised coefficient.
func writeCoef(path string, m *winprob.Model) error {
	var b strings.Builder
	b.WriteString("name,coef\n")
	fmt.Fprintf(&b, "(intercept),%s\n", strconv.FormatFloat(m.Intercept, 'g', -1, 64))
	for j, n := range m.Names {
		fmt.Fprintf(&b, "%s,%s\n", strconv.Quote(n), strconv.FormatFloat(m.Coef[j], 'g', -1, 64))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
