// Package timeseries forecasts univariate series: automatic exponential smoothing (AutoETS),
// the Theta method, seasonal naive, and their combination, each with prediction intervals.
//
// It takes plain []float64 (oldest first) and a seasonal period m (12 for monthly data, 4 for
// quarterly, 1 for none) and never sees a database or a config file. The methods follow the
// R forecast package (Hyndman & Khandakar 2008, package version 8.x), whose accuracy on the
// M3 competition data is the published yardstick this package is tested against:
//
//   - ETS: the innovations state space models of Hyndman, Koehler, Ord & Snyder (2008),
//     "Forecasting with Exponential Smoothing: the State Space Approach" (Springer), chosen by
//     AICc among error {A,M} x trend {N,A,Ad} x season {N,A,M} as forecast::ets does
//     (see FPP2 ch. 7 / FPP3 ch. 8 of Hyndman & Athanasopoulos, "Forecasting: Principles and
//     Practice", otexts.com).
//   - Theta: simple exponential smoothing with drift equal to half the slope of a linear
//     trend (Hyndman & Billah 2003, "Unmasking the Theta method", IJF 19:287-290), applied to
//     the seasonally adjusted series as forecast::thetaf does.
//   - SNaive / Naive: the last observed season repeated (FPP3 section 5.2).
//   - Combo: the average of ETS and Theta, with the ETS forecast averaged over all its fitted
//     models by Akaike weights (Kolassa 2011; see Combine and ETSModel.ForecastAICWeighted).
//
// Accuracy on the 3,003 M3 series (sMAPE, mean over series and horizons; TestM3Accuracy),
// with the R forecast package's figures from Hyndman's 2018 benchmark in parentheses (*: the
// published combination is the mean of ETS, Theta and auto.arima):
//
//	           ETS             Theta           Combo            SNaive
//	monthly    14.141 (14.14)  13.860 (13.86)  13.516 (13.53*)  17.239 (17.23)
//	quarterly   9.685  (9.68)   9.203  (9.20)   8.832  (9.01*)  11.065 (11.06)
//	yearly     17.003 (17.00)  16.756 (16.76)  16.054 (16.03*)  17.880 (17.88)
//	other       4.372  (4.37)   4.922  (4.92)   4.389  (4.32*)   6.302  (6.30)
//
// Entry points: Fit for one series, FitMany for many in parallel, FitETS for the fitted ETS
// model itself, SMAPE and MASE for accuracy, ReadLongCSV for the long "series_id,t,value"
// format used by the revcast timeseries command.
package timeseries
