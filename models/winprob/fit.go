package winprob

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// Options controls Fit. The zero value is usable: no penalty, gradient threshold 1e-6,
// at most 1000 iterations, one worker per GOMAXPROCS.
type Options struct {
	// Lambda is the ridge penalty lambda in f = meanLoss + lambda/2 * sum_j w_j^2, on the
	// standardised coefficients (the intercept is not penalised). Because the loss is a mean
	// over rows, lambda is comparable across data sizes: lambda = 1/n equals the classic
	// "sum loss + 1/2 ||w||^2" ridge. 0 gives the unpenalised maximum-likelihood fit (what R's
	// glm(family = binomial) computes); on separable data use lambda > 0 or the coefficients
	// grow until the gradient threshold is met. Must be >= 0.
	Lambda float64
	// GradTol stops the fit when the infinity norm of the gradient of f falls below it.
	// Zero means 1e-6. With standardised columns, the curvature of f is of order
	// p(1-p) ~ 0.1-0.25, so the coefficient error is roughly GradTol / 0.1.
	GradTol float64
	// MaxIter caps the L-BFGS major iterations. Zero means 1000.
	MaxIter int
	// Workers is the number of goroutines evaluating the loss. Zero means GOMAXPROCS.
	// The result does not depend on it.
	Workers int
}

// FitInfo records how the optimisation ended, for run metadata.
type FitInfo struct {
	Status     string        `json:"status"`      // gonum optimize.Status, e.g. "GradientThreshold"
	Iterations int           `json:"iterations"`  // L-BFGS major iterations
	FuncEvals  int           `json:"func_evals"`  // passes over the data
	Loss       float64       `json:"loss"`        // weighted mean negative log-likelihood at the optimum (no penalty)
	Objective  float64       `json:"objective"`   // Loss + lambda/2 * ||w||^2
	GradNorm   float64       `json:"grad_norm"`   // infinity norm of the gradient at the optimum
	Rows       int           `json:"rows"`        // training rows
	SumWeights float64       `json:"sum_weights"` // total training weight
	Runtime    time.Duration `json:"runtime_ns"`
}

// ErrNotConverged is wrapped by Fit's error when the optimiser stops (iteration limit, line
// search failure) with the gradient still above 100 * GradTol.
var ErrNotConverged = errors.New("winprob: logistic regression did not converge")

