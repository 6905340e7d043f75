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
    let mut design = build_design(data, opts.estimand);
    let mut y = std::borrow::Cow::Borrowed(&data.y);
    if let Some(groups) = &data.groups {
        design = within_groups(&design, groups);
        let centred = within_groups(&Matrix::from_vec(n, 1, data.y.clone()), groups);
        y = std::borrow::Cow::Owned(centred.column(0));
    }
    let y: &[f64] = &y;
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
        return Ok(Fit::point(f.solve(&design.t_mul(y, None))[tc]));
    }
    if let Some(clusters) = &data.clusters {
        let fit = ols_last_cr2(&design, y, clusters).ok_or(CausalError::CollinearTreatment)?;
        return Ok(Fit {
            se: Some(fit.se),
            se_kind: "CR2, Bell–McCaffrey t",
            df: Some(fit.df),
            clusters: Some(fit.clusters),
            ..Fit::point(fit.beta)
        });
    }
    let (beta, se) = ols_last_hc3(&design, y).ok_or(CausalError::CollinearTreatment)?;
    Ok(Fit {
        se: Some(se),
        se_kind: "HC3",
        ..Fit::point(beta)
    })
}

/// Every column centred within its group (absorbed fixed effects). A column that
/// is constant within every group (the intercept, a day-level covariate) becomes
/// exactly zero, so the factorisation drops it instead of keeping rounding noise.
fn within_groups(m: &Matrix, groups: &[u32]) -> Matrix {
    let (n, k) = (m.rows(), m.cols());
    let g = groups.iter().map(|&x| x as usize + 1).max().unwrap_or(0);
    let mut sums = vec![0.0; g * k];
    let mut counts = vec![0.0; g];
    for (i, &grp) in groups.iter().enumerate().take(n) {
        let grp = grp as usize;
        counts[grp] += 1.0;
        for (s, v) in sums[grp * k..(grp + 1) * k].iter_mut().zip(m.row(i)) {
            *s += v;
        }
    }
    let mut out = Vec::with_capacity(n * k);
    let mut before = vec![0.0; k];
    let mut after = vec![0.0; k];
    for (i, &grp) in groups.iter().enumerate().take(n) {
        let grp = grp as usize;
        for (j, v) in m.row(i).iter().enumerate() {
            let centred = v - sums[grp * k + j] / counts[grp];
            before[j] += v * v;
            after[j] += centred * centred;
            out.push(centred);
        }
    }
    for j in 0..k {
        if after[j] <= 1e-20 * before[j].max(1e-300) {
            for i in 0..n {
                out[i * k + j] = 0.0;
            }
        }
    }
    Matrix::from_vec(n, k, out)
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
