package collections

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Component names a source of cash in the forecast.
type Component string

// The components of a collections forecast, in the order Forecast.Components lists them.
const (
	ComponentAR       Component = "ar"              // open receivables
	ComponentUnbilled Component = "unbilled_orders" // won orders not invoiced yet
	ComponentBookings Component = "bookings"        // expected new bookings (Input.Bookings)
	ComponentTotal    Component = "total"           // the sum of the three
)

// Components lists the components in output order.
var Components = []Component{ComponentAR, ComponentUnbilled, ComponentBookings, ComponentTotal}

// Week is one forecast week [Start, Start+7 days) of one component: the expected cash and
// the 10th, 50th and 90th percentiles of the Monte Carlo distribution (base currency).
type Week struct {
	Start    time.Time `json:"week_start"`
	Expected float64   `json:"expected_base"`
	P10      float64   `json:"p10_base"`
	P50      float64   `json:"p50_base"`
	P90      float64   `json:"p90_base"`
}

// ComponentForecast is the weekly forecast of one component, with where the rest of its
// exposure is expected to go.
type ComponentForecast struct {
	Component Component `json:"component"`
	Weeks     []Week    `json:"weeks"`
	Items     int       `json:"items"`    // open items, unbilled orders or booking entries
	Exposure  float64   `json:"exposure"` // their total amount
	// BeforeFirstWeek is the expected cash between AsOf and the first week's Monday.
	BeforeFirstWeek float64 `json:"before_first_week"`
	// AfterHorizon is the expected cash after the last week (within MaxDelay).
	AfterHorizon float64 `json:"after_horizon"`
	// NotCollected is the expected amount not collected within MaxDelay days of due (or not
	// invoiced within MaxLag days of order).
	NotCollected float64 `json:"not_collected"`
}

// Forecast is the weekly cash-collections forecast as of AsOf.
type Forecast struct {
	AsOf time.Time `json:"as_of"`
	// FirstWeek is the first Monday on or after AsOf; week k starts FirstWeek + 7(k-1) days.
	FirstWeek  time.Time           `json:"first_week"`
	Components []ComponentForecast `json:"components"` // ar, unbilled_orders, bookings, total
	K          float64             `json:"k"`          // credibility constant used
	Sims       int                 `json:"sims"`
	Seed       uint64              `json:"seed"`
}

// Component returns the named component's forecast, or nil.
func (f *Forecast) Component(c Component) *ComponentForecast {
	for i := range f.Components {
		if f.Components[i].Component == c {
			return &f.Components[i]
		}
	}
	return nil
}

// Row is one output row: a week of one component (the collections_forecast table's grain).
type Row struct {
	WeekStart time.Time
	Component Component
	Expected  float64
	P10       float64
	P50       float64
	P90       float64
}

// Rows returns the forecast as rows, component by component (Components order), week by week.
func (f *Forecast) Rows() []Row {
	var out []Row
	for _, c := range f.Components {
		for _, w := range c.Weeks {
			out = append(out, Row{w.Start, c.Component, w.Expected, w.P10, w.P50, w.P90})
		}
	}
	return out
}

// FirstMonday returns the first Monday on or after t's UTC date.
func FirstMonday(t time.Time) time.Time {
	d := day(t)
	// 1970-01-01 was a Thursday: day d is a Monday when (d - 4) mod 7 == 0.
	off := ((4-d)%7 + 7) % 7
	return dayTime(d + off)
}

// Run fits the model on in's history (Fit) and forecasts in's open items, unbilled orders
// and bookings (Model.Forecast).
func Run(in Input, opts Options) (*Forecast, error) {
	m, err := Fit(in, opts)
	if err != nil {
		return nil, err
	}
	return m.Forecast(in)
}

// buckets of an item's payment day: 0 before the first week, 1..W the weeks, W+1 after the
// last week, W+2 not collected.
func (m *Model) nb() int { return m.opts.Weeks + 3 }

