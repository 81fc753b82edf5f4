package winprob

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Dataset is a feature matrix with named columns, binary outcomes and optional row weights.
//
// X is row-major: row i is X[i*len(Names) : (i+1)*len(Names)], so a caller streaming rows
// from the warehouse appends one row at a time and the model reads the slice in place
// without copying. Y holds the outcome of each row (1 = won, 0 = lost; fractional values in
// [0, 1] are accepted and act as soft labels). Weights, if non-nil, holds one non-negative
// weight per row; nil means every row has weight 1.
//
// The number of rows is len(Y). Methods panic if len(X) != len(Y)*len(Names) or
// len(Weights) is neither 0 nor len(Y).
type Dataset struct {
	Names   []string
	X       []float64
	Y       []float64
	Weights []float64
}

// Rows returns the number of rows, len(Y).
func (d Dataset) Rows() int { return len(d.Y) }

// Cols returns the number of feature columns, len(Names).
func (d Dataset) Cols() int { return len(d.Names) }

// Row returns row i of X as a sub-slice (not a copy).
func (d Dataset) Row(i int) []float64 {
	p := len(d.Names)
	return d.X[i*p : (i+1)*p : (i+1)*p]
}

// Subset returns a new Dataset holding copies of the rows listed in idx, in that order; use
// it to split training and held-out calibration folds.
func (d Dataset) Subset(idx []int) Dataset {
	d.checkShape()
	p := len(d.Names)
	out := Dataset{Names: d.Names, X: make([]float64, 0, len(idx)*p), Y: make([]float64, len(idx))}
	if d.Weights != nil {
		out.Weights = make([]float64, len(idx))
	}
	for k, i := range idx {
		out.X = append(out.X, d.Row(i)...)
		out.Y[k] = d.Y[i]
		if d.Weights != nil {
			out.Weights[k] = d.Weights[i]
		}
	}
	return out
}

// checkShape panics if the slice lengths are inconsistent (misuse).
func (d Dataset) checkShape() {
	n, p := len(d.Y), len(d.Names)
	if p == 0 {
		panic("winprob: Dataset has no feature columns")
	}
	if len(d.X) != n*p {
		panic(fmt.Sprintf("winprob: len(X) = %d, want len(Y)*len(Names) = %d*%d", len(d.X), n, p))
	}
	if d.Weights != nil && len(d.Weights) != n {
		panic(fmt.Sprintf("winprob: len(Weights) = %d, want %d", len(d.Weights), n))
	}
}

// weight returns the weight of row i (1 when Weights is nil).
func (d Dataset) weight(i int) float64 {
	if d.Weights == nil {
		return 1
	}
	return d.Weights[i]
}

// validate reports the first non-finite feature, label outside [0, 1] or invalid weight, and
// returns the total weight, which must be positive.
func (d Dataset) validate() (sumW float64, err error) {
	d.checkShape()
	p := len(d.Names)
	for i := range d.Y {
		y := d.Y[i]
		if !(y >= 0 && y <= 1) {
			return 0, fmt.Errorf("winprob: row %d: label %v outside [0, 1]", i, y)
		}
		w := d.weight(i)
		if !(w >= 0) || math.IsInf(w, 0) {
			return 0, fmt.Errorf("winprob: row %d: weight %v not a finite non-negative number", i, w)
		}
		sumW += w
		for j, x := range d.X[i*p : (i+1)*p] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, fmt.Errorf("winprob: row %d, feature %q: value %v is not finite", i, d.Names[j], x)
			}
		}
	}
	if !(sumW > 0) {
		return 0, fmt.Errorf("winprob: total weight is %v, need > 0", sumW)
	}
	return sumW, nil
}

// chunkRows is the number of rows per unit of parallel work. Partial sums are formed per
// chunk and reduced in chunk order, so results do not depend on the number of workers.
const chunkRows = 1024

// forChunks calls fn(worker, lo, hi) for consecutive row ranges [lo, hi) of at most
// chunkRows rows covering [0, n), using up to workers goroutines. fn receives the chunk
// index as c = lo / chunkRows.
func forChunks(n, workers int, fn func(worker, lo, hi int)) {
	nChunks := (n + chunkRows - 1) / chunkRows
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > nChunks {
		workers = nChunks
	}
	if workers <= 1 {
		for c := 0; c < nChunks; c++ {
			fn(0, c*chunkRows, min(n, (c+1)*chunkRows))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= nChunks {
					return
				}
				fn(w, c*chunkRows, min(n, (c+1)*chunkRows))
			}
		}(w)
	}
	wg.Wait()
}

// standardise returns the weighted mean and the weighted population standard deviation of
// each column:
//
//	mean_j = sum_i {v_i * x_ij} / sum_i {v_i}
//	sd_j   = sqrt(sum_i {v_i * (x_ij - mean_j)^2} / sum_i {v_i})
//
// A column whose sd is zero (or below 1e-12 * max(1, |mean|)) gets sd = 1: its centred
// values are all zero, so its coefficient stays at zero and it never contributes.
//
// constant[j] reports the columns so treated.
func standardise(d Dataset, sumW float64, workers int) (mean, sd []float64, constant []bool) {
	n, p := d.Rows(), d.Cols()
	nChunks := (n + chunkRows - 1) / chunkRows
	part := make([]float64, nChunks*p)
	forChunks(n, workers, func(_, lo, hi int) {
		acc := part[(lo/chunkRows)*p : (lo/chunkRows+1)*p]
		for i := lo; i < hi; i++ {
			w := d.weight(i)
			for j, x := range d.X[i*p : (i+1)*p] {
				acc[j] += w * x
			}
		}
	})
	mean = make([]float64, p)
	for c := 0; c < nChunks; c++ {
		for j := range mean {
			mean[j] += part[c*p+j]
		}
	}
	for j := range mean {
		mean[j] /= sumW
	}
	clear(part)
	forChunks(n, workers, func(_, lo, hi int) {
		acc := part[(lo/chunkRows)*p : (lo/chunkRows+1)*p]
		for i := lo; i < hi; i++ {
			w := d.weight(i)
			for j, x := range d.X[i*p : (i+1)*p] {
				dx := x - mean[j]
				acc[j] += w * dx * dx
			}
		}
	})
	sd = make([]float64, p)
	constant = make([]bool, p)
	for c := 0; c < nChunks; c++ {
		for j := range sd {
			sd[j] += part[c*p+j]
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / sumW)
		if !(sd[j] > 1e-12*math.Max(1, math.Abs(mean[j]))) {
			sd[j] = 1
			constant[j] = true
		}
	}
	return mean, sd, constant
}
