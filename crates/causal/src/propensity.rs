//! Owns the propensity model: logistic regression of treatment on the
//! covariates fitted by IRLS (Newton–Raphson), separation handling, and the
//! overlap diagnostics.

use crate::error::{CausalError, Result};
use crate::linalg::{dot, ColMajor, Matrix, SpdFactor};
use crate::spec::Overlap;

/// Newton iterations before giving up; logistic IRLS normally converges in
/// under ten.
const MAX_ITER: usize = 30;
/// Converged once no coefficient moves by more than this.
const STEP_TOL: f64 = 1e-8;
/// ... or once the Newton decrement `g' H^-1 g` (twice the log-likelihood
/// gain the step promises) is this small; after that last step the
/// coefficients are accurate to far below any reported digit.
const DECREMENT_TOL: f64 = 1e-10;
/// A coefficient this large on a standardised covariate (odds multiplied by
/// e^10 ≈ 22,000 per standard deviation) only happens when the likelihood
/// has no maximum, i.e. the covariates (almost) perfectly separate the arms.
const SEPARATION_COEF: f64 = 10.0;
/// Ridge penalty used after separation is detected: mild on standardised
/// covariates, and it makes the maximum exist.
const SEPARATION_RIDGE: f64 = 1.0;
/// Newton steps per bootstrap refit: from the full-sample estimate, k
/// Newton steps leave a difference of order n^(-2^(k-1)) from the fully
/// iterated fit (Andrews 2002), so two are already far below the
/// bootstrap's own sampling noise.
const BOOTSTRAP_NEWTON_STEPS: usize = 2;
/// Healthy logistic fits converge in well under this many Newton steps;
/// needing more means the likelihood keeps rising toward infinite
/// coefficients, i.e. quasi-complete separation.
const SLOW_CONVERGENCE: usize = 15;
/// Tiny ridge always present so the Newton system stays positive definite.
const BASE_RIDGE: f64 = 1e-8;
/// Propensities outside [0.05, 0.95] are counted as poor overlap (the usual
/// rule of thumb, e.g. Crump et al. 2009 use 0.1).
pub const OVERLAP_BOUND: f64 = 0.05;

/// Where a propensity fit can start from.
#[derive(Debug, Clone)]
pub(crate) struct WarmStart {
    pub coef: Vec<f64>,
    pub separated: bool,
}