// firstWeek returns the day number of the first forecast Monday.
func (m *Model) firstWeek() int { return day(FirstMonday(m.AsOf)) }

// spread adds scale * P(origin + D in bucket, D >= from) to dst for D ~ cd.
func (m *Model) spread(cd cumDist, origin, from int, scale float64, dst []float64) {
	w1 := m.firstWeek()
	W := m.opts.Weeks
	edge := func(k int) int { return w1 + 7*k - origin } // bucket k+1 starts at D = edge(k)
	lo := from
	dst[0] += scale * cd.between(lo, max(edge(0), lo))
	for k := 0; k < W; k++ {
		a, b := max(edge(k), lo), edge(k+1)
		dst[k+1] += scale * cd.between(a, b)
	}
	dst[W+1] += scale * cd.between(max(edge(W), lo), cd.Max()+1)
	dst[W+2] += scale * cd.Beyond // D > Max satisfies D >= from whatever from is
}

// conditional adds the bucket probabilities of a payment day origin + D with D ~ cd
// conditioned on D >= from; when the data leave no mass there the item counts as not
// collected.
func (m *Model) conditional(cd cumDist, origin, from int, dst []float64) {
	s := cd.geq(from)
	if s < 1e-12 {
		dst[m.opts.Weeks+2]++
		return
	}
	m.spread(cd, origin, from, 1/s, dst)
}

// ItemProbs returns the probabilities that open item it is paid before the first week
// (index 0), in week k (index k, 1..Weeks), after the last week (Weeks+1) or not within
// MaxDelay (Weeks+2), given that it is unpaid at AsOf:
//
//	P(bucket) = P(due + D in bucket | D >= AsOf - due),   D ~ the item's distribution
//
// The item's distribution is its customer's shrunk distribution (CustomerDist); for a
// disputed item the disputed distribution (Model.Disputed from history, else CustomerDist
// convolved with Options.DisputeResolution); for a partly paid item, when
// RemainderFromHistory, the remainder distribution of days since the first payment,
// conditioned on the days elapsed.
func (m *Model) ItemProbs(it OpenItem) []float64 {
	dst := make([]float64, m.nb())
	m.itemProbs(it, dst, m.newDists())
	return dst
}

// dists holds the distributions (with their cumulative sums) the item probabilities use:
// the shared ones (remainder, population, disputed) for the whole forecast, and those of
// one customer at a time, in buffers reused from customer to customer, so that a forecast
// over many customers holds one customer's arrays, not every customer's.
type dists struct {
	m      *Model
	shared map[string]cumDist
	// the current customer's distribution and, for its disputed items without a
	// disputed history, that distribution convolved with the dispute resolution
	customer    string
	cum         cumDist
	disputed    cumDist
	hasCum      bool
	hasDisputed bool
	own, full   []float64 // customerDist's scratch
	p, c        []float64 // cum's P and cumulative sums
}

// newDists returns m's dists with nothing built yet.
func (m *Model) newDists() *dists {
	n := len(m.Population.P)
	return &dists{m: m, shared: map[string]cumDist{},
		own: make([]float64, n), full: make([]float64, n), p: make([]float64, n), c: make([]float64, n)}
}

// sharedCum returns the cumulative form of the shared distribution named key, built once.
func (ds *dists) sharedCum(key string, d func() Dist) cumDist {
	cd, ok := ds.shared[key]
	if !ok {
		cd = newCum(d())
		ds.shared[key] = cd
	}
	return cd
}

// use makes c the current customer; the previous customer's distributions are dropped.
func (ds *dists) use(c string) {
	if c != ds.customer {
		ds.customer, ds.hasCum, ds.hasDisputed = c, false, false
	}
}

