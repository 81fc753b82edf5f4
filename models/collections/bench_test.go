package collections_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/revcast/revcast/models/collections"
)

// mediumInput builds an input the size of the synthetic company at medium scale (50,000
// opportunities: about 20,000 invoices of 4,300 customers over three years, 19,000 orders,
// 1,400 open items and 800 orders not fully invoiced), with lognormal delays per customer.
func mediumInput() collections.Input {
	r := rand.New(rand.NewPCG(1, 2))
	in := collections.Input{AsOf: asOf}
	const customers = 4300
	mu := make([]float64, customers)
	for c := range mu {
		mu[c] = 0.8 + 2.5*r.Float64()
	}
	for i := 0; i < 20_000; i++ {
		c := r.IntN(customers)
		inv := days(-1095 + i*1095/20_000)
		due := inv.AddDate(0, 0, 30)
		obs := collections.DelayObs{Customer: fmt.Sprint(c), Invoiced: inv, Due: due}
		if paid := due.AddDate(0, 0, int(math.Round(math.Exp(mu[c]+0.5*r.NormFloat64())))-3); paid.Before(asOf) {
			obs.Paid = paid
		} else if len(in.Open) < 1400 {
			in.Open = append(in.Open, collections.OpenItem{ID: fmt.Sprint(i), Customer: obs.Customer, Due: due, Amount: 1000 + 50_000*r.Float64()})
		}
		in.Delays = append(in.Delays, obs)
	}
	for i := 0; i < 19_000; i++ {
		o := days(-1095 + i*1095/19_000)
		l := collections.LagObs{Ordered: o}
		if inv := o.AddDate(0, 0, 2+r.IntN(20)); inv.Before(asOf) {
			l.Invoiced = inv
		} else {
			in.Unbilled = append(in.Unbilled, collections.UnbilledOrder{ID: fmt.Sprint(i), Customer: fmt.Sprint(r.IntN(customers)), Ordered: o, Amount: 5000, TermsDays: 30})
		}
		in.Lags = append(in.Lags, l)
	}
	for len(in.Unbilled) < 800 {
		in.Unbilled = append(in.Unbilled, collections.UnbilledOrder{Customer: fmt.Sprint(r.IntN(customers)), Ordered: days(-r.IntN(60)), Amount: 5000})
	}
	return in
}

// BenchmarkFit: the distributions and the cross-validated credibility constant. It also
// reports the heap the fitted model keeps (model-B: live heap after a fit less before it),
// which grows with the customers; a customer's distribution kept dense was 3.6 KB.
func BenchmarkFit(b *testing.B) {
	in := mediumInput()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := collections.Fit(in, collections.Options{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	b.ResetTimer()
	for b.Loop() {
		if _, err := collections.Fit(in, collections.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "model-B")
}

// BenchmarkForecast: item probabilities and 2,000 Monte Carlo draws.
func BenchmarkForecast(b *testing.B) {
	in := mediumInput()
	m, err := collections.Fit(in, collections.Options{K: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Forecast(in); err != nil {
			b.Fatal(err)
		}
	}
}
