package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/models/timeseries"
)

func init() { commands = append(commands, newTimeseriesCmd) }

func newTimeseriesCmd(m *Main) *cobra.Command {
	var (
		in, out, method, levels string
		horizon, season         int
	)
	cmd := &cobra.Command{
		Use:   "timeseries --in FILE.csv --horizon H --season M",
		Short: "Forecast series from a long CSV (series_id,t,value) with ETS, Theta or their combination",
		Long: `Forecast every series of a long CSV file with columns series_id,t,value (t an integer
index or a date YYYY-MM-DD; rows in any order) and write one row per series and horizon:
series_id,h,method,forecast,lo80,hi80,lo95,hi95 (the lo/hi columns follow --level).

Methods: auto (the default, currently combo), ets (automatic exponential smoothing, model
chosen by AICc), theta, combo (mean of ets, averaged over its models by Akaike weights, and
theta) and snaive (seasonal naive). A series too short for the method falls back to a
simpler one, said on stderr and in the method column.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			meth, err := timeseries.ParseMethod(method)
			if err != nil {
				return &usageError{fmt.Errorf("--method: %w", err)}
			}
			lv, err := parseLevels(levels)
			if err != nil {
				return &usageError{err}
			}
			switch {
			case in == "":
				return &usageError{errors.New("--in FILE.csv is required")}
			case horizon < 1:
				return &usageError{fmt.Errorf("--horizon %d: want a number of periods >= 1", horizon)}
			case season < 1:
				return &usageError{fmt.Errorf("--season %d: want the seasonal period (12 monthly, 4 quarterly, 1 none)", season)}
			}

			f, err := os.Open(in)
			if err != nil {
				return &usageError{fmt.Errorf("--in: %w", err)}
			}
			defer f.Close()
			series, err := timeseries.ReadLongCSV(bufio.NewReader(f))
			var ce *timeseries.CSVError
			if errors.As(err, &ce) {
				return &usageError{fmt.Errorf("%s: %w", in, err)}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			ys := make([][]float64, len(series))
			for i, s := range series {
				ys[i] = s.Values
			}
			fcs, err := timeseries.FitMany(cmd.Context(), ys, season, meth, timeseries.Options{Horizon: horizon, Levels: lv}, 0)
			if err != nil {
				return fmt.Errorf("timeseries: %w", err)
			}
			for i, fc := range fcs {
				if fc.Note != "" {
					m.Logger.Warn("timeseries: "+fc.Note, "series", series[i].ID, "method", string(fc.Method))
				}
			}

			if out == "" {
				bw := bufio.NewWriter(m.Stdout)
				if err := writeForecasts(bw, series, fcs, lv); err != nil {
					return fmt.Errorf("write forecasts: %w", err)
				}
				return bw.Flush()
			}
			// Write next to the target and rename, so a failed run leaves no half file.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".timeseries-*.csv")
			if err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			defer os.Remove(tmp.Name()) // no-op after the rename
			bw := bufio.NewWriter(tmp)
			err = tmp.Chmod(0o644) // CreateTemp makes it 0600; an output file is for sharing
			if err == nil {
				err = writeForecasts(bw, series, fcs, lv)
			}
			if err == nil {
				err = bw.Flush()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			if err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in, "in", "", "input CSV with columns series_id,t,value")
	fl.IntVar(&horizon, "horizon", 0, "number of periods to forecast")
	fl.IntVar(&season, "season", 0, "seasonal period: 12 monthly, 4 quarterly, 7 daily with weekly pattern, 1 none")
	fl.StringVar(&method, "method", "auto", "auto, ets, theta, combo or snaive")
	fl.StringVar(&levels, "level", "80,95", "prediction interval levels in percent, comma-separated")
	fl.StringVar(&out, "out", "", "output CSV (default stdout)")
	return cmd
}

// parseLevels parses --level, e.g. "80,95".
func parseLevels(s string) ([]float64, error) {
	var lv []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(v > 0 && v < 100) {
			return nil, fmt.Errorf("--level %q: want percentages in (0, 100), e.g. 80,95", s)
		}
		lv = append(lv, v)
	}
	return lv, nil
}

// writeForecasts writes series_id,h,method,forecast,lo<L>,hi<L>... rows; NaN bounds (no
// interval could be estimated) are left empty.
func writeForecasts(w io.Writer, series []timeseries.Series, fcs []timeseries.Forecast, levels []float64) error {
	cw := csv.NewWriter(w)
	row := []string{"series_id", "h", "method", "forecast"}
	for _, l := range levels {
		ls := strconv.FormatFloat(l, 'f', -1, 64)
		row = append(row, "lo"+ls, "hi"+ls)
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		// 10 significant digits: more than any forecast deserves, fewer than float64 noise.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 10, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	for i, fc := range fcs {
		for k, mu := range fc.Mean {
			row = append(row[:0], series[i].ID, strconv.Itoa(k+1), string(fc.Method), num(mu))
			for j := range levels {
				row = append(row, num(fc.Lower[j][k]), num(fc.Upper[j][k]))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
