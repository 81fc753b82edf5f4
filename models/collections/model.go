package collections

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DelayObs is one invoice of the payment history as of the as-of date: its due date and the
// date of the first payment applied to it, or no payment yet (a right-censored observation:
// days late >= as-of - due).
type DelayObs struct {
	Customer string
	Invoiced time.Time // invoice date; Due - Invoiced gives the payment terms
	Due      time.Time
	Paid     time.Time // first payment date before the as-of date; zero when unpaid at the as-of date
	Disputed bool      // the invoice was disputed (its own, slower distribution)
	// Amount (base currency) weights the invoice's payment terms in the terms distribution
	// that bookings use (Model.BookingTerms); 0 counts as 1.
	Amount float64
}

// RemainderObs is one partly paid invoice of the history: the date of its first payment and
// the date its balance was cleared, or zero when it was still open at the as-of date.
type RemainderObs struct {
	FirstPaid time.Time
	Cleared   time.Time
}

// LagObs is one sales order of the history: its order date and the date of its first
// invoice, or zero when it was not invoiced by the as-of date.
type LagObs struct {
	Ordered  time.Time
	Invoiced time.Time
}

// OpenItem is a receivable open at the as-of date. Credits (negative open amounts) are not
// receipts and must not be passed.
type OpenItem struct {
	ID       string
	Customer string
	Due      time.Time
	Amount   float64 // open amount, base currency, > 0
	Disputed bool
	// FirstPaid is set when part of the invoice is already paid (a partial payment): the date
	// of the first payment. The balance then follows the remainder distribution.
	FirstPaid time.Time
}

// UnbilledOrder is a won sales order not (fully) invoiced by the as-of date.
type UnbilledOrder struct {
	ID        string
	Customer  string
	Ordered   time.Time
	Amount    float64 // not yet invoiced, base currency, > 0
	TermsDays int     // the customer's payment terms; 0 = the history's median terms
}

// Booking is expected new business: Amount (base currency) expected to be booked on Date,
// e.g. a day's share of a bookings forecast (SpreadBookings).
type Booking struct {
	Date   time.Time
	Amount float64
}

// Input is everything the collections forecast needs, as of AsOf (00:00 UTC of that date:
// history strictly before it).
type Input struct {
	AsOf       time.Time
	Delays     []DelayObs
	Remainders []RemainderObs
	Lags       []LagObs
	Open       []OpenItem
	Unbilled   []UnbilledOrder
	Bookings   []Booking
	// BookingLags is the history of won bookings: Ordered = the booking (close) date,
	// Invoiced = the date of the first invoice of any of its orders, zero when none before
	// AsOf. When given, bookings are invoiced after the Kaplan-Meier of these lags, which
	// also counts bookings that never reach an invoice (no order; mass beyond MaxLag), instead
	// of the order-to-invoice Lag.
	BookingLags []LagObs
}

// Options controls Fit and the forecast. The zero value gives the defaults.
type Options struct {
	// Weeks is the number of forecast weeks; 0 means 13 (a quarter, the usual treasury
	// cash horizon).
	Weeks int
	// MinDelay and MaxDelay bound days late (payment date - due date); 0 means -90 and 365.
	// Earlier payments count at MinDelay; later ones, and invoices never paid, are "not
	// collected".
	MinDelay, MaxDelay int
	// MaxLag bounds the order-to-invoice lag in days; 0 means 365.
	MaxLag int
	// K is the credibility constant in Z = n / (n + K); 0 means choose it by ChooseK.
	K float64
	// KGrid is the grid ChooseK searches; nil means DefaultKGrid.
	KGrid []float64
	// MinClassObs is the number of observations the dispute and partial-remainder classes
	// need before their own history is used; 0 means 30.
	MinClassObs int
	// DisputeResolution is the pmf of the extra days a dispute adds, on
	// [DisputeResolutionMin, ...], used when the history has fewer than MinClassObs settled
	// disputes. Nil means DefaultDisputeResolution.
	DisputeResolution    []float64
	DisputeResolutionMin int
	// Sims is the number of Monte Carlo draws for the percentiles; 0 means 2000.
	Sims int
	// Seed seeds the Monte Carlo draws; the same seed gives the same percentiles.
	Seed uint64
	// Workers runs the draws in parallel; 0 means GOMAXPROCS. The result does not depend on it.
	Workers int
}

