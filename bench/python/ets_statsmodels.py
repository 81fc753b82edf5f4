#!/usr/bin/python3
"""Automatic ETS with statsmodels, over the model space of revcast's AutoETS.

Reads a long CSV series_id,t,value (what `m3eval split` writes and `revcast timeseries`
reads), fits statsmodels.tsa.exponential_smoothing.ets.ETSModel to every series (one after
the other, in one process: a plain single-threaded loop) and writes the forecasts in the
output format of `revcast timeseries`: series_id,h,method,forecast,lo80,hi80,lo95,hi95.
It is the Python side of bench/compare.sh and is scored by the same `m3eval score`.

The model space and selection mirror revcast's timeseries.FitETS(y, m, "ZZZ")
(models/timeseries/ets.go), which follows forecast::ets:

  * error {add, mul} x trend {none, add, add damped} x season {none, add, mul}, tried in
    that order (damped before undamped); the first of equal AICc values wins;
  * additive error with multiplicative season is excluded (infinite forecast variance);
  * multiplicative error or season only when every value is > 0;
  * seasonal models only when 1 < m <= 24 and n > m;
  * a model with k >= n - 1 estimated parameters is skipped, k counting the smoothing
    parameters (alpha, beta, gamma, phi as present) and the free initial states (level,
    slope, m - 1 seasonal states: the last follows from the normalisation);
  * AICc = -2 loglik + 2(k+1) + 2(k+1)(k+2)/(n-k-2), the k+1 counting sigma, as
    forecast::ets and revcast compute it, with statsmodels' own log-likelihood. (statsmodels'
    ETSResults.aicc counts all m initial seasonal states although it fixes the last one;
    using it instead penalises every seasonal model by one more parameter.)
  * a constant series gets the constant forecast with zero-width intervals; a series of
    fewer than 4 values (no model fits) the naive method.

--out gets that selection as is. --out-guarded (optional) gets the selection among the fits
that are not degenerate: a multiplicative-error fit with a one-step forecast mu_t <= 0 is
outside the model (y_t = mu_t (1 + e_t) needs mu_t > 0), yet statsmodels' optimiser, whose
initial states are unbounded, finds such fits on a few M3 series with a spuriously high
likelihood and forecasts of -1e8 for a series near 3,000. Both come from the same fits in
one run; the guard costs nothing measurable.

Estimation is statsmodels' own: ETSModel(...).fit(disp=False) with its defaults (maximum
likelihood by L-BFGS-B with numerical gradients, initial states estimated, its default
parameter bounds). Fits that raise or give a non-finite log-likelihood are skipped.

Intervals (unless --no-intervals) are what ETSResults.get_prediction gives by default:
statsmodels' exact formulas for ANN, AAN, AAdN, ANA, AAA, AAdA and the quantiles of 1,000
simulated paths (seeded per series) for the other models. They cost under 1% of the time
(measured on 143 monthly series); --no-intervals leaves them out.

Prints the number of series, the models chosen, how many selections were degenerate and the
loop's wall time (excluding reading and writing) to stderr.

usage: ets_statsmodels.py --in TRAIN.csv --horizon H --season M --out FC.csv
                          [--out-guarded FC2.csv] [--no-intervals]
"""

import argparse
import csv
import math
import sys
import time
import warnings
from collections import Counter, OrderedDict

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

MAX_PERIOD = 24  # forecast::ets and revcast: no seasonal ETS for m > 24
LEVELS = (80, 95)


def read_long(path):
    """Series in order of first appearance, values sorted by t (integer t only)."""
    by_id = OrderedDict()
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        for row in r:
            by_id.setdefault(row["series_id"].strip(), []).append(
                (int(row["t"]), float(row["value"]))
            )
    return [(k, np.array([v for _, v in sorted(obs)])) for k, obs in by_id.items()]


def candidates(y, m):
    """(error, trend, damped, seasonal) in revcast's / forecast::ets's search order."""
    n = len(y)
    positive = bool(np.all(y > 0))
    season_ok = 1 < m <= MAX_PERIOD and n > m
    out = []
    for e in ("add", "mul"):
        for t in (None, "add"):
            for s in (None, "add", "mul"):
                for d in ((False,) if t is None else (True, False)):
                    if e == "add" and s == "mul":
                        continue
                    if (e == "mul" or s == "mul") and not positive:
                        continue
                    if s is not None and not season_ok:
                        continue
                    k = 1 + (t is not None) + (s is not None) + d  # smoothing parameters
                    k += 1 + (t is not None) + ((m - 1) if s is not None else 0)  # free initial states
                    if k >= n - 1:
                        continue
                    out.append((e, t, d, s, k))
    return out


def aicc(loglik, n, k):
    np_ = k + 1  # + sigma
    if n - np_ - 1 <= 0:
        return math.inf
    return -2 * loglik + 2 * np_ + 2 * np_ * (np_ + 1) / (n - np_ - 1)


def naive(y, h):
    """Naive method with forecast::naive's intervals (revcast's fallback for short series)."""
    mean = np.repeat(y[-1], h)
    if len(y) < 2:
        return "naive", mean, None
    sigma = math.sqrt(np.mean(np.diff(y) ** 2))
    sd = sigma * np.sqrt(np.arange(1, h + 1))
    bounds = [(mean - norm.ppf(0.5 + l / 200) * sd, mean + norm.ppf(0.5 + l / 200) * sd) for l in LEVELS]
    return "naive", mean, bounds