// customerCum returns c's shrunk distribution (Model.CustomerDist) with its cumulative sums.
// It is valid until the next customer's.
func (ds *dists) customerCum(c string) cumDist {
	ds.use(c)
	if !ds.hasCum {
		d := ds.m.customerDist(c, ds.own, ds.full, ds.p)
		ds.cum, ds.hasCum = cumDist{d, d.cdfInto(ds.c[:len(d.P)])}, true
	}
	return ds.cum
}

// disputedCum returns c's distribution for disputed items when the history has too few
// settled disputes: CustomerDist convolved with Options.DisputeResolution.
func (ds *dists) disputedCum(c string) cumDist {
	ds.use(c)
	if !ds.hasDisputed {
		d := ds.m.customerDist(c, ds.own, ds.full, make([]float64, len(ds.p)))
		ds.disputed, ds.hasDisputed = newCum(d.Convolve(ds.m.opts.DisputeResolution, ds.m.opts.DisputeResolutionMin)), true
	}
	return ds.disputed
}

func (m *Model) itemProbs(it OpenItem, dst []float64, ds *dists) {
	switch {
	case !it.FirstPaid.IsZero() && m.RemainderFromHistory:
		fp := day(it.FirstPaid)
		cd := ds.sharedCum("remainder", func() Dist { return m.Remainder })
		m.conditional(cd, fp, m.asOf-fp, dst)
	case it.Disputed:
		var cd cumDist
		if m.DisputedFromHistory {
			cd = ds.sharedCum("disputed", func() Dist { return m.Disputed })
		} else {
			cd = ds.disputedCum(it.Customer)
		}
		due := day(it.Due)
		m.conditional(cd, due, m.asOf-due, dst)
	default:
		cd := ds.customerCum(it.Customer)
		due := day(it.Due)
		m.conditional(cd, due, m.asOf-due, dst)
	}
}

// OrderProbs returns the bucket probabilities (as ItemProbs) of the cash of an unbilled
// order: invoiced L days after its order date with L ~ Lag conditioned on L >= AsOf - order
// date, due TermsDays later (the order's, else the history's median), then paid D days late
// with D ~ CustomerDist:
//
//	P(bucket) = sum_L P(L | L >= a) * P(order + L + terms + D in bucket)
func (m *Model) OrderProbs(o UnbilledOrder) []float64 {
	dst := make([]float64, m.nb())
	m.orderProbs(m.Lag, day(o.Ordered), o.Customer, m.orderTerms(o), true, 1, dst, m.newDists())
	return dst
}

// orderTerms returns the order's payment terms, or the history's median when it has none.
func (m *Model) orderTerms(o UnbilledOrder) int {
	if o.TermsDays <= 0 {
		return m.TermsDays
	}
	return o.TermsDays
}

// orderProbs adds scale times the bucket probabilities of an order's cash — invoiced after
// L ~ lag (conditioned on L >= days since ordered when condition), due terms days later,
// paid after the customer's distribution (the population's for customer "") — to dst.
func (m *Model) orderProbs(lag Dist, ordered int, customer string, terms int, condition bool, scale float64, dst []float64, ds *dists) {
	from := 0
	s := 1.0
	if condition {
		from = max(m.asOf-ordered, 0)
		s = lag.Survival(from)
		if s < 1e-12 {
			dst[m.opts.Weeks+2] += scale
			return
		}
	}
	s /= scale
	var cd cumDist
	if customer == "" {
		cd = ds.sharedCum("population", func() Dist { return m.Population })
	} else {
		cd = ds.customerCum(customer)
	}
	for L := from; L <= lag.Max(); L++ {
		p := lag.At(L) / s
		if p == 0 {
			continue
		}
		m.spread(cd, ordered+L+terms, cd.Min, p, dst)
	}
	dst[m.opts.Weeks+2] += lag.Beyond / s
}

