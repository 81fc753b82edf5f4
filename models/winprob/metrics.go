package winprob

import (
	"fmt"
	"math"
	"sort"
)

// Metrics take predictions p (or scores), outcomes y in [0, 1] and optional weights v
// (nil = ones), following gonum's stat convention. They panic if the lengths differ and
// return NaN when the total weight is zero.

func checkLens(name string, p, y, v []float64) {
	if len(y) != len(p) || (v != nil && len(v) != len(p)) {
		panic(fmt.Sprintf("winprob: %s: slice lengths differ (%d, %d, %d)", name, len(p), len(y), len(v)))
	}
}

func wAt(v []float64, i int) float64 {
	if v == nil {
		return 1
	}
	return v[i]
}

// LogLossEps bounds predictions away from 0 and 1 in LogLoss, so that one confident miss
// costs at most -log(1e-15) = 34.5 nats instead of +Inf.
const LogLossEps = 1e-15

// LogLoss returns the weighted mean negative log-likelihood (cross-entropy, in nats)
//
//	-sum_i {v_i * [y_i log p_i + (1 - y_i) log(1 - p_i)]} / sum_i {v_i}
//
// with p_i clipped to [LogLossEps, 1 - LogLossEps].
func LogLoss(p, y, v []float64) float64 {
	checkLens("LogLoss", p, y, v)
	num, den := 0.0, 0.0
	for i := range p {
		q := math.Min(math.Max(p[i], LogLossEps), 1-LogLossEps)
		w := wAt(v, i)
		num -= w * (y[i]*math.Log(q) + (1-y[i])*math.Log1p(-q))
		den += w
	}
	return num / den
}

// Brier returns the weighted Brier score (Brier 1950, "Verification of forecasts expressed
// in terms of probability", Monthly Weather Review 78:1-3)
//
//	sum_i {v_i * (p_i - y_i)^2} / sum_i {v_i}
func Brier(p, y, v []float64) float64 {
	checkLens("Brier", p, y, v)
	num, den := 0.0, 0.0
	for i := range p {
		w := wAt(v, i)
		d := p[i] - y[i]
		num += w * d * d
		den += w
	}
	return num / den
}

// AUC returns the area under the ROC curve of scores s for outcomes y, as the normalised
// Mann-Whitney statistic (Hanley & McNeil 1982; Fawcett 2006, section 7):
//
//	AUC = sum_{i pos, j neg} {v_i v_j * [1(s_i > s_j) + 1/2 * 1(s_i = s_j)]} / (W+ * W-)
//
// i.e. the probability that a random win scores above a random loss, ties counting one half.
// A row contributes weight v_i*y_i as a positive and v_i*(1 - y_i) as a negative, so soft
// labels are allowed. It sorts a copy of the indices: O(n log n). It returns NaN if W+ or W-
// is zero.
func AUC(s, y, v []float64) float64 {
	checkLens("AUC", s, y, v)
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	var num, negBelow, totPos float64
	for g := 0; g < len(idx); {
		h := g
		var pos, neg float64
		for ; h < len(idx) && s[idx[h]] == s[idx[g]]; h++ {
			i := idx[h]
			w := wAt(v, i)
			pos += w * y[i]
			neg += w * (1 - y[i])
		}
		num += pos * (negBelow + neg/2)
		negBelow += neg
		totPos += pos
		g = h
	}
	if !(totPos > 0 && negBelow > 0) {
		return math.NaN()
	}
	return num / (totPos * negBelow)
}

// Binning selects how CalibrationBins groups predictions.
type Binning int

const (
	// EqualWidth uses bins [k/B, (k+1)/B) on the probability scale (the last bin closed),
	// as in the expected calibration error of Naeini et al. (2015) and Guo et al. (2017).
	EqualWidth Binning = iota
	// EqualMass uses B groups of (nearly) equal total weight after sorting by prediction:
	// "deciles of risk" for B = 10 (Hosmer & Lemeshow 1980). Rows with equal predictions
	// stay in the same group, so a group can be larger than W/B.
	EqualMass
)

