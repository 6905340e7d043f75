//! Owns linear regression adjustment: `y ~ 1 + X (+ M + t·M) + t` by least
//! squares with an HC3 robust standard error on the treatment coefficient,
//! or CR2 with Bell–McCaffrey degrees of freedom when rows are clustered.
//!
//! Effect modifiers M are centred on the target population (everyone, the
//! treated or the controls) before forming `t·M`, so the treatment
//! coefficient is directly the ATE, ATT or ATC of the linear model.

use super::{arms, Fit};
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::linalg::{ols_last_cr2, ols_last_hc3, Matrix, SpdFactor};
use crate::spec::{Estimand, Options};

pub(super) fn fit(data: &Data, opts: &Options, with_se: bool) -> Result<Fit> {
    let n = data.n();
    let design = build_design(data, opts.estimand);
    let k = design.cols();
    if n < k + 2 {
        return Err(CausalError::TooFewRows {
            what: "regression adjustment".into(),
            needed: k + 2,
            got: n,
        });
    }
    // The treatment column comes last, so it is the one dropped when it is
    // a combination of the others.
    let tc = k - 1;
    if !with_se {
        let f = SpdFactor::new(&design.gram(None), k);
        if !f.kept()[tc] {
            return Err(CausalError::CollinearTreatment);
        }
        return Ok(Fit::point(f.solve(&design.t_mul(&data.y, None))[tc]));
    }
    if let Some(clusters) = &data.clusters {
        let fit = ols_last_cr2(&design, &data.y, clusters).ok_or(CausalError::CollinearTreatment)?;
        return Ok(Fit {
            se: Some(fit.se),
            se_kind: "CR2, Bell–McCaffrey t",
            df: Some(fit.df),
            clusters: Some(fit.clusters),
            ..Fit::point(fit.beta)
        });
    }
    let (beta, se) = ols_last_hc3(&design, &data.y).ok_or(CausalError::CollinearTreatment)?;
    Ok(Fit {
        se: Some(se),
        se_kind: "HC3",
        ..Fit::point(beta)
    })
}

/// `[1, X, M_c, t·M_c, t]` with `M_c` centred on the target population.
pub(super) fn build_design(data: &Data, estimand: Estimand) -> Matrix {
    let n = data.n();
    let q = data.m.cols();
    let (tr, co) = arms(&data.t);
    let target: Vec<usize> = match estimand {
        Estimand::Ate => (0..n).collect(),
        Estimand::Att => tr,
        Estimand::Atc => co,
    };
    let centre: Vec<f64> = (0..q)
        .map(|j| target.iter().map(|&i| data.m.get(i, j)).sum::<f64>() / target.len().max(1) as f64)
        .collect();
    let p = data.x.cols();
    let k = 2 + p + 2 * q;
    let mut out = Vec::with_capacity(n * k);
    for i in 0..n {
        out.push(1.0);
        out.extend_from_slice(data.x.row(i));
        for (j, c) in centre.iter().enumerate() {
            out.push(data.m.get(i, j) - c);
        }
        for (j, c) in centre.iter().enumerate() {
            out.push(data.t[i] * (data.m.get(i, j) - c));
        }
        out.push(data.t[i]);
    }
    Matrix::from_vec(n, k, out)
}
