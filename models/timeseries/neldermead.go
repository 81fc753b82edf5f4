package timeseries

import "math"

// Settings of the Nelder-Mead search used to fit ETS models. They are the ones R's
// forecast::ets passes to its simplex minimiser (forecast 8.x, etsmodel(): maxit = 2000,
// reltol = sqrt(.Machine$double.eps), alpha = 1, beta = 0.5, gamma = 2, abstol = -Inf).
const (
	nmMaxEval  = 2000                   // function evaluations before giving up
	nmRelTol   = 1.4901161193847656e-08 // sqrt(2^-52): relative spread of the simplex at convergence
	nmReflect  = 1.0                    // reflection coefficient
	nmContract = 0.5                    // contraction and shrink coefficient
	nmExpand   = 2.0                    // expansion coefficient
	nmBig      = 1.0e+35                // value that stands in for a non-finite objective
	nmStepFrac = 0.1                    // initial simplex edge: 10% of the largest |x0_i|
)

// nelderMead minimises f from x0 with the Nelder-Mead simplex method in the variant of
// J. C. Nash, "Compact Numerical Methods for Computers" (2nd ed., 1990, Algorithm 19), which
// is the one R's optim(method = "Nelder-Mead") and forecast::ets use. gonum/optimize has a
// Nelder-Mead too, but its initial simplex, acceptance rules and convergence test differ;
// ETS fits with many initial states often stop at the evaluation limit, so where the search
// stops depends on the variant, and matching the published M3 accuracy of forecast::ets needs
// the same one.
//
// The initial simplex has x0 and, for each coordinate i, x0 + step*e_i with step 10% of the
// largest |x0_i| (0.1 if x0 = 0). The search stops when the spread of function values over
// the simplex is within nmRelTol*(|f(x0)| + nmRelTol), when a shrink fails to reduce the
// simplex, or after maxEval evaluations. Non-finite values of f count as nmBig.
//
// It returns the best vertex, its value and ok=false when f(x0) is not finite (the start is
// infeasible, and forecast::ets then skips the model).
func nelderMead(f func([]float64) float64, x0 []float64, maxEval int) (x []float64, fx float64, ok bool) {
	n := len(x0)
	f0 := f(x0)
	if math.IsNaN(f0) || math.IsInf(f0, 0) {
		return append([]float64(nil), x0...), f0, false
	}
	eval := func(p []float64) float64 {
		v := f(p)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nmBig
		}
		return v
	}
	convTol := nmRelTol * (math.Abs(f0) + nmRelTol)

	// The simplex: n+1 vertices and their values.
	vert := make([][]float64, n+1)
	val := make([]float64, n+1)
	for j := range vert {
		vert[j] = make([]float64, n)
		copy(vert[j], x0)
	}
	val[0] = f0

	step := 0.0
	for _, v := range x0 {
		step = math.Max(step, nmStepFrac*math.Abs(v))
	}
	if step == 0 {
		step = nmStepFrac
	}
	size := 0.0
	for j := 1; j <= n; j++ {
		// Grow the step until it changes the coordinate (it may not, for a huge x0_i).
		try := step
		for vert[j][j-1] == x0[j-1] {
			vert[j][j-1] = x0[j-1] + try
			try *= 10
		}
		size += try
	}
	oldSize := size

	cent := make([]float64, n)  // centroid of all vertices but the worst
	trial := make([]float64, n) // reflected / expanded / contracted point
	refl := make([]float64, n)
	nEval := 1
	best := 0
	recompute := true
	for {
		if recompute {
			for j := range vert {
				if j != best {
					val[j] = eval(vert[j])
					nEval++
				}
			}
			recompute = false
		}

		// Best (lowest) and worst (highest) vertex; ties keep the earlier one.
		vLow := val[best]
		vHigh := vLow
		worst := best
		for j := range vert {
			if j == best {
				continue
			}
			if val[j] < vLow {
				best, vLow = j, val[j]
			}
			if val[j] > vHigh {
				worst, vHigh = j, val[j]
			}
		}
		if vHigh <= vLow+convTol {
			break
		}

		for i := 0; i < n; i++ {
			s := -vert[worst][i]
			for j := range vert {
				s += vert[j][i]
			}
			cent[i] = s / float64(n)
		}
		for i := range refl {
			refl[i] = (1+nmReflect)*cent[i] - nmReflect*vert[worst][i]
		}
		vRefl := eval(refl)
		nEval++

		if vRefl < vLow {
			// Try to expand further along the same direction.
			for i := range trial {
				trial[i] = nmExpand*refl[i] + (1-nmExpand)*cent[i]
			}
			vExp := eval(trial)
			nEval++
			if vExp < vRefl {
				copy(vert[worst], trial)
				val[worst] = vExp
			} else {
				copy(vert[worst], refl)
				val[worst] = vRefl
			}
		} else {
			if vRefl < vHigh {
				copy(vert[worst], refl)
				val[worst] = vRefl
			}
			// Contract the (possibly replaced) worst vertex toward the centroid.
			for i := range trial {
				trial[i] = (1-nmContract)*vert[worst][i] + nmContract*cent[i]
			}
			vCon := eval(trial)
			nEval++
			if vCon < val[worst] {
				copy(vert[worst], trial)
				val[worst] = vCon
			} else if vRefl >= vHigh {
				// Shrink every vertex toward the best one.
				recompute = true
				size = 0
				for j := range vert {
					if j == best {
						continue
					}
					for i := range vert[j] {
						vert[j][i] = nmContract*(vert[j][i]-vert[best][i]) + vert[best][i]
						size += math.Abs(vert[j][i] - vert[best][i])
					}
				}
				if size >= oldSize {
					break // the simplex no longer gets smaller
				}
				oldSize = size
			}
		}
		if nEval > maxEval {
			break
		}
	}
	return append([]float64(nil), vert[best]...), val[best], true
}
