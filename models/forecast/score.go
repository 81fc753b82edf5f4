package forecast

import (
	"math"

	"github.com/revcast/revcast/models/winprob"
)

// Score is one open opportunity's win probability with its explanation.
type Score struct {
	PWin    float64             // calibrated probability of eventually closing won
	Logit   float64             // the win model's uncalibrated logit (input of the close-by model)
	Factors winprob.Explanation // top positive and negative feature contributions to Logit
	Credit  bool                // the account is on credit alert (CreditAlert)
	Short   bool                // some of the deal's list value is on constrained stock
}

// Score scores snapshots with the win model; each gets its top k = 3 positive and negative
// factors (winprob.Model.Explain: Coef_j * (x_j - Mean_j) / SD_j in log-odds).
func (m *Model) Score(snaps []Snapshot) []Score { return m.score(snaps, true) }

func (m *Model) score(snaps []Snapshot, explain bool) []Score {
	p := m.Encoder.Width()
	X := make([]float64, len(snaps)*p)
	for i := range snaps {
		m.Encoder.Encode(&snaps[i], X[i*p:(i+1)*p])
	}
	z := m.Win.LogitAll(X, nil)
	out := make([]Score, len(snaps))
	for i := range snaps {
		s := &snaps[i]
		out[i] = Score{
			PWin:   m.Win.Calibration.Prob(z[i]),
			Logit:  z[i],
			Credit: m.Options.Features.Credit && CreditAlert(s),
			Short:  m.Options.Features.Supply && s.ShortShare > 0,
		}
		if explain {
			out[i].Factors = m.Win.Explain(X[i*p:(i+1)*p], 3)
		}
	}
	return out
}

// CloseBy returns F(e_k) = P(closed won on or before e_k | open at s) for ascending days
// ends, from the close-by model, made non-decreasing in e (running maximum) and capped at
// pWin, the deal's win probability: a deal cannot close won in some window more often than
// it closes won at all. Ends before s.Day get 0.
func (m *Model) CloseBy(s *Snapshot, logit, pWin float64, ends []Day) []float64 {
	return m.closeBy(s, logit, pWin, ends, make([]float64, len(ends)), make([]float64, len(m.Close.Names)))
}

// closeBy is CloseBy writing into out (len(ends)) with x (len(m.Close.Names)) as scratch,
// so that loops over many snapshots allocate nothing per snapshot.
func (m *Model) closeBy(s *Snapshot, logit, pWin float64, ends []Day, out, x []float64) []float64 {
	clear(out)
	run := 0.0
	for k, e := range ends {
		if e < s.Day {
			continue
		}
		m.encodeClose(s, e, logit, x)
		f := m.Close.Predict(x)
		run = math.Max(run, math.Min(f, pWin))
		out[k] = run
	}
	return out
}