// CalibrationBin is one row of a calibration (reliability) table.
type CalibrationBin struct {
	Lo            float64 `json:"lo"`             // smallest prediction in the bin
	Hi            float64 `json:"hi"`             // largest prediction in the bin
	MeanPredicted float64 `json:"mean_predicted"` // sum {v_i p_i} / sum {v_i} over the bin
	ObservedRate  float64 `json:"observed_rate"`  // sum {v_i y_i} / sum {v_i} over the bin
	Count         int     `json:"count"`          // rows in the bin
	Weight        float64 `json:"weight"`         // sum {v_i} over the bin
}

// CalibrationBins groups predictions p into at most bins bins with the given binning and
// returns, per non-empty bin in increasing order of prediction, the weighted mean
// prediction and the weighted observed rate. Rows with zero weight are counted in Count
// but carry no weight. Predictions outside [0, 1] are clamped into the end bins by
// EqualWidth. It panics if bins < 1 or the lengths differ.
func CalibrationBins(p, y, v []float64, bins int, binning Binning) []CalibrationBin {
	checkLens("CalibrationBins", p, y, v)
	if bins < 1 {
		panic("winprob: CalibrationBins: bins < 1")
	}
	binOf := make([]int, len(p))
	switch binning {
	case EqualWidth:
		for i, q := range p {
			b := int(math.Floor(q * float64(bins)))
			binOf[i] = min(max(b, 0), bins-1)
		}
	case EqualMass:
		idx := make([]int, len(p))
		total := 0.0
		for i := range idx {
			idx[i] = i
			total += wAt(v, i)
		}
		sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
		before := 0.0
		for g := 0; g < len(idx); {
			b := 0
			if total > 0 {
				b = min(int(math.Floor(float64(bins)*before/total)), bins-1)
			}
			h := g
			for ; h < len(idx) && p[idx[h]] == p[idx[g]]; h++ {
				binOf[idx[h]] = b
				before += wAt(v, idx[h])
			}
			g = h
		}
	default:
		panic(fmt.Sprintf("winprob: unknown binning %d", binning))
	}
	acc := make([]CalibrationBin, bins)
	for k := range acc {
		acc[k].Lo, acc[k].Hi = math.Inf(1), math.Inf(-1)
	}
	for i, q := range p {
		b := &acc[binOf[i]]
		w := wAt(v, i)
		b.Count++
		b.Weight += w
		b.MeanPredicted += w * q
		b.ObservedRate += w * y[i]
		b.Lo = math.Min(b.Lo, q)
		b.Hi = math.Max(b.Hi, q)
	}
	out := acc[:0]
	for _, b := range acc {
		if b.Count == 0 {
			continue
		}
		b.MeanPredicted /= b.Weight
		b.ObservedRate /= b.Weight
		out = append(out, b)
	}
	return out
}

// ExpectedCalibrationError returns sum_b {(W_b / W) * |MeanPredicted_b - ObservedRate_b|}
// over the bins of a calibration table (Naeini, Cooper & Hauskrecht 2015, AAAI).
func ExpectedCalibrationError(table []CalibrationBin) float64 {
	num, den := 0.0, 0.0
	for _, b := range table {
		if b.Weight > 0 {
			num += b.Weight * math.Abs(b.MeanPredicted-b.ObservedRate)
			den += b.Weight
		}
	}
	return num / den
}

// ECE returns ExpectedCalibrationError(CalibrationBins(p, y, v, bins, EqualWidth)), the
// usual expected calibration error with bins equal-width bins (Guo et al. 2017 use 15;
// 10 is common for reporting).
func ECE(p, y, v []float64, bins int) float64 {
	return ExpectedCalibrationError(CalibrationBins(p, y, v, bins, EqualWidth))
}