/// Fitted propensity model.
#[derive(Debug, Clone)]
pub(crate) struct Propensity {
    /// `P(T = 1 | X)`, strictly inside (0, 1).
    pub ps: Vec<f64>,
    /// Design with intercept, `[1, X]`.
    pub design: Matrix,
    cols: ColMajor,
    ridge: f64,
    /// Coefficients on `[1, X]`.
    pub coef: Vec<f64>,
    pub separation: bool,
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// Penalised log-likelihood.
fn loglik(eta: &[f64], t: &[f64], beta: &[f64], ridge: f64) -> f64 {
    let ll: f64 = eta
        .iter()
        .zip(t)
        .map(|(&e, &ti)| {
            // log(1 + exp(e)) computed stably.
            let softplus = if e > 0.0 {
                e + (-e).exp().ln_1p()
            } else {
                e.exp().ln_1p()
            };
            ti * e - softplus
        })
        .sum();
    ll - 0.5 * ridge * beta[1..].iter().map(|b| b * b).sum::<f64>()
}

struct Irls {
    beta: Vec<f64>,
    converged: bool,
    iterations: usize,
}

/// Steps with no coefficient moving more than this (on standardised
/// covariates) are taken without the likelihood check: Newton steps this
/// small on a concave likelihood do not overshoot in practice, and the
/// check costs a logarithm per row.
const UNCHECKED_STEP: f64 = 1.0;

fn penalty(j: usize, ridge: f64) -> f64 {
    if j == 0 {
        BASE_RIDGE
    } else {
        ridge + BASE_RIDGE
    }
}

/// `gram`, when given, is the unweighted Gram matrix of the design; it
/// serves the first Newton step from the intercept-only start, where every
/// row has the same weight.
fn irls(
    design: &ColMajor,
    t: &[f64],
    ridge: f64,
    start: Option<&[f64]>,
    max_iter: usize,
    gram: Option<&[f64]>,
) -> Irls {
    let k = design.cols();
    let n = design.rows();
    let mut flat_start = false;
    let mut beta = match start {
        Some(s) if s.len() == k && s.iter().all(|b| b.is_finite()) => s.to_vec(),
        _ => {
            flat_start = true;
            // Start the intercept at the marginal log-odds.
            let share = t.iter().sum::<f64>() / n as f64;
            let mut b = vec![0.0; k];
            b[0] = (share / (1.0 - share)).ln();
            b
        }
    };
    let mut eta = design.mul_vec(&beta);
    let mut ll: Option<f64> = None;
    let mut converged = false;
    let mut w = vec![0.0; n];
    let mut resid = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        // From the intercept-only start every row has the same linear
        // predictor, so the weights are one number and the Hessian is the
        // Gram matrix scaled by it.
        let flat_gram = gram.filter(|g| flat_start && iterations == 1 && g.len() == k * k);
        let mut h = if let Some(g) = flat_gram {
            let p = sigmoid(beta[0]);
            let w0 = p * (1.0 - p);
            for (r, ti) in resid.iter_mut().zip(t) {
                *r = ti - p;
            }
            g.iter().map(|v| v * w0).collect()
        } else {
            for i in 0..n {
                let p = sigmoid(eta[i]);
                w[i] = p * (1.0 - p);
                resid[i] = t[i] - p;
            }
            design.gram_weighted(&w)
        };
        let mut g = design.t_mul(&resid);
        for j in 0..k {
            h[j * k + j] += penalty(j, ridge);
            if j > 0 {
                g[j] -= ridge * beta[j];
            }
        }
        let step = SpdFactor::new(&h, k).solve(&g);
        let decrement = dot(&step, &g);
        let max_step = step.iter().fold(0.0_f64, |a, s| a.max(s.abs()));
        let mut scale = 1.0;
        let mut accepted = false;
        if max_step <= UNCHECKED_STEP {
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            eta = design.mul_vec(&beta);
            ll = None;
            accepted = true;
        } else {
            // Step halving keeps every large step an ascent step.
            let base = ll.unwrap_or_else(|| loglik(&eta, t, &beta, ridge));
            for _ in 0..20 {
                let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
                let trial_eta = design.mul_vec(&trial);
                let trial_ll = loglik(&trial_eta, t, &trial, ridge);
                if trial_ll.is_finite() && trial_ll >= base - 1e-12 * base.abs() {
                    beta = trial;
                    eta = trial_eta;
                    ll = Some(trial_ll);
                    accepted = true;
                    break;
                }
                scale *= 0.5;
            }
        }
        let moved = scale * max_step;
        if !accepted || moved < STEP_TOL || decrement < DECREMENT_TOL {
            converged = accepted || moved < STEP_TOL;
            break;
        }
        // Diverging coefficients mean separation; stop early, the caller
        // refits with a penalty.
        if ridge == 0.0 && beta[1..].iter().any(|b| b.abs() > 2.0 * SEPARATION_COEF) {
            break;
        }
    }
    Irls {
        beta,
        converged,
        iterations,
    }
}

/// Fits `P(T = 1 | X)`. When the arms are (almost) perfectly separated the
/// maximum likelihood estimate does not exist; the model is then refitted
/// with a ridge penalty and `separation` is set. `start` (a previous fit on
/// similar data, as in a bootstrap) speeds up convergence; when that fit was
/// separated the penalised model is fitted straight away, since a resample
/// of separated data is separated too.
///
/// `gram` is the Gram matrix of `[1, X]` when the caller already has it
/// (data preparation computes it to find collinear columns); it saves one
/// pass over the data.
pub(crate) fn fit(
    x: &ColMajor,
    t: &[f64],
    start: Option<&WarmStart>,
    gram: Option<&[f64]>,
) -> Result<Propensity> {
    let cols = x.with_leading(&[]);
    let design = cols.to_rows();
    let coef = start.map(|s| s.coef.as_slice());
    if let Some(s) = start {
        // k-step bootstrap (Andrews 2002): a few Newton steps from the
        // full-sample fit keep the bootstrap's accuracy at a fraction of
        // the cost of iterating to convergence.
        let ridge = if s.separated { SEPARATION_RIDGE } else { 0.0 };
        let fit = irls(&cols, t, ridge, coef, BOOTSTRAP_NEWTON_STEPS, None);
        return finish(design, cols, fit.beta, ridge, s.separated);
    }
    let separated = |f: &Irls| {
        !f.converged
            || f.iterations > SLOW_CONVERGENCE
            || f.beta[1..].iter().any(|b| b.abs() > SEPARATION_COEF)
    };
    let fit = irls(&cols, t, 0.0, None, MAX_ITER, gram);
    if separated(&fit) {
        let fit = irls(&cols, t, SEPARATION_RIDGE, None, MAX_ITER, gram);
        finish(design, cols, fit.beta, SEPARATION_RIDGE, true)
    } else {
        finish(design, cols, fit.beta, 0.0, false)
    }
}

