package collections

import (
	"fmt"
	"math"
)

// Dist is a discrete distribution of a whole number of days D (days late, or an
// order-to-invoice lag) on the support [Min, Min+len(P)-1], with the remaining mass
// Beyond = P(D > Max) for "not within the support" (in practice: not collected, or not
// invoiced, within a year).
//
//	P[i] = P(D = Min + i),   sum_i P[i] + Beyond = 1
//
// Horizon is the last day up to which the estimate rests on data (see KaplanMeier); Complete
// fills what lies after it from another distribution.
type Dist struct {
	Min     int       `json:"min"`
	P       []float64 `json:"p"`
	Beyond  float64   `json:"beyond"`
	Horizon int       `json:"horizon"`
	// Open is the mass after Horizon that the data do not apportion (the Kaplan-Meier
	// survival S(Horizon+1) when the last observation is censored); it is counted in Beyond
	// until Complete spreads it.
	Open float64 `json:"open"`
}

// Max returns the last day of the support, Min + len(P) - 1.
func (d Dist) Max() int { return d.Min + len(d.P) - 1 }

// At returns P(D = t), 0 outside the support.
func (d Dist) At(t int) float64 {
	i := t - d.Min
	if i < 0 || i >= len(d.P) {
		return 0
	}
	return d.P[i]
}

// Survival returns P(D >= t) = sum_{s >= t} P(D = s) + Beyond.
func (d Dist) Survival(t int) float64 {
	if t > d.Max() {
		return d.Beyond
	}
	s := d.Beyond
	for i := max(t-d.Min, 0); i < len(d.P); i++ {
		s += d.P[i]
	}
	return s
}

// Mean returns E[D | D <= Max], the mean over the support, and NaN when the support holds
// no mass.
func (d Dist) Mean() float64 {
	m, w := 0.0, 0.0
	for i, p := range d.P {
		m += p * float64(d.Min+i)
		w += p
	}
	return m / w
}

// Quantile returns the smallest t in the support with P(D <= t) >= q, or Max+1 when the
// support holds less than q (the quantile lies in Beyond). It panics if q is not in [0, 1].
func (d Dist) Quantile(q float64) int {
	if !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("collections: Quantile(%v), want q in [0, 1]", q))
	}
	c := 0.0
	for i, p := range d.P {
		c += p
		if c >= q-1e-12 {
			return d.Min + i
		}
	}
	return d.Max() + 1
}

// KaplanMeier estimates the distribution of D on [min, max] from observations t_i that are
// exact (censored_i false: D_i = t_i) or right-censored (censored_i true: only D_i >= t_i is
// known, as for an invoice still unpaid at the as-of date, t_i = as-of - due date). It is the
// product-limit estimator for discrete times (Kaplan & Meier 1958, "Nonparametric estimation
// from incomplete observations", JASA 53:457-481; Kalbfleisch & Prentice 2002, "The
// Statistical Analysis of Failure Time Data", 2nd ed., section 1.4):
//
//	h(t) = d_t / r_t,   S(t) = prod_{s < t} (1 - h(s)),   P(D = t) = S(t) * h(t)
//
// with d_t the exact observations at t and r_t the number at risk at t: exact observations
// with t_i >= t plus censored ones with t_i - 1 >= t (a censored D_i >= t_i is known to
// survive every day before t_i). Exact values below min count at min; exact values above max
// and censoring times beyond max+1 count as surviving the whole support (they go to Beyond).
// Horizon is the last day with r_t > 0; the survival after it, S(Horizon+1), is Open: the
// data do not say where that mass lies, and it stays in Beyond unless Complete spreads it.
// With no observations at all the result has all its mass in Beyond and Open.
//
// It returns the distribution and the number of exact observations. It panics if the
// lengths differ or max < min.
func KaplanMeier(t []int, censored []bool, min, max int) (Dist, int) {
	if len(t) != len(censored) {
		panic("collections: KaplanMeier: slice lengths differ")
	}
	if max < min {
		panic(fmt.Sprintf("collections: KaplanMeier: max %d < min %d", max, min))
	}
	n := max - min + 1
	return kaplanMeier(t, censored, min, max, make([]float64, n), make([]float64, n+1), make([]float64, n))
}

// kaplanMeier is KaplanMeier with its buffers passed in (events and p of length
// max - min + 1, leave one longer; their contents are overwritten), so that a loop over many
// customers allocates nothing per customer. The returned Dist's P is p.
func kaplanMeier(t []int, censored []bool, min, max int, events, leave, p []float64) (Dist, int) {
	n := max - min + 1
	// events[i]: exact observations at min+i; leave[i]: observations whose last day at risk
	// is min+i (exact at min+i, or censored at min+i+1).
	clear(events)
	clear(leave) // leave[n]: still at risk after max
	clear(p)
	exact := 0
	for k, v := range t {
		if censored[k] {
			last := v - 1 // at risk up to and including t_i - 1
			switch {
			case last < min:
				continue // tells nothing about the support
			case last > max:
				leave[n]++
			default:
				leave[last-min]++
			}
			continue
		}
		exact++
		switch {
		case v > max:
			leave[n]++
		case v < min:
			events[0]++
			leave[0]++
		default:
			events[v-min]++
			leave[v-min]++
		}
	}
	atRisk := leave[n]
	for i := n - 1; i >= 0; i-- {
		atRisk += leave[i]
	}
	d := Dist{Min: min, P: p, Horizon: min - 1}
	s := 1.0
	for i := 0; i < n; i++ {
		if atRisk <= 0 {
			break
		}
		d.Horizon = min + i
		h := events[i] / atRisk
		d.P[i] = s * h
		s *= 1 - h
		atRisk -= leave[i]
	}
	d.Beyond = s
	if d.Horizon < max {
		// Nobody is at risk after the horizon: the remaining survival is unapportioned.
		d.Open = s
	}
	return d, exact
}

