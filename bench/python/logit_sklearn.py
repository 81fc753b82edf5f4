#!/usr/bin/python3
"""scikit-learn's LogisticRegression on revcast's win-probability matrix.

The Python side of bench/compare.sh. Reads the CSVs written by bench/winprobmatrix (a
header of feature names and y, one row per snapshot), fits
sklearn.linear_model.LogisticRegression to the same problem revcast's winprob.Fit solves,
--runs times, and prints the median wall time and the held-out log-loss as key=value lines.

The same problem (models/winprob/fit.go). revcast minimises

    f(b, w) = (1/n) sum_i [log(1 + exp(z_i)) - y_i z_i] + lambda/2 ||w||^2,
    z_i = b + sum_j w_j (x_ij - mean_j) / sd_j,

on columns it standardises itself (mean and population sd over the training rows; a column
with sd <= 1e-12 max(1, |mean|) gets sd = 1), with the intercept b unpenalised. scikit-learn
(1.2, solver lbfgs) minimises

    g(b, w) = sum_i [log(1 + exp(z_i)) - y_i z_i] + 1/(2C) ||w||^2,

also with an unpenalised intercept and no standardisation of its own. g = n f exactly when

    C = 1 / (n lambda),

n the number of training rows (sum of weights; the rows are unweighted here), so the two
have the same minimiser. The columns are standardised here with revcast's formula, inside the
timed region (revcast's Fit does it inside its timing too). Stopping rule: revcast stops when
the infinity norm of grad f is below GradTol = 1e-5 (what forecast.Fit uses for the win
model); scipy's L-BFGS-B, which scikit-learn calls with gtol = tol, stops when the infinity
norm of the (projected) gradient of g = n grad f is below tol, so tol = n * 1e-5 is the same
rule (scipy's default ftol, 2.2e-9 relative decrease, may stop it earlier; the objective
and gradient norm reached are printed). max_iter 2000 as revcast's MaxIter.

Timing: --runs fits with the BLAS threads numpy has by default (OpenBLAS on Debian uses
every core for the matrix-vector products; scikit-learn 1.2's lbfgs loss itself runs on
one thread) and --runs with threadpoolctl limiting BLAS and OpenMP to one thread; the
median wall time of each. Reading the CSVs is not timed.

usage: logit_sklearn.py --train TRAIN.csv --test TEST.csv --lambda L [--runs 5] [--coef COEF.csv]
  --coef: revcast's coefficients (winprobmatrix --coef) to print the largest difference.
"""

import argparse
import csv
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

GRAD_TOL = 1e-5  # revcast forecast.Fit's GradTol for the win model
MAX_ITER = 2000


def read_matrix(path):
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return header[:-1], data[:, :-1], data[:, -1]


def standardise(X):
    """revcast's standardise (models/winprob/dataset.go), unweighted."""
    mean = X.mean(axis=0)
    sd = np.sqrt(((X - mean) ** 2).mean(axis=0))
    sd[~(sd > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, sd


def fit(X, y, lam):
    n = X.shape[0]
    mean, sd = standardise(X)
    Z = (X - mean) / sd
    clf = LogisticRegression(penalty="l2", C=1.0 / (n * lam), solver="lbfgs", tol=n * GRAD_TOL,
                             max_iter=MAX_ITER, fit_intercept=True)
    clf.fit(Z, y)
    return clf, mean, sd


def objective(clf, Z, y, lam):
    """revcast's f and the infinity norm of its gradient at scikit-learn's solution."""
    z = clf.intercept_[0] + Z @ clf.coef_[0]
    w = clf.coef_[0]
    f = np.mean(np.logaddexp(0, z) - y * z) + lam / 2 * w @ w
    r = 1 / (1 + np.exp(-z)) - y
    g = np.concatenate(([r.mean()], Z.T @ r / len(y) + lam * w))
    return f, np.max(np.abs(g))


def timed(Xtr, ytr, lam, runs):
    times, clf = [], None
    for _ in range(runs):
        t = time.perf_counter()
        clf, mean, sd = fit(Xtr, ytr, lam)
        times.append(time.perf_counter() - t)
    return times, clf, mean, sd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--coef")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    names, Xtr, ytr = read_matrix(a.train)
    _, Xte, yte = read_matrix(a.test)
    n = Xtr.shape[0]
    import sklearn
    print(f"sklearn_setup version={sklearn.__version__} rows={n} cols={Xtr.shape[1]} lambda={a.lam:g} "
          f"C=1/(n*lambda)={1 / (n * a.lam):.6g} tol=n*{GRAD_TOL:g}={n * GRAD_TOL:.6g}")
    for label, limit in (("default", None), ("1", 1)):
        if limit is None:
            times, clf, mean, sd = timed(Xtr, ytr, a.lam, a.runs)
        else:
            with threadpool_limits(limits=limit):
                times, clf, mean, sd = timed(Xtr, ytr, a.lam, a.runs)
        Z = (Xtr - mean) / sd
        f, gnorm = objective(clf, Z, ytr, a.lam)
        p_tr = clf.predict_proba(Z)[:, 1]
        p_te = clf.predict_proba((Xte - mean) / sd)[:, 1]
        times.sort()
        print(f"sklearn_fit threads={label} runs={a.runs} median_s={statistics.median(times):.4f} "
              f"min_s={times[0]:.4f} max_s={times[-1]:.4f} iterations={int(clf.n_iter_[0])} "
              f"objective={f:.10g} grad_norm={gnorm:.3g} train_logloss={log_loss(ytr, p_tr):.6f} "
              f"test_logloss={log_loss(yte, p_te):.6f}")
    if a.coef:
        with open(a.coef, newline="") as f:
            rows = list(csv.DictReader(f))
        rc = np.array([float(r["coef"]) for r in rows])
        sk = np.concatenate((clf.intercept_, clf.coef_[0]))
        if len(rc) == len(sk):
            print(f"coef_diff max_abs={np.max(np.abs(rc - sk)):.3g} max_abs_coef={np.max(np.abs(rc)):.3g}")
        else:
            print(f"coef_diff skipped: {len(rc)} revcast coefficients, {len(sk)} scikit-learn", file=sys.stderr)


if __name__ == "__main__":
    main()