def degenerate(res):
    """A multiplicative-error fit whose one-step forecasts mu_t are not all positive. The
    model (y_t = mu_t (1 + e_t)) is only defined for mu_t > 0; statsmodels' optimiser, whose
    initial states are unbounded, sometimes finds such fits with a spuriously high
    likelihood (initial level ~1e7, forecasts of -1e8 for a series near 3,000)."""
    fv = np.asarray(res.fittedvalues)
    return not np.all(np.isfinite(fv)) or (res.model.error == "mul" and not np.all(fv > 0))


def fit_one(y, m, h, intervals, seed):
    """Returns two selections, each (model name, point forecasts, [(lo, hi) per level] or
    None): the smallest AICc of all fits, and the smallest among the non-degenerate ones
    (see degenerate), and whether the two differ."""
    if np.all(y == y[0]):
        mean = np.repeat(y[0], h)
        c = ("constant", mean, [(mean, mean) for _ in LEVELS])
        return c, c, False
    n = len(y)
    best = best_ok = None  # (aicc, results)
    for e, t, d, s, k in candidates(y, m):
        try:
            model = ETSModel(y, error=e, trend=t, damped_trend=d, seasonal=s,
                             seasonal_periods=m if s is not None else None)
            res = model.fit(disp=False)
        except Exception:  # statsmodels raises on degenerate fits; skip the model as revcast does
            continue
        if not np.isfinite(res.llf):
            continue
        v = aicc(res.llf, n, k)
        if best is None or v < best[0]:  # strict: the first of equal values wins
            best = (v, res)
        if (best_ok is None or v < best_ok[0]) and not degenerate(res):
            best_ok = (v, res)

    def forecast(sel):
        if sel is None:
            return naive(y, h)
        res = sel[1]
        mean = np.asarray(res.forecast(h))
        return res.model.short_name, mean, intervals_of(res, mean, h, seed) if intervals else None

    plain = forecast(best)
    if best is None or (best_ok is not None and best_ok[1] is best[1]):
        return plain, plain, False
    return plain, forecast(best_ok), True


EXACT = ("ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA")


def intervals_of(res, mean, h, seed):
    """Prediction intervals as ETSResults.get_prediction(...).pred_int computes them (its
    code, inlined: in statsmodels 0.13 get_prediction fails on numpy input): for the models
    with exact formulas, mean +- z sqrt(mse * relative variance); for the others the
    quantiles of 1,000 simulated paths."""
    bounds = []
    if res.model.short_name in EXACT:
        sd = np.sqrt(res.mse * res._relative_forecast_variance(np.arange(1, h + 1)))
        for l in LEVELS:
            z = norm.ppf(0.5 + l / 200)
            bounds.append((mean - z * sd, mean + z * sd))
        return bounds
    sim = np.asarray(res.simulate(h, anchor="end", repetitions=1000, random_state=seed)).reshape(h, -1)
    for l in LEVELS:
        a = 1 - l / 100
        bounds.append((np.quantile(sim, a / 2, axis=1), np.quantile(sim, 1 - a / 2, axis=1)))
    return bounds


def write(path, horizon, results):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series_id", "h", "method", "forecast"] + [f"{p}{l}" for l in LEVELS for p in ("lo", "hi")])
        for sid, (name, mean, bounds) in results:
            method = "naive" if name == "naive" else "ets"
            for k in range(horizon):
                row = [sid, k + 1, method, repr(float(mean[k]))]
                for j in range(len(LEVELS)):
                    row += [repr(float(bounds[j][0][k])), repr(float(bounds[j][1][k]))] if bounds else ["", ""]
                w.writerow(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--season", type=int, required=True)
    ap.add_argument("--out", required=True, help="forecasts of the smallest-AICc fit")
    ap.add_argument("--out-guarded", help="forecasts of the smallest-AICc fit that is not degenerate")
    ap.add_argument("--no-intervals", action="store_true")
    a = ap.parse_args()
    warnings.simplefilter("ignore")  # convergence and overflow warnings of individual fits
    series = read_long(a.inp)
    start = time.perf_counter()
    plain, guarded, differs = [], [], 0
    for i, (sid, y) in enumerate(series):
        p, g, d = fit_one(y, a.season, a.horizon, not a.no_intervals, seed=i)
        plain.append((sid, p))
        guarded.append((sid, g))
        differs += d
    elapsed = time.perf_counter() - start
    write(a.out, a.horizon, plain)
    if a.out_guarded:
        write(a.out_guarded, a.horizon, guarded)
    models = Counter(r[0] for _, r in plain)
    print(f"ets_statsmodels: {len(series)} series in {elapsed:.1f}s ({1000 * elapsed / max(len(series), 1):.1f}s per 1000), "
          f"intervals {'off' if a.no_intervals else 'on'}; models: "
          + ", ".join(f"{k} {v}" for k, v in models.most_common())
          + f"; {differs} series selected a degenerate fit (multiplicative error, a fitted value <= 0)", file=sys.stderr)


if __name__ == "__main__":
    main()
