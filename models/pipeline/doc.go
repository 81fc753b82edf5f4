// Package pipeline computes the distribution of bookings per period and segment from the
// closed amount and the open pipeline.
//
// Each open deal i, for a given period, books its amount a_i with probability
//
//	q_i = PWin_i * PInPeriod_i * SupplyFactor_i * CreditFactor_i
//
// independently of the other deals, so the period's bookings in a segment are
//
//	B = C + sum_i {a_i * I_i},   I_i ~ Bernoulli(q_i) independent,
//
// with C the amount already closed. Its moments are exact (a weighted Poisson-binomial sum,
// see e.g. Wang 1993, "On the number of successes in independent trials", Statistica Sinica
// 3:295-312):
//
//	E[B]   = C + sum_i {a_i * q_i}
//	Var[B] = sum_i {a_i^2 * q_i * (1 - q_i)}
//
// Quantiles (P10, P50, P90) come from a seeded Monte Carlo simulation (Glasserman 2003,
// "Monte Carlo Methods in Financial Engineering", Springer, ch. 1-2), chosen over an exact
// convolution because it handles arbitrary amounts, shares one draw per deal across all the
// segments the deal belongs to (so in every simulated world the owners add up to their team,
// the teams to the region, and so on), and costs O(deals * sims) whatever the number of
// segments. A deal that may close in one of several months can be one draw too (Deal.Joint:
// its months are exclusive outcomes) with each month rolling up into its quarter
// (Deal.Rollup), so a world's months add up to its quarter and the deal costs one draw
// rather than one per period. The exact distribution on an amount grid (Exact, a
// Poisson-binomial dynamic programme) is provided for small cases and is what the
// simulation is tested against.
//
// Reproducibility: simulation s draws from its own PCG stream (math/rand/v2) whose state is
// derived from (Options.Seed, s) by SplitMix64, and every floating-point sum runs in a fixed
// order, so the output is bit-for-bit identical for a given seed whatever GOMAXPROCS or
// Options.Workers is.
//
// The package takes plain Deal values and a segment function; the caller computes the
// probabilities (winprob), timing, supply and credit adjustments from the warehouse.
package pipeline