// DefaultKGrid is the credibility constants ChooseK tries.
var DefaultKGrid = []float64{0.5, 1, 2, 4, 8, 16, 32, 64, 128}

// DefaultDisputeResolution returns the default pmf of the extra days a dispute adds (to be
// placed at offset 30): uniform on 30..150 days. It is an assumption, not an estimate: the
// warehouse keeps no dispute flag on settled invoices, so the days a dispute adds cannot be
// measured from revcast's own history. The range is the one the synthetic company plants
// (fixtures/doc.go, "disputed invoices add 30-150 days") and sits within the one-to-five
// months that collections practitioners quote for dispute resolution. Replace it with the
// Kaplan-Meier of your dispute log (DelayObs.Disputed on settled invoices), which Fit uses
// automatically once it has MinClassObs settled disputes.
func DefaultDisputeResolution() (pmf []float64, min int) {
	pmf = make([]float64, 121)
	for i := range pmf {
		pmf[i] = 1.0 / 121
	}
	return pmf, 30
}

func (o Options) withDefaults() Options {
	if o.Weeks <= 0 {
		o.Weeks = 13
	}
	if o.MinDelay == 0 && o.MaxDelay == 0 {
		o.MinDelay, o.MaxDelay = -90, 365
	}
	if o.MaxDelay <= o.MinDelay {
		panic(fmt.Sprintf("collections: MaxDelay %d <= MinDelay %d", o.MaxDelay, o.MinDelay))
	}
	if o.MaxLag <= 0 {
		o.MaxLag = 365
	}
	if o.KGrid == nil {
		o.KGrid = DefaultKGrid
	}
	if o.MinClassObs <= 0 {
		o.MinClassObs = 30
	}
	if o.DisputeResolution == nil {
		o.DisputeResolution, o.DisputeResolutionMin = DefaultDisputeResolution()
	}
	if o.Sims <= 0 {
		o.Sims = 2000
	}
	if o.K < 0 || math.IsNaN(o.K) {
		panic(fmt.Sprintf("collections: K = %v, want >= 0", o.K))
	}
	return o
}

// Model holds the fitted payment-delay, remainder and invoicing-lag distributions.
type Model struct {
	AsOf time.Time `json:"as_of"`
	// K is the credibility constant: a customer with n paid invoices gets weight
	// Z = n / (n + K) on its own distribution.
	K float64 `json:"k"`
	// KLogLik is ChooseK's cross-validated log-likelihood per grid value (nil when K was given).
	KLogLik []float64 `json:"k_loglik,omitempty"`
	// Population is the Kaplan-Meier distribution of days late over all customers'
	// undisputed invoices.
	Population Dist `json:"population"`
	// Disputed is the days-late distribution of disputed invoices when the history has at
	// least MinClassObs settled disputes (DisputedFromHistory); otherwise disputed items use
	// their customer's distribution convolved with Options.DisputeResolution.
	Disputed            Dist `json:"disputed"`
	DisputedFromHistory bool `json:"disputed_from_history"`
	// Remainder is the distribution of days from a partial payment to the clearing of the
	// balance, used when RemainderFromHistory (at least MinClassObs partly paid invoices
	// whose estimate reaches 60 days); otherwise balances use their customer's distribution.
	Remainder            Dist `json:"remainder"`
	RemainderFromHistory bool `json:"remainder_from_history"`
	// Lag is the Kaplan-Meier distribution of days from order to first invoice.
	Lag Dist `json:"lag"`
	// TermsDays is the median of due date - invoice date over the history (0 without history).
	TermsDays int `json:"terms_days"`
	// BookingTerms is the distribution of due date - invoice date over the history's
	// invoices weighted by amount (DelayObs.Amount), which bookings — whose customer and
	// size are unknown — use: P(terms = Days[i]) = Weight[i]. Large customers often have
	// longer terms, so the amount-weighted terms can differ much from the median.
	BookingTerms Terms `json:"booking_terms"`
	// BookingLag is the Kaplan-Meier distribution of days from a won booking to its first
	// invoice when Input.BookingLags is given (BookingLagFromHistory), else Lag.
	BookingLag            Dist `json:"booking_lag"`
	BookingLagFromHistory bool `json:"booking_lag_from_history"`
	// MedianLag is the median observed order-to-invoice lag (naive: invoiced orders only),
	// for the baselines.
	MedianLag int `json:"median_lag"`
	// PopulationMedian is the median days late of paid invoices (naive), for the baselines.
	PopulationMedian int `json:"population_median"`

	opts      Options
	asOf      int
	customers map[string]*customerFit
}