// Complete returns d with its Open mass (the survival after d.Horizon) spread after Horizon
// in proportion to ref's distribution there:
//
//	P(D = t) = Open * ref.P(t) / ref.Survival(Horizon+1)   for t > Horizon
//	Beyond   = (Beyond - Open) + Open * ref.Beyond / ref.Survival(Horizon+1)
//
// i.e. beyond its data, d's tail follows ref conditioned on D > Horizon (the standard way
// to complete a Kaplan-Meier curve whose largest observation is censored with a parametric
// or pooled tail; Klein & Moeschberger 2003, "Survival Analysis", 2nd ed., section 4.2). If
// ref has no mass after Horizon, the Open mass stays in Beyond. It panics if the supports
// differ.
func (d Dist) Complete(ref Dist) Dist { return d.completeInto(ref, nil) }

// completeInto is Complete with the result's P written into dst's storage (grown if
// needed); dst must not share storage with d.P.
func (d Dist) completeInto(ref Dist, dst []float64) Dist {
	if d.Min != ref.Min || len(d.P) != len(ref.P) {
		panic("collections: Complete: supports differ")
	}
	out := Dist{Min: d.Min, P: append(dst[:0], d.P...), Beyond: d.Beyond, Horizon: d.Max()}
	if d.Open <= 0 {
		return out
	}
	tail := ref.Survival(d.Horizon + 1)
	if tail <= 0 {
		return out
	}
	f := d.Open / tail
	for t := d.Horizon + 1; t <= d.Max(); t++ {
		out.P[t-d.Min] += f * ref.At(t)
	}
	out.Beyond = d.Beyond - d.Open + f*ref.Beyond
	return out
}

// Mix returns the mixture w*a + (1-w)*b of two distributions on the same support, point by
// point and in Beyond. It is the credibility estimate of a distribution function: each
// F(t) = P(D <= t) is the mean of the indicator 1(D <= t), and the linear credibility
// estimate of a mean is Z * (own mean) + (1 - Z) * (collective mean) (Buhlmann & Gisler
// 2005, "A Course in Credibility Theory and its Applications", Springer, section 4.2).
// It panics if the supports differ or w is not in [0, 1].
func Mix(a, b Dist, w float64) Dist { return mixInto(a, b, w, make([]float64, len(a.P))) }

// mixInto is Mix with the result's P written into dst (len(a.P)).
func mixInto(a, b Dist, w float64, dst []float64) Dist {
	if a.Min != b.Min || len(a.P) != len(b.P) {
		panic("collections: Mix: supports differ")
	}
	if !(w >= 0 && w <= 1) {
		panic(fmt.Sprintf("collections: Mix weight %v, want [0, 1]", w))
	}
	out := Dist{Min: a.Min, P: dst, Horizon: max(a.Horizon, b.Horizon)}
	for i := range out.P {
		out.P[i] = w*a.P[i] + (1-w)*b.P[i]
	}
	out.Beyond = w*a.Beyond + (1-w)*b.Beyond
	out.Open = w*a.Open + (1-w)*b.Open
	return out
}

// Convolve returns the distribution of D + R for independent D ~ d and R with pmf r on
// [rMin, rMin+len(r)-1], truncated to d's support: mass that lands after Max goes to Beyond,
// mass before Min to Min. d's Beyond stays in Beyond. It panics if r does not sum to 1
// within 1e-9 or holds a negative value.
func (d Dist) Convolve(r []float64, rMin int) Dist {
	sum := 0.0
	for _, p := range r {
		if p < 0 {
			panic("collections: Convolve: negative probability")
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-9 {
		panic(fmt.Sprintf("collections: Convolve: pmf sums to %v, want 1", sum))
	}
	out := Dist{Min: d.Min, P: make([]float64, len(d.P)), Beyond: d.Beyond, Horizon: d.Max()}
	for i, p := range d.P {
		if p == 0 {
			continue
		}
		for j, q := range r {
			k := i + rMin + j
			switch {
			case k >= len(out.P):
				out.Beyond += p * q
			case k < 0:
				out.P[0] += p * q
			default:
				out.P[k] += p * q
			}
		}
	}
	return out
}

// cdf returns the cumulative sums C[i] = P(D <= Min+i) for fast interval probabilities.
func (d Dist) cdf() []float64 { return d.cdfInto(make([]float64, len(d.P))) }

// cdfInto is cdf writing into c (len(d.P)).
func (d Dist) cdfInto(c []float64) []float64 {
	s := 0.0
	for i, p := range d.P {
		s += p
		c[i] = s
	}
	return c
}

// cumDist is a Dist with its cumulative sums, for interval probabilities in O(1).
type cumDist struct {
	Dist
	c []float64
}

func newCum(d Dist) cumDist { return cumDist{d, d.cdf()} }

// le returns P(D <= t).
func (c cumDist) le(t int) float64 {
	i := t - c.Min
	if i < 0 {
		return 0
	}
	if i >= len(c.c) {
		return c.c[len(c.c)-1]
	}
	return c.c[i]
}

// between returns P(a <= D < b).
func (c cumDist) between(a, b int) float64 {
	if b <= a {
		return 0
	}
	return c.le(b-1) - c.le(a-1)
}

// geq returns P(D >= t), Beyond included.
func (c cumDist) geq(t int) float64 {
	return c.c[len(c.c)-1] - c.le(t-1) + c.Beyond
}
