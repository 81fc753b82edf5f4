package forecast

import "time"

// Day is a calendar date counted in days since 1970-01-01 (UTC). A snapshot "at day d" sees
// everything that happened before 00:00 UTC of d.
type Day int32

// DayOf returns the UTC calendar day of t.
func DayOf(t time.Time) Day {
	return Day(t.UTC().Truncate(24*time.Hour).Unix() / 86400)
}

// Time returns 00:00 UTC of the day.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as 2006-01-02.
func (d Day) String() string { return d.Time().Format("2006-01-02") }

// StageRanks is the number of per-stage-rank day counters a Snapshot carries. Open stages
// are ranked 0, 1, ... by their CRM probability; ranks above StageRanks-1 are merged into
// the last counter.
const StageRanks = 6

// Snapshot is what was known about one open opportunity at 00:00 UTC of day Day. It is the
// plain input of the models: the warehouse fills it from opportunity_history as of the day
// (transform.Warehouse.Snapshots), a test can fill it by hand.
//
// What does not change between a deal's snapshots (its id and current attributes) is in
// the embedded *Deal, which every snapshot of the deal shares: a training frame holds a
// deal at up to a hundred dates, and one copy of its strings instead of one per date keeps
// a 1.5M-row frame near 0.4 GB instead of 0.8 GB. The Deal must be set (its fields are read
// as s.Owner, s.OpportunityID, ...; a nil Deal panics). Fields are ordered to avoid padding.
//
// Amounts are in the base currency. Fields marked "current" are not historised in the
// source systems and hold today's value at every snapshot (see the package doc).
type Snapshot struct {
	*Deal
	Day Day

	// State at the snapshot (the last opportunity_history row before it).
	CloseDate        Day     // the CRM close date
	Stage            string  // CRM stage name
	ForecastCategory string  // the rep's category: pipeline, best_case, commit, omitted
	CRMProbability   float64 // the CRM's stage probability, 0-100
	Amount           float64 // amount in the base currency
	StageRank        int32   // 0 = the open stage with the lowest CRM probability

	// History up to the snapshot.
	Advances    int32               // moves to a higher open stage
	Regressions int32               // moves to a lower open stage
	Pushes      int32               // close-date changes before the old close date passed
	Slips       int32               // close-date changes after the old close date had passed
	SlipsTop    int32               // slips while in the top open stage (missed close dates in negotiation)
	DaysInStage float64             // days since the current stage was entered
	DaysByRank  [StageRanks]float64 // days spent in each open stage rank so far

	AccountTenureDays float64 // days since the account was created

	// Track record as of the snapshot (deals closed before the day).
	OwnerWins, OwnerClosed     float64
	AccountWins, AccountClosed float64
	CompanyWins, CompanyClosed float64

	// The account's ERP customer as of the snapshot.
	Payments       float64 // payments received before the day
	MeanDaysLate   float64 // mean of payment_date - due_date over those payments
	OpenAR         float64 // open receivables (base currency)
	OverdueShare   float64 // share of open receivables past due
	Overdue30Share float64 // share of open receivables more than 30 days past due

	// Renewal signals as of the snapshot.
	Cases365         float64 // cases opened in the last 365 days
	Bookings365      float64 // won non-renewal bookings in the last 365 days
	BookingsPrior365 float64 // and in the 365 days before that
}

// Deal is what a Snapshot knows about its opportunity that is the same at every snapshot
// date: the id, the first history row, and the current (not historised) attributes. All
// snapshots of one deal may point at one Deal.
type Deal struct {
	OpportunityID string
	CreatedDay    Day // first history row
	FirstClose    Day // the close date first planned (first history row)

	// Deal attributes (current: lines and contract are not historised).
	Type, LeadSource, Segment  string
	Owner, Team, Region        string
	Account, Family            string
	Discount                   float64 // 1 - sum(line totals) / sum(list value), current lines
	ShortShare, UncoveredShare float64 // list-value share of lines below safety stock / below quantity, current stock
	IsRenewal                  bool    // the deal renews a contract
	AutoRenew                  bool    // renewals: the contract renews automatically
}

// Outcome is what eventually happened to an opportunity, as far as the data knows. A model
// fitted "as of day T" only uses outcomes with ClosedDay < T (see Fit).
type Outcome struct {
	OpportunityID string
	CreatedDay    Day
	ClosedDay     Day  // 0 while open: the UTC day the deal closed (won or lost)
	Won           bool // closed won
	Amount        float64
	// Segments, for the bookings of deals not yet created at a forecast date.
	Owner, Team, Region, Family string
}

// Closed reports whether the outcome was known before day t.
func (o *Outcome) Closed(t Day) bool { return o.ClosedDay != 0 && o.ClosedDay < t }
