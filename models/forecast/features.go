package forecast

import (
	"math"
	"slices"
)

// FeatureSet selects the groups of ERP signals the models use; the CRM features are always
// on. The zero value uses none; Full uses all. Ablations switch one group off.
type FeatureSet struct {
	// Supply: the share of the deal's list value on products below safety stock (ShortShare)
	// or below the line quantity (UncoveredShare) at the plant that ships to the account,
	// in both models, and the fitted supply factor on the in-period probability.
	Supply bool `json:"supply"`
	// Credit: the account's payment behaviour (mean days late, late-payer score, share of
	// receivables overdue) in the win model, and the fitted credit factor on accounts on
	// credit alert.
	Credit bool `json:"credit"`
}

// Full is the feature set revcast forecasts with.
var Full = FeatureSet{Supply: true, Credit: true}

// Encoder turns snapshots into the win model's feature rows. Categorical fields are one-hot
// encoded against a vocabulary fixed at fit time (levels seen fewer than minLevelCount
// times, and the first level, are the baseline). Numeric transforms (all documented on
// the feature names):
//
//	stage=<s>              one-hot of the stage name (baseline: the lowest open stage)
//	past_due*stage=<s>     1 if the close date has passed while the deal is in stage s
//	ln_days_in_stage       ln(1 + days since the current stage was entered)
//	days_rank<k>           days spent so far in open stage rank k, / 30
//	paced_days_rank<k>     days_rank<k> * pace, pace = clamp(90 / planned cycle days, 0.25, 4),
//	                       planned cycle = first close date - created date (>= 7 days)
//	ln_cycle               ln(planned cycle days)
//	ln_age                 ln(1 + days since created)
//	advances, regressions, pushes, slips, slips_top    event counts so far
//	past_due               1 if the close date is before the snapshot day
//	ln_days_past_due       ln(1 + max(0, day - close date))
//	months_to_close        clamp((close date - day) / 30, -3, 12)
//	ln_amount              ln(max(amount, 1)), base currency
//	discount               1 - line totals / list value
//	owner_rate, account_rate   logit of the smoothed win rate (wins + m p0) / (closed + m),
//	                       p0 = the company's win rate before the day, m = 10 (owner), 5 (account)
//	                       (empirical-Bayes shrinkage to the company rate, Efron & Morris 1975)
//	ln_owner_closed, ln_account_closed   ln(1 + deals closed)
//	credit: has_payments, late_score = clamp(mean days late / 30, 0, 2) (0 without
//	        payments), overdue_share, overdue30_share, renewal_late_score
//	supply: short_share, uncovered_share
//	renewal_*: for renewals only (0 otherwise): auto_renew, ln(1 + cases in 365 days),
//	        trend = clamp(ln((B1 + 10,000) / (B0 + 10,000)), -1.5, 1.5) of won bookings in the
//	        last and the prior 365 days, ln(1 + tenure years)
//	type=, segment=, lead_source=, category=   one-hot
type Encoder struct {
	Features    FeatureSet `json:"features"`
	Stages      []string   `json:"stages"`       // open stages by rank; Stages[0] is the baseline
	Types       []string   `json:"types"`        // vocabulary, first = baseline
	Segments    []string   `json:"segments"`     //
	LeadSources []string   `json:"lead_sources"` //
	Categories  []string   `json:"categories"`   //
	Names       []string   `json:"names"`
}

const minLevelCount = 30

// NewEncoder fixes the vocabularies from the training snapshots.
func NewEncoder(train []Snapshot, fs FeatureSet) *Encoder {
	ptrs := make([]*Snapshot, len(train))
	for i := range train {
		ptrs[i] = &train[i]
	}
	return newEncoder(ptrs, fs)
}

func newEncoder(train []*Snapshot, fs FeatureSet) *Encoder {
	e := &Encoder{Features: fs}
	stageRank := map[string]int32{}
	for _, s := range train {
		stageRank[s.Stage] = s.StageRank
	}
	e.Stages = vocabulary(train, func(s *Snapshot) string { return s.Stage })
	slices.SortStableFunc(e.Stages, func(a, b string) int { return int(stageRank[a]) - int(stageRank[b]) })
	e.Types = vocabulary(train, func(s *Snapshot) string { return s.Type })
	e.Segments = vocabulary(train, func(s *Snapshot) string { return s.Segment })
	e.LeadSources = vocabulary(train, func(s *Snapshot) string { return s.LeadSource })
	e.Categories = vocabulary(train, func(s *Snapshot) string { return s.ForecastCategory })
	e.Names = e.names()
	return e
}

