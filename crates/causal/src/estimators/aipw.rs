//! Owns the doubly robust AIPW estimator (augmented inverse-probability
//! weighting; Robins, Rotnitzky & Zhao 1994) with influence-function
//! standard errors.
//!
//! Outcome models are linear regressions fitted separately in each arm on
//! the covariates and effect modifiers (a pooled model with a treatment
//! term is used when an arm is too small). The estimate stays consistent
//! when either the outcome models or the propensity model is right.

use super::{arms, Fit};
use crate::design::Data;
use crate::error::Result;
use crate::linalg::{ols_coef, ColMajor};
use crate::propensity;
use crate::spec::{Estimand, Options};

pub(super) fn fit(data: &Data, opts: &Options) -> Result<Fit> {
    super::ipw::check_clip(opts.ps_clip)?;
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref(), data.x_gram())?;
    let mut warnings = ps.warnings(&data.t);
    let (mu1, mu0) = outcome_models(data, &mut warnings);
    let n = data.n();
    let clip = opts.ps_clip;
    let e: Vec<f64> = ps.ps.iter().map(|p| p.clamp(clip, 1.0 - clip)).collect();
    let (phi, denom): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|i| {
            let (t, y) = (data.t[i], data.y[i]);
            match opts.estimand {
                Estimand::Ate => (
                    mu1[i] - mu0[i] + t * (y - mu1[i]) / e[i] - (1.0 - t) * (y - mu0[i]) / (1.0 - e[i]),
                    1.0,
                ),
                Estimand::Att => (
                    t * (y - mu0[i]) - (1.0 - t) * e[i] / (1.0 - e[i]) * (y - mu0[i]),
                    t,
                ),
                Estimand::Atc => (
                    (1.0 - t) * (mu1[i] - y) + t * (1.0 - e[i]) / e[i] * (y - mu1[i]),
                    1.0 - t,
                ),
            }
        })
        .unzip();
    let share = denom.iter().sum::<f64>() / n as f64;
    let tau = phi.iter().sum::<f64>() / (n as f64 * share);
    // Influence function of a ratio estimator: (phi_i - tau * d_i) / share.
    let ss: f64 = phi
        .iter()
        .zip(&denom)
        .map(|(p, d)| {
            let v = (p - tau * d) / share;
            v * v
        })
        .sum();
    let se = (ss / (n as f64 * n as f64)).sqrt();
    Ok(Fit {
        se: Some(se),
        se_kind: "influence function",
        warnings,
        overlap: Some(ps.overlap(&data.t)),
        ps_start: Some(ps.warm_start()),
        ..Fit::point(tau)
    })
}

/// Predicted outcomes under treatment and under control for every row.
fn outcome_models(data: &Data, warnings: &mut Vec<String>) -> (Vec<f64>, Vec<f64>) {
    let (tr, co) = arms(&data.t);
    let feats = if data.m.cols() == 0 {
        data.x.clone()
    } else {
        let mut f = data.x.clone();
        for j in 0..data.m.cols() {
            f = f.push_column(data.m.col(j));
        }
        f
    };
    let design = feats.with_leading(&[]).to_rows();
    let k = design.cols();
    if tr.len() >= k + 2 && co.len() >= k + 2 {
        let arm_fit = |idx: &[usize]| {
            let x = design.select_rows(idx);
            let y: Vec<f64> = idx.iter().map(|&i| data.y[i]).collect();
            ols_coef(&x, &y)
        };
        let b1 = arm_fit(&tr);
        let b0 = arm_fit(&co);
        (design.mul_vec(&b1), design.mul_vec(&b0))
    } else {
        warnings.push(
            "an arm is too small for its own outcome model; a pooled model with a \
             treatment term was used"
                .to_string(),
        );
        let pooled = feats.with_leading(&[&data.t]).to_rows();
        let beta = ols_coef(&pooled, &data.y);
        let base = design_times(&feats, &beta);
        let mu0 = base.clone();
        let mu1 = base.iter().map(|b| b + beta[1]).collect();
        (mu1, mu0)
    }
}

/// `beta[0] + feats · beta[2..]`.
fn design_times(feats: &ColMajor, beta: &[f64]) -> Vec<f64> {
    let mut sums = vec![-0.0; feats.rows()];
    for (c, b) in beta[2..].iter().enumerate().take(feats.cols()) {
        for (s, x) in sums.iter_mut().zip(feats.col(c)) {
            *s += x * b;
        }
    }
    sums.into_iter().map(|s| beta[0] + s).collect()
}
