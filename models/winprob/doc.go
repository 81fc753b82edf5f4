// Package winprob scores open opportunities with a calibrated probability of winning and
// explains each score with its top factors.
//
// The model is L2-regularised logistic regression on standardised features (Hosmer,
// Lemeshow & Sturdivant 2013, "Applied Logistic Regression", 3rd ed., Wiley, ch. 1-2;
// Hastie, Tibshirani & Friedman 2009, "The Elements of Statistical Learning", 2nd ed.,
// section 4.4.4 for the ridge penalty):
//
//	P(y=1 | x) = sigma(b + sum_j w_j * (x_j - mean_j) / sd_j),   sigma(z) = 1 / (1 + exp(-z))
//
// fitted by minimising the weighted mean negative log-likelihood plus a ridge penalty that
// leaves the intercept free:
//
//	f(b, w) = sum_i {v_i * [log(1 + exp(z_i)) - y_i * z_i]} / sum_i {v_i} + lambda/2 * sum_j {w_j^2}
//
// where v_i are the row weights. The minimiser is found with L-BFGS from gonum/optimize
// (Nocedal & Wright 2006, "Numerical Optimization", 2nd ed., section 7.2) using the analytic
// gradient
//
//	df/db   = sum_i {v_i * (sigma(z_i) - y_i)} / sum_i {v_i}
//	df/dw_j = sum_i {v_i * (sigma(z_i) - y_i) * (x_ij - mean_j) / sd_j} / sum_i {v_i} + lambda * w_j
//
// and a gradient (infinity-norm) threshold as the stopping rule. L-BFGS rather than IRLS
// because one evaluation is a single O(n*p) pass over the rows (two matrix-vector products
// on a chunk, gonum's assembly kernels), parallelised over fixed row chunks, whereas an IRLS
// step forms X'WX at O(n*p^2); with p around 30 and standardised columns L-BFGS converges in
// a few dozen passes. Averaging the loss over rows keeps f and its gradient O(1) whatever
// the number of rows, so one threshold suits every data size. The chunk partial sums are
// reduced in chunk order, so a fit is bit-for-bit identical whatever the number of workers.
//
// Scores are calibrated on held-out data as a separate step (Model.Calibrate): Platt scaling
// (Platt 1999, "Probabilistic outputs for support vector machines and comparisons to
// regularized likelihood methods", in Advances in Large Margin Classifiers, MIT Press; the
// Newton solver of Lin, Lin & Weng 2007, "A note on Platt's probabilistic outputs for support
// vector machines", Machine Learning 68:267-276) or isotonic regression by pool-adjacent-
// violators (Zadrozny & Elkan 2002, "Transforming classifier scores into accurate multiclass
// probability estimates", KDD; Barlow, Bartholomew, Bremner & Brunk 1972 for PAV).
//
// Metrics for the backtest live here too: log-loss, Brier score (Brier 1950), AUC as the
// Mann-Whitney statistic with ties counted one half (Fawcett 2006, "An introduction to ROC
// analysis", Pattern Recognition Letters 27:861-874), a calibration table and the expected
// calibration error (Naeini, Cooper & Hauskrecht 2015; Guo, Pleiss, Sun & Weinberger 2017).
//
// Input is a Dataset: a row-major feature matrix with named columns, 0/1 labels and optional
// row weights, filled by the caller from the warehouse. The package never sees a database or
// a config file. Misuse (shape mismatches) panics; bad values in the data (NaN, labels outside
// [0, 1], negative weights) and failures of the optimiser are returned as errors.
package winprob
