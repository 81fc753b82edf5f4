package reconcile_test

import (
	"math"
	"testing"

	"github.com/revcast/revcast/models/reconcile"
)

func TestScore(t *testing.T) {
	planted := []reconcile.Finding{
		{"price_mismatch", "L1"}, {"price_mismatch", "L2"}, {"won_without_order", "O1"},
	}
	reported := []reconcile.Finding{
		{"price_mismatch", "L1"},  // correct
		{"price_mismatch", "L1"},  // repeated: counts once
		{"price_mismatch", "L9"},  // a false alarm on a clean record
		{"amount_mismatch", "L2"}, // a known problem under another kind: wrong, but not on a clean record
	}
	got := reconcile.Score(reported, planted, nil)
	want := []reconcile.KindScore{
		{Kind: "amount_mismatch", Reported: 1, Recall: 1, Precision: 0, CleanPrecision: 1},
		{Kind: "price_mismatch", Planted: 2, Reported: 2, Correct: 1, OnClean: 1, Recall: 0.5, Precision: 0.5, CleanPrecision: 0.5},
		{Kind: "won_without_order", Planted: 1, Recall: 0, Precision: 1, CleanPrecision: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d kinds, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Planted != w.Planted || g.Reported != w.Reported || g.Correct != w.Correct || g.OnClean != w.OnClean ||
			math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.Precision-w.Precision) > 1e-12 || math.Abs(g.CleanPrecision-w.CleanPrecision) > 1e-12 {
			t.Errorf("kind %s: got %+v, want %+v", w.Kind, g, w)
		}
	}
}

func TestScorePairs(t *testing.T) {
	truth := []reconcile.Pair{{"A1", "C1"}, {"A2", "C2"}, {"A3", "C3"}, {"A4", "C4"}}
	got := reconcile.ScorePairs([]reconcile.Pair{{"A1", "C1"}, {"A2", "C2"}, {"A2", "C2"}, {"A5", "C3"}}, truth, false)
	// 2 of 3 distinct predictions are true; 2 of 4 true pairs found.
	if got.Predicted != 3 || got.TruePositives != 2 || math.Abs(got.Precision-2.0/3) > 1e-12 || got.Recall != 0.5 {
		t.Fatalf("got %+v", got)
	}
	sym := reconcile.ScorePairs([]reconcile.Pair{{"B", "A"}}, []reconcile.Pair{{"A", "B"}}, true)
	if sym.TruePositives != 1 || sym.Precision != 1 || sym.Recall != 1 {
		t.Fatalf("symmetric pair: got %+v", sym)
	}
	if e := reconcile.ScorePairs(nil, nil, false); e.Precision != 1 || e.Recall != 1 {
		t.Fatalf("empty: got %+v", e)
	}
}
