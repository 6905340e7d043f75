//! Owns instrumental-variable estimation by two-stage least squares, with an
//! HC1 robust standard error and the first-stage F statistic. With a single
//! binary instrument and no covariates 2SLS equals the Wald estimator
//! `(E[y|z=1] - E[y|z=0]) / (E[t|z=1] - E[t|z=0])`, so one code path serves
//! both.

use super::Fit;
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::linalg::{sandwich, Ols};
use crate::spec::{Estimand, Options};

/// First-stage F below this is the classic weak-instrument warning
/// threshold (Staiger & Stock 1997).
const WEAK_F: f64 = 10.0;
/// An instrument explaining less than this share of the treatment's
/// remaining variance carries no usable information.
const NO_INFORMATION: f64 = 1e-10;

pub(super) fn fit(data: &Data, opts: &Options) -> Result<Fit> {
    let n = data.n();
    let q = data.z.cols();
    if q == 0 {
        return Err(CausalError::NoInstrument);
    }
    let p = data.x.cols();
    let k1 = 1 + p + q;
    if n < k1 + 2 {
        return Err(CausalError::TooFewRows {
            what: "two-stage least squares".into(),
            needed: k1 + 2,
            got: n,
        });
    }
    // First stage: t ~ 1 + X + Z, against the restricted t ~ 1 + X.
    let restricted = data.x.with_leading(&[]).to_rows();
    let mut full = restricted.clone();
    for j in 0..q {
        full = full.push_column(data.z.col(j));
    }
    let s1 = Ols::fit(&full, &data.t);
    let s0 = Ols::fit(&restricted, &data.t);
    let rss_u: f64 = s1.resid.iter().map(|r| r * r).sum();
    let rss_r: f64 = s0.resid.iter().map(|r| r * r).sum();
    let gain = rss_r - rss_u;
    if gain.is_nan() || gain <= NO_INFORMATION * rss_r.max(f64::MIN_POSITIVE) {
        return Err(CausalError::WeakInstrument { f_stat: 0.0 });
    }
    let df = (n - s1.rank()) as f64;
    let f_stat = if rss_u > 0.0 {
        (gain / q as f64) / (rss_u / df)
    } else {
        f64::MAX
    };
    let t_hat: Vec<f64> = data.t.iter().zip(&s1.resid).map(|(t, r)| t - r).collect();

    // Second stage: y ~ 1 + t_hat + X; residuals use the observed t.
    let x2 = data.x.with_leading(&[&t_hat]).to_rows();
    let s2 = Ols::fit(&x2, &data.y);
    if !s2.kept[1] {
        return Err(CausalError::WeakInstrument { f_stat });
    }
    let xt = data.x.with_leading(&[&data.t]).to_rows();
    let u: Vec<f64> = data
        .y
        .iter()
        .zip(xt.mul_vec(&s2.beta))
        .map(|(y, f)| y - f)
        .collect();
    let k = x2.cols();
    let u2: Vec<f64> = u.iter().map(|v| v * v).collect();
    let meat = x2.gram(Some(&u2));
    let cov = sandwich(&s2.xtx_inv, &meat, k);
    let hc1 = n as f64 / (n as f64 - s2.rank() as f64).max(1.0);
    let se = (cov[k + 1] * hc1).max(0.0).sqrt();

    let mut warnings = Vec::new();
    if f_stat < WEAK_F {
        warnings.push(format!(
            "weak instrument: first-stage F is {f_stat:.1} (below {WEAK_F}), so the estimate is biased toward regression and its interval is unreliable"
        ));
    }
    if opts.estimand != Estimand::Ate {
        warnings.push(
            "instrumental variables estimate the effect among units whose treatment follows the instrument (a local average effect); the requested estimand is not targeted".into(),
        );
    }
    Ok(Fit {
        se: Some(se),
        se_kind: "HC1 two-stage least squares",
        warnings,
        first_stage_f: Some(f_stat.min(1e12)),
        ..Fit::point(s2.beta[1])
    })
}
