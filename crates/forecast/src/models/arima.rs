//! ARMA(1,1) around a constant mean, fitted by conditional least squares:
//! the model for a seasonally adjusted series.
//!
//! Once the daily and weekly cycles are removed, what remains of a child's
//! stress (or of activity counts) mixes hour-to-hour noise with slower
//! swings, a bad day or an active afternoon, that fade over many hours. Its
//! autocorrelation drops at lag one and then decays slowly, the signature of
//! ARMA(1,1): the forecast deviation shrinks by `phi` per step from a
//! one-step prediction that the MA term has already discounted for noise.
//! The model nests AR(1) (`theta = 0`) and comes arbitrarily close to simple
//! exponential smoothing (`phi` → 1), the two remainder models it replaced.

use super::optim::{nelder_mead, MAX_BATCH};
use super::Run;

/// The AR coefficient is kept inside the stationary region with a margin, so
/// forecasts always revert rather than drift.
const PHI_LIMIT: f64 = 0.99;

/// The MA coefficient is kept inside the invertible region with a margin, so
/// the error recursion forgets its (zero) start.
const THETA_LIMIT: f64 = 0.99;

/// Fewest observations for a meaningful fit.
const MIN_LEN: usize = 8;

/// Evaluation budget of the two-parameter search; it converges in well under this.
const MAX_EVALUATIONS: usize = 200;

/// Initial simplex size in the unconstrained (`atanh`) coordinates.
const INITIAL_STEP: f64 = 0.5;

/// A fitted ARMA(1,1) model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArmaFit {
    mean: f64,
    phi: f64,
    theta: f64,
}

/// Maps unconstrained coordinates into the stationary, invertible region.
fn coefficients(c: &[f64]) -> (f64, f64) {
    (
        PHI_LIMIT * c.first().copied().unwrap_or(0.0).tanh(),
        THETA_LIMIT * c.get(1).copied().unwrap_or(0.0).tanh(),
    )
}

/// Conditional sums of squared one-step errors on the deviations `x` (the
/// error before the start is taken as zero) for up to [`MAX_BATCH`]
/// coefficient pairs in one pass, whose independent lanes overlap.
///
/// The recursion `e[t] = a[t] - theta * e[t-1]`, with
/// `a[t] = x[t] - phi * x[t-1]`, is advanced two steps at a time:
/// `e[t+1] = (a[t+1] - theta * a[t]) + theta^2 * e[t-1]`, and `e[t]` is
/// computed beside it from `e[t-1]`. That halves the chain of dependent
/// operations per step, which is what a pass costs. The sum differs from the
/// one-step recursion only in rounding, far below any difference between
/// the points the simplex compares.
fn css<const L: usize>(x: &[f64], coefs: [(f64, f64); L]) -> [f64; L] {
    let phi: [f64; L] = std::array::from_fn(|l| coefs[l].0);
    let theta: [f64; L] = std::array::from_fn(|l| coefs[l].1);
    let theta2: [f64; L] = std::array::from_fn(|l| theta[l] * theta[l]);
    let (mut prev_x, mut prev_e, mut total) = (0.0, [0.0; L], [0.0; L]);
    let mut pairs = x.chunks_exact(2);
    for pair in &mut pairs {
        let (v0, v1) = (pair[0], pair[1]);
        for l in 0..L {
            let a0 = v0 - phi[l] * prev_x;
            let a1 = v1 - phi[l] * v0;
            let e0 = a0 - theta[l] * prev_e[l];
            let e1 = (a1 - theta[l] * a0) + theta2[l] * prev_e[l];
            total[l] += e0 * e0;
            total[l] += e1 * e1;
            prev_e[l] = e1;
        }
        prev_x = v1;
    }
    for &v in pairs.remainder() {
        for l in 0..L {
            let e = v - phi[l] * prev_x - theta[l] * prev_e[l];
            total[l] += e * e;
        }
    }
    total
}

fn css_batch(x: &[f64], points: &[&[f64]], values: &mut [f64]) {
    let c = |i: usize| coefficients(points[i]);
    match points.len() {
        1 => values[0] = css::<1>(x, [c(0)])[0],
        2 => values.copy_from_slice(&css::<2>(x, [c(0), c(1)])),
        3 => values.copy_from_slice(&css::<3>(x, [c(0), c(1), c(2)])),
        _ => values.copy_from_slice(&css::<MAX_BATCH>(x, [c(0), c(1), c(2), c(3)])),
    }
}

/// Fits `x[t] = phi * x[t-1] + e[t] + theta * e[t-1]` on `x = y - mean`.
pub(crate) fn fit(y: &[f64]) -> Option<ArmaFit> {
    if y.len() < MIN_LEN {
        return None;
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let x: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let objective = |points: &[&[f64]], values: &mut [f64]| css_batch(&x, points, values);
    // Start at a persistent process (phi ≈ 0.9) with a partly offsetting MA term.
    let (best, _) = nelder_mead(objective, &[1.5, -0.3], INITIAL_STEP, MAX_EVALUATIONS);
    let (phi, theta) = coefficients(&best);
    Some(ArmaFit { mean, phi, theta })
}

impl ArmaFit {
    pub fn name(&self) -> String {
        "arma(1,1)".to_string()
    }

    /// Same contract as the ETS `run`: at each origin `o` (ascending, at most
    /// `y.len()`) the `h`-step forecast with `y[..o]` known; with
    /// `residuals`, the one-step residuals for all of `y`.
    pub fn run(&self, y: &[f64], origins: &[usize], h: usize, residuals: bool) -> Run {
        let mut forecasts = Vec::with_capacity(origins.len() * h);
        let mut res = Vec::with_capacity(if residuals { y.len() } else { 0 });
        let mut next_origin = origins.iter().copied().peekable();
        let (mut prev_x, mut prev_e) = (0.0, 0.0);
        for t in 0..=y.len() {
            while next_origin.peek() == Some(&t) {
                next_origin.next();
                let mut dev = self.phi * prev_x + self.theta * prev_e;
                for _ in 0..h {
                    forecasts.push(self.mean + dev);
                    dev *= self.phi;
                }
            }
            let Some(&v) = y.get(t) else { break };
            let x = v - self.mean;
            let e = x - self.phi * prev_x - self.theta * prev_e;
            if residuals {
                res.push(e);
            }
            prev_x = x;
            prev_e = e;
        }
        Run {
            forecasts,
            residuals: res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn recovers_coefficients_and_reverts_to_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (phi, theta) = (0.9, -0.5);
        let (mut x, mut e_prev) = (0.0, 0.0);
        let y: Vec<f64> = (0..4000)
            .map(|_| {
                let e = rng.random::<f64>() - 0.5;
                x = phi * x + e + theta * e_prev;
                e_prev = e;
                2.0 + x
            })
            .collect();
        let fit = fit(&y).expect("long enough");
        assert!((fit.phi - phi).abs() < 0.05, "phi {}", fit.phi);
        assert!((fit.theta - theta).abs() < 0.07, "theta {}", fit.theta);
        let run = fit.run(&y, &[y.len()], 300, true);
        assert_eq!(run.residuals.len(), y.len());
        assert!((run.forecasts[299] - fit.mean).abs() < 1e-6);
    }
}