// customerFit is one customer's fit: its own Kaplan-Meier estimate, kept sparse (see
// sparseDist), and its paid invoices.
type customerFit struct {
	own    sparseDist // own Kaplan-Meier, before completion with the population tail
	exact  int        // paid invoices (exact observations)
	median int        // naive median of exact days late
}

// sparseDist is a Kaplan-Meier Dist kept as its nonzero points. A customer's estimate has
// mass only on the days its invoices were paid, so n paid invoices need at most n points,
// where the dense support of MinDelay..MaxDelay is 456 days (3.6 KB): kept dense, the
// customers of twice the large synthetic company (206,708) held 0.75 GB in the fitted
// model, and the forecast's per-customer cache as much again. dense restores the Dist bit
// for bit.
type sparseDist struct {
	at      []int32 // index into P (day - Min), ascending
	p       []float64
	beyond  float64
	horizon int
	open    float64
}

// sparsify keeps d's nonzero points.
func sparsify(d Dist) sparseDist {
	s := sparseDist{beyond: d.Beyond, horizon: d.Horizon, open: d.Open}
	n := 0
	for _, p := range d.P {
		if p != 0 {
			n++
		}
	}
	s.at, s.p = make([]int32, 0, n), make([]float64, 0, n)
	for i, p := range d.P {
		if p != 0 {
			s.at = append(s.at, int32(i))
			s.p = append(s.p, p)
		}
	}
	return s
}

// dense returns the Dist on [min, min+len(buf)-1] with its P in buf (overwritten).
func (s sparseDist) dense(min int, buf []float64) Dist {
	clear(buf)
	for k, i := range s.at {
		buf[i] = s.p[k]
	}
	return Dist{Min: min, P: buf, Beyond: s.beyond, Horizon: s.horizon, Open: s.open}
}

// day returns t's day number (days since 1970-01-01 UTC).
func day(t time.Time) int {
	return int(math.Floor(float64(t.Unix()) / 86400))
}

// dayTime returns the UTC midnight of day number d.
func dayTime(d int) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// ErrNoHistory is returned when there is no payment history to estimate from.
var ErrNoHistory = errors.New("collections: no payment history before the as-of date")

