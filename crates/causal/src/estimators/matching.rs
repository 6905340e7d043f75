//! Owns nearest-neighbour matching on the propensity score (one neighbour,
//! with replacement), as DoWhy's `PropensityScoreMatchingEstimator`: ATT
//! matches each treated unit to the closest control, ATC each control to
//! the closest treated unit, and ATE is their average weighted by arm size.
//! Matching has no simple analytic variance, so intervals come from the
//! bootstrap.

use super::{arms, Fit};
use crate::design::Data;
use crate::error::Result;
use crate::propensity;
use crate::spec::{Estimand, Options};

pub(super) fn fit(data: &Data, opts: &Options) -> Result<Fit> {
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref())?;
    let (tr, co) = arms(&data.t);
    let att = || matched_difference(&tr, &co, &ps.ps, &data.y);
    let atc = || -matched_difference(&co, &tr, &ps.ps, &data.y);
    let estimate = match opts.estimand {
        Estimand::Att => att(),
        Estimand::Atc => atc(),
        Estimand::Ate => {
            let n1 = tr.len() as f64;
            let n0 = co.len() as f64;
            (n1 * att() + n0 * atc()) / (n1 + n0)
        }
    };
    Ok(Fit {
        warnings: ps.warnings(&data.t),
        overlap: Some(ps.overlap(&data.t)),
        ps_start: Some(ps.warm_start()),
        ..Fit::point(estimate)
    })
}

/// Mean of `y_i - y_match(i)` over `from`, matching within `to` by score.
fn matched_difference(from: &[usize], to: &[usize], score: &[f64], y: &[f64]) -> f64 {
    let mut pool: Vec<(f64, usize)> = to.iter().map(|&j| (score[j], j)).collect();
    pool.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut sum = 0.0;
    for &i in from {
        let s = score[i];
        let pos = pool.partition_point(|p| p.0 < s);
        let best = match (pos.checked_sub(1), pool.get(pos)) {
            (Some(l), Some(r)) => {
                if (s - pool[l].0) <= (r.0 - s) {
                    pool[l].1
                } else {
                    r.1
                }
            }
            (Some(l), None) => pool[l].1,
            (None, Some(r)) => r.1,
            (None, None) => continue,
        };
        sum += y[i] - y[best];
    }
    sum / from.len().max(1) as f64
}
