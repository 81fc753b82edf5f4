package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/revcast/revcast/models/pipeline"
	"github.com/revcast/revcast/models/winprob"
)

// SegmentTypes are the groupings forecast_periods reports, besides the total.
var SegmentTypes = []string{"owner", "team", "region", "family"}

// ForecastOptions controls Forecast.
type ForecastOptions struct {
	// Periods to forecast; nil means Calendar.Horizon(asOf, Quarters).
	Periods  []Period
	Calendar Calendar
	Quarters int // horizon in quarters, the current one included; zero means 2
	// Seed of the Monte Carlo simulation: the same inputs and seed give identical output.
	Seed uint64
	// Sims is the number of simulated worlds; zero chooses clamp(2e9 / deal-period rows,
	// 1,000, 10,000) (see Forecast); negative skips the simulation (moments only).
	Sims int
	// Totals only: skip the owner/team/region/family segments.
	TotalOnly bool
	// NoNewDeals leaves out the bookings of deals not yet created (for ablations).
	NoNewDeals bool
	// DataStart is the first day of the data, the earliest day a deal was created: the
	// seasonal analogs of deals not yet created look back no further (see Forecast). Zero
	// means the earliest CreatedDay of the outcomes, which must then be every deal's; with
	// it set, the outcomes of the won deals are enough (Forecast reads no others).
	DataStart Day
	// Scores, when not nil, are the open deals' scores from Score(open) with this model
	// (one per open deal, in order), so that a second forecast of the same deals (other
	// periods) does not score and explain them again. Forecast panics if the length differs.
	Scores []Score
}

// DealForecast is one open opportunity's forecast (forecast_opportunities).
type DealForecast struct {
	OpportunityID string
	Amount        float64 // base currency, as of the forecast date
	PWin          float64 // calibrated probability of eventually closing won
	// PCloseInPeriod is the probability that the deal closes won within the current
	// quarter (Periods' first quarter) and books there: F(quarter end) * SupplyFactor *
	// CreditFactor, F from the close-by model; comparable with the generator's
	// p_close_in_period.
	PCloseInPeriod float64
	// ExpectedAmount = Amount * PCloseInPeriod: the deal's expected contribution to the
	// current quarter's bookings.
	ExpectedAmount             float64
	SupplyFactor, CreditFactor float64
	Factors                    winprob.Explanation
}

// PeriodForecast is one row of forecast_periods.
type PeriodForecast struct {
	Period      Period
	SegmentType string
	Segment     string
	Closed      float64 // won before the forecast date within the period
	Expected    float64 // Closed + sum of a_i q_i + expected bookings of deals not yet created
	SD          float64
	P10         float64
	P50         float64
	P90         float64
	// StageWeighted = Closed + sum over open deals with a CRM close date in the period of
	// amount * CRM probability / 100; Commit = Closed + the amount of open deals the reps
	// forecast as commit with a close date in the period.
	StageWeighted float64
	Commit        float64
	NewDeals      float64 // the expected bookings of deals not yet created (included in Expected)
	NOpen         int
}

// Result is a forecast as of a day.
type Result struct {
	AsOf    Day
	Deals   []DealForecast
	Periods []PeriodForecast
	Sims    int
	Growth  float64 // annual growth factor applied to the not-yet-created deals
	Lags    map[string][]int
}

