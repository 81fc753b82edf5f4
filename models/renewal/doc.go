// Package renewal scores contracts ending within a horizon with a calibrated probability of
// renewal, an expected renewal value and the churn-risk drivers behind each score.
//
// The model is winprob's: L2-regularised logistic regression on standardised features,
// fitted by L-BFGS (winprob.Fit), with Platt scaling (winprob.Calibrate) on a time-held-out
// fold: terms are sorted by end date, the model learns from the earlier 75% and is
// calibrated on the latest 25%, so the probabilities are checked on terms that ended after
// the ones it learned from. The ridge penalty is picked from a small grid by the held-out
// log-loss. Drivers are winprob.Model.Explain's top contributions to the logit.
//
// Features (Features, with the formulas) are the signals churn studies use — tenure, billing
// trend, late payments, support cases and their priority, product breadth, the auto-renew
// flag, the contract's value and term — plus the state of the renewal opportunity when one
// is open, and any caller-defined extras (Contract.Extra). Each is measured at one date: for
// history terms a fixed lead before the end (transform.RenewalLeadDays), for scored terms
// the as-of date.
//
// The expected renewal value is p * annual value * R, with R the ratio estimator of renewal
// to expiring value over the renewed history terms (expansion when R > 1).
//
// Metrics (Evaluate: AUC, Brier, log-loss, ECE) and a group-rate baseline (GroupRate: the
// renewal rate per contract type or auto-renew flag) support the evaluations: on the
// synthetic company against its hidden churn rule, and on the public IBM telco churn data.
//
// The package sees no database; transform.RenewalInput fills the Contracts.
package renewal