// BookingProbs returns the bucket probabilities of the cash of a booking on b.Date:
// invoiced after L ~ BookingLag (booking to first invoice, unconditioned; the order-to-
// invoice Lag without booking history), due T ~ BookingTerms days later (the history's
// amount-weighted terms), paid D ~ Population days late:
//
//	P(bucket) = sum_T P(T) sum_L P(L) P(date + L + T + D in bucket)
func (m *Model) BookingProbs(b Booking) []float64 {
	dst := make([]float64, m.nb())
	m.bookingProbs(day(b.Date), dst, m.newDists())
	return dst
}

func (m *Model) bookingProbs(booked int, dst []float64, ds *dists) {
	for i, t := range m.BookingTerms.Days {
		m.orderProbs(m.BookingLag, booked, "", t, false, m.BookingTerms.Weight[i], dst, ds)
	}
}

// Forecast returns the weekly collections forecast of in's open items, unbilled orders and
// bookings (in's history is not used: it was used by Fit). Items are independent given
// their distributions, so
//
//	E[cash in week k] = sum_items amount_i * P_i(week k)
//
// exactly, and the percentiles come from Options.Sims seeded Monte Carlo draws in which each
// open item and unbilled order falls, whole, into one bucket drawn from its probabilities.
// Bookings enter every draw at their expected cash: their amount uncertainty belongs to the
// bookings forecast that supplies them, so their P10 = P50 = P90 = expected. Draws run in
// chunks of 64 with one PCG stream per chunk (seed, chunk), so the result depends on Seed
// only. Percentiles are the empirical quantiles of the draws (gonum stat.Empirical).
// Items with a non-positive amount are skipped. It returns an error if in.AsOf differs from
// the model's.
func (m *Model) Forecast(in Input) (*Forecast, error) {
	if day(in.AsOf) != m.asOf {
		return nil, fmt.Errorf("collections: forecast as of %s with a model fitted as of %s", in.AsOf.Format(time.DateOnly), m.AsOf.Format(time.DateOnly))
	}
	W, nb := m.opts.Weeks, m.nb()
	ds := m.newDists()
	type item struct {
		amount float64
		cum    []float64 // cumulative bucket probabilities
	}
	comps := make([]ComponentForecast, len(Components))
	expected := make([][]float64, len(Components)) // per component, per bucket
	for i := range comps {
		comps[i].Component = Components[i]
		expected[i] = make([]float64, nb)
	}
	// The bucket probabilities of the open items and unbilled orders, computed customer by
	// customer (ds holds one customer's distribution at a time) into probs, then added in
	// the input's order, which the draws follow.
	type ref struct {
		customer string
		open     bool
		i        int // index into in.Open or in.Unbilled
	}
	var refs []ref
	for i, it := range in.Open {
		if it.Amount > 0 {
			refs = append(refs, ref{it.Customer, true, i})
		}
	}
	nOpen := len(refs)
	for i, o := range in.Unbilled {
		if o.Amount > 0 {
			refs = append(refs, ref{o.Customer, false, i})
		}
	}
	probs := make([]float64, len(refs)*nb)
	order := make([]int, len(refs))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(refs[a].customer, refs[b].customer) })
	for _, k := range order {
		r, p := refs[k], probs[k*nb:(k+1)*nb]
		if r.open {
			m.itemProbs(in.Open[r.i], p, ds)
		} else {
			o := in.Unbilled[r.i]
			m.orderProbs(m.Lag, day(o.Ordered), o.Customer, m.orderTerms(o), true, 1, p, ds)
		}
	}
	var items [2][]item
	items[0], items[1] = make([]item, 0, nOpen), make([]item, 0, len(refs)-nOpen)
	// add adds an item's bucket probabilities p to its component and, for the drawn
	// components, turns p into its cumulative sums in place.
	add := func(ci int, amount float64, p []float64) {
		comps[ci].Items++
		comps[ci].Exposure += amount
		s := 0.0
		for b, v := range p {
			expected[ci][b] += amount * v
			s += v
			p[b] = s
		}
		if ci < 2 {
			items[ci] = append(items[ci], item{amount, p})
		}
	}
	for k, r := range refs {
		if r.open {
			add(0, in.Open[r.i].Amount, probs[k*nb:(k+1)*nb])
		} else {
			add(1, in.Unbilled[r.i].Amount, probs[k*nb:(k+1)*nb])
		}
	}
	p := make([]float64, nb)
	for _, b := range in.Bookings {
		if !(b.Amount > 0) {
			continue
		}
		clear(p)
		m.bookingProbs(day(b.Date), p, ds)
		add(2, b.Amount, p)
	}

	// Monte Carlo over the weeks: draws[c][s*W + k] for c = ar, unbilled.
	sims := m.opts.Sims
	draws := [2][]float64{make([]float64, sims*W), make([]float64, sims*W)}
	const chunk = 64
	nChunks := (sims + chunk - 1) / chunk
	workers := m.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int, nChunks)
	for c := 0; c < nChunks; c++ {
		next <- c
	}
	close(next)
	for w := 0; w < min(workers, nChunks); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				r := rand.New(rand.NewPCG(m.opts.Seed, uint64(c)))
				for s := c * chunk; s < min((c+1)*chunk, sims); s++ {
					for ci := range items {
						row := draws[ci][s*W : (s+1)*W]
						for _, it := range items[ci] {
							u := r.Float64()
							// first bucket b with cum[b] > u (binary search)
							lo, hi := 0, len(it.cum)
							for lo < hi {
								h := int(uint(lo+hi) >> 1)
								if it.cum[h] > u {
									hi = h
								} else {
									lo = h + 1
								}
							}
							if lo >= 1 && lo <= W {
								row[lo-1] += it.amount
							}
						}
					}
				}
			}
		}()
	}
	wg.Wait()

	w1 := m.firstWeek()
	tot := make([]float64, sims)
	col := make([]float64, sims)
	for ci := range comps {
		cf := &comps[ci]
		cf.Weeks = make([]Week, W)
		for k := 0; k < W; k++ {
			wk := Week{Start: dayTime(w1 + 7*k)}
			switch ci {
			case 0, 1:
				wk.Expected = expected[ci][k+1]
				for s := 0; s < sims; s++ {
					col[s] = draws[ci][s*W+k]
				}
				wk.P10, wk.P50, wk.P90 = quantiles(col)
			case 2:
				wk.Expected = expected[2][k+1]
				wk.P10, wk.P50, wk.P90 = wk.Expected, wk.Expected, wk.Expected
			case 3:
				for c := 0; c < 3; c++ {
					wk.Expected += expected[c][k+1]
				}
				for s := 0; s < sims; s++ {
					tot[s] = draws[0][s*W+k] + draws[1][s*W+k] + expected[2][k+1]
				}
				wk.P10, wk.P50, wk.P90 = quantiles(tot)
			}
			cf.Weeks[k] = wk
		}
		if ci < 3 {
			cf.BeforeFirstWeek = expected[ci][0]
			cf.AfterHorizon = expected[ci][W+1]
			cf.NotCollected = expected[ci][W+2]
		}
	}
	t := &comps[3]
	for ci := 0; ci < 3; ci++ {
		t.Items += comps[ci].Items
		t.Exposure += comps[ci].Exposure
		t.BeforeFirstWeek += comps[ci].BeforeFirstWeek
		t.AfterHorizon += comps[ci].AfterHorizon
		t.NotCollected += comps[ci].NotCollected
	}
	return &Forecast{AsOf: m.AsOf, FirstWeek: dayTime(w1), Components: comps, K: m.K, Sims: sims, Seed: m.opts.Seed}, nil
}

// quantiles returns the empirical 10th, 50th and 90th percentiles of x (x is sorted in place).
func quantiles(x []float64) (p10, p50, p90 float64) {
	sort.Float64s(x)
	return stat.Quantile(0.1, stat.Empirical, x, nil), stat.Quantile(0.5, stat.Empirical, x, nil), stat.Quantile(0.9, stat.Empirical, x, nil)
}
