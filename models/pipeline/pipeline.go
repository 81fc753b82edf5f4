package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Deal is one opportunity's chance of booking in one period.
//
// A deal that may close in several periods appears once per period, each row with that
// period's PInPeriod. The rows may be independent (each period's result is marginal, so
// that is enough for it) or coupled with Joint into one draw per world: the deal then
// closes in at most one of its periods in every world, and with Rollup a month's booking
// also counts in its quarter, so the months of a simulated world add up to its quarter
// and the deal costs one draw instead of one per period. Partial bookings (a deal whose
// lines cannot all ship before period end) are represented by the caller as the
// shippable Amount in this period and the rest in a later period's row.
type Deal struct {
	ID      string // for error messages
	Period  string // the period this row books into, e.g. "2026-Q3"
	Segment string // the deal's segment when Distribute is called without a segment function

	// Joint, when not empty, couples this row with the rows next to it that carry the same
	// Joint: they are one deal's mutually exclusive outcomes (it closes in at most one
	// period), drawn with one uniform number per world, row j taken with probability q_j.
	// Their q_j must sum to at most 1, and such rows cannot be Closed.
	Joint string
	// Rollup lists further periods this row's booking counts in, typically the quarter
	// that contains the row's month. With Joint, a deal counts once in each such period
	// with probability the sum of the q_j of its rows that roll up into it.
	Rollup []string

	Amount float64 // booking amount a_i in the reporting currency; may be negative (credit notes)

	// Closed marks an amount already booked in Period: it is counted with certainty in
	// Result.Closed and the probability fields are ignored.
	Closed bool

	// PWin is the calibrated win probability (winprob), PInPeriod the probability that a
	// win books in Period rather than later (slip).
	PWin, PInPeriod float64
	// SupplyFactor and CreditFactor multiply q_i: the probability that available-to-promise
	// stock and the account's credit standing let the deal book in the period. 1 means no
	// adjustment. They are plain multipliers, so the zero value means "cannot book": set
	// them to 1 when there is no adjustment.
	SupplyFactor, CreditFactor float64
}

// Q returns q = PWin * PInPeriod * SupplyFactor * CreditFactor, the probability that the
// open deal books in its period.
func (d Deal) Q() float64 {
	return d.PWin * d.PInPeriod * d.SupplyFactor * d.CreditFactor
}

// Segment is one grouping a deal belongs to, such as {"owner", "alice"} or {"region", "EMEA"}.
type Segment struct {
	Type string
	Name string
}

// Options controls Distribute. The zero value gives 10,000 simulations with seed 0.
type Options struct {
	// Sims is the number of Monte Carlo simulations. Zero means DefaultSims. The standard
	// error of a simulated P10 or P90 is about sqrt(0.09/Sims)/f(x), i.e. 0.017 standard
	// deviations of a normal total at 10,000 simulations. Negative means no simulation:
	// only the exact moments are filled and the quantiles are NaN.
	Sims int
	// Seed selects the random streams; the same seed gives identical results.
	Seed uint64
	// Workers is the number of goroutines; zero means GOMAXPROCS. Results do not depend on it.
	Workers int
	// Bins is the number of histogram bins per (period, segment) used to extract quantiles
	// without storing every simulated total. Zero means DefaultBins. Memory is about
	// 20 bytes * Bins per group. See Distribute for the accuracy.
	Bins int
}

// DefaultSims and DefaultBins are the Options defaults.
const (
	DefaultSims = 10_000
	DefaultBins = 1024
)

// Result is the bookings distribution of one (period, segment type, segment).
type Result struct {
	Period      string  `json:"period"`
	SegmentType string  `json:"segment_type"`
	Segment     string  `json:"segment"`
	Closed      float64 `json:"closed"`   // sum of Closed deal amounts
	Expected    float64 `json:"expected"` // Closed + sum_i a_i q_i (exact)
	SD          float64 `json:"sd"`       // sqrt(sum_i a_i^2 q_i (1 - q_i)) (exact; for Joint rows see Distribute)
	P10         float64 `json:"p10"`      // simulated quantiles of Closed + sum_i a_i I_i
	P50         float64 `json:"p50"`
	P90         float64 `json:"p90"`
	NOpen       int     `json:"n_open"`   // open deals in the group (including q = 0)
	NClosed     int     `json:"n_closed"` // closed deals in the group
}

