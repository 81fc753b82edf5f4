// Package reconcile measures how well reconciliation findings and record matches agree with
// a known answer: per-kind recall and precision of variances, and precision and recall of
// matched pairs (the golden record). It takes plain slices, so the same measure serves the
// tests over the synthetic company's ground truth and a backtest over reviewed findings.
//
// The findings themselves are built in SQL (sql/marts/reconciliation_variances.sql and the
// golden record in sql/core), where the data is.
package reconcile

import "sort"

// Finding is one record flagged with a kind: a variance found, or one known to exist.
type Finding struct {
	Kind string
	ID   string // the record the finding is about
}

// KindScore compares the findings of one kind with the known ones.
//
//	Recall    = Correct / Planted              (1 when nothing was planted)
//	Precision = Correct / Reported             (1 when nothing was reported)
//	CleanPrecision = 1 − OnClean / Reported    (1 when nothing was reported)
//
// where Correct counts reported findings whose kind and record are known, and OnClean counts
// reported findings on records no known finding of any kind touches: false alarms on clean
// records, as opposed to a known problem reported under another kind.
type KindScore struct {
	Kind                                string
	Planted, Reported, Correct, OnClean int
	Recall, Precision, CleanPrecision   float64
}

// Score returns one KindScore per kind that is planted or reported, sorted by kind. touched
// holds every record involved in a known finding (both sides); nil means the IDs of planted.
func Score(reported, planted []Finding, touched map[string]bool) []KindScore {
	if touched == nil {
		touched = make(map[string]bool, len(planted))
		for _, f := range planted {
			touched[f.ID] = true
		}
	}
	known := make(map[Finding]bool, len(planted))
	byKind := map[string]*KindScore{}
	get := func(k string) *KindScore {
		s, ok := byKind[k]
		if !ok {
			s = &KindScore{Kind: k}
			byKind[k] = s
		}
		return s
	}
	for _, f := range planted {
		if !known[f] {
			known[f] = true
			get(f.Kind).Planted++
		}
	}
	seen := make(map[Finding]bool, len(reported))
	for _, f := range reported {
		if seen[f] {
			continue
		}
		seen[f] = true
		s := get(f.Kind)
		s.Reported++
		switch {
		case known[f]:
			s.Correct++
		case !touched[f.ID]:
			s.OnClean++
		}
	}
	out := make([]KindScore, 0, len(byKind))
	for _, s := range byKind {
		s.Recall, s.Precision, s.CleanPrecision = 1, 1, 1
		if s.Planted > 0 {
			s.Recall = float64(s.Correct) / float64(s.Planted)
		}
		if s.Reported > 0 {
			s.Precision = float64(s.Correct) / float64(s.Reported)
			s.CleanPrecision = 1 - float64(s.OnClean)/float64(s.Reported)
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Pair links two records, e.g. a CRM account (A) and an ERP customer (B).
type Pair struct{ A, B string }

// PairScore compares predicted pairs with the true ones.
//
//	Precision = TruePositives / Predicted   (1 when nothing was predicted)
//	Recall    = TruePositives / True        (1 when there is nothing to find)
type PairScore struct {
	Predicted, True, TruePositives int
	Precision, Recall              float64
}

// ScorePairs measures predicted against truth; duplicates count once. With symmetric, (a, b)
// and (b, a) are the same pair (e.g. two duplicate accounts).
func ScorePairs(predicted, truth []Pair, symmetric bool) PairScore {
	norm := func(p Pair) Pair {
		if symmetric && p.B < p.A {
			return Pair{p.B, p.A}
		}
		return p
	}
	t := make(map[Pair]bool, len(truth))
	for _, p := range truth {
		t[norm(p)] = true
	}
	seen := make(map[Pair]bool, len(predicted))
	var s PairScore
	for _, p := range predicted {
		p = norm(p)
		if seen[p] {
			continue
		}
		seen[p] = true
		s.Predicted++
		if t[p] {
			s.TruePositives++
		}
	}
	s.True = len(t)
	s.Precision, s.Recall = 1, 1
	if s.Predicted > 0 {
		s.Precision = float64(s.TruePositives) / float64(s.Predicted)
	}
	if s.True > 0 {
		s.Recall = float64(s.TruePositives) / float64(s.True)
	}
	return s
}