// Fit estimates the distributions from in's history (Delays, Remainders, Lags,
// BookingLags) as of in.AsOf:
//
//   - the population days-late distribution f_pop: KaplanMeier of every undisputed invoice
//     (paid: days late = paid - due; unpaid: censored at as-of - due);
//   - per customer with a paid invoice, its own KaplanMeier, completed with the population
//     tail (Dist.Complete) and weighted by credibility when Model.CustomerDist asks;
//   - the credibility constant K: Options.K, or ChooseK's cross-validated choice;
//   - the disputed, remainder and order-to-invoice lag distributions (see Model);
//   - for bookings: the amount-weighted terms distribution (BookingTerms) and the
//     KaplanMeier of booking-to-first-invoice lags (BookingLag; Lag without BookingLags).
//
// It returns ErrNoHistory when in.Delays holds no invoice before AsOf. It panics on invalid
// options.
func Fit(in Input, opts Options) (*Model, error) {
	opts = opts.withDefaults()
	asOf := day(in.AsOf)
	m := &Model{AsOf: dayTime(asOf), opts: opts, asOf: asOf, customers: map[string]*customerFit{}}
	obs := delayObservations(in.Delays, asOf)
	if len(obs) == 0 {
		return nil, ErrNoHistory
	}
	lo, hi := opts.MinDelay, opts.MaxDelay

	// population and per-customer Kaplan-Meier (undisputed invoices)
	var t []int
	var cens []bool
	var paid []int
	var disT []int
	var disC []bool
	disExact := 0
	for _, o := range obs {
		if o.disputed {
			disT = append(disT, o.t)
			disC = append(disC, o.censored)
			if !o.censored {
				disExact++
			}
			continue
		}
		t = append(t, o.t)
		cens = append(cens, o.censored)
		if !o.censored {
			paid = append(paid, o.t)
		}
	}
	m.Population, _ = KaplanMeier(t, cens, lo, hi)
	m.PopulationMedian = median(paid)
	// Per customer (obs are sorted by customer), into buffers reused across customers.
	// A customer without a paid invoice gets the population's distribution and median
	// whatever its censored invoices say, so it is not kept.
	nd := hi - lo + 1
	kmEvents, kmLeave, kmP := make([]float64, nd), make([]float64, nd+1), make([]float64, nd)
	var ct, ex []int
	var cc []bool
	for start := 0; start < len(obs); {
		end := start
		for end < len(obs) && obs[end].customer == obs[start].customer {
			end++
		}
		ct, cc, ex = ct[:0], cc[:0], ex[:0]
		for _, o := range obs[start:end] {
			if o.disputed {
				continue
			}
			ct, cc = append(ct, o.t), append(cc, o.censored)
			if !o.censored {
				ex = append(ex, o.t)
			}
		}
		if len(ex) > 0 {
			km, n := kaplanMeier(ct, cc, lo, hi, kmEvents, kmLeave, kmP)
			m.customers[obs[start].customer] = &customerFit{own: sparsify(km), exact: n, median: median(ex)}
		}
		start = end
	}
	if disExact >= opts.MinClassObs {
		d, _ := KaplanMeier(disT, disC, lo, hi)
		m.Disputed = d.Complete(m.Population.Convolve(opts.DisputeResolution, opts.DisputeResolutionMin))
		m.DisputedFromHistory = true
	} else {
		m.Disputed = m.Population.Convolve(opts.DisputeResolution, opts.DisputeResolutionMin)
	}

	// credibility constant
	if opts.K > 0 {
		m.K = opts.K
	} else {
		m.K, m.KLogLik = chooseK(obs, opts)
	}

	// terms
	var terms []int
	termWeight := map[int]float64{}
	for _, o := range in.Delays {
		if !o.Invoiced.IsZero() && day(o.Invoiced) < asOf {
			v := max(day(o.Due)-day(o.Invoiced), 0)
			terms = append(terms, v)
			wt := o.Amount
			if !(wt > 0) || math.IsInf(wt, 0) {
				wt = 1
			}
			termWeight[v] += wt
		}
	}
	m.TermsDays = median(terms)
	m.BookingTerms = newTerms(termWeight, m.TermsDays)

	// partial remainders
	var rt []int
	var rc []bool
	for _, r := range in.Remainders {
		fp := day(r.FirstPaid)
		if fp >= asOf {
			continue
		}
		if !r.Cleared.IsZero() && day(r.Cleared) < asOf {
			rt = append(rt, day(r.Cleared)-fp)
			rc = append(rc, false)
		} else {
			rt = append(rt, asOf-fp)
			rc = append(rc, true)
		}
	}
	rem, _ := KaplanMeier(rt, rc, 0, hi)
	m.Remainder = rem
	m.RemainderFromHistory = len(rt) >= opts.MinClassObs && rem.Horizon >= 60

	// order-to-invoice lag
	var lt, lexact []int
	var lc []bool
	for _, l := range in.Lags {
		od := day(l.Ordered)
		if od >= asOf {
			continue
		}
		if !l.Invoiced.IsZero() && day(l.Invoiced) < asOf {
			v := max(day(l.Invoiced)-od, 0)
			lt = append(lt, v)
			lc = append(lc, false)
			lexact = append(lexact, v)
		} else {
			lt = append(lt, asOf-od)
			lc = append(lc, true)
		}
	}
	m.Lag, _ = KaplanMeier(lt, lc, 0, opts.MaxLag)
	if len(lt) == 0 {
		m.Lag.P[0], m.Lag.Beyond, m.Lag.Open = 1, 0, 0 // no orders seen: invoice on order
	}
	m.MedianLag = median(lexact)

	// booking-to-first-invoice lag (never invoiced: censored, so beyond MaxLag once old)
	m.BookingLag = m.Lag
	if bt, bc := lagObservations(in.BookingLags, asOf); len(bt) > 0 {
		m.BookingLag, _ = KaplanMeier(bt, bc, 0, opts.MaxLag)
		m.BookingLagFromHistory = true
	}
	return m, nil
}

// delayObs is a DelayObs in day numbers: t = days late (exact) or the censoring bound.
type delayObs struct {
	customer string
	due      int
	t        int
	censored bool
	disputed bool
}

