//! Owns inverse-probability weighting with normalised (Hajek) weights and a
//! sandwich standard error that accounts for the estimated propensity.
//!
//! Hajek weights divide by the sum of weights in each arm instead of n, so
//! the weighted arm means are proper averages: this is far more stable than
//! the Horvitz–Thompson form when a few propensities are extreme. The
//! propensity is clipped to `[clip, 1 - clip]` before weighting, like
//! DoWhy's `min_ps_score` / `max_ps_score`.

use super::Fit;
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::linalg::dot;
use crate::propensity::{self, Propensity};
use crate::spec::{Estimand, Options};

/// Weight of a treated (`w1`) and control (`w0`) unit with propensity `e`,
/// and their derivatives with respect to `e`.
pub(super) fn weights(estimand: Estimand, e: f64) -> (f64, f64, f64, f64) {
    match estimand {
        Estimand::Ate => (
            1.0 / e,
            1.0 / (1.0 - e),
            -1.0 / (e * e),
            1.0 / ((1.0 - e) * (1.0 - e)),
        ),
        Estimand::Att => (1.0, e / (1.0 - e), 0.0, 1.0 / ((1.0 - e) * (1.0 - e))),
        Estimand::Atc => ((1.0 - e) / e, 1.0, -1.0 / (e * e), 0.0),
    }
}

/// Checks the clipping bound.
pub(super) fn check_clip(clip: f64) -> Result<()> {
    if !(0.0..0.5).contains(&clip) {
        return Err(CausalError::InvalidOption(format!(
            "ps_clip must be in [0, 0.5), got {clip}"
        )));
    }
    Ok(())
}

pub(super) fn fit(data: &Data, opts: &Options, with_se: bool) -> Result<Fit> {
    check_clip(opts.ps_clip)?;
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref(), data.x_gram())?;
    let (estimate, se) = hajek(data, &ps, opts, with_se)?;
    let mut warnings = ps.warnings(&data.t);
    let clipped = ps
        .ps
        .iter()
        .filter(|&&p| p < opts.ps_clip || p > 1.0 - opts.ps_clip)
        .count();
    if clipped > 0 {
        warnings.push(format!(
            "{clipped} propensities were clipped to [{}, {}]",
            opts.ps_clip,
            1.0 - opts.ps_clip
        ));
    }
    Ok(Fit {
        se,
        se_kind: "sandwich (M-estimation with the propensity model)",
        warnings,
        overlap: Some(ps.overlap(&data.t)),
        ps_start: Some(ps.warm_start()),
        ..Fit::point(estimate)
    })
}

/// Hajek estimate and its sandwich standard error. The estimating equations
/// are stacked with the logistic score, so the propensity's own sampling
/// error is included (Lunceford & Davidian 2004).
fn hajek(data: &Data, ps: &Propensity, opts: &Options, with_se: bool) -> Result<(f64, Option<f64>)> {
    let n = data.n();
    let clip = opts.ps_clip;
    let mut s1 = 0.0;
    let mut s0 = 0.0;
    let mut a1 = 0.0;
    let mut a0 = 0.0;
    let mut w1v = vec![0.0; n];
    let mut w0v = vec![0.0; n];
    for i in 0..n {
        let e = ps.ps[i].clamp(clip, 1.0 - clip);
        let (w1, w0, _, _) = weights(opts.estimand, e);
        if data.t[i] > 0.5 {
            w1v[i] = w1;
            a1 += w1;
            s1 += w1 * data.y[i];
        } else {
            w0v[i] = w0;
            a0 += w0;
            s0 += w0 * data.y[i];
        }
    }
    if !(a1 > 0.0 && a0 > 0.0) {
        return Err(CausalError::NoOverlap("all weights in one arm are zero".into()));
    }
    let mu1 = s1 / a1;
    let mu0 = s0 / a0;
    if !with_se {
        return Ok((mu1 - mu0, None));
    }
    // Mean derivative of each arm's estimating equation with respect to the
    // logistic coefficients; zero for clipped units.
    let k = ps.design.cols();
    let mut g1 = vec![0.0; k];
    let mut g0 = vec![0.0; k];
    for i in 0..n {
        let raw = ps.ps[i];
        if raw < clip || raw > 1.0 - clip {
            continue;
        }
        let (_, _, d1, d0) = weights(opts.estimand, raw);
        let de = raw * (1.0 - raw);
        let x = ps.row(i);
        let (coef, resid) = if data.t[i] > 0.5 {
            (d1 * de, data.y[i] - mu1)
        } else {
            (d0 * de, data.y[i] - mu0)
        };
        let g = if data.t[i] > 0.5 { &mut g1 } else { &mut g0 };
        for (gj, xj) in g.iter_mut().zip(x) {
            *gj += coef * resid * xj;
        }
    }
    // The information is a sum over rows, so `v = I^-1 g` with `g` summed
    // gives the per-row correction `v · x_i (t_i - e_i)`.
    let v1 = ps.info_solve(&g1);
    let v0 = ps.info_solve(&g0);
    let (a1m, a0m) = (a1 / n as f64, a0 / n as f64);
    let mut ss = 0.0;
    for i in 0..n {
        let x = ps.row(i);
        let score = data.t[i] - ps.ps[i];
        let psi1 = w1v[i] * (data.y[i] - mu1);
        let psi0 = w0v[i] * (data.y[i] - mu0);
        let if1 = (psi1 + dot(&v1, x) * score) / a1m;
        let if0 = (psi0 + dot(&v0, x) * score) / a0m;
        let d = if1 - if0;
        ss += d * d;
    }
    Ok((mu1 - mu0, Some((ss / (n as f64 * n as f64)).sqrt())))
}