// Forecast scores the open opportunities (snapshots taken at asOf) and computes, per period
// and segment, the distribution of bookings with pipeline.Distribute. outcomes are the
// deals' outcomes, of which it reads the won ones only when o.DataStart is set:
//
//	B = Closed + sum_i a_i I_i + sum_j a_j' J_j
//
// Open deal i books in period k with probability
//
//	q_ik = (F_i(end_k) - F_i(end_{k-1})) * SupplyFactor_i * CreditFactor_i
//
// F_i from CloseBy (end_{-1} = the day before asOf, F = 0 there), so p_win * PInPeriod =
// F difference. SupplyFactor_i is the model's SupplyFactor for deals with constrained lines
// (else 1), CreditFactor_i its CreditFactor for accounts on credit alert (else 1).
//
// When the periods nest (the horizon's months and quarters: see nesting), an open deal is
// one draw per simulated world over its months (pipeline.Deal.Joint): it closes in at most
// one, and that month's booking counts in its quarter too (Rollup), so in every world a
// quarter's open-deal bookings are the sum of its months' and the deal costs one draw
// instead of one per period. Its months' q_ik are the ones above and sum to
// F_i(last end) SF_i CF_i <= 1, and a quarter's q is the sum of its months' (the F
// differences telescope), so each period's distribution is what independent rows give.
// A deal whose SupplyFactor exceeds 1 (its q folds the factor in per period, capped at
// p_win, which does not telescope) keeps one independent row per period.
//
// Deals not yet created (J_j): bookings from deals created after the forecast date and won
// in the same period are estimated from history, as the seasonal analog of the same period
// 3, 6, 9, 12, … months earlier: for the K = 4 most recent lags L (in months, multiples of
// 3) whose shifted period ended before asOf and started after the data begins, every deal
// created on or after asOf - L and won within the shifted period becomes a pseudo-deal
// with amount a_j * g^(L/12) and probability 1/K, g the annual growth of won bookings (last
// 365 days over the 365 before, clamped to [0.7, 1.6]). Its mean is the average analog
// total and its spread that of a compound-Poisson sum (a bootstrap over past quarters).
//
// Sims: Distribute costs O(rows * Sims) (coupled months cost one draw per deal, less); at
// 1M deal-period rows and 10,000 worlds that was ~20 s, so by default Sims = clamp(2e9 /
// rows, 1,000, 10,000), rows counting each open deal once per period: 10,000 up to 200k rows,
// 2,000 at 1M rows, where the Monte Carlo standard error of a P10 is still about
// sqrt(0.09 / 2000) / phi(1.28) = 0.04 standard deviations of the total.
//
// Intervals are then widened for errors common to all deals: with tau^2 = CommonShock and
// mu the expected bookings of the group's open deals, every quantile x becomes
// E + f (x - E), f = sqrt(1 + tau^2 mu^2 / SD^2), so the variance is SD^2 + tau^2 mu^2 —
// material for the total, negligible for a rep with a handful of deals.
//
// The baselines use the same open deals: the CRM stage-probability-weighted pipeline and
// the reps' commit, each plus Closed, by CRM close date (see PeriodForecast).
func (m *Model) Forecast(asOf Day, open []Snapshot, outcomes []Outcome, o ForecastOptions) (*Result, error) {
	if o.Quarters == 0 {
		o.Quarters = 2
	}
	periods := o.Periods
	if periods == nil {
		periods = o.Calendar.Horizon(asOf, o.Quarters)
	}
	for i := range open {
		if open[i].Day != asOf {
			return nil, fmt.Errorf("forecast: snapshot of %s is dated %s, want the forecast date %s", open[i].OpportunityID, open[i].Day, asOf)
		}
	}
	res := &Result{AsOf: asOf, Lags: map[string][]int{}}

	// Period ends in ascending order, and each period's previous end.
	endSet := []Day{}
	for _, p := range periods {
		endSet = append(endSet, p.End)
		if p.Start > asOf {
			endSet = append(endSet, p.Start-1)
		}
	}
	slices.Sort(endSet)
	endSet = slices.Compact(endSet)
	endIdx := map[Day]int{}
	for k, e := range endSet {
		endIdx[e] = k
	}
	curQ := o.Calendar.Quarter(asOf)
	for _, p := range periods {
		if p.Kind == "quarter" {
			curQ = p
			break
		}
	}

	scores := o.Scores
	if scores == nil {
		scores = m.Score(open)
	} else if len(scores) != len(open) {
		panic(fmt.Sprintf("forecast: Forecast: %d scores for %d open deals", len(scores), len(open)))
	}
	// segKey returns the segment key of a deal and its index in segIndex (numbered in order
	// of appearance).
	segKeys := map[string][]pipeline.Segment{}
	segIndex := map[string]int{}
	segKey := func(owner, team, region, family string) (string, int) {
		k := owner + "\x00" + team + "\x00" + region + "\x00" + family
		if i, ok := segIndex[k]; ok {
			return k, i
		}
		segs := []pipeline.Segment{{Type: "total", Name: "all"}}
		if !o.TotalOnly {
			segs = append(segs, pipeline.Segment{Type: "owner", Name: owner}, pipeline.Segment{Type: "team", Name: team},
				pipeline.Segment{Type: "region", Name: region}, pipeline.Segment{Type: "family", Name: family})
		}
		segKeys[k] = segs
		segIndex[k] = len(segIndex)
		return k, segIndex[k]
	}

	// The rows of pipeline.Distribute: every open deal in every period, then the deals won
	// so far in a period (closed), then the seasonal analogs of deals not yet created
	// (analogs, below). They are counted first so that deals is allocated once: at large
	// scale some 1.05M rows of 112 bytes, which append's regrowth copied about twenty times.
	dataStart := o.DataStart
	if dataStart == 0 {
		dataStart = Day(math.MaxInt32)
		for i := range outcomes {
			dataStart = min(dataStart, outcomes[i].CreatedDay)
		}
	}
	closed := func(oc *Outcome) bool { return oc.Won && oc.Closed(asOf) }
	// The won deals, the only ones an analog window or "closed so far" can hold: the
	// windows' loops (periods x 4 windows, twice) read these instead of every outcome.
	var won []int32
	for i := range outcomes {
		if outcomes[i].Won {
			won = append(won, int32(i))
		}
	}
	res.Growth = growth(outcomes, asOf)
	var analogs [][]analog // per period
	if !o.NoNewDeals {
		analogs = make([][]analog, len(periods))
		for k, p := range periods {
			analogs[k] = analogWindows(p, asOf, dataStart, res.Growth)
			var lags []int // nil without lags, as stored in forecast_runs.params
			for _, w := range analogs[k] {
				lags = append(lags, w.L)
			}
			res.Lags[p.Name] = lags
		}
	}
	// Months roll up into quarters: an open deal is one draw over its months (Joint), each
	// month's booking counting in its quarter too (see nesting).
	leaves, rollups, nested := nesting(periods, asOf)
	jointDeals := 0 // open deals drawn once over the leaves
	n := len(open) * len(periods)
	for i := range outcomes {
		if oc := &outcomes[i]; closed(oc) {
			for _, p := range periods {
				if p.Contains(oc.ClosedDay) {
					n++
				}
			}
		}
	}
	for _, ws := range analogs {
		for _, w := range ws {
			for _, i := range won {
				if w.holds(&outcomes[i]) {
					n++
				}
			}
		}
	}
	deals := make([]pipeline.Deal, 0, n)

	// The baselines per (period, segment type, segment), summed in the order of the rows.
	// bases[ki*len(periods)+pi] caches the sums that a row of period pi and segment key
	// number ki adds to, so a row costs no map lookup (at large 1M rows, 5 segments each).
	type base struct{ stage, commit float64 }
	baseline := map[[3]string]*base{}
	var bases [][]*base
	addBase := func(pi int, key string, ki int, stage, commit float64) {
		for len(bases) <= ki*len(periods)+pi {
			bases = append(bases, nil)
		}
		bs := bases[ki*len(periods)+pi]
		if bs == nil {
			for _, sg := range segKeys[key] {
				k := [3]string{periods[pi].Name, sg.Type, sg.Name}
				b := baseline[k]
				if b == nil {
					b = &base{}
					baseline[k] = b
				}
				bs = append(bs, b)
			}
			bases[ki*len(periods)+pi] = bs
		}
		for _, b := range bs {
			b.stage += stage
			b.commit += commit
		}
	}
	res.Deals = make([]DealForecast, len(open))
	F, xBuf := make([]float64, len(endSet)), make([]float64, len(m.Close.Names))
	for i := range open {
		s := &open[i]
		sc := scores[i]
		m.closeBy(s, sc.Logit, sc.PWin, endSet, F, xBuf)
		sf, cf := 1.0, 1.0
		if sc.Short {
			sf = m.SupplyFactor
		}
		if sc.Credit {
			cf = m.CreditFactor
		}
		key, ki := segKey(s.Owner, s.Team, s.Region, s.Family)
		// A deal whose supply factor exceeds 1 keeps its independent rows: its per-period
		// folding (below) does not telescope, so its months would not add up to its quarter.
		joint := nested && sf <= 1
		if joint {
			jointDeals++
		}
		// pinOf is PInPeriod of period p: (F(end) - F(start - 1)) / p_win.
		pinOf := func(p Period) float64 {
			hi, lo := F[endIdx[p.End]], 0.0
			if p.Start > asOf {
				lo = F[endIdx[p.Start-1]]
			}
			if sc.PWin > 0 {
				return clamp((hi-lo)/sc.PWin, 0, 1)
			}
			return 0
		}
		for pi, p := range periods {
			if !joint {
				pin := pinOf(p)
				dsf := sf
				if dsf > 1 { // Deal's factors must stay in [0, 1]: fold it into PInPeriod
					pin, dsf = math.Min(1, pin*dsf), 1
				}
				deals = append(deals, pipeline.Deal{
					ID: s.OpportunityID, Period: p.Name, Segment: key, Amount: s.Amount,
					PWin: sc.PWin, PInPeriod: pin, SupplyFactor: dsf, CreditFactor: cf,
				})
			}
			if p.Contains(s.CloseDate) {
				commit := 0.0
				if s.ForecastCategory == "commit" {
					commit = s.Amount
				}
				addBase(pi, key, ki, s.Amount*s.CRMProbability/100, commit)
			} else {
				addBase(pi, key, ki, 0, 0)
			}
		}
		if joint {
			// The months' rows, each q exactly the independent row's; they sum to
			// F(last end) sf cf <= 1, and the quarters' are their sums (F telescopes).
			// The key is the deal's place, not its id, so a duplicate id cannot merge two.
			jk := strconv.Itoa(i)
			for k, li := range leaves {
				p := periods[li]
				deals = append(deals, pipeline.Deal{
					ID: s.OpportunityID, Period: p.Name, Segment: key, Amount: s.Amount,
					Joint: jk, Rollup: rollups[k],
					PWin: sc.PWin, PInPeriod: pinOf(p), SupplyFactor: sf, CreditFactor: cf,
				})
			}
		}
		qin := math.Min(F[endIdx[curQ.End]]*sf, sc.PWin) * cf
		res.Deals[i] = DealForecast{
			OpportunityID: s.OpportunityID, Amount: s.Amount, PWin: sc.PWin,
			PCloseInPeriod: qin, ExpectedAmount: s.Amount * qin,
			SupplyFactor: sf, CreditFactor: cf, Factors: sc.Factors,
		}
	}
	// Closed so far.
	for i := range outcomes {
		oc := &outcomes[i]
		if !closed(oc) {
			continue
		}
		for pi, p := range periods {
			if p.Contains(oc.ClosedDay) {
				key, ki := segKey(oc.Owner, oc.Team, oc.Region, oc.Family)
				deals = append(deals, pipeline.Deal{ID: oc.OpportunityID, Period: p.Name, Segment: key, Amount: oc.Amount, Closed: true})
				addBase(pi, key, ki, oc.Amount, oc.Amount)
			}
		}
	}

	// Deals not yet created.
	newDeals := map[[3]string]float64{}
	for k, ws := range analogs {
		p := periods[k]
		K := float64(len(ws))
		for _, w := range ws {
			for _, i := range won {
				oc := &outcomes[i]
				if !w.holds(oc) {
					continue
				}
				key, ki := segKey(oc.Owner, oc.Team, oc.Region, oc.Family)
				amt := oc.Amount * w.g
				deals = append(deals, pipeline.Deal{
					ID: "new:" + oc.OpportunityID, Period: p.Name, Segment: key, Amount: amt,
					PWin: 1 / K, PInPeriod: 1, SupplyFactor: 1, CreditFactor: 1,
				})
				for _, sg := range segKeys[key] {
					newDeals[[3]string{p.Name, sg.Type, sg.Name}] += amt / K
				}
				addBase(k, key, ki, 0, 0)
			}
		}
	}

	sims := o.Sims
	if sims == 0 {
		// rows: one per open deal and period whether or not the months are coupled, so
		// coupling them makes the simulation cheaper, not more precise.
		rows := len(deals) + jointDeals*(len(periods)-len(leaves))
		sims = int(clamp(2e9/math.Max(float64(rows), 1), 1000, 10000))
		sims = sims / 100 * 100
	}
	res.Sims = sims
	rs, err := pipeline.Distribute(deals, func(d pipeline.Deal) []pipeline.Segment { return segKeys[d.Segment] },
		pipeline.Options{Sims: sims, Seed: o.Seed})
	if err != nil {
		return nil, fmt.Errorf("forecast: distribution: %w", err)
	}
	byName := map[string]Period{}
	for _, p := range periods {
		byName[p.Name] = p
	}
	for _, r := range rs {
		k := [3]string{r.Period, r.SegmentType, r.Segment}
		b := baseline[k]
		if b == nil {
			b = &base{}
		}
		// Common shock: widen around the mean so that the variance of the open-deal part
		// becomes V + tau^2 mu^2 (mu = its expected value), keeping the simulated shape.
		if mu := r.Expected - r.Closed - newDeals[k]; m.CommonShock > 0 && r.SD > 0 && mu > 0 {
			f := math.Sqrt(1 + m.CommonShock*mu*mu/(r.SD*r.SD))
			r.P10 = r.Expected + f*(r.P10-r.Expected)
			r.P50 = r.Expected + f*(r.P50-r.Expected)
			r.P90 = r.Expected + f*(r.P90-r.Expected)
			r.SD *= f
		}
		res.Periods = append(res.Periods, PeriodForecast{
			Period: byName[r.Period], SegmentType: r.SegmentType, Segment: r.Segment,
			Closed: r.Closed, Expected: r.Expected, SD: r.SD, P10: r.P10, P50: r.P50, P90: r.P90,
			StageWeighted: b.stage, Commit: b.commit, NewDeals: newDeals[k], NOpen: r.NOpen,
		})
	}
	order := map[string]int{}
	for i, p := range periods {
		order[p.Name] = i
	}
	segOrder := func(t string) int {
		if t == "total" {
			return 0
		}
		return 1 + slices.Index(SegmentTypes, t)
	}
	slices.SortStableFunc(res.Periods, func(a, b PeriodForecast) int {
		return cmp.Or(cmp.Compare(order[a.Period.Name], order[b.Period.Name]),
			cmp.Compare(segOrder(a.SegmentType), segOrder(b.SegmentType)), strings.Compare(a.Segment, b.Segment))
	})
	return res, nil
}