// groupKey identifies a (period, segment type, segment).
type groupKey struct{ period, typ, name string }

// Distribute returns, for every (period, segment type, segment) that some deal belongs to,
// the exact expected bookings and standard deviation and the simulated P10/P50/P90, sorted
// by period, segment type and segment.
//
// segmentsOf lists the segments of a deal (typically one per segment type, plus
// {"total", "all"} for the overall figure); a segment listed twice counts once, and a deal
// with no segments contributes to no result. If
// segmentsOf is nil, each deal belongs to Segment{"segment", deal.Segment}. It is called
// once per deal.
//
// Simulation: in world s = 0..Sims-1 each open deal with 0 < q_i < 1 draws one uniform
// number u_i from world s's stream and books if u_i < q_i (compared on a 2^-32 grid); the
// same draw feeds every segment of the deal. Deals with q_i = 1 book in every world, deals
// with q_i = 0 in none. Rows coupled by Joint draw one u per world and book in row j when
// Q_{j-1} <= u < Q_j, Q_j = q_1 + ... + q_j (in none when u >= Q_K). For a group fed by a
// subset S of those rows the deal's contribution X has the exact moments
//
//	E[X] = sum_{j in S} a_j q_j,   Var[X] = sum_{j in S} a_j^2 q_j - E[X]^2
//
// (at most one of the exclusive indicators is 1), which for one row is a q (1 - q).
//
// Quantiles are the inverse empirical CDF of the simulated totals, x_(ceil(p*Sims)). They
// are read from a per-group histogram over [mu - 4 sd, mu + 4 sd] (clipped to the possible
// range), which contains the true P10..P90 by Cantelli's inequality (the p-quantile lies
// within sd*sqrt((1-p)/p) = 3 sd of the mean for p = 0.1), with out-of-range counts kept
// aside. Each bin stores its count, minimum and maximum, and the quantile is interpolated
// by rank between them: exact when the bin holds one distinct value (e.g. small discrete
// cases), otherwise off by less than one bin width, 8 sd / Bins (0.008 sd by default),
// well below the Monte Carlo error.
//
// Cost: O(len(deals) * Sims) for the draws, O(groups * (Sims + Bins)) for the histograms;
// memory O(len(deals) + groups * Bins).
//
// It returns an error naming the deal if an amount is not finite or a probability or
// factor of an open deal is outside [0, 1], and for Joint rows that are not next to each
// other, whose q sum to more than 1, or that are Closed.
func Distribute(deals []Deal, segmentsOf func(Deal) []Segment, opts Options) ([]Result, error) {
	plan, err := newPlan(deals, segmentsOf)
	if err != nil {
		return nil, err
	}
	sims := opts.Sims
	if sims == 0 {
		sims = DefaultSims
	}
	bins := opts.Bins
	if bins <= 0 {
		bins = DefaultBins
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	q := make([][3]float64, len(plan.keys))
	for g := range q {
		q[g] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
	}
	if sims > 0 {
		q = plan.simulate(sims, bins, opts.Seed, workers)
	}
	out := make([]Result, len(plan.keys))
	for g, k := range plan.keys {
		out[g] = Result{
			Period: k.period, SegmentType: k.typ, Segment: k.name,
			Closed:   plan.closed[g],
			Expected: plan.closed[g] + plan.certain[g] + plan.mean[g],
			SD:       math.Sqrt(plan.variance[g]),
			P10:      q[g][0], P50: q[g][1], P90: q[g][2],
			NOpen: plan.nOpen[g], NClosed: plan.nClosed[g],
		}
	}
	slices.SortFunc(out, func(a, b Result) int {
		return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(a.SegmentType, b.SegmentType), cmp.Compare(a.Segment, b.Segment))
	})
	return out, nil
}