// delayObservations keeps the invoices issued before asOf, sorted by customer then due date
// (so that ChooseK's folds do not depend on the caller's order).
func delayObservations(in []DelayObs, asOf int) []delayObs {
	out := make([]delayObs, 0, len(in))
	for _, o := range in {
		due := day(o.Due)
		if !o.Invoiced.IsZero() && day(o.Invoiced) >= asOf {
			continue
		}
		d := delayObs{customer: o.Customer, due: due, disputed: o.Disputed}
		if !o.Paid.IsZero() && day(o.Paid) < asOf {
			d.t = day(o.Paid) - due
		} else {
			d.t, d.censored = asOf-due, true
		}
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b delayObs) int {
		return cmp.Or(strings.Compare(a.customer, b.customer), cmp.Compare(a.due, b.due))
	})
	return out
}

// median returns the lower median of x (0 for an empty slice).
func median(x []int) int {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// Credibility returns the weight Z = n / (n + K) of a customer with n paid invoices on its
// own distribution (Buhlmann 1967, "Experience rating and credibility", ASTIN Bulletin
// 4:199-207).
func (m *Model) Credibility(n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(n) / (float64(n) + m.K)
}

// CustomerDist returns the customer's days-late distribution shrunk toward the population:
//
//	f_c = Z * KM_c + (1 - Z) * f_pop,   Z = n_c / (n_c + K)
//
// with KM_c the customer's own Kaplan-Meier (completed after its last observation by the
// population tail) and n_c its paid invoices. A customer without a paid invoice gets f_pop.
func (m *Model) CustomerDist(customer string) Dist {
	n := len(m.Population.P)
	return m.customerDist(customer, make([]float64, n), make([]float64, n), make([]float64, n))
}

// customerDist is CustomerDist computed in the buffers own, full and dst (each of the
// support's length; overwritten); the result's P is dst, or the population's when the
// customer has no paid invoice.
func (m *Model) customerDist(customer string, own, full, dst []float64) Dist {
	cf, ok := m.customers[customer]
	if !ok || cf.exact == 0 {
		return m.Population
	}
	km := cf.own.dense(m.Population.Min, own).completeInto(m.Population, full)
	return mixInto(km, m.Population, m.Credibility(cf.exact), dst)
}

// PaidInvoices returns the number of paid (undisputed) invoices of the customer in the history.
func (m *Model) PaidInvoices(customer string) int {
	if cf, ok := m.customers[customer]; ok {
		return cf.exact
	}
	return 0
}

// CustomerMedian returns the naive median days late of the customer's paid invoices, or the
// population's when it has none: the "customer's median delay" baseline.
func (m *Model) CustomerMedian(customer string) int {
	if cf, ok := m.customers[customer]; ok {
		return cf.median
	}
	return m.PopulationMedian
}

// lagObservations turns lag history into Kaplan-Meier input as of day asOf: exact days from
// Ordered to Invoiced when invoiced before asOf (negative lags count as 0), else censored
// at asOf - Ordered; rows ordered on or after asOf are left out.
func lagObservations(lags []LagObs, asOf int) (t []int, censored []bool) {
	for _, l := range lags {
		od := day(l.Ordered)
		if od >= asOf {
			continue
		}
		if !l.Invoiced.IsZero() && day(l.Invoiced) < asOf {
			t = append(t, max(day(l.Invoiced)-od, 0))
			censored = append(censored, false)
		} else {
			t = append(t, asOf-od)
			censored = append(censored, true)
		}
	}
	return t, censored
}

// Terms is a discrete distribution of payment terms in days: P(terms = Days[i]) = Weight[i],
// the weights summing to 1, Days ascending.
type Terms struct {
	Days   []int     `json:"days"`
	Weight []float64 `json:"weight"`
}

// newTerms normalises weights per terms value into a Terms; without any it puts all the
// mass on fallback.
func newTerms(w map[int]float64, fallback int) Terms {
	var t Terms
	for d := range w {
		t.Days = append(t.Days, d)
	}
	// Summed in the order of the days, not the map's (which changes from run to run, and
	// with it the last bits of the total and of every booking's cash).
	slices.Sort(t.Days)
	total := 0.0
	for _, d := range t.Days {
		total += w[d]
	}
	if total <= 0 {
		return Terms{Days: []int{fallback}, Weight: []float64{1}}
	}
	for _, d := range t.Days {
		t.Weight = append(t.Weight, w[d]/total)
	}
	return t
}