// Fit estimates the L2-regularised logistic regression described in the package doc on d:
// it standardises the columns (weighted mean and population sd, stored in the Model), then
// minimises
//
//	f(b, w) = sum_i {v_i * [log(1 + exp(z_i)) - y_i * z_i]} / sum_i {v_i} + lambda/2 * sum_j {w_j^2}
//	z_i     = b + sum_j {w_j * (x_ij - mean_j) / sd_j}
//
// with gonum's L-BFGS from b = logit(weighted mean of y), w = 0. Each evaluation is one
// parallel pass over the rows; X is read in place and no per-row memory is allocated.
//
// Fit panics if d's shape is inconsistent or opts.Lambda < 0. It returns an error if the
// data contain non-finite values, labels outside [0, 1] or invalid weights, if the total
// weight is zero, or if the optimiser stops with the gradient norm above 100 * GradTol
// (the error wraps ErrNotConverged; the partial model is returned with it).
func Fit(d Dataset, opts Options) (*Model, error) {
	start := time.Now()
	d.checkShape()
	if opts.Lambda < 0 || math.IsNaN(opts.Lambda) {
		panic(fmt.Sprintf("winprob: Lambda = %v, want >= 0", opts.Lambda))
	}
	gradTol := opts.GradTol
	if gradTol <= 0 {
		gradTol = 1e-6
	}
	maxIter := opts.MaxIter
	if maxIter <= 0 {
		maxIter = 1000
	}
	sumW, err := d.validate()
	if err != nil {
		return nil, err
	}
	mean, sd, constant := standardise(d, sumW, opts.Workers)
	obj := newObjective(d, mean, sd, constant, sumW, opts.Lambda, opts.Workers)

	p := d.Cols()
	theta0 := make([]float64, p+1)
	ybar := 0.0
	for i, y := range d.Y {
		ybar += d.weight(i) * y
	}
	ybar /= sumW
	if ybar > 0 && ybar < 1 {
		theta0[0] = math.Log(ybar / (1 - ybar))
	}

	problem := optimize.Problem{
		Func: func(theta []float64) float64 { f, _ := obj.eval(theta); return f },
		Grad: func(grad, theta []float64) { _, g := obj.eval(theta); copy(grad, g) },
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		// Stop on a flat objective only after many stalled iterations: the gradient
		// threshold is the intended rule.
		Converger: &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
	}
	method := &optimize.LBFGS{GradStopThreshold: math.NaN()}
	res, optErr := optimize.Minimize(problem, theta0, settings, method)
	if res == nil {
		return nil, fmt.Errorf("winprob: optimize: %w", optErr)
	}
	f, g := obj.eval(res.X)
	m := &Model{
		Names:     append([]string(nil), d.Names...),
		Mean:      mean,
		SD:        sd,
		Intercept: res.X[0],
		Coef:      append([]float64(nil), res.X[1:]...),
		Lambda:    opts.Lambda,
	}
	pen := 0.0
	for _, w := range m.Coef {
		pen += w * w
	}
	m.Fit = FitInfo{
		Status:     res.Status.String(),
		Iterations: res.MajorIterations,
		FuncEvals:  obj.passes,
		Loss:       f - opts.Lambda/2*pen,
		Objective:  f,
		GradNorm:   floats.Norm(g, math.Inf(1)),
		Rows:       d.Rows(),
		SumWeights: sumW,
		Runtime:    time.Since(start),
	}
	if m.Fit.GradNorm > 100*gradTol {
		return m, fmt.Errorf("%w: status %s, gradient norm %.3g > 100 * GradTol (%g) after %d iterations (optimize: %v)",
			ErrNotConverged, m.Fit.Status, m.Fit.GradNorm, gradTol, res.MajorIterations, optErr)
	}
	return m, nil
}

// objective evaluates f and its gradient in one parallel pass and caches the last point,
// because gonum/optimize asks for Func and Grad at the same location separately.
type objective struct {
	d     Dataset
	n, p  int
	mean  []float64
	invSD []float64
	// constant columns have centred values identically zero: their data gradient is
	// exactly zero (not the rounding residue of S_j - mean_j*S0).
	constant []bool
	sumW     float64
	lambda   float64
	workers  int

	beta    []float64   // raw-scale slopes w_j / sd_j for the current theta
	partial []float64   // per chunk: [loss, sum r, sum r*x_1 .. sum r*x_p]
	scratch [][]float64 // per worker: z / residual buffer of chunkRows

	lastTheta []float64
	lastF     float64
	lastG     []float64
	valid     bool
	passes    int
}

func newObjective(d Dataset, mean, sd []float64, constant []bool, sumW, lambda float64, workers int) *objective {
	n, p := d.Rows(), d.Cols()
	if workers <= 0 {
		workers = maxWorkers()
	}
	o := &objective{
		d: d, n: n, p: p, mean: mean, constant: constant, sumW: sumW, lambda: lambda, workers: workers,
		invSD:     make([]float64, p),
		beta:      make([]float64, p),
		partial:   make([]float64, ((n+chunkRows-1)/chunkRows)*(p+2)),
		scratch:   make([][]float64, workers),
		lastTheta: make([]float64, p+1),
		lastG:     make([]float64, p+1),
	}
	for j := range sd {
		o.invSD[j] = 1 / sd[j]
	}
	for w := range o.scratch {
		o.scratch[w] = make([]float64, chunkRows)
	}
	return o
}

