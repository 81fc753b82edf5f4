package renewal_test

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/revcast/revcast/internal/datasets"
	"github.com/revcast/revcast/models/renewal"
)

// The IBM Telco customer churn data (7,043 customers, 1,869 churned; see
// ../shared/datasets/README.md) stands in for subscription renewals: "Churn = No" is a
// renewal. Its columns map onto the renewal model's contract signals as follows:
//
//	TenureYears        tenure (months) / 12
//	TermMonths         Contract: Month-to-month 1, One year 12, Two year 24
//	BookingsLastYear   12 * MonthlyCharges (the current bill, annualised)
//	BookingsYearBefore 12 * TotalCharges / tenure (the average past bill; the current one
//	                   when tenure is 0 or TotalCharges is blank, as in 11 rows)
//	ProductFamilies    services held: phone, multiple lines, internet, online security,
//	                   online backup, device protection, tech support, streaming TV, movies
//	AutoRenew          PaymentMethod is automatic (bank transfer or credit card)
//	AnnualValue        12 * MonthlyCharges
//
// Payment lateness and support cases are not in the data (zero). The other columns enter as
// Extra features (telcoExtra).

var telcoExtra = []string{"senior_citizen", "partner", "dependents", "paperless_billing", "fiber_optic",
	"no_internet", "electronic_check", "online_security", "tech_support", "streaming"}

type telcoRow struct {
	c        renewal.Contract
	contract string // Contract column, for the baseline
}

func loadTelco(t testing.TB) []telcoRow {
	t.Helper()
	dir := datasets.Dir(t, "telco-churn")
	f, err := os.Open(filepath.Join(dir, "telco-churn", "Telco-Customer-Churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var out []telcoRow
	for line, r := range recs[1:] {
		get := func(name string) string { return strings.TrimSpace(r[col[name]]) }
		yes := func(name string) bool { return get(name) == "Yes" }
		b := func(v bool) float64 {
			if v {
				return 1
			}
			return 0
		}
		tenure, err1 := strconv.ParseFloat(get("tenure"), 64)
		monthly, err2 := strconv.ParseFloat(get("MonthlyCharges"), 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("line %d: tenure %q, MonthlyCharges %q", line+2, get("tenure"), get("MonthlyCharges"))
		}
		past := monthly
		if total, err := strconv.ParseFloat(get("TotalCharges"), 64); err == nil && tenure > 0 {
			past = total / tenure
		}
		term := map[string]float64{"Month-to-month": 1, "One year": 12, "Two year": 24}[get("Contract")]
		if term == 0 {
			t.Fatalf("line %d: Contract %q", line+2, get("Contract"))
		}
		internet := get("InternetService")
		services := 0
		for _, s := range []string{"PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
			"TechSupport", "StreamingTV", "StreamingMovies"} {
			if yes(s) {
				services++
			}
		}
		if internet != "No" {
			services++
		}
		c := renewal.Contract{
			ID: get("customerID"), TenureYears: tenure / 12, TermMonths: term,
			BookingsLastYear: 12 * monthly, BookingsYearBefore: 12 * past,
			ProductFamilies: services, AutoRenew: strings.Contains(get("PaymentMethod"), "(automatic)"),
			AnnualValue: 12 * monthly, Renewed: get("Churn") == "No",
			Extra: []float64{b(get("SeniorCitizen") == "1"), b(yes("Partner")), b(yes("Dependents")), b(yes("PaperlessBilling")),
				b(internet == "Fiber optic"), b(internet == "No"), b(get("PaymentMethod") == "Electronic check"),
				b(yes("OnlineSecurity")), b(yes("TechSupport")), b(yes("StreamingTV") || yes("StreamingMovies"))},
		}
		out = append(out, telcoRow{c, get("Contract")})
	}
	return out
}

// stratifiedSplit deals each outcome class, shuffled with the seed, 70/30 into train and
// test, then shuffles train (the model holds out its last quarter for calibration).
func stratifiedSplit(rows []telcoRow, seed uint64) (train, test []telcoRow) {
	r := rand.New(rand.NewPCG(seed, 7))
	var pos, neg []telcoRow
	for _, x := range rows {
		if x.c.Renewed {
			pos = append(pos, x)
		} else {
			neg = append(neg, x)
		}
	}
	for _, cls := range [][]telcoRow{pos, neg} {
		r.Shuffle(len(cls), func(i, j int) { cls[i], cls[j] = cls[j], cls[i] })
		k := len(cls) * 7 / 10
		train = append(train, cls[:k]...)
		test = append(test, cls[k:]...)
	}
	r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	return train, test
}

// TestTelcoChurn fits the renewal model on a seeded, stratified 70% of the telco customers
// and scores the other 30% against the contract-type-only baseline (each contract type's
// renewal rate in the training part).
func TestTelcoChurn(t *testing.T) {
	rows := loadTelco(t)
	if len(rows) != 7043 {
		t.Fatalf("read %d customers, the README says 7,043", len(rows))
	}
	for _, seed := range []uint64{1, 2, 3} {
		train, test := stratifiedSplit(rows, seed)
		hist := make([]renewal.Contract, len(train))
		var hg, tg []string
		var hy []bool
		for i, x := range train {
			hist[i] = x.c
			hg = append(hg, x.contract)
			hy = append(hy, x.c.Renewed)
		}
		// TrendOffset: $10 a month, annualised, the scale of a telco bill change.
		opts := renewal.Options{ExtraNames: telcoExtra, TrendOffset: 120}
		m, err := renewal.Fit(hist, opts)
		if err != nil {
			t.Fatal(err)
		}
		cs := make([]renewal.Contract, len(test))
		out := make([]bool, len(test))
		for i, x := range test {
			cs[i] = x.c
			out[i] = x.c.Renewed
			tg = append(tg, x.contract)
		}
		got := renewal.Evaluate(m.Predict(cs), out)
		base := renewal.Evaluate(renewal.GroupRate(hg, hy, tg), out)
		t.Logf("seed %d: test n=%d renewal rate %.3f | revcast AUC %.4f Brier %.4f ECE %.4f | contract-type baseline AUC %.4f Brier %.4f | lambda %g",
			seed, got.N, got.Rate, got.AUC, got.Brier, got.ECE, base.AUC, base.Brier, m.Lambda)
		if got.AUC <= base.AUC {
			t.Errorf("seed %d: AUC %.4f does not beat the contract-type baseline %.4f", seed, got.AUC, base.AUC)
		}
		if got.Brier >= base.Brier {
			t.Errorf("seed %d: Brier %.4f does not beat the contract-type baseline %.4f", seed, got.Brier, base.Brier)
		}
	}
}
