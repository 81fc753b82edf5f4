package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Deal is one opportunity's chance of booking in one period.
//
// A deal that may close in several periods appears once per period, each row with that
// period's PInPeriod; results are per period (marginal), so such rows need not be
// coupled. Partial bookings (a deal whose lines cannot all ship before period end) are
// represented by the caller as the shippable Amount in this period and the rest in a later
// period's row.
type Deal struct {
	ID      string // for error messages
	Period  string // the period this row books into, e.g. "2026-Q3"
	Segment string // the deal's segment when Distribute is called without a segment function

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
	SD          float64 `json:"sd"`       // sqrt(sum_i a_i^2 q_i (1 - q_i)) (exact)
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
// with q_i = 0 in none.
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
// factor of an open deal is outside [0, 1].
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

// plan is the deals reorganised for simulation: uncertain deals grouped into cells of
// identical group membership, so that a world's draw adds each deal into one running cell
// sum and each cell sum into its groups once.
type plan struct {
	keys                  []groupKey
	closed, certain, mean []float64 // per group: closed, q=1 open, sum a q over 0<q<1
	variance              []float64 // per group: sum a^2 q (1-q)
	lo, hi                []float64 // per group: smallest and largest possible total
	nOpen, nClosed        []int
	thr                   []uint32  // uncertain deals in cell order: booking threshold q * 2^32
	amt                   []float64 // and amount
	cellStart             []int32   // cell c holds deals cellStart[c]..cellStart[c+1]-1
	cellGroups            []int32   // cell c feeds groups cellGroups[cgStart[c]:cgStart[c+1]]
	cgStart               []int32
	base                  []float64 // per group: closed + certain, the total's constant part
}

func newPlan(deals []Deal, segmentsOf func(Deal) []Segment) (*plan, error) {
	p := &plan{}
	index := map[groupKey]int32{}
	cellIndex := map[string]int32{}
	var gids []int32
	var buf []byte
	dealCell := make([]int32, len(deals)) // -1 if not simulated
	var cellCount []int32
	for i := range deals {
		d := &deals[i]
		dealCell[i] = -1
		if math.IsNaN(d.Amount) || math.IsInf(d.Amount, 0) {
			return nil, fmt.Errorf("pipeline: deal %q: amount %v is not finite", d.ID, d.Amount)
		}
		var q float64
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
		}
		var segs []Segment
		if segmentsOf != nil {
			segs = segmentsOf(*d)
		} else {
			segs = []Segment{{Type: "segment", Name: d.Segment}}
		}
		gids = gids[:0]
		for _, s := range segs {
			k := groupKey{d.Period, s.Type, s.Name}
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
			}
			if !slices.Contains(gids, g) {
				gids = append(gids, g)
			}
		}
		a := d.Amount
		for _, g := range gids {
			switch {
			case d.Closed:
				p.closed[g] += a
				p.nClosed[g]++
			case q == 1:
				p.certain[g] += a
				p.nOpen[g]++
			default:
				p.nOpen[g]++
				p.mean[g] += a * q
				p.variance[g] += a * a * q * (1 - q)
				if q > 0 {
					p.lo[g] += min(a, 0)
					p.hi[g] += max(a, 0)
				}
			}
		}
		if d.Closed || q == 0 || q == 1 || a == 0 || len(gids) == 0 {
			continue
		}
		slices.Sort(gids)
		buf = buf[:0]
		for _, g := range gids {
			buf = append(buf, byte(g), byte(g>>8), byte(g>>16), byte(g>>24))
		}
		c, ok := cellIndex[string(buf)]
		if !ok {
			c = int32(len(cellCount))
			cellIndex[string(buf)] = c
			cellCount = append(cellCount, 0)
			p.cgStart = append(p.cgStart, int32(len(p.cellGroups)))
			p.cellGroups = append(p.cellGroups, gids...)
		}
		cellCount[c]++
		dealCell[i] = c
	}
	p.cgStart = append(p.cgStart, int32(len(p.cellGroups)))
	// Counting sort of the simulated deals by cell, stable in deal order.
	p.cellStart = make([]int32, len(cellCount)+1)
	for c, n := range cellCount {
		p.cellStart[c+1] = p.cellStart[c] + n
	}
	nSim := int(p.cellStart[len(cellCount)])
	p.thr = make([]uint32, nSim)
	p.amt = make([]float64, nSim)
	next := slices.Clone(p.cellStart[:len(cellCount)])
	for i := range deals {
		c := dealCell[i]
		if c < 0 {
			continue
		}
		k := next[c]
		next[c]++
		p.thr[k] = threshold(deals[i].Q())
		p.amt[k] = deals[i].Amount
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

// splitmix64 is Steele, Lea & Flood's (2014) SplitMix64 finaliser, used to derive
// well-separated PCG states from (seed, world).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// worldBatch is the number of worlds simulated together in one pass over the deals, so
// that a cell's thresholds and amounts are read from memory once per batch rather than once
// per world (the pass is otherwise bound by memory bandwidth).
const worldBatch = 16

// world fills tot (one entry per group) with the bookings of simulated world s.
func (p *plan) world(seed uint64, s int, tot []float64) {
	p.worlds(seed, s, 1, tot)
}

// worlds fills tot[k*G:(k+1)*G] with the bookings of world s+k, k = 0..n-1 (n <= worldBatch),
// G = len(p.keys). World s uses its own PCG stream seeded from (seed, s) and consumes it in
// deal order, so its totals do not depend on which batch or worker simulates it.
//
// Each 64-bit PCG output supplies the uniform 32-bit draws of two consecutive deals of a
// cell (a cell with an odd count discards the last half); the booking test u < t is turned
// into a bit mask, so the loop has no data-dependent branch.
func (p *plan) worlds(seed uint64, s, n int, tot []float64) {
	G := len(p.keys)
	var src [worldBatch]rand.PCG
	for k := 0; k < n; k++ {
		a := splitmix64(seed ^ splitmix64(uint64(s+k)))
		src[k].Seed(a, splitmix64(a))
		copy(tot[k*G:(k+1)*G], p.base)
	}
	for c := 0; c+1 < len(p.cellStart); c++ {
		thr := p.thr[p.cellStart[c]:p.cellStart[c+1]]
		amt := p.amt[p.cellStart[c]:p.cellStart[c+1]]
		amt = amt[:len(thr)]
		groups := p.cellGroups[p.cgStart[c]:p.cgStart[c+1]]
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
			for j, sum := range [4]float64{s0, s1, s2, s3} {
				if sum != 0 {
					t := tot[(k+j)*G : (k+j+1)*G]
					for _, g := range groups {
						t[g] += sum
					}
				}
			}
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
			if sum != 0 {
				t := tot[k*G : (k+1)*G]
				for _, g := range groups {
					t[g] += sum
				}
			}
		}
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

// blockSims is the number of worlds simulated before their totals are binned.
const blockSims = 256

// simulate runs sims worlds and returns P10, P50, P90 per group. Worlds are simulated in
// blocks, in parallel over worlds (each writes its own row of totals), then binned in
// parallel over groups (each histogram owned by one goroutine), so no result depends on
// scheduling.
func (p *plan) simulate(sims, bins int, seed uint64, workers int) [][3]float64 {
	G := len(p.keys)
	hists := make([]*histogram, G)
	for g := range hists {
		hists[g] = newHistogram(p.base[g]+p.mean[g], math.Sqrt(p.variance[g]), p.lo[g], p.hi[g], bins)
	}
	totals := make([]float64, blockSims*G)
	for s0 := 0; s0 < sims; s0 += blockSims {
		n := min(blockSims, sims-s0)
		parallel((n+worldBatch-1)/worldBatch, workers, func(b int) {
			k := b * worldBatch
			p.worlds(seed, s0+k, min(worldBatch, n-k), totals[k*G:])
		})
		parallel(G, workers, func(g int) {
			h := hists[g]
			for k := 0; k < n; k++ {
				h.add(totals[k*G+g])
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
