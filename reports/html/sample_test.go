package html_test

import (
	"math"
	"time"

	rh "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/narrative"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// sampleReport is a report with every section filled from hand-written plain data (the
// numbers are made up but consistent: the waterfall's steps add up to its end), plus a
// section whose data is missing, and template narratives from reports/narrative.
func sampleReport() *rh.Report {
	nan := math.NaN()
	periods := []rh.PeriodForecast{
		{Period: "2026-Q3", Closed: 1.2e6, Expected: 4.1e6, P10: 3.2e6, P50: 4.0e6, P90: 5.1e6, StageWeighted: 4.6e6, Commit: 3.9e6, Target: 4.5e6},
		{Period: "2026-Q4", Closed: 0, Expected: 3.6e6, P10: 2.4e6, P50: 3.5e6, P90: 4.9e6, StageWeighted: 4.2e6, Commit: 2.1e6, Target: 4.8e6},
		{Period: "2027-Q1", Closed: 0, Expected: 2.2e6, P10: 1.1e6, P50: 2.1e6, P90: 3.6e6, StageWeighted: 3.0e6, Commit: nan, Target: nan},
	}
	pipeline := &rh.PipelineChanges{
		From: date("2026-06-23"), To: date("2026-06-30"), WindowStart: date("2026-04-01"), WindowEnd: date("2026-09-30"),
		Start: 1210, End: 920, StartDeals: 6, EndDeals: 5,
		Steps: []rh.ChangeStep{
			{Key: "new", Label: "New", Amount: 90, Deals: 1},
			{Key: "pulled_in", Label: "Pulled in", Amount: 60, Deals: 1},
			{Key: "amount_up", Label: "Amount up", Amount: 50, Deals: 1},
			{Key: "won", Label: "Won", Amount: -300, Deals: 1},
			{Key: "lost", Label: "Lost", Amount: -40, Deals: 1},
			{Key: "pushed_out", Label: "Pushed out", Amount: -70, Deals: 1},
			{Key: "amount_down", Label: "Amount down", Amount: -80, Deals: 1},
		},
		Movers: []rh.PipelineMove{
			{OpportunityID: "OPP-3", Name: "Acme - Pumps", Account: "Acme Corp", Change: "Won", Amount: -300},
			{OpportunityID: "OPP-7", Name: "Globex - Valves", Account: "Globex", Change: "New", Amount: 90},
		},
	}
	credit := &rh.Credit{
		Aging: []rh.AgingBucket{
			{Bucket: "current", Amount: 520000, Customers: 40}, {Bucket: "1-30", Amount: 81000, Customers: 9},
			{Bucket: "31-60", Amount: 40000, Customers: 5}, {Bucket: "61-90", Amount: 22000, Customers: 3},
			{Bucket: "90+", Amount: 18000, Customers: 2},
		},
		Overdue: &rh.Table{Total: 12, Columns: []rh.Column{{Label: "Customer"}, {Label: "Name"}, {Label: "Past due", Kind: rh.KindMoney}, {Label: "Over 60 days", Kind: rh.KindMoney}},
			Rows: [][]rh.Cell{
				{rh.TextCell("C-1"), rh.TextCell("Initech GmbH"), rh.NumCell(30000), rh.NumCell(18000)},
				{rh.TextCell("C-2"), rh.TextCell("Umbrella Ltd"), rh.NumCell(12000), rh.NumCell(0)},
			}},
		Alerts: &rh.Listing{
			Figures: []rh.Figure{{Key: "alert_customers", Label: "Customers on credit alert", Kind: rh.KindCount, Value: rh.NumCell(2)}},
			Table: &rh.Table{Total: 2, Columns: []rh.Column{{Label: "Customer"}, {Label: "Alert"}, {Label: "Pipeline at risk", Kind: rh.KindMoney}},
				Rows: [][]rh.Cell{{rh.TextCell("C-1"), rh.TextCell("over credit limit"), rh.NumCell(250000)}, {rh.TextCell("C-9"), rh.TextCell("items 90+ days"), rh.NullCell()}}},
		},
	}
	weeks := []string{"2026-07-06", "2026-07-13", "2026-07-20", "2026-07-27"}
	sections := []*rh.Section{
		{Key: narrative.SectionHeadline, Title: "Headline forecast", Content: &rh.Headline{
			RunID: "20260630T060000Z-abc123", AsOf: date("2026-06-30"), Period: "2026-Q3", Closed: 1.2e6, Expected: 4.1e6,
			P10: 3.2e6, P50: 4.0e6, P90: 5.1e6, StageWeighted: 4.6e6, Commit: 3.9e6, Target: 4.5e6,
			PrevRunID: "20260623T060000Z-def456", PrevAsOf: date("2026-06-23"), PrevP50: 4.25e6,
		}},
		{Key: narrative.SectionForecast, Title: "Forecast by period", Content: &rh.ForecastPeriods{RunID: "20260630T060000Z-abc123", Rows: periods}},
		{Key: narrative.SectionPipelineChanges, Title: "Pipeline changes", Content: pipeline},
		{Key: narrative.SectionAtRisk, Title: "Deals at risk", Content: &rh.AtRiskDeals{Count: 2, Amount: 650000, Deals: []rh.AtRiskDeal{
			{OpportunityID: "OPP-11", Name: "Acme - Compressors", Account: "Acme Corp", Owner: "Dana Whitfield", Stage: "Negotiation",
				ForecastCategory: "commit", CloseDate: date("2026-08-31"), Amount: 400000, CRMProbability: 80, PWin: 0.31,
				Factors: []string{"pushes (3)", "days in stage (74)"}},
			{OpportunityID: "OPP-12", Name: "Globex - Spares", Account: "Globex", Owner: "Lee Park", Stage: "Proposal",
				ForecastCategory: "best_case", CloseDate: date("2026-09-15"), Amount: 250000, CRMProbability: 60, PWin: 0.42},
		}}},
		{Key: narrative.SectionSupply, Title: "Supply risks", Content: &rh.Listing{
			Figures: []rh.Figure{{Key: "lines", Label: "Deal lines short of stock", Kind: rh.KindCount, Value: rh.NumCell(1)},
				{Key: "amount", Label: "Amount that may not ship in period", Kind: rh.KindMoney, Value: rh.NumCell(120000)}},
			Table: &rh.Table{Total: 1, Columns: []rh.Column{{Label: "Opportunity"}, {Label: "Product"}, {Label: "Shortfall", Kind: rh.KindNumber}, {Label: "Earliest ship", Kind: rh.KindDate}},
				Rows: [][]rh.Cell{{rh.TextCell("OPP-11"), rh.TextCell("PMP-200"), rh.NumCell(14), rh.TimeCell(date("2026-10-02"))}}},
		}},
		{Key: narrative.SectionCredit, Title: "Credit alerts and receivables aging", Content: credit},
		{Key: narrative.SectionCollections, Title: "Collections forecast", Content: &rh.Collections{
			Listing: rh.Listing{Figures: []rh.Figure{{Key: "expected_total", Label: "Expected cash over the horizon", Kind: rh.KindMoney, Value: rh.NumCell(610000)}}},
			Labels:  weeks, Expected: []float64{180000, 150000, 160000, 120000},
			P10: []float64{140000, 110000, 120000, 80000}, P90: []float64{210000, 190000, 200000, 170000},
		}},
		{Key: narrative.SectionRenewals, Title: "Renewals at risk", Missing: "no data yet: renewal_forecast, written by revcast forecast (renewal model)"},
		{Key: narrative.SectionReconciliation, Title: "Reconciliation variances", Content: &rh.Reconciliation{
			ByKind: []rh.VarianceKind{{Kind: "won_without_order", Count: 4, High: 2, Amount: 310000}, {Kind: "price_mismatch", Count: 7, High: 0, Amount: 12500}},
			Top: &rh.Table{Total: 11, Columns: []rh.Column{{Label: "Kind"}, {Label: "CRM record"}, {Label: "Difference", Kind: rh.KindMoney}, {Label: "Explanation"}},
				Rows: [][]rh.Cell{{rh.TextCell("won_without_order"), rh.TextCell("OPP-5"), rh.NumCell(180000), rh.TextCell("won 45 days ago, no sales order")}}},
		}},
		{Key: narrative.SectionOrders, Title: "Order status changes to review", Content: &rh.Listing{
			Figures: []rh.Figure{{Key: "review", Label: "Changes needing review", Kind: rh.KindCount, Value: rh.NumCell(1)}},
			Table: &rh.Table{Total: 1, Columns: []rh.Column{{Label: "Order"}, {Label: "Status"}, {Label: "Changed", Kind: rh.KindTime}},
				Rows: [][]rh.Cell{{rh.TextCell("SO-77"), rh.TextCell("delayed"), rh.TimeCell(time.Date(2026, 6, 29, 14, 5, 0, 0, time.UTC))}}},
		}},
		{Key: narrative.SectionAccuracy, Title: "Model accuracy", Content: &rh.Accuracy{
			Figures: []rh.Figure{{Key: "revcast_brier", Label: "brier (revcast)", Kind: rh.KindNumber, Value: rh.NumCell(0.162)}},
			Metrics: &rh.Table{Total: 2, Columns: []rh.Column{{Label: "Model"}, {Label: "brier", Kind: rh.KindNumber}, {Label: "mape", Kind: rh.KindNumber}},
				Rows: [][]rh.Cell{{rh.TextCell("revcast"), rh.NumCell(0.162), rh.NumCell(0.081)}, {rh.TextCell("stage_weighted"), rh.NumCell(0.221), rh.NumCell(0.19)}}},
			ByWeek: []rh.WeekError{{Model: "revcast", Week: 1, MAPE: 0.21}, {Model: "revcast", Week: 5, MAPE: 0.12}, {Model: "revcast", Week: 9, MAPE: 0.06},
				{Model: "stage_weighted", Week: 1, MAPE: 0.34}, {Model: "stage_weighted", Week: 5, MAPE: 0.25}, {Model: "stage_weighted", Week: 9, MAPE: 0.17}},
			Calibration: []rh.CalibrationBin{
				{Model: "revcast", Predicted: 0.1, Observed: 0.12, Count: 50}, {Model: "revcast", Predicted: 0.5, Observed: 0.46, Count: 40},
				{Model: "revcast", Predicted: 0.85, Observed: 0.88, Count: 30},
			},
		}},
	}
	r := &rh.Report{
		Title: "revcast report", AsOf: date("2026-06-30"), RunID: "20260630T060000Z-abc123", Currency: "USD",
		GeneratedAt: time.Date(2026, 6, 30, 7, 0, 0, 0, time.UTC),
		Freshness:   []rh.Freshness{{Source: "crm", LoadedAt: time.Date(2026, 6, 30, 5, 0, 0, 0, time.UTC), Files: 12}, {Source: "erp", LoadedAt: time.Date(2026, 6, 30, 5, 10, 0, 0, time.UTC), Files: 9}},
		Sections:    sections,
	}
	return r
}