fn finish(
    design: Matrix,
    cols: ColMajor,
    beta: Vec<f64>,
    ridge: f64,
    separation: bool,
) -> Result<Propensity> {
    let fit_beta = beta;
    let ps: Vec<f64> = cols
        .mul_vec(&fit_beta)
        .into_iter()
        .map(|e| sigmoid(e).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON))
        .collect();
    if ps.iter().any(|p| !p.is_finite()) || fit_beta.iter().any(|b| !b.is_finite()) {
        return Err(CausalError::NumericalFailure(
            "the propensity model did not converge".into(),
        ));
    }
    Ok(Propensity {
        ps,
        design,
        cols,
        coef: fit_beta,
        ridge,
        separation,
    })
}

impl Propensity {
    /// Overlap summary.
    pub fn overlap(&self, t: &[f64]) -> Overlap {
        let mut o = Overlap {
            min_treated: f64::INFINITY,
            max_treated: f64::NEG_INFINITY,
            min_control: f64::INFINITY,
            max_control: f64::NEG_INFINITY,
            share_outside: 0.0,
            separation: self.separation,
        };
        let mut outside = 0usize;
        for (&p, &ti) in self.ps.iter().zip(t) {
            if ti > 0.5 {
                o.min_treated = o.min_treated.min(p);
                o.max_treated = o.max_treated.max(p);
            } else {
                o.min_control = o.min_control.min(p);
                o.max_control = o.max_control.max(p);
            }
            if !(OVERLAP_BOUND..=1.0 - OVERLAP_BOUND).contains(&p) {
                outside += 1;
            }
        }
        o.share_outside = outside as f64 / self.ps.len().max(1) as f64;
        o
    }

    /// Warnings a reader should see.
    pub fn warnings(&self, t: &[f64]) -> Vec<String> {
        let mut w = Vec::new();
        if self.separation {
            w.push(
                "the covariates (almost) perfectly predict the treatment; the propensity \
                 model was ridge-penalised and overlap is poor"
                    .to_string(),
            );
        }
        let o = self.overlap(t);
        if o.share_outside > POOR_OVERLAP_SHARE {
            w.push(format!(
                "{:.0}% of units have a propensity outside [0.05, 0.95]: weak overlap",
                100.0 * o.share_outside
            ));
        }
        w
    }

    /// Starting point for refits on resampled data.
    pub fn warm_start(&self) -> WarmStart {
        WarmStart {
            coef: self.coef.clone(),
            separated: self.separation,
        }
    }

    /// `x_i` row of the design.
    pub fn row(&self, i: usize) -> &[f64] {
        self.design.row(i)
    }

    /// `I^-1 v` with `I` the (penalised) Fisher information summed over
    /// rows; only the IPW sandwich needs it, so it is built on demand.
    pub fn info_solve(&self, v: &[f64]) -> Vec<f64> {
        let k = self.cols.cols();
        let w: Vec<f64> = self.ps.iter().map(|p| p * (1.0 - p)).collect();
        let mut h = self.cols.gram_weighted(&w);
        for j in 0..k {
            h[j * k + j] += penalty(j, self.ridge);
        }
        SpdFactor::new(&h, k).solve(v)
    }
}

/// More than this share of units outside the overlap bounds earns a warning.
const POOR_OVERLAP_SHARE: f64 = 0.1;
