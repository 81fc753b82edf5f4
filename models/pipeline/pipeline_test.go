package pipeline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// open returns an open deal with q = pwin * pin and no supply or credit adjustment.
func open(id, period, seg string, amount, pwin, pin float64) Deal {
	return Deal{ID: id, Period: period, Segment: seg, Amount: amount, PWin: pwin, PInPeriod: pin, SupplyFactor: 1, CreditFactor: 1}
}

// bySegmentAndTotal puts each deal in its own segment and in {"total", "all"}.
func bySegmentAndTotal(d Deal) []Segment {
	return []Segment{{"total", "all"}, {"rep", d.Segment}}
}

func find(t *testing.T, rs []Result, period, typ, name string) Result {
	t.Helper()
	for _, r := range rs {
		if r.Period == period && r.SegmentType == typ && r.Segment == name {
			return r
		}
	}
	t.Fatalf("no result for %s/%s/%s", period, typ, name)
	return Result{}
}

func TestExpectedValueAndVarianceExact(t *testing.T) {
	deals := []Deal{
		open("a", "Q1", "ann", 100, 0.5, 0.8), // q = 0.4
		open("b", "Q1", "ann", 250, 0.2, 1),   // q = 0.2
		open("c", "Q1", "bob", 80, 0.9, 0.5),  // q = 0.45
		{ID: "d", Period: "Q1", Segment: "bob", Amount: 300, Closed: true},
		{ID: "e", Period: "Q1", Segment: "bob", Amount: 400, PWin: 0.5, PInPeriod: 1, SupplyFactor: 0.5, CreditFactor: 0.4}, // q = 0.1
		open("f", "Q2", "ann", 1000, 0.3, 0.5), // another period
	}
	rs, err := Distribute(deals, bySegmentAndTotal, Options{Sims: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		period, typ, name  string
		closed, mean, vari float64
		nOpen, nClosed     int
	}{
		// ann: 100*0.4 + 250*0.2 = 90; var 100^2*0.4*0.6 + 250^2*0.2*0.8 = 2400 + 10000.
		{"Q1", "rep", "ann", 0, 90, 12400, 2, 0},
		// bob: 300 closed + 80*0.45 + 400*0.1 = 376; var 80^2*.45*.55 + 400^2*.1*.9 = 1584 + 14400.
		{"Q1", "rep", "bob", 300, 376, 15984, 2, 1},
		{"Q1", "total", "all", 300, 466, 28384, 4, 1},
		// Q2: 1000*0.15 = 150; var 1000^2*0.15*0.85.
		{"Q2", "total", "all", 0, 150, 127500, 1, 0},
	}
	for _, tc := range tests {
		r := find(t, rs, tc.period, tc.typ, tc.name)
		// Hand arithmetic on a handful of products: exact up to a few ulps. Tolerance 1e-9.
		if r.Closed != tc.closed || math.Abs(r.Expected-tc.mean) > 1e-9 || math.Abs(r.SD-math.Sqrt(tc.vari)) > 1e-9 ||
			r.NOpen != tc.nOpen || r.NClosed != tc.nClosed {
			t.Errorf("%s/%s/%s = %+v, want closed %v expected %v sd %v n %d/%d",
				tc.period, tc.typ, tc.name, r, tc.closed, tc.mean, math.Sqrt(tc.vari), tc.nOpen, tc.nClosed)
		}
	}
	if len(rs) != 5 { // Q1 total, ann, bob; Q2 total, ann
		t.Errorf("%d results, want 5", len(rs))
	}
}

func TestCertainDealAlwaysCounted(t *testing.T) {
	deals := []Deal{
		open("sure", "Q1", "ann", 100, 1, 1),
		open("maybe", "Q1", "ann", 50, 0.5, 1),
		open("never", "Q1", "ann", 1e6, 0.9, 0), // q = 0
		{ID: "done", Period: "Q1", Segment: "ann", Amount: 20, Closed: true},
	}
	rs, err := Distribute(deals, nil, Options{Sims: 1000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	// Every world books 20 + 100; the coin flip adds 0 or 50; the q = 0 deal never books.
	// With 1000 fair flips, P(fewer than 10% heads or tails) is ~1e-150, so P10 = 120, P90 = 170.
	if r.P10 != 120 || r.P90 != 170 || (r.P50 != 120 && r.P50 != 170) {
		t.Errorf("quantiles %v %v %v, want 120, 120|170, 170", r.P10, r.P50, r.P90)
	}
	if r.Expected != 145 || r.NOpen != 3 {
		t.Errorf("expected %v, n %d; want 145, 3", r.Expected, r.NOpen)
	}
	// A group of certain deals only is degenerate: all quantiles equal the total.
	rs, _ = Distribute([]Deal{open("s", "Q1", "x", 7, 1, 1)}, nil, Options{Seed: 1})
	if r := rs[0]; r.P10 != 7 || r.P50 != 7 || r.P90 != 7 || r.SD != 0 {
		t.Errorf("certain-only group: %+v", r)
	}
}

// smallCase is a 12-deal pipeline with integer amounts (so the lattice with step 1 is exact).
func smallCase() ([]Deal, []float64, []float64) {
	amounts := []float64{5, 12, 3, 20, 8, 15, 7, 30, 10, 4, 25, 6}
	q := []float64{0.9, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6, 0.15, 0.5, 0.8, 0.35, 0.05}
	deals := make([]Deal, len(amounts))
	for i := range deals {
		deals[i] = open(fmt.Sprint(i), "Q1", "all", amounts[i], q[i], 1)
	}
	return deals, amounts, q
}

func TestExactMatchesBruteForce(t *testing.T) {
	_, amounts, q := smallCase()
	l := Exact(amounts, q, 1)
	// Enumerate all 2^12 outcomes.
	want := make([]float64, len(l.PMF))
	for mask := 0; mask < 1<<len(q); mask++ {
		pr, sum := 1.0, 0
		for i := range q {
			if mask&(1<<i) != 0 {
				pr *= q[i]
				sum += int(amounts[i])
			} else {
				pr *= 1 - q[i]
			}
		}
		want[sum] += pr
	}
	for k := range want {
		// Sums of up to 4096 products in different orders. Tolerance 1e-14.
		if math.Abs(l.PMF[k]-want[k]) > 1e-14 {
			t.Fatalf("PMF[%d] = %v, brute force %v", k, l.PMF[k], want[k])
		}
	}
	// Negative amounts: -10 with q = 0.3 is -10 w.p. 0.3, else 0.
	n := Exact([]float64{-10, 5}, []float64{0.3, 0.5}, 5)
	if n.Offset != -10 || len(n.PMF) != 4 || math.Abs(n.PMF[0]-0.15) > 1e-15 || math.Abs(n.PMF[2]-0.35) > 1e-15 {
		t.Errorf("negative amounts: %+v", n)
	}
}

func TestMonteCarloMatchesExact(t *testing.T) {
	deals, amounts, q := smallCase()
	l := Exact(amounts, q, 1)
	const sims = 20000
	rs, err := Distribute(deals, nil, Options{Sims: sims, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if math.Abs(r.Expected-l.Mean()) > 1e-9 {
		t.Errorf("expected %v, exact mean %v", r.Expected, l.Mean())
	}
	for _, c := range []struct {
		p   float64
		got float64
	}{{0.1, r.P10}, {0.5, r.P50}, {0.9, r.P90}} {
		// The total is discrete, so compare in probability: the simulated p-quantile x must
		// satisfy P(X < x) <= p + tol and P(X <= x) >= p - tol. The empirical CDF at a fixed
		// point has SD sqrt(p(1-p)/sims) <= 0.0035 at 20,000 worlds; tol = 4 SD = 0.014.
		// (The histogram here is finer than the integer grid, so x is an atom.)
		tol := 4 * math.Sqrt(c.p*(1-c.p)/sims)
		below := l.CDF(c.got - 0.5)
		at := l.CDF(c.got)
		if below > c.p+tol || at < c.p-tol || c.got != math.Round(c.got) {
			t.Errorf("P%.0f = %v: exact P(X<x) = %.4f, P(X<=x) = %.4f, want bracket of %v +- %.4f (exact quantile %v)",
				100*c.p, c.got, below, at, c.p, tol, l.Quantile(c.p))
		}
		t.Logf("P%.0f: MC %v, exact %v", 100*c.p, c.got, l.Quantile(c.p))
	}
}

// randomPipeline returns n deals in two periods with reps, regions and lumpy amounts.
func randomPipeline(r *rand.Rand, n int) []Deal {
	deals := make([]Deal, n)
	for i := range deals {
		d := open(fmt.Sprint(i), fmt.Sprintf("Q%d", 1+r.IntN(2)), fmt.Sprintf("rep%d", r.IntN(7)),
			math.Round(math.Exp(9+1.2*r.NormFloat64())), r.Float64(), r.Float64())
		d.SupplyFactor = 0.7 + 0.3*r.Float64()
		if r.IntN(10) == 0 {
			d.Closed = true
		}
		deals[i] = d
	}
	return deals
}

func threeTypes(d Deal) []Segment {
	var rep int
	fmt.Sscanf(d.Segment, "rep%d", &rep)
	return []Segment{{"total", "all"}, {"rep", d.Segment}, {"region", fmt.Sprintf("r%d", rep%3)}}
}

func TestSameSeedSameOutput(t *testing.T) {
	deals := randomPipeline(rand.New(rand.NewPCG(1, 2)), 3000)
	ref, err := Distribute(deals, threeTypes, Options{Sims: 3000, Seed: 9, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 3, 8} {
		got, _ := Distribute(deals, threeTypes, Options{Sims: 3000, Seed: 9, Workers: w})
		if !reflect.DeepEqual(got, ref) {
			t.Errorf("workers=%d: results differ from workers=1", w)
		}
	}
	other, _ := Distribute(deals, threeTypes, Options{Sims: 3000, Seed: 10})
	if reflect.DeepEqual(other, ref) {
		t.Error("a different seed gave identical quantiles")
	}
}

func TestQuantilesMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		deals := randomPipeline(r, 1+r.IntN(400))
		rs, err := Distribute(deals, threeTypes, Options{Sims: 1000, Seed: uint64(trial)})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rs {
			if !(x.Closed <= x.P10 && x.P10 <= x.P50 && x.P50 <= x.P90) {
				t.Errorf("trial %d %s/%s/%s: closed %v P10 %v P50 %v P90 %v", trial, x.Period, x.SegmentType, x.Segment, x.Closed, x.P10, x.P50, x.P90)
			}
		}
	}
}

// TestSegmentsAddUp checks that the shared draws make segment totals consistent in every
// simulated world: the reps add up to the total and so do the regions.
func TestSegmentsAddUp(t *testing.T) {
	deals := randomPipeline(rand.New(rand.NewPCG(5, 6)), 2000)
	p, err := newPlan(deals, threeTypes)
	if err != nil {
		t.Fatal(err)
	}
	tot := make([]float64, len(p.keys))
	for s := 0; s < 50; s++ {
		p.world(1, s, tot)
		sums := map[[2]string]float64{}
		for g, k := range p.keys {
			sums[[2]string{k.period, k.typ}] += tot[g]
		}
		for _, period := range []string{"Q1", "Q2"} {
			all := sums[[2]string{period, "total"}]
			for _, typ := range []string{"rep", "region"} {
				// Same amounts added in a different order: relative rounding ~1e-15.
				if got := sums[[2]string{period, typ}]; math.Abs(got-all) > 1e-9*all {
					t.Fatalf("world %d %s: %s totals %v != total %v", s, period, typ, got, all)
				}
			}
		}
	}
}

// TestIntervalCoverage simulates "truth" from the same q and checks that [P10, P90] covers
// about 80% of outcomes.
func TestIntervalCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const (
		pipelines = 200
		outcomes  = 50
	)
	covered, total := 0, 0
	for k := 0; k < pipelines; k++ {
		deals := randomPipeline(r, 300)
		for i := range deals {
			deals[i].Period = "Q1"
			deals[i].Closed = false
		}
		rs, err := Distribute(deals, func(Deal) []Segment { return []Segment{{"total", "all"}} }, Options{Sims: 2000, Seed: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		res := rs[0]
		for o := 0; o < outcomes; o++ {
			truth := 0.0
			for _, d := range deals {
				if r.Float64() < d.Q() {
					truth += d.Amount
				}
			}
			if truth >= res.P10 && truth <= res.P90 {
				covered++
			}
			total++
		}
	}
	cov := float64(covered) / float64(total)
	// 10,000 outcomes: binomial SD sqrt(0.8*0.2/10000) = 0.004; the per-pipeline error of
	// the simulated P10/P90 (2,000 worlds: SD of F at the estimate ~0.007 each, averaged over
	// 200 pipelines) adds < 0.001. The distributions are effectively continuous (300 lumpy
	// amounts), so the target is 0.80; tolerance 0.025 is > 5 SD.
	t.Logf("coverage %.4f over %d outcomes", cov, total)
	if math.Abs(cov-0.80) > 0.025 {
		t.Errorf("P10-P90 coverage %.4f, want 0.80 +- 0.025", cov)
	}
}

func TestInvalidDeals(t *testing.T) {
	tests := []struct {
		name string
		d    Deal
	}{
		{"pwin > 1", open("x", "Q1", "a", 1, 1.2, 1)},
		{"negative pin", open("x", "Q1", "a", 1, 0.5, -0.1)},
		{"NaN amount", open("x", "Q1", "a", math.NaN(), 0.5, 1)},
		{"supply > 1", Deal{ID: "x", Amount: 1, PWin: 0.5, PInPeriod: 1, SupplyFactor: 2, CreditFactor: 1}},
	}
	for _, tc := range tests {
		if _, err := Distribute([]Deal{tc.d}, nil, Options{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// The zero value of the factors means "cannot book": q = 0, not an error.
	rs, err := Distribute([]Deal{{ID: "z", Period: "Q1", Amount: 5, PWin: 1, PInPeriod: 1}}, nil, Options{})
	if err != nil || rs[0].Expected != 0 || rs[0].P90 != 0 {
		t.Errorf("zero factors: %+v, %v", rs, err)
	}
}

func TestNoSimulation(t *testing.T) {
	rs, err := Distribute([]Deal{open("a", "Q1", "x", 10, 0.5, 1)}, nil, Options{Sims: -1})
	if err != nil || rs[0].Expected != 5 || !math.IsNaN(rs[0].P50) {
		t.Errorf("Sims -1: %+v %v", rs, err)
	}
}

// TestWorldBatchesIdentical checks that a world's totals do not depend on how worlds are
// batched (interleaved by four, the remainder loop, or alone): the basis of the
// GOMAXPROCS-independence of Distribute.
func TestWorldBatchesIdentical(t *testing.T) {
	deals := randomPipeline(rand.New(rand.NewPCG(9, 9)), 1500)
	for i := 0; i < 300; i++ { // and coupled rows (Joint), three months rolling up into a quarter
		deals = append(deals, jointDeal(fmt.Sprint("j", i), fmt.Sprintf("rep%d", i%7), "Q1", float64(100+i),
			[]string{"M1", "M2", "M3"}, []float64{0.1, 0.2 * float64(i%4) / 3, 0.3})...)
	}
	p, err := newPlan(deals, threeTypes)
	if err != nil {
		t.Fatal(err)
	}
	G := len(p.keys)
	batch := make([]float64, worldBatch*G)
	for _, n := range []int{worldBatch, 7, 3} {
		p.worlds(77, 100, n, batch)
		one := make([]float64, G)
		for k := 0; k < n; k++ {
			p.world(77, 100+k, one)
			for g := range one {
				if one[g] != batch[g*worldBatch+k] {
					t.Fatalf("batch of %d: world %d, group %v: %v alone, %v in the batch", n, k, p.keys[g], one[g], batch[g*worldBatch+k])
				}
			}
		}
	}
}

// jointDeal returns one deal's rows over months m1..mk, coupled by Joint, each rolling up
// into quarter (amount a, q_j per month).
func jointDeal(id, seg, quarter string, a float64, months []string, q []float64) []Deal {
	rows := make([]Deal, len(months))
	for j, m := range months {
		rows[j] = open(id, m, seg, a, 1, q[j])
		rows[j].Joint = id
		rows[j].Rollup = []string{quarter}
	}
	return rows
}

// TestJointMoments checks the exact moments of coupled rows against hand arithmetic: a
// deal counts once in its quarter, with the summed probability, and its months' variances
// are those of single Bernoullis.
func TestJointMoments(t *testing.T) {
	months := []string{"M1", "M2", "M3"}
	deals := append(jointDeal("a", "ann", "Q1", 100, months, []float64{0.2, 0.3, 0.1}),
		jointDeal("b", "bob", "Q1", 50, months, []float64{0, 0.5, 0.5})...)
	// Unequal amounts (a partial booking): c books 40 in M1 w.p. 0.25 or 60 in M2 w.p. 0.5.
	c := jointDeal("c", "ann", "Q1", 0, months[:2], []float64{0.25, 0.5})
	c[0].Amount, c[1].Amount = 40, 60
	deals = append(deals, c...)
	rs, err := Distribute(deals, bySegmentAndTotal, Options{Sims: 4000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		period, typ, name string
		mean, vari        float64
		nOpen             int
	}{
		// a: 100 w.p. 0.6; c: 40 w.p. 0.25, 60 w.p. 0.5: mean 40, E[X^2] = 400 + 1800.
		{"Q1", "rep", "ann", 60 + 40, 100*100*0.6*0.4 + (2200 - 40*40), 2},
		// b: 50 w.p. 1 in the quarter: certain, no variance.
		{"Q1", "rep", "bob", 50, 0, 1},
		{"Q1", "total", "all", 150, 2400 + 600, 3},
		{"M2", "total", "all", 30 + 25 + 30, 100*100*0.3*0.7 + 50*50*0.25 + 60*60*0.25, 3},
		{"M3", "rep", "bob", 25, 625, 1},
	}
	for _, tc := range tests {
		r := find(t, rs, tc.period, tc.typ, tc.name)
		// A few products and sums: exact up to rounding. Tolerance 1e-9.
		if math.Abs(r.Expected-tc.mean) > 1e-9 || math.Abs(r.SD*r.SD-tc.vari) > 1e-9*max(1, tc.vari) || r.NOpen != tc.nOpen {
			t.Errorf("%s/%s/%s: expected %v sd^2 %v open %d, want %v %v %d", tc.period, tc.typ, tc.name, r.Expected, r.SD*r.SD, r.NOpen, tc.mean, tc.vari, tc.nOpen)
		}
	}
	// bob always books 50 in the quarter: every quantile is 50.
	if r := find(t, rs, "Q1", "rep", "bob"); r.P10 != 50 || r.P90 != 50 {
		t.Errorf("bob's quarter: P10 %v P90 %v, want 50 (certain)", r.P10, r.P90)
	}
	// A partial booking alone: 40 w.p. 0.7 (M1), 60 w.p. 0.15 (M2), else 0 in the quarter.
	c[0].PInPeriod, c[1].PInPeriod = 0.7, 0.15
	rs, err = Distribute(c, nil, Options{Sims: 4000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r := find(t, rs, "Q1", "segment", "ann"); r.P10 != 0 || r.P50 != 40 || r.P90 != 60 {
		t.Errorf("partial booking's quarter: P10 %v P50 %v P90 %v, want 0, 40, 60", r.P10, r.P50, r.P90)
	}
}

// TestJointMatchesExact checks the simulated quarter and month of coupled deals against the
// exact distribution: in the quarter each deal is one Bernoulli with the summed q, in a
// month one with that month's q.
func TestJointMatchesExact(t *testing.T) {
	_, amounts, q := smallCase()
	months := []string{"M1", "M2", "M3"}
	var deals []Deal
	split := [][3]float64{{0.5, 0.3, 0.2}, {0.1, 0.1, 0.8}, {1, 0, 0}, {0.2, 0.4, 0.4}}
	for i := range amounts {
		s := split[i%len(split)]
		deals = append(deals, jointDeal(fmt.Sprint(i), "all", "Q1", amounts[i], months, []float64{q[i] * s[0], q[i] * s[1], q[i] * s[2]})...)
	}
	const sims = 20000
	rs, err := Distribute(deals, nil, Options{Sims: sims, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	m2 := make([]float64, len(q))
	for i := range q {
		m2[i] = q[i] * split[i%len(split)][1]
	}
	for _, c := range []struct {
		period string
		exact  Lattice
	}{{"Q1", Exact(amounts, q, 1)}, {"M2", Exact(amounts, m2, 1)}} {
		r := find(t, rs, c.period, "segment", "all")
		if math.Abs(r.Expected-c.exact.Mean()) > 1e-9 {
			t.Errorf("%s: expected %v, exact mean %v", c.period, r.Expected, c.exact.Mean())
		}
		for _, x := range []struct{ p, got float64 }{{0.1, r.P10}, {0.5, r.P50}, {0.9, r.P90}} {
			// As in TestMonteCarloMatchesExact: 4 SD of the empirical CDF at 20,000 worlds.
			tol := 4 * math.Sqrt(x.p*(1-x.p)/sims)
			if below, at := c.exact.CDF(x.got-0.5), c.exact.CDF(x.got); below > x.p+tol || at < x.p-tol {
				t.Errorf("%s P%.0f = %v: exact P(X<x) = %.4f, P(X<=x) = %.4f, want bracket of %v +- %.4f (exact quantile %v)",
					c.period, 100*x.p, x.got, below, at, x.p, tol, c.exact.Quantile(x.p))
			}
		}
	}
}

// TestJointMonthsAddUp checks that with Rollup a world's months add up to its quarter, and
// that Joint makes a deal book in at most one month: a rep with one deal has that deal's
// amount or nothing in the quarter (independent rows could book it twice).
func TestJointMonthsAddUp(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	months := []string{"M1", "M2", "M3"}
	var deals []Deal
	for i := 0; i < 800; i++ {
		w := []float64{r.Float64(), r.Float64(), r.Float64()}
		total := r.Float64() / (w[0] + w[1] + w[2])
		id := fmt.Sprint(i)
		rows := jointDeal(id, fmt.Sprintf("rep%d", r.IntN(7)), "Q1", math.Round(math.Exp(9+r.NormFloat64())), months,
			[]float64{w[0] * total, w[1] * total, w[2] * total})
		if i%9 == 0 { // a lone row among the coupled ones
			rows = rows[:1]
			rows[0].Joint = ""
		}
		deals = append(deals, rows...)
	}
	// rep100: one deal that books with probability 0.9 (0.3 a month).
	single := jointDeal("single", "rep100", "Q1", 1000, months, []float64{0.3, 0.3, 0.3})
	deals = append(deals, single...)
	p, err := newPlan(deals, threeTypes)
	if err != nil {
		t.Fatal(err)
	}
	tot := make([]float64, len(p.keys))
	for s := 0; s < 200; s++ {
		p.world(5, s, tot)
		sums := map[[2]string]float64{}
		for g, k := range p.keys {
			if k.typ == "total" {
				sums[[2]string{k.period, k.typ}] += tot[g]
			}
		}
		months := sums[[2]string{"M1", "total"}] + sums[[2]string{"M2", "total"}] + sums[[2]string{"M3", "total"}]
		// Same amounts added in a different order: relative rounding ~1e-15.
		if q := sums[[2]string{"Q1", "total"}]; math.Abs(months-q) > 1e-9*max(q, 1) {
			t.Fatalf("world %d: months add up to %v, the quarter is %v", s, months, q)
		}
		for g, k := range p.keys {
			if k.period == "Q1" && k.typ == "rep" && k.name == "rep100" && tot[g] != 0 && tot[g] != 1000 {
				t.Fatalf("world %d: rep100's one deal of 1000 booked %v in the quarter", s, tot[g])
			}
		}
	}
}

func TestJointInvalid(t *testing.T) {
	months := []string{"M1", "M2"}
	over := jointDeal("x", "a", "Q1", 10, months, []float64{0.7, 0.6})
	apart := append(append(jointDeal("y", "a", "Q1", 10, months[:1], []float64{0.5}), open("z", "M1", "a", 1, 0.5, 1)),
		jointDeal("y", "a", "Q1", 10, months[1:], []float64{0.2})...)
	closed := jointDeal("w", "a", "Q1", 10, months, []float64{0.5, 0.2})
	closed[1].Closed = true
	for _, tc := range []struct {
		name  string
		deals []Deal
		want  string
	}{
		{"sum over 1", over, `deal "x": the probabilities of its 2 Joint rows sum to 1.3`},
		{"not adjacent", apart, `deal "y": rows with Joint "y" are not next to each other`},
		{"closed", closed, `deal "w": a closed row cannot be Joint`},
	} {
		_, err := Distribute(tc.deals, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// randomEvents returns n deals of 1 to 4 rows (several rows: Joint), with the edge cases of
// the probabilities (summing to 1, one positive, all zero, one certain among zeros) and
// amounts (negative, zero, equal), some rolling up into "Q" and some closed.
func randomEvents(r *rand.Rand, n int) [][]Deal {
	var out [][]Deal
	for i := 0; i < n; i++ {
		K := 1 + r.IntN(4)
		id := fmt.Sprint("d", i)
		q := make([]float64, K)
		switch r.IntN(6) {
		case 0: // summing to 1
			q[0], q[K-1] = 0.25, 0.75
			if K == 1 {
				q[0] = 1
			}
		case 1: // one positive
			q[r.IntN(K)] = 0.3 + 0.5*r.Float64()
		case 2: // all zero
		case 3: // one certain among zeros
			q[r.IntN(K)] = 1
		default:
			total := 0.0
			for j := range q {
				if r.IntN(4) > 0 {
					q[j] = r.Float64()
				}
				total += q[j]
			}
			scale := r.Float64() / math.Max(total, 1e-9)
			for j := range q {
				q[j] *= scale
			}
		}
		seg := fmt.Sprint("rep", r.IntN(2))
		var rows []Deal
		for j := 0; j < K; j++ {
			a := float64(1 + r.IntN(9))
			switch r.IntN(5) {
			case 0:
				a = -a
			case 1:
				a = 0
			}
			if j > 0 && r.IntN(3) == 0 {
				a = rows[0].Amount
			}
			d := open(id, fmt.Sprint("M", j%3+1), seg, a, q[j], 1)
			if K > 1 {
				d.Joint = id
			}
			if r.IntN(4) > 0 {
				d.Rollup = []string{"Q"}
			}
			rows = append(rows, d)
		}
		if K == 1 && r.IntN(5) == 0 {
			rows[0].Closed = true
		}
		out = append(out, rows)
	}
	return out
}

// TestPlanMomentsBruteForce checks newPlan's exact moments, bounds and open counts against
// the enumeration of every outcome of a few random deals (each deal: one of its rows or
// none, with probabilities q_j and 1 - sum q_j).
func TestPlanMomentsBruteForce(t *testing.T) {
	segs := func(d Deal) []Segment { return []Segment{{"total", "all"}, {"rep", d.Segment}} }
	for trial := 0; trial < 300; trial++ {
		r := rand.New(rand.NewPCG(uint64(trial), 7))
		events := randomEvents(r, 1+r.IntN(5))
		var deals []Deal
		for _, e := range events {
			deals = append(deals, e...)
		}
		p, err := newPlan(deals, segs)
		if err != nil {
			t.Fatal(err)
		}
		index := map[groupKey]int{}
		for g, k := range p.keys {
			index[k] = g
		}
		G := len(p.keys)
		adds := func(d Deal) []float64 { // what the row adds to each group when it books
			v := make([]float64, G)
			for _, per := range append([]string{d.Period}, d.Rollup...) {
				for _, s := range segs(d) {
					v[index[groupKey{per, s.Type, s.Name}]] = d.Amount
				}
			}
			return v
		}
		dist := make([]map[float64]float64, G) // exact distribution of each group's total
		for g := range dist {
			dist[g] = map[float64]float64{0: 1}
		}
		nOpen := make([]int, G)
		for _, e := range events {
			type outcome struct {
				p   float64
				add []float64
			}
			var outs []outcome
			if e[0].Closed {
				outs = []outcome{{1, adds(e[0])}}
			} else {
				rest, touched := 1.0, make([]bool, G)
				for _, d := range e {
					a := adds(d)
					for g := range a {
						touched[g] = touched[g] || rowFeeds(d, p.keys[g], segs)
					}
					outs = append(outs, outcome{d.Q(), a})
					rest -= d.Q()
				}
				outs = append(outs, outcome{max(rest, 0), make([]float64, G)})
				for g, ok := range touched {
					if ok {
						nOpen[g]++
					}
				}
			}
			for g := range dist {
				next := map[float64]float64{}
				for v, pv := range dist[g] {
					for _, o := range outs {
						if o.p > 0 {
							next[v+o.add[g]] += pv * o.p
						}
					}
				}
				dist[g] = next
			}
		}
		for g := range dist {
			mean, m2, lo, hi := 0.0, 0.0, math.Inf(1), math.Inf(-1)
			for v, pv := range dist[g] {
				mean += v * pv
				m2 += v * v * pv
				if pv > 1e-15 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			variance := m2 - mean*mean
			got := p.closed[g] + p.certain[g] + p.mean[g]
			// Sums of a few products of small integers and probabilities. Tolerance 1e-9.
			if math.Abs(got-mean) > 1e-9*(1+math.Abs(mean)) || math.Abs(p.variance[g]-variance) > 1e-9*(1+variance) {
				t.Errorf("trial %d %v: mean %v variance %v, enumerated %v %v", trial, p.keys[g], got, p.variance[g], mean, variance)
			}
			if p.lo[g] > lo+1e-9 || p.hi[g] < hi-1e-9 {
				t.Errorf("trial %d %v: bounds %v..%v exclude the possible totals %v..%v", trial, p.keys[g], p.lo[g], p.hi[g], lo, hi)
			}
			if p.nOpen[g] != nOpen[g] {
				t.Errorf("trial %d %v: %d open deals, want %d", trial, p.keys[g], p.nOpen[g], nOpen[g])
			}
		}
	}
}

// rowFeeds reports whether row d books into group k.
func rowFeeds(d Deal, k groupKey, segs func(Deal) []Segment) bool {
	for _, per := range append([]string{d.Period}, d.Rollup...) {
		for _, s := range segs(d) {
			if (groupKey{per, s.Type, s.Name}) == k {
				return true
			}
		}
	}
	return false
}

// referenceWorld recomputes world s's totals from the plan's arrays one event at a time,
// the plain reading of what worlds does.
func referenceWorld(p *plan, seed uint64, s int) []float64 {
	tot := slices.Clone(p.base)
	var src rand.PCG
	a := splitmix64(seed ^ splitmix64(uint64(s)))
	src.Seed(a, splitmix64(a))
	for f := 0; f+1 < len(p.famStart); f++ {
		K := int(p.famK[f])
		var r uint64
		for e := 0; e < int(p.famStart[f+1]-p.famStart[f]); e++ {
			if e%2 == 0 {
				r = src.Uint64()
			} else {
				r >>= 32
			}
			u := r & 0xffffffff
			j, amt := -1, 0.0
			if K == 1 {
				if uint32(u) < p.thr[int(p.famStart[f])+e] {
					j, amt = 0, p.amt[int(p.amtStart[f])+e]
				}
			} else {
				for o := 0; o < K; o++ {
					if u < p.cut[int(p.amtStart[f])+e*K+o] {
						j, amt = o, p.amt[int(p.amtStart[f])+e*K+o]
						break
					}
				}
			}
			if j >= 0 {
				c := int(p.famOut[f]) + j
				for _, g := range p.cellGroups[p.cgStart[c]:p.cgStart[c+1]] {
					tot[g] += amt
				}
			}
		}
	}
	return tot
}

// TestWorldsMatchReference checks worlds against referenceWorld for batches of every size
// class (full, odd, small, one), over a buffer holding stale values, with families of one
// to four outcomes interleaved, and Distribute's results across workers at world counts
// that are not multiples of a batch.
func TestWorldsMatchReference(t *testing.T) {
	segs := func(d Deal) []Segment { return []Segment{{"total", "all"}, {"rep", d.Segment}} }
	r := rand.New(rand.NewPCG(4, 4))
	var deals []Deal
	for i := 0; i < 3000; i++ {
		e := randomEvents(r, 1)[0]
		for j := range e {
			if e[j].Joint != "" {
				e[j].Joint = fmt.Sprint("e", i)
			}
		}
		deals = append(deals, e...)
	}
	p, err := newPlan(deals, segs)
	if err != nil {
		t.Fatal(err)
	}
	G := len(p.keys)
	batch := make([]float64, G*worldBatch)
	for _, n := range []int{worldBatch, 13, 5, 1} {
		for s0 := 0; s0 < 64; s0 += n {
			for i := range batch {
				batch[i] = math.NaN()
			}
			p.worlds(3, s0, n, batch)
			for k := 0; k < n; k++ {
				ref := referenceWorld(p, 3, s0+k)
				for g := range ref {
					// The same amounts added in another order. Tolerance 1e-9 relative.
					if got := batch[g*worldBatch+k]; !(math.Abs(ref[g]-got) <= 1e-9*(1+math.Abs(ref[g]))) {
						t.Fatalf("batch of %d, world %d, %v: %v, reference %v", n, s0+k, p.keys[g], got, ref[g])
					}
				}
			}
		}
	}
	for _, sims := range []int{37, 300, 513} {
		a, err := Distribute(deals, segs, Options{Sims: sims, Seed: 2, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Distribute(deals, segs, Options{Sims: sims, Seed: 2, Workers: 3})
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%d worlds: 1 and 3 workers differ", sims)
		}
	}
}