// nesting reports whether periods nest: the leaves (periods that contain no other of the
// list) are disjoint, and every other period is, from asOf on, exactly the union of the
// leaves it contains (a quarter of its months; the current quarter from the current
// month). Then an open deal's chance to book in a period that is not a leaf is the sum of
// its leaves' (F differences telescope), and Forecast draws each open deal once over its
// leaves, rolling each up into the periods that contain it. leaves are period indices in
// date order and rollups[k] the names of the periods containing leaves[k].
func nesting(periods []Period, asOf Day) (leaves []int, rollups [][]string, ok bool) {
	within := func(inner, outer Period) bool { return outer.Start <= inner.Start && inner.End <= outer.End }
	for i, p := range periods {
		leaf := true
		for j, q := range periods {
			if j != i && within(q, p) && q != p {
				leaf = false
				break
			}
		}
		if leaf {
			leaves = append(leaves, i)
		}
	}
	slices.SortFunc(leaves, func(a, b int) int { return cmp.Compare(periods[a].Start, periods[b].Start) })
	for k := 1; k < len(leaves); k++ {
		if periods[leaves[k-1]].End >= periods[leaves[k]].Start {
			return nil, nil, false // overlapping leaves (or a period listed twice)
		}
	}
	rollups = make([][]string, len(leaves))
	for i, p := range periods {
		if slices.Contains(leaves, i) {
			continue
		}
		from := max(p.Start, asOf) // the first day the union must cover
		covered := false
		for k, li := range leaves {
			l := periods[li]
			if !within(l, p) {
				continue
			}
			if l.Start > from {
				return nil, nil, false // a gap before this leaf
			}
			from = max(from, l.End+1)
			rollups[k] = append(rollups[k], p.Name)
			covered = from > p.End
		}
		if !covered {
			return nil, nil, false
		}
	}
	return leaves, rollups, true
}