// eval returns f(theta) and its gradient (the returned slice is owned by o).
//
// With c_j = w_j / sd_j and b' = b - sum_j c_j * mean_j, z_i = b' + x_i . c, computed per
// chunk as one matrix-vector product; the gradient is assembled from the raw sums
// S0 = sum_i r_i and S_j = sum_i r_i x_ij (r_i = v_i (sigma(z_i) - y_i)) as
// (S_j - mean_j * S0) / sd_j, again one transposed matrix-vector product per chunk.
func (o *objective) eval(theta []float64) (float64, []float64) {
	if o.valid && floats.Equal(theta, o.lastTheta) {
		return o.lastF, o.lastG
	}
	p := o.p
	b := theta[0]
	w := theta[1:]
	for j := range w {
		o.beta[j] = w[j] * o.invSD[j]
		b -= o.beta[j] * o.mean[j]
	}
	beta := blas64.Vector{N: p, Inc: 1, Data: o.beta}
	d := o.d
	forChunks(o.n, o.workers, func(worker, lo, hi int) {
		rows := hi - lo
		part := o.partial[(lo/chunkRows)*(p+2) : (lo/chunkRows+1)*(p+2)]
		a := blas64.General{Rows: rows, Cols: p, Stride: p, Data: d.X[lo*p : hi*p]}
		z := blas64.Vector{N: rows, Inc: 1, Data: o.scratch[worker][:rows]}
		blas64.Gemv(blas.NoTrans, 1, a, beta, 0, z)
		loss, s0 := 0.0, 0.0
		// log(1 + exp(z)) = max(z, 0) + log1p(e) and sigma(z) = 1/(1+e) or e/(1+e), with
		// e = exp(-|z|) in (0, 1]. Unweighted rows take the log of a running product of
		// (1 + e) over up to 32 rows (<= 2^32, no overflow) instead of one log1p per row:
		// the absolute error stays ~1e-16 per row, and log is the costliest step of the pass.
		prod, inProd := 1.0, 0
		for k := range z.Data {
			i := lo + k
			zi := z.Data[k] + b
			e := math.Exp(-math.Abs(zi))
			sig := 1 / (1 + e)
			hinge := 0.0
			if zi > 0 {
				hinge = zi
			} else {
				sig *= e
			}
			y := d.Y[i]
			if d.Weights == nil {
				loss += hinge - y*zi
				prod *= 1 + e
				if inProd++; inProd == 32 {
					loss += math.Log(prod)
					prod, inProd = 1, 0
				}
				r := sig - y
				s0 += r
				z.Data[k] = r
				continue
			}
			v := d.Weights[i]
			loss += v * (hinge + math.Log1p(e) - y*zi)
			r := v * (sig - y)
			s0 += r
			z.Data[k] = r
		}
		loss += math.Log(prod)
		part[0], part[1] = loss, s0
		blas64.Gemv(blas.Trans, 1, a, z, 0, blas64.Vector{N: p, Inc: 1, Data: part[2:]})
	})
	o.passes++
	nChunks := len(o.partial) / (p + 2)
	g := o.lastG
	clear(g)
	loss := 0.0
	for c := 0; c < nChunks; c++ {
		part := o.partial[c*(p+2) : (c+1)*(p+2)]
		loss += part[0]
		g[0] += part[1]
		for j := 0; j < p; j++ {
			g[j+1] += part[j+2]
		}
	}
	f := loss / o.sumW
	s0 := g[0]
	g[0] = s0 / o.sumW
	for j := 0; j < p; j++ {
		if o.constant[j] {
			g[j+1] = o.lambda * w[j]
		} else {
			g[j+1] = (g[j+1]-o.mean[j]*s0)*o.invSD[j]/o.sumW + o.lambda*w[j]
		}
		f += o.lambda / 2 * w[j] * w[j]
	}
	copy(o.lastTheta, theta)
	o.lastF = f
	o.valid = true
	return f, g
}

// softplus returns log(1 + exp(z)) without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// sigmoid returns 1 / (1 + exp(-z)) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