// plan is the deals reorganised for simulation. A deal (one row, or the rows coupled by
// Joint) is an event with K outcomes, outcome j feeding a set of groups. Events whose
// outcomes feed the same group sets form a family, simulated together: a world's draw
// adds each event's amount into one running sum per outcome of its family, and each sum
// into its groups once.
type plan struct {
	keys                  []groupKey
	closed, certain, mean []float64 // per group: closed, q=1 open, sum a q over 0<q<1
	variance              []float64 // per group: sum a^2 q (1-q), or its coupled form
	lo, hi                []float64 // per group: smallest and largest possible total
	nOpen, nClosed        []int
	famStart              []int32   // family f holds events famStart[f]..famStart[f+1]-1 (event order)
	famK                  []int32   // outcomes per event of family f
	famOut                []int32   // family f's outcome j feeds the groups of outcome cell famOut[f]+j
	thr                   []uint32  // per event of a one-outcome family: booking threshold q * 2^32
	cut                   []uint64  // beside amt: a K-outcome event's cumulative thresholds Q_j * 2^32 (unused for K = 1)
	amt                   []float64 // per event (K = 1) or per event and outcome (K > 1, K per event)
	amtStart              []int32   // family f's amounts start at amt[amtStart[f]]
	cellGroups            []int32   // outcome cell c feeds groups cellGroups[cgStart[c]:cgStart[c+1]] (rollups included)
	cgStart               []int32
	base                  []float64 // per group: closed + certain, the total's constant part
}

// simEvent is a simulated event while the plan is built: its family and its outcomes'
// probabilities and amounts at off..off+K-1 of the builder's flat slices.
type simEvent struct {
	fam, off int32
}