// analog is one seasonal analog window of a period for the deals not yet created (see
// Forecast): the deals created on or after t0 = asOf - L months and won within [a, b], the
// period shifted back L months, each scaled by g = growth^(L/12).
type analog struct {
	L        int
	t0, a, b Day
	g        float64
}

// holds reports whether oc is a deal of the analog window.
func (w analog) holds(oc *Outcome) bool {
	return oc.Won && oc.CreatedDay >= w.t0 && oc.ClosedDay >= max(w.a, w.t0) && oc.ClosedDay <= w.b
}

// analogWindows returns the analog windows of period p as of asOf: the K = 4 most recent
// lags L = 3, 6, ..., 36 months whose shifted period ended before asOf and whose t0 is at
// least 30 days after dataStart (the first created day of the data).
func analogWindows(p Period, asOf, dataStart Day, growth float64) []analog {
	months := 1
	if p.Kind == "quarter" {
		months = 3
	}
	var out []analog
	for L := 3; L <= 36 && len(out) < 4; L += 3 {
		a := ShiftMonths(p.Start, -L)
		b := monthEndsAfter(a, months)[months-1]
		t0 := ShiftMonths(asOf, -L)
		if b >= asOf || t0 < dataStart+30 {
			continue
		}
		out = append(out, analog{L: L, t0: t0, a: a, b: b, g: math.Pow(growth, float64(L)/12)})
	}
	return out
}

// growth returns the annual growth factor of won bookings: those closed in the 365 days
// before asOf over those in the 365 days before that, clamped to [0.7, 1.6]; 1 without data.
func growth(outcomes []Outcome, asOf Day) float64 {
	var b1, b0 float64
	for i := range outcomes {
		o := &outcomes[i]
		if !o.Won || !o.Closed(asOf) {
			continue
		}
		switch {
		case o.ClosedDay >= asOf-365:
			b1 += o.Amount
		case o.ClosedDay >= asOf-730:
			b0 += o.Amount
		}
	}
	if b0 <= 0 || b1 <= 0 {
		return 1
	}
	return clamp(b1/b0, 0.7, 1.6)
}
