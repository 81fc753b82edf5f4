package pipeline

import (
	"fmt"
	"math"
)

// MaxLatticePoints bounds the grid of Exact (n * points operations, 8 bytes a point).
const MaxLatticePoints = 1 << 24

// Lattice is a distribution on the grid Offset + k*Step, k = 0..len(PMF)-1.
type Lattice struct {
	Offset float64
	Step   float64
	PMF    []float64
}

// Exact returns the exact distribution of sum_i {a_i * I_i}, I_i ~ Bernoulli(q_i)
// independent, after rounding each amount to the nearest multiple of step (exact when the
// amounts are multiples of step). It runs the Poisson-binomial recursion on the grid
// (the "discretised convolution"; Hong 2013, "On computing the distribution function for
// the Poisson binomial distribution", Computational Statistics & Data Analysis 59:41-51,
// generalised to weighted sums):
//
//	P_i(x) = (1 - q_i) * P_{i-1}(x) + q_i * P_{i-1}(x - a_i)
//
// in O(n * S) time and O(S) memory, S = sum_i |round(a_i / step)|. A negative amount -m is
// rewritten as -m + m * (1 - I_i). It panics if the lengths differ, step <= 0, a
// probability is outside [0, 1], an amount is not finite, or S exceeds MaxLatticePoints.
func Exact(amounts, q []float64, step float64) Lattice {
	if len(amounts) != len(q) {
		panic("pipeline: Exact: slice lengths differ")
	}
	if !(step > 0) {
		panic("pipeline: Exact: step must be > 0")
	}
	ks := make([]int, len(amounts))
	probs := make([]float64, len(q))
	offset := 0
	total := 0
	for i, a := range amounts {
		if math.IsNaN(a) || math.IsInf(a, 0) || !(q[i] >= 0 && q[i] <= 1) {
			panic(fmt.Sprintf("pipeline: Exact: deal %d: amount %v, q %v", i, a, q[i]))
		}
		k := int(math.Round(a / step))
		probs[i] = q[i]
		if k < 0 {
			offset += k
			k = -k
			probs[i] = 1 - q[i]
		}
		ks[i] = k
		total += k
		if total >= MaxLatticePoints {
			panic(fmt.Sprintf("pipeline: Exact: grid exceeds %d points; use a coarser step", MaxLatticePoints))
		}
	}
	pmf := make([]float64, total+1)
	pmf[0] = 1
	top := 0
	for i, k := range ks {
		if k == 0 || probs[i] == 0 {
			continue
		}
		qi := probs[i]
		for x := top + k; x >= 0; x-- {
			v := 0.0
			if x <= top {
				v = (1 - qi) * pmf[x]
			}
			if x >= k {
				v += qi * pmf[x-k]
			}
			pmf[x] = v
		}
		top += k
	}
	return Lattice{Offset: float64(offset) * step, Step: step, PMF: pmf}
}

// Mean returns sum_k {(Offset + k*Step) * PMF[k]}.
func (l Lattice) Mean() float64 {
	m := 0.0
	for k, p := range l.PMF {
		m += (l.Offset + float64(k)*l.Step) * p
	}
	return m
}

// CDF returns P(X <= x).
func (l Lattice) CDF(x float64) float64 {
	c := 0.0
	for k, p := range l.PMF {
		if l.Offset+float64(k)*l.Step > x {
			break
		}
		c += p
	}
	return math.Min(c, 1)
}

// Quantile returns inf{x : P(X <= x) >= p} for p in (0, 1]. The cumulative sum is compared
// with a 1e-12 tolerance so that rounding does not push a grid point past p.
func (l Lattice) Quantile(p float64) float64 {
	c := 0.0
	for k, pk := range l.PMF {
		c += pk
		if c >= p-1e-12 {
			return l.Offset + float64(k)*l.Step
		}
	}
	return l.Offset + float64(len(l.PMF)-1)*l.Step
}