func newPlan(deals []Deal, segmentsOf func(Deal) []Segment) (*plan, error) {
	p := &plan{}
	index := map[groupKey]int32{}
	famIndex := map[string]int32{}
	var buf []byte
	var events []simEvent
	var evQ, evA []float64 // the simulated events' q_j and a_j, K per event
	var rows []int         // the current event's rows (indices into deals)
	var qs []float64       // and their q_j
	var gidsOf [][]int32   // and their sorted groups (reused across events)
	var famCount []int32
	// Per-event scratch over groups: the first and second moments of the deal's
	// contribution, and the smallest and largest amount it may add.
	var m1, m2, amin, amax, qsum []float64
	var touched []int32
	groupOf := func(k groupKey) int32 {
		g, ok := index[k]
		if !ok {
			g = int32(len(p.keys))
			index[k] = g
			p.keys = append(p.keys, k)
			p.closed = append(p.closed, 0)
			p.certain = append(p.certain, 0)
			p.mean = append(p.mean, 0)
			p.variance = append(p.variance, 0)
			p.lo = append(p.lo, 0)
			p.hi = append(p.hi, 0)
			p.nOpen = append(p.nOpen, 0)
			p.nClosed = append(p.nClosed, 0)
			m1, m2, amin, amax, qsum = append(m1, 0), append(m2, 0), append(amin, 0), append(amax, 0), append(qsum, -1)
		}
		return g
	}
	seen := map[string]bool{} // Joint keys already closed, to reject rows that are not adjacent
	for i := 0; i < len(deals); {
		// The event: row i and, with a Joint, the rows after it that share it.
		j := i + 1
		if deals[i].Joint != "" {
			if seen[deals[i].Joint] {
				return nil, fmt.Errorf("pipeline: deal %q: rows with Joint %q are not next to each other", deals[i].ID, deals[i].Joint)
			}
			seen[deals[i].Joint] = true
			for j < len(deals) && deals[j].Joint == deals[i].Joint {
				j++
			}
		}
		rows, qs = rows[:0], qs[:0]
		for len(gidsOf) < j-i {
			gidsOf = append(gidsOf, nil)
		}
		total := 0.0
		for r := i; r < j; r++ {
			d := &deals[r]
			if math.IsNaN(d.Amount) || math.IsInf(d.Amount, 0) {
				return nil, fmt.Errorf("pipeline: deal %q: amount %v is not finite", d.ID, d.Amount)
			}
			var q float64
			if d.Closed && d.Joint != "" {
				return nil, fmt.Errorf("pipeline: deal %q: a closed row cannot be Joint (%q)", d.ID, d.Joint)
			}
			if !d.Closed {
				for _, f := range []struct {
					name string
					v    float64
				}{{"PWin", d.PWin}, {"PInPeriod", d.PInPeriod}, {"SupplyFactor", d.SupplyFactor}, {"CreditFactor", d.CreditFactor}} {
					if !(f.v >= 0 && f.v <= 1) {
						return nil, fmt.Errorf("pipeline: deal %q: %s = %v outside [0, 1]", d.ID, f.name, f.v)
					}
				}
				q = d.Q()
				total += q
			}
			var segs []Segment
			if segmentsOf != nil {
				segs = segmentsOf(*d)
			} else {
				segs = []Segment{{Type: "segment", Name: d.Segment}}
			}
			gids := gidsOf[r-i][:0]
			for pi := -1; pi < len(d.Rollup); pi++ {
				per := d.Period
				if pi >= 0 {
					per = d.Rollup[pi]
				}
				for _, s := range segs {
					if g := groupOf(groupKey{per, s.Type, s.Name}); !slices.Contains(gids, g) {
						gids = append(gids, g)
					}
				}
			}
			slices.Sort(gids)
			gidsOf[r-i] = gids
			rows = append(rows, r)
			qs = append(qs, q)
		}
		egids := gidsOf[:j-i]
		// Q_K may exceed 1 by the rounding of a sum of probabilities that add up to it.
		if total > 1+1e-9 {
			return nil, fmt.Errorf("pipeline: deal %q: the probabilities of its %d Joint rows sum to %.4g, more than 1", deals[i].ID, j-i, total)
		}
		i = j

		if deals[rows[0]].Closed {
			d := &deals[rows[0]]
			for _, g := range egids[0] {
				p.closed[g] += d.Amount
				p.nClosed[g]++
			}
			continue
		}
		// Certain: one outcome with q = 1 (and the others 0). Impossible: every q = 0.
		// Simulated otherwise, when some possible outcome adds a non-zero amount to a group
		// (one that adds to none draws nothing, so the later deals' draws stay as they were).
		positive, certain, nonzero := 0, -1, false
		for r, q := range qs {
			if q > 0 {
				positive++
				nonzero = nonzero || (deals[rows[r]].Amount != 0 && len(egids[r]) > 0)
				if q >= 1 {
					certain = r
				}
			}
		}
		sim := positive > 0 && !(positive == 1 && certain >= 0) && nonzero
		touched = touched[:0]
		for r, q := range qs {
			a := deals[rows[r]].Amount
			for _, g := range egids[r] {
				if qsum[g] < 0 {
					qsum[g], m1[g], m2[g], amin[g], amax[g] = 0, 0, 0, math.Inf(1), math.Inf(-1)
					touched = append(touched, g)
				}
				if q > 0 {
					qsum[g] += q
					m1[g] += a * q
					m2[g] += a * a * q
					amin[g], amax[g] = min(amin[g], a), max(amax[g], a)
				}
			}
		}
		for _, g := range touched {
			p.nOpen[g]++
			switch {
			case certain >= 0 && positive == 1:
				p.certain[g] += m1[g]
			case qsum[g] > 0:
				p.mean[g] += m1[g]
				if positive == 1 { // one Bernoulli: a^2 q (1 - q), without the cancellation
					p.variance[g] += amax[g] * amax[g] * qsum[g] * (1 - qsum[g])
				} else {
					p.variance[g] += max(m2[g]-m1[g]*m1[g], 0)
				}
				// The deal adds one of its amounts, or nothing (q < 1); bounds include 0 either
				// way, loose by at most the smallest amount when the deal always books.
				p.lo[g] += min(amin[g], 0)
				p.hi[g] += max(amax[g], 0)
			}
			qsum[g] = -1
		}
		if !sim {
			continue
		}
		// The family: the events whose outcomes feed the same group sets.
		buf = buf[:0]
		for _, gids := range egids {
			buf = append(buf, byte(len(gids)), byte(len(gids)>>8), byte(len(gids)>>16), byte(len(gids)>>24))
			for _, g := range gids {
				buf = append(buf, byte(g), byte(g>>8), byte(g>>16), byte(g>>24))
			}
		}
		f, ok := famIndex[string(buf)]
		if !ok {
			f = int32(len(famCount))
			famIndex[string(buf)] = f
			famCount = append(famCount, 0)
			p.famK = append(p.famK, int32(len(egids)))
			p.famOut = append(p.famOut, int32(len(p.cgStart)))
			for _, gids := range egids {
				p.cgStart = append(p.cgStart, int32(len(p.cellGroups)))
				p.cellGroups = append(p.cellGroups, gids...)
			}
		}
		famCount[f]++
		events = append(events, simEvent{fam: f, off: int32(len(evQ))})
		evQ = append(evQ, qs...)
		for _, r := range rows {
			evA = append(evA, deals[r].Amount)
		}
	}
	p.cgStart = append(p.cgStart, int32(len(p.cellGroups)))
	// Counting sort of the simulated events by family, stable in deal order.
	p.famStart = make([]int32, len(famCount)+1)
	p.amtStart = make([]int32, len(famCount)+1)
	for f, n := range famCount {
		p.famStart[f+1] = p.famStart[f] + n
		p.amtStart[f+1] = p.amtStart[f] + n*p.famK[f]
	}
	nf := len(famCount)
	p.thr = make([]uint32, p.famStart[nf])
	p.cut = make([]uint64, p.amtStart[nf])
	p.amt = make([]float64, p.amtStart[nf])
	next := slices.Clone(p.famStart[:nf])
	for _, ev := range events {
		f := ev.fam
		e := next[f]
		next[f]++
		k := p.famK[f]
		slot := e - p.famStart[f] // the event's place in its family
		if k == 1 {
			p.thr[e] = threshold(evQ[ev.off])
			p.amt[p.amtStart[f]+slot] = evA[ev.off]
			continue
		}
		Q := 0.0
		for r := int32(0); r < k; r++ {
			Q += evQ[ev.off+r]
			p.cut[p.amtStart[f]+slot*k+r] = cumThreshold(Q)
			p.amt[p.amtStart[f]+slot*k+r] = evA[ev.off+r]
		}
	}
	p.base = make([]float64, len(p.keys))
	for g := range p.base {
		p.base[g] = p.closed[g] + p.certain[g]
		p.lo[g] += p.base[g]
		p.hi[g] += p.base[g]
	}
	return p, nil
}

