//! Owns linear regression adjustment: `y ~ 1 + X (+ M + t·M) + t` by least
//! squares with an HC3 robust standard error on the treatment coefficient,
//! or CR2 with Bell–McCaffrey degrees of freedom when rows are clustered.
//!
//! Effect modifiers M are centred on the target population (everyone, the
//! treated or the controls) before forming `t·M`, so the treatment
//! coefficient is directly the ATE, ATT or ATC of the linear model.

use super::{arms, Fit};
use crate::cr2::ols_last_cr2;
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::linalg::{dot, ols_last_hc3, sum_and_squares, ColMajor, SpdFactor};
use crate::spec::{Estimand, Options};

pub(super) fn fit(data: &Data, opts: &Options, with_se: bool) -> Result<Fit> {
    let n = data.n();
    let k = 2 + data.x.cols() + 2 * data.m.cols();
    if n < k + 2 {
        return Err(CausalError::TooFewRows {
            what: "regression adjustment".into(),
            needed: k + 2,
            got: n,
        });
    }
    let mut within = data.groups.as_deref().map(Within::new);
    let design = build_design(data, opts.estimand, within.as_mut());
    let y = match within.as_mut() {
        Some(within) => {
            let mut centred = Vec::with_capacity(n);
            within.centre_into(&data.y, &mut centred);
            std::borrow::Cow::Owned(centred)
        }
        None => std::borrow::Cow::Borrowed(&data.y),
    };
    let y: &[f64] = &y;
    // The treatment column comes last, so it is the one dropped when it is
    // a combination of the others.
    let tc = design.cols() - 1;
    if !with_se {
        let f = SpdFactor::new(&design.gram(), tc + 1);
        if !f.kept()[tc] {
            return Err(CausalError::CollinearTreatment);
        }
        return Ok(Fit::point(f.solve(&design.t_mul(y))[tc]));
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

/// A column whose sum of squares falls below this share of its sum of
/// squares before centring is constant within every group: what is left is
/// rounding, and it is set to exactly zero so that the factorisation drops
/// the column instead of fitting the noise.
const VANISHED_SHARE: f64 = 1e-20;

/// Centring within groups (absorbed fixed effects).
struct Within {
    /// `(start, end, group)` of each run of consecutive rows in one group:
    /// rows usually come in time order, so a day is one run, and sums over
    /// runs vectorise where adding row by row into the group's total waits
    /// on the previous addition every time.
    runs: Vec<(usize, usize, usize)>,
    counts: Vec<f64>,
    means: Vec<f64>,
}

impl Within {
    fn new(groups: &[u32]) -> Within {
        let g = groups.iter().map(|&x| x as usize + 1).max().unwrap_or(0);
        let mut counts = vec![0.0; g];
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for (i, &grp) in groups.iter().enumerate() {
            let grp = grp as usize;
            counts[grp] += 1.0;
            match runs.last_mut() {
                Some(run) if run.2 == grp => run.1 = i + 1,
                _ => runs.push((i, i + 1, grp)),
            }
        }
        Within {
            runs,
            counts,
            means: vec![0.0; g],
        }
    }

    /// Appends `col` centred within its groups to `out`; true when nothing
    /// but rounding is left (what was appended is then exactly zero).
    fn centre_into(&mut self, col: &[f64], out: &mut Vec<f64>) -> bool {
        let means = &mut self.means;
        means.fill(0.0);
        let mut before = 0.0;
        for &(s, e, grp) in &self.runs {
            let (total, squares) = sum_and_squares(&col[s..e]);
            means[grp] += total;
            before += squares;
        }
        for (m, c) in means.iter_mut().zip(&self.counts) {
            *m /= c;
        }
        let start = out.len();
        let mut after = 0.0;
        for &(s, e, grp) in &self.runs {
            let m = means[grp];
            let at = out.len();
            out.extend(col[s..e].iter().map(|v| v - m));
            after += dot(&out[at..], &out[at..]);
        }
        let vanished = after <= VANISHED_SHARE * before.max(1e-300);
        if vanished {
            out[start..].fill(0.0);
        }
        vanished
    }

    /// Whether `col` holds one value within each group, exactly: such a
    /// column vanishes when centred, which this finds without arithmetic
    /// (a third of a decision table's covariates are day-level).
    fn constant_within(&mut self, col: &[f64]) -> bool {
        let first = &mut self.means;
        first.fill(f64::NAN);
        self.runs.iter().all(|&(s, e, grp)| {
            let value = col[s];
            if first[grp].is_nan() {
                first[grp] = value;
            }
            first[grp] == value && col[s..e].iter().all(|v| *v == value)
        })
    }
}

/// `[1, X, M_c, t·M_c, t]` with `M_c` centred on the target population,
/// column by column. With groups absorbed, each column is centred within
/// them as it is added and left out when that leaves nothing (the
/// intercept, day-level covariates): the factorisation would only drop it,
/// after paying for its share of the Gram matrix. The treatment always
/// stays, so that the factorisation reports it when it vanishes.
fn build_design(data: &Data, estimand: Estimand, mut within: Option<&mut Within>) -> ColMajor {
    let n = data.n();
    let q = data.m.cols();
    let centre: Vec<f64> = if q == 0 {
        Vec::new()
    } else {
        let (tr, co) = arms(&data.t);
        let target: Vec<usize> = match estimand {
            Estimand::Ate => (0..n).collect(),
            Estimand::Att => tr,
            Estimand::Atc => co,
        };
        (0..q)
            .map(|j| {
                let m = data.m.col(j);
                target.iter().map(|&i| m[i]).sum::<f64>() / target.len().max(1) as f64
            })
            .collect()
    };
    // Columns that hold one value within every group vanish when centred:
    // found first, so that no room is taken for them (the intercept is one).
    let x_kept: Vec<usize> = (0..data.x.cols())
        .filter(|&j| {
            !within
                .as_deref_mut()
                .is_some_and(|w| w.constant_within(data.x.col(j)))
        })
        .collect();
    let intercept = within.is_none();
    let planned = usize::from(intercept) + x_kept.len() + 2 * q + 1;
    let mut design = Columns {
        data: Vec::with_capacity(n * planned),
        cols: 0,
        within,
    };
    if intercept {
        design.push(&vec![1.0; n], false);
    }
    for &j in &x_kept {
        design.push(data.x.col(j), false);
    }
    for (j, c) in centre.iter().enumerate() {
        design.push(&data.m.col(j).iter().map(|m| m - c).collect::<Vec<_>>(), false);
    }
    for (j, c) in centre.iter().enumerate() {
        let interaction: Vec<f64> = data
            .m
            .col(j)
            .iter()
            .zip(&data.t)
            .map(|(m, t)| t * (m - c))
            .collect();
        design.push(&interaction, false);
    }
    design.push(&data.t, true);
    ColMajor::from_column_data(n, design.cols, design.data)
}

/// Columns being gathered for [`build_design`].
struct Columns<'w> {
    data: Vec<f64>,
    cols: usize,
    within: Option<&'w mut Within>,
}

impl Columns<'_> {
    /// Appends a column, centred within groups when they are absorbed;
    /// one that vanishes is left out unless `always`.
    fn push(&mut self, values: &[f64], always: bool) {
        let Some(within) = self.within.as_mut() else {
            self.data.extend_from_slice(values);
            self.cols += 1;
            return;
        };
        let start = self.data.len();
        if within.centre_into(values, &mut self.data) && !always {
            self.data.truncate(start);
        } else {
            self.cols += 1;
        }
    }
}