// vocabulary returns the levels seen at least minLevelCount times, sorted.
func vocabulary(train []*Snapshot, f func(*Snapshot) string) []string {
	n := map[string]int{}
	for _, s := range train {
		n[f(s)]++
	}
	var out []string
	for k, c := range n {
		if c >= minLevelCount {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (e *Encoder) names() []string {
	var n []string
	oneHot := func(prefix string, levels []string) {
		for _, l := range levels[min(1, len(levels)):] {
			n = append(n, prefix+"="+l)
		}
	}
	oneHot("stage", e.Stages)
	for _, st := range e.Stages {
		n = append(n, "past_due*stage="+st)
	}
	n = append(n, "ln_days_in_stage")
	for k := 0; k < StageRanks; k++ {
		n = append(n, "days_rank"+string(rune('0'+k)))
	}
	for k := 0; k < StageRanks; k++ {
		n = append(n, "paced_days_rank"+string(rune('0'+k)))
	}
	n = append(n, "ln_cycle", "ln_age", "advances", "regressions", "pushes", "slips", "slips_top",
		"past_due", "ln_days_past_due", "months_to_close", "ln_amount", "discount",
		"owner_rate", "ln_owner_closed", "account_rate", "ln_account_closed",
		"renewal_auto_renew", "renewal_ln_cases", "renewal_trend", "renewal_ln_tenure")
	if e.Features.Credit {
		n = append(n, "has_payments", "late_score", "overdue_share", "overdue30_share", "renewal_late_score")
	}
	if e.Features.Supply {
		n = append(n, "short_share", "uncovered_share")
	}
	oneHot("type", e.Types)
	oneHot("segment", e.Segments)
	oneHot("lead_source", e.LeadSources)
	oneHot("category", e.Categories)
	return n
}

// Width returns the number of features.
func (e *Encoder) Width() int { return len(e.Names) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// smoothedLogit returns logit((wins + m p0) / (n + m)).
func smoothedLogit(wins, n, p0, m float64) float64 {
	return logit((wins + m*p0) / (n + m))
}

// companyRate is the company's win rate before the snapshot, with a uniform prior.
func companyRate(s *Snapshot) float64 { return (s.CompanyWins + 1) / (s.CompanyClosed + 2) }

// PlannedCycle returns the planned sales cycle in days: first close date - created, at least 7.
func PlannedCycle(s *Snapshot) float64 { return math.Max(float64(s.FirstClose-s.CreatedDay), 7) }

// LateScore returns clamp(mean days late / 30, 0, 2), 0 for a customer without payments.
func LateScore(s *Snapshot) float64 {
	if s.Payments <= 0 {
		return 0
	}
	return clamp(s.MeanDaysLate/30, 0, 2)
}

// CreditAlert reports whether the account is on credit alert as of the snapshot: more than
// a quarter of its open receivables over 30 days past due, or paying 30+ days late on
// average. It mirrors what drives an ERP credit block (overdue exposure, chronic lateness)
// and can be evaluated at any past date, unlike the ERP's current block flag.
func CreditAlert(s *Snapshot) bool {
	return s.Payments > 0 && (s.Overdue30Share > 0.25 || s.MeanDaysLate >= 30)
}

// Encode writes the feature row of s into dst (len(dst) = Width()).
func (e *Encoder) Encode(s *Snapshot, dst []float64) {
	if len(dst) != len(e.Names) {
		panic("forecast: Encode: dst has the wrong length")
	}
	k := 0
	put := func(v float64) { dst[k] = v; k++ }
	oneHot := func(levels []string, v string) {
		for _, l := range levels[min(1, len(levels)):] {
			put(b2f(l == v))
		}
	}
	oneHot(e.Stages, s.Stage)
	for _, st := range e.Stages {
		put(b2f(s.CloseDate < s.Day && s.Stage == st))
	}
	put(math.Log1p(math.Max(s.DaysInStage, 0)))
	cycle := PlannedCycle(s)
	pace := clamp(90/cycle, 0.25, 4)
	for r := 0; r < StageRanks; r++ {
		put(s.DaysByRank[r] / 30)
	}
	for r := 0; r < StageRanks; r++ {
		put(s.DaysByRank[r] / 30 * pace)
	}
	put(math.Log(cycle))
	put(math.Log1p(math.Max(float64(s.Day-s.CreatedDay), 0)))
	put(float64(s.Advances))
	put(float64(s.Regressions))
	put(float64(s.Pushes))
	put(float64(s.Slips))
	put(float64(s.SlipsTop))
	put(b2f(s.CloseDate < s.Day))
	put(math.Log1p(math.Max(float64(s.Day-s.CloseDate), 0)))
	put(clamp(float64(s.CloseDate-s.Day)/30, -3, 12))
	put(math.Log(math.Max(s.Amount, 1)))
	put(s.Discount)
	p0 := companyRate(s)
	put(smoothedLogit(s.OwnerWins, s.OwnerClosed, p0, 10))
	put(math.Log1p(s.OwnerClosed))
	put(smoothedLogit(s.AccountWins, s.AccountClosed, p0, 5))
	put(math.Log1p(s.AccountClosed))
	ren := b2f(s.IsRenewal)
	put(ren * b2f(s.AutoRenew))
	put(ren * math.Log1p(s.Cases365))
	put(ren * clamp(math.Log((s.Bookings365+10_000)/(s.BookingsPrior365+10_000)), -1.5, 1.5))
	put(ren * math.Log1p(math.Max(s.AccountTenureDays, 0)/365))
	if e.Features.Credit {
		put(b2f(s.Payments > 0))
		put(LateScore(s))
		put(s.OverdueShare)
		put(s.Overdue30Share)
		put(ren * LateScore(s))
	}
	if e.Features.Supply {
		put(s.ShortShare)
		put(s.UncoveredShare)
	}
	oneHot(e.Types, s.Type)
	oneHot(e.Segments, s.Segment)
	oneHot(e.LeadSources, s.LeadSource)
	oneHot(e.Categories, s.ForecastCategory)
	if k != len(dst) {
		panic("forecast: Encode: feature count mismatch")
	}
}