// threshold maps q in (0, 1) to t with P(u < t) = t / 2^32 for a uniform 32-bit u,
// the nearest representable probability (error <= 2^-33).
func threshold(q float64) uint32 {
	t := math.Round(q * (1 << 32))
	return uint32(min(max(t, 1), math.MaxUint32))
}

// cumThreshold maps a cumulative probability Q in [0, 1] to the cut c with
// P(u < c) = c / 2^32 for a uniform 32-bit u: 0 for Q = 0, 2^32 for Q >= 1 (always), else
// the nearest representable probability in [2^-32, 1 - 2^-32] (error <= 2^-33), as threshold.
func cumThreshold(Q float64) uint64 {
	switch {
	case Q <= 0:
		return 0
	case Q >= 1:
		return 1 << 32
	}
	return uint64(threshold(Q))
}

// splitmix64 is Steele, Lea & Flood's (2014) SplitMix64 finaliser, used to derive
// well-separated PCG states from (seed, world).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// worldBatch is the number of worlds simulated together in one pass over the deals, so
// that a family's thresholds and amounts are read from memory once per batch rather than
// once per world (the pass is otherwise bound by memory bandwidth). At most 32: jointWorlds
// keeps a batch's worlds as the bits of a uint32.
const worldBatch = 16

// world fills tot (one entry per group) with the bookings of simulated world s.
func (p *plan) world(seed uint64, s int, tot []float64) {
	batch := make([]float64, len(p.keys)*worldBatch)
	p.worlds(seed, s, 1, batch)
	for g := range tot {
		tot[g] = batch[g*worldBatch]
	}
}

