package collections

import "fmt"

// Baseline names a naive collections forecast the model is compared with.
type Baseline string

// The baselines of the collections backtest.
const (
	// BaselineDueDate: every open item is paid on its due date (on AsOf when already
	// overdue); an unbilled order is invoiced MedianLag days after its order date (on AsOf
	// when that is past) and paid on the due date TermsDays later.
	BaselineDueDate Baseline = "due_date"
	// BaselineCustomerMedian: as BaselineDueDate, but every payment comes the customer's
	// median days late (CustomerMedian: its paid invoices in the history, else the
	// population's) after the due date, and never before AsOf.
	BaselineCustomerMedian Baseline = "customer_median"
)

// Baseline returns the weekly cash of in's open items (ar) and unbilled orders (unbilled)
// under the naive rule kind: one payment date per item, the whole amount in the week that
// date falls in (index k-1 for week k; cash before the first week or after the last is not
// in the slices). It panics on an unknown kind.
func (m *Model) Baseline(kind Baseline, in Input) (ar, unbilled []float64) {
	if kind != BaselineDueDate && kind != BaselineCustomerMedian {
		panic(fmt.Sprintf("collections: unknown baseline %q", kind))
	}
	W := m.opts.Weeks
	w1 := m.firstWeek()
	ar, unbilled = make([]float64, W), make([]float64, W)
	put := func(dst []float64, payDay int, amount float64) {
		payDay = max(payDay, m.asOf)
		if k := payDay - w1; k >= 0 && k < 7*W {
			dst[k/7] += amount
		}
	}
	late := func(c string) int {
		if kind == BaselineCustomerMedian {
			return m.CustomerMedian(c)
		}
		return 0
	}
	for _, it := range in.Open {
		if it.Amount > 0 {
			put(ar, day(it.Due)+late(it.Customer), it.Amount)
		}
	}
	for _, o := range in.Unbilled {
		if !(o.Amount > 0) {
			continue
		}
		terms := o.TermsDays
		if terms <= 0 {
			terms = m.TermsDays
		}
		inv := max(day(o.Ordered)+m.MedianLag, m.asOf)
		put(unbilled, inv+terms+late(o.Customer), o.Amount)
	}
	return ar, unbilled
}
