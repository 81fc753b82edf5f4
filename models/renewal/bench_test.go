package renewal_test

import (
	"testing"

	"github.com/revcast/revcast/models/renewal"
)

// BenchmarkFit fits on 4,100 history terms (the synthetic company's medium scale) with the
// four-penalty grid and Platt calibration.
func BenchmarkFit(b *testing.B) {
	hist, _ := simulate(4100, 1)
	for b.Loop() {
		if _, err := renewal.Fit(hist, renewal.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScore scores 2,300 terms (medium scale) with their drivers.
func BenchmarkScore(b *testing.B) {
	hist, _ := simulate(4100, 1)
	cur, _ := simulate(2300, 2)
	m, err := renewal.Fit(hist, renewal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		m.Score(cur)
	}
}