// worlds fills tot[g*worldBatch+k] with group g's bookings in world s+k, k = 0..n-1
// (n <= worldBatch; tot holds len(p.keys)*worldBatch). The layout is group-major so that
// adding a family's sums into a group touches the batch's worlds in one or two cache
// lines, not one line per world (families are small: at large scale about two deals
// each, so these adds cost as much as the draws). World s uses its own PCG stream seeded
// from (seed, s) and consumes it in event order, so its totals do not depend on which
// batch or worker simulates it.
//
// Each 64-bit PCG output supplies the uniform 32-bit draws of two consecutive events of a
// family (a family with an odd count discards the last half). A one-outcome event books
// when u < t, turned into a bit mask so the loop has no data-dependent branch; a K-outcome
// event (Joint rows) takes outcome j = #{k : Q_k <= u}, counted from sign bits, j = K
// meaning none, and adds its amount into that outcome's running sum.
func (p *plan) worlds(seed uint64, s, n int, tot []float64) {
	const W = worldBatch
	var src [W]rand.PCG
	for k := 0; k < n; k++ {
		a := splitmix64(seed ^ splitmix64(uint64(s+k)))
		src[k].Seed(a, splitmix64(a))
	}
	for g, b := range p.base {
		t := tot[g*W : g*W+n]
		for k := range t {
			t[k] = b
		}
	}
	var sc jointScratch
	for f := 0; f+1 < len(p.famStart); f++ {
		if p.famK[f] > 1 {
			p.jointWorlds(f, src[:n], &sc, tot)
			continue
		}
		thr := p.thr[p.famStart[f]:p.famStart[f+1]]
		amt := p.amt[p.amtStart[f]:p.amtStart[f+1]]
		amt = amt[:len(thr)]
		c := p.famOut[f]
		groups := p.cellGroups[p.cgStart[c]:p.cgStart[c+1]]
		var sums [W]float64
		k := 0
		// Four worlds interleaved: their PCG state updates are independent dependency
		// chains, which the CPU overlaps.
		for ; k+3 < n; k += 4 {
			r0, r1, r2, r3 := &src[k], &src[k+1], &src[k+2], &src[k+3]
			var s0, s1, s2, s3 float64
			i := 0
			for ; i+1 < len(thr); i += 2 {
				t0, t1, a0, a1 := thr[i], thr[i+1], amt[i], amt[i+1]
				u0, u1, u2, u3 := r0.Uint64(), r1.Uint64(), r2.Uint64(), r3.Uint64()
				s0 += booked(uint32(u0), t0, a0) + booked(uint32(u0>>32), t1, a1)
				s1 += booked(uint32(u1), t0, a0) + booked(uint32(u1>>32), t1, a1)
				s2 += booked(uint32(u2), t0, a0) + booked(uint32(u2>>32), t1, a1)
				s3 += booked(uint32(u3), t0, a0) + booked(uint32(u3>>32), t1, a1)
			}
			if i < len(thr) {
				t0, a0 := thr[i], amt[i]
				s0 += booked(uint32(r0.Uint64()), t0, a0)
				s1 += booked(uint32(r1.Uint64()), t0, a0)
				s2 += booked(uint32(r2.Uint64()), t0, a0)
				s3 += booked(uint32(r3.Uint64()), t0, a0)
			}
			sums[k], sums[k+1], sums[k+2], sums[k+3] = s0, s1, s2, s3
		}
		for ; k < n; k++ {
			rng := &src[k]
			sum := 0.0
			i := 0
			for ; i+1 < len(thr); i += 2 {
				r := rng.Uint64()
				sum += booked(uint32(r), thr[i], amt[i]) + booked(uint32(r>>32), thr[i+1], amt[i+1])
			}
			if i < len(thr) {
				sum += booked(uint32(rng.Uint64()), thr[i], amt[i])
			}
			sums[k] = sum
		}
		addSums(tot, groups, sums[:n])
	}
}

