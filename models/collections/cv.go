package collections

import "math"

// cvFolds is the number of cross-validation folds ChooseK uses.
const cvFolds = 5

// cvBin is the width in days of the bins in which ChooseK scores a held-out payment: the
// forecast is weekly, so a customer distribution is judged on the week it puts a payment
// in, not on the exact day.
const cvBin = 7

// ChooseK picks the credibility constant K of Z = n / (n + K) by cross-validation on the
// payment history of in (as of in.AsOf). Each customer's undisputed invoices, in due-date
// order, are dealt into 5 folds (invoice j goes to fold j mod 5); for each fold the
// population and customer Kaplan-Meier distributions are estimated without it and every
// held-out invoice is scored by its log-likelihood under the shrunk distribution
//
//	paid:   log( Z * P_c(bin of D) + (1 - Z) * P_pop(bin of D) ),  bins of 7 days from MinDelay
//	unpaid: log( Z * S_c(t) + (1 - Z) * S_pop(t) ),                  S(t) = P(D >= t)
//
// with Z = n_c / (n_c + K) from the customer's paid invoices outside the fold. It returns
// the grid value (Options.KGrid, default DefaultKGrid) with the largest total, and the
// totals. Cross-validating a shrinkage weight is the standard empirical-Bayes alternative
// to a moment estimate of K (Efron & Morris 1975, "Data analysis using Stein's estimator
// and its generalizations", JASA 70:311-319; Hastie, Tibshirani & Friedman 2009,
// section 7.10).
func ChooseK(in Input, opts Options) (k float64, loglik []float64) {
	opts = opts.withDefaults()
	obs := delayObservations(in.Delays, day(in.AsOf))
	return chooseK(obs, opts)
}

func chooseK(obs []delayObs, opts Options) (float64, []float64) {
	grid := opts.KGrid
	ll := make([]float64, len(grid))
	lo, hi := opts.MinDelay, opts.MaxDelay
	// fold of each observation: position within its customer (obs are sorted by customer, due)
	fold := make([]int, len(obs))
	pos := 0
	for i := range obs {
		if i > 0 && obs[i].customer != obs[i-1].customer {
			pos = 0
		}
		fold[i] = pos % cvFolds
		pos++
	}
	const floor = 1e-12 // keeps log finite when both distributions give a bin zero mass
	// Per-customer buffers, reused across customers and folds: a fit of 100k customers
	// otherwise allocates 5 x 100k x five arrays of the support's length (456 days).
	nd := hi - lo + 1
	kmEvents, kmLeave, kmP := make([]float64, nd), make([]float64, nd+1), make([]float64, nd)
	kmFull, kmCum := make([]float64, nd), make([]float64, nd)
	var ct []int
	var cc []bool
	for f := 0; f < cvFolds; f++ {
		var t []int
		var c []bool
		for i, o := range obs {
			if fold[i] != f && !o.disputed {
				t = append(t, o.t)
				c = append(c, o.censored)
			}
		}
		pop, _ := KaplanMeier(t, c, lo, hi)
		popC := newCum(pop)
		for start := 0; start < len(obs); {
			end := start
			for end < len(obs) && obs[end].customer == obs[start].customer {
				end++
			}
			ct, cc = ct[:0], cc[:0]
			held := false
			for i := start; i < end; i++ {
				if obs[i].disputed {
					continue
				}
				if fold[i] == f {
					held = true
					continue
				}
				ct = append(ct, obs[i].t)
				cc = append(cc, obs[i].censored)
			}
			if held {
				km, n := kaplanMeier(ct, cc, lo, hi, kmEvents, kmLeave, kmP)
				full := km.completeInto(pop, kmFull)
				kmC := cumDist{full, full.cdfInto(kmCum)}
				for i := start; i < end; i++ {
					o := obs[i]
					if o.disputed || fold[i] != f {
						continue
					}
					var pc, pp float64
					if o.censored {
						pc, pp = kmC.geq(o.t), popC.geq(o.t)
					} else {
						b := lo + (max(o.t, lo)-lo)/cvBin*cvBin
						if o.t > hi {
							pc, pp = kmC.Beyond, popC.Beyond
						} else {
							pc, pp = kmC.between(b, b+cvBin), popC.between(b, b+cvBin)
						}
					}
					for g, k := range grid {
						z := 0.0
						if n > 0 {
							z = float64(n) / (float64(n) + k)
						}
						ll[g] += math.Log(math.Max(z*pc+(1-z)*pp, floor))
					}
				}
			}
			start = end
		}
	}
	best := 0
	for g := range grid {
		if ll[g] > ll[best] {
			best = g
		}
	}
	return grid[best], ll
}