// addSums adds sums[k] (world k of the batch) into every group of groups. Most sums are
// zero (a family holds a few deals, each unlikely to book in a given world), so a zero
// one is skipped: that, not the layout, is what keeps these adds cheap.
func addSums(tot []float64, groups []int32, sums []float64) {
	for k, x := range sums {
		if x != 0 {
			for _, g := range groups {
				tot[int(g)*worldBatch+k] += x
			}
		}
	}
}

// jointScratch is jointWorlds' per-batch scratch, reused across families.
type jointScratch struct {
	acc  []float64 // acc[j*worldBatch+k]: world k's bookings into outcome j
	hits []uint32  // hits[j], bit k: world k booked into outcome j
}

// jointWorlds adds family f's K-outcome events into the batch's totals (tot as in worlds)
// for the worlds drawing from src. Each world draws its events in order from its own
// stream, so the totals are those of worlds one at a time.
//
// A draw at or above Q_K (no booking: most draws) costs one comparison; a booking finds
// its outcome by counting the cuts at or below u and adds its amount into the outcome's
// running sum for that world. Then each outcome something booked into adds its worlds'
// sums into its groups (the month's and its quarter's), a group's worlds side by side.
func (p *plan) jointWorlds(f int, src []rand.PCG, sc *jointScratch, tot []float64) {
	const W = worldBatch
	n := len(src)
	K := int(p.famK[f])
	events := int(p.famStart[f+1] - p.famStart[f])
	cut := p.cut[p.amtStart[f]:p.amtStart[f+1]]
	amt := p.amt[p.amtStart[f]:p.amtStart[f+1]]
	amt = amt[:len(cut)]
	if cap(sc.acc) < K*W {
		sc.acc, sc.hits = make([]float64, K*W), make([]uint32, K)
	}
	acc, hits := sc.acc[:K*W], sc.hits[:K]
	var r [W]uint64
	for e := 0; e < events; e++ {
		c, a := cut[e*K:(e+1)*K], amt[e*K:(e+1)*K]
		last := c[K-1]
		for k := 0; k < n; k++ {
			if e%2 == 0 {
				r[k] = src[k].Uint64()
			} else {
				r[k] >>= 32
			}
			u := r[k] & 0xffffffff
			if u >= last {
				continue
			}
			// u - Q_j wraps to a number with the top bit set exactly when u < Q_j.
			j := K
			for _, q := range c {
				j -= int((u - q) >> 63)
			}
			hits[j] |= 1 << k
			acc[j*W+k] += a[j]
		}
	}
	for j, m := range hits {
		if m == 0 {
			continue
		}
		hits[j] = 0
		cell := int(p.famOut[f]) + j
		sums := acc[j*W : j*W+W]
		for _, g := range p.cellGroups[p.cgStart[cell]:p.cgStart[cell+1]] {
			t := tot[int(g)*W : int(g)*W+W]
			for b := m; b != 0; b &= b - 1 {
				k := bits.TrailingZeros32(b)
				t[k] += sums[k]
			}
		}
		clear(sums)
	}
}

// booked returns a if u < t and 0 otherwise, without a branch: for u, t < 2^32,
// int64(u) - int64(t) is negative exactly when u < t, and its sign bit shifted across the
// word is the mask.
func booked(u, t uint32, a float64) float64 {
	mask := uint64((int64(u) - int64(t)) >> 63)
	return math.Float64frombits(math.Float64bits(a) & mask)
}

// histogram collects one group's simulated totals.
type histogram struct {
	lo, width  float64
	count      []uint32
	min, max   []float64
	under      outside
	over       outside
	degenerate bool // sd = 0: every total equals lo
}

type outside struct {
	n        int
	min, max float64
}

func (o *outside) add(x float64) {
	if o.n == 0 || x < o.min {
		o.min = x
	}
	if o.n == 0 || x > o.max {
		o.max = x
	}
	o.n++
}

func newHistogram(mu, sd, lo, hi float64, bins int) *histogram {
	a, b := max(lo, mu-4*sd), min(hi, mu+4*sd)
	if !(b > a) || sd == 0 {
		return &histogram{lo: mu, degenerate: true}
	}
	return &histogram{
		lo: a, width: (b - a) / float64(bins),
		count: make([]uint32, bins),
		min:   make([]float64, bins),
		max:   make([]float64, bins),
	}
}

func (h *histogram) add(x float64) {
	if h.degenerate {
		return
	}
	k := int(math.Floor((x - h.lo) / h.width))
	switch {
	case x < h.lo:
		h.under.add(x)
		return
	case k >= len(h.count):
		// x at the upper bound (or a rounding step above it) belongs to the last bin;
		// anything further is out of range.
		if x > h.lo+h.width*float64(len(h.count))*(1+1e-12)+1e-300 {
			h.over.add(x)
			return
		}
		k = len(h.count) - 1
	case k < 0:
		k = 0
	}
	if h.count[k] == 0 || x < h.min[k] {
		h.min[k] = x
	}
	if h.count[k] == 0 || x > h.max[k] {
		h.max[k] = x
	}
	h.count[k]++
}

// quantile returns the rank-th smallest total (1-based) of n.
func (h *histogram) quantile(rank int) float64 {
	if h.degenerate {
		return h.lo
	}
	pick := func(j, c int, lo, hi float64) float64 {
		if c <= 1 || lo == hi {
			return lo
		}
		return lo + (hi-lo)*float64(j-1)/float64(c-1)
	}
	if rank <= h.under.n {
		return pick(rank, h.under.n, h.under.min, h.under.max)
	}
	cum := h.under.n
	for k, c := range h.count {
		if c == 0 {
			continue
		}
		if rank <= cum+int(c) {
			return pick(rank-cum, int(c), h.min[k], h.max[k])
		}
		cum += int(c)
	}
	return pick(rank-cum, h.over.n, h.over.min, h.over.max)
}

// blockSims is the number of worlds simulated before their totals are binned; a multiple
// of worldBatch.
const blockSims = 256

// The two assumptions above, checked by the compiler: a negative constant does not convert.
const (
	_ = uint(32 - worldBatch)
	_ = uint(-(blockSims % worldBatch))
)

// simulate runs sims worlds and returns P10, P50, P90 per group. Worlds are simulated in
// blocks, in parallel over batches of worlds (each writes its own part of totals), then binned in
// parallel over groups (each histogram owned by one goroutine), so no result depends on
// scheduling.
func (p *plan) simulate(sims, bins int, seed uint64, workers int) [][3]float64 {
	G := len(p.keys)
	hists := make([]*histogram, G)
	for g := range hists {
		hists[g] = newHistogram(p.base[g]+p.mean[g], math.Sqrt(p.variance[g]), p.lo[g], p.hi[g], bins)
	}
	// Batch b of a block holds worlds b*worldBatch.. in totals[b*G*worldBatch:], group-major.
	totals := make([]float64, blockSims/worldBatch*G*worldBatch)
	for s0 := 0; s0 < sims; s0 += blockSims {
		n := min(blockSims, sims-s0)
		batches := (n + worldBatch - 1) / worldBatch
		parallel(batches, workers, func(b int) {
			k := b * worldBatch
			p.worlds(seed, s0+k, min(worldBatch, n-k), totals[b*G*worldBatch:(b+1)*G*worldBatch])
		})
		parallel(G, workers, func(g int) {
			h := hists[g]
			for b := 0; b < batches; b++ {
				m := min(worldBatch, n-b*worldBatch)
				for _, x := range totals[(b*G+g)*worldBatch : (b*G+g)*worldBatch+m] {
					h.add(x)
				}
			}
		})
	}
	out := make([][3]float64, G)
	for g, h := range hists {
		for j, prob := range []float64{0.1, 0.5, 0.9} {
			out[g][j] = h.quantile(rankOf(prob, sims))
		}
	}
	return out
}

// rankOf returns ceil(p*n) clamped to [1, n]: the rank of the p-quantile under the inverse
// empirical CDF (Hyndman & Fan 1996, definition 1), computed with a tolerance so that
// p*n landing a rounding error above an integer does not skip a rank.
func rankOf(p float64, n int) int {
	r := int(math.Ceil(p*float64(n) - 1e-9))
	return min(max(r, 1), n)
}

// parallel calls fn(i) for i in [0, n) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
