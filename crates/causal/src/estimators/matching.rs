//! Owns nearest-neighbour matching on the propensity score (one neighbour,
//! with replacement), as DoWhy's `PropensityScoreMatchingEstimator`: ATT
//! matches each treated unit to the closest control, ATC each control to
//! the closest treated unit, and ATE is their average weighted by arm size.
//!
//! The standard error is Abadie & Imbens' (2006, Theorem 7) estimator for
//! matching with replacement. Its two parts are the spread of the unit-level
//! matched differences and a correction for reusing the same units as
//! matches: a unit used as a match `K` times carries `K² + K` (ATE) or
//! `K² - K` (ATT/ATC, counted in the matched arm) times its conditional
//! outcome variance. That variance is estimated by matching each unit to its
//! [`VARIANCE_NEIGHBOURS`] nearest units in its own arm (AI 2006, eq. 14).
//! Matching on one continuous score leaves a bias of order 1/n, negligible
//! next to the standard error, so no bias correction is applied.
//!
//! The formula treats the propensity as known. Abadie & Imbens (2016) show
//! that for the ATE, ignoring that it was estimated makes the variance
//! conservative (too large); for the ATT the correction can go either way.
//! A bootstrap interval remains available through `Options::bootstrap`.

use super::Fit;
use crate::design::Data;
use crate::error::Result;
use crate::propensity;
use crate::spec::{Estimand, Options};

/// Same-arm neighbours used for each unit's conditional outcome variance.
/// Abadie & Imbens (2006) show the variance estimator is consistent for any
/// fixed number; two (Stata's `teffects` default) halves the noise of a
/// single neighbour while staying local.
pub(crate) const VARIANCE_NEIGHBOURS: usize = 2;

pub(super) fn fit(data: &Data, opts: &Options, with_se: bool) -> Result<Fit> {
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref(), data.x_gram())?;
    let arms = Arms::new(&ps.ps, &data.t);
    let y = &data.y;
    let n = y.len();
    // `matched[i]`: the unit of the other arm matched to `i`, for every
    // unit whose own effect the estimand needs.
    let mut matched = vec![usize::MAX; n];
    let (want_t, want_c) = match opts.estimand {
        Estimand::Att => (true, false),
        Estimand::Atc => (false, true),
        Estimand::Ate => (true, true),
    };
    if want_t {
        arms.match_into(&arms.treated, &arms.control, &mut matched);
    }
    if want_c {
        arms.match_into(&arms.control, &arms.treated, &mut matched);
    }
    // Unit-level effect: treated minus (matched) control.
    let effect = |i: usize| {
        let j = matched[i];
        if data.t[i] > 0.5 {
            y[i] - y[j]
        } else {
            y[j] - y[i]
        }
    };
    // Units whose own effect counts toward the estimand.
    let units: Vec<usize> = (0..n).filter(|&i| matched[i] != usize::MAX).collect();
    let count = units.len();
    let sum: f64 = units.iter().map(|&i| effect(i)).sum();
    let estimate = sum / count.max(1) as f64;
    let mut fit = Fit {
        warnings: ps.warnings(&data.t),
        overlap: Some(ps.overlap(&data.t)),
        ps_start: Some(ps.warm_start()),
        ..Fit::point(estimate)
    };
    if with_se {
        // Times each unit serves as a match.
        let mut uses = vec![0u32; n];
        for &i in &units {
            uses[matched[i]] += 1;
        }
        let spread: f64 = units
            .iter()
            .map(|&i| {
                let d = effect(i) - estimate;
                d * d
            })
            .sum();
        let mut reuse = 0.0;
        for (i, &k) in uses.iter().enumerate() {
            let k = f64::from(k);
            // ATE: every unit has its own effect and may also be a match;
            // ATT/ATC: matched units only serve as matches.
            let factor = if opts.estimand == Estimand::Ate {
                k * k + k
            } else {
                k * k - k
            };
            if factor > 0.0 {
                reuse += factor * arms.conditional_variance(i, y);
            }
        }
        let m = count.max(1) as f64;
        fit.se = Some(((spread + reuse) / (m * m)).sqrt());
        fit.se_kind = "Abadie-Imbens (2006)";
    }
    Ok(fit)
}

/// Both arms sorted by score, with each unit's position in its own arm.
struct Arms<'a> {
    score: &'a [f64],
    /// `(score, unit)` of the treated, in increasing score; ties keep row
    /// order (stable sort).
    treated: Vec<(f64, usize)>,
    control: Vec<(f64, usize)>,
    /// Position of each unit in its own arm's sorted list.
    pos: Vec<usize>,
    is_treated: Vec<bool>,
}

impl<'a> Arms<'a> {
    fn new(score: &'a [f64], t: &[f64]) -> Arms<'a> {
        let mut treated = Vec::new();
        let mut control = Vec::new();
        let mut is_treated = Vec::with_capacity(t.len());
        for (i, (&s, &ti)) in score.iter().zip(t).enumerate() {
            is_treated.push(ti > 0.5);
            if ti > 0.5 {
                treated.push((s, i));
            } else {
                control.push((s, i));
            }
        }
        treated.sort_by(|a, b| a.0.total_cmp(&b.0));
        control.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut pos = vec![0; score.len()];
        for arm in [&treated, &control] {
            for (p, &(_, i)) in arm.iter().enumerate() {
                pos[i] = p;
            }
        }
        Arms {
            score,
            treated,
            control,
            pos,
            is_treated,
        }
    }

    /// Sets `matched[i]` for every unit in `from` to the nearest unit of
    /// `pool` by score; an exact halfway case goes to the lower score, a
    /// tie among equal scores to the first in row order.
    fn match_into(&self, from: &[(f64, usize)], pool: &[(f64, usize)], matched: &mut [usize]) {
        // `from` is sorted too, so the first pool entry not below `s` only
        // moves forward: one merge-like pass instead of a binary search
        // per unit.
        let mut at = 0;
        for &(s, i) in from {
            while at < pool.len() && pool[at].0 < s {
                at += 1;
            }
            matched[i] = match (at.checked_sub(1), pool.get(at)) {
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
        }
    }

    /// `σ²(X_i, W_i)` by matching unit `i` to its nearest units of its own
    /// arm (itself excluded): `J/(J+1) (y_i - mean of the J neighbours)²`,
    /// which is unbiased when the neighbours share `i`'s mean (AI 2006).
    fn conditional_variance(&self, i: usize, y: &[f64]) -> f64 {
        let arm = if self.is_treated[i] {
            &self.treated
        } else {
            &self.control
        };
        let j_max = VARIANCE_NEIGHBOURS.min(arm.len().saturating_sub(1));
        if j_max == 0 {
            return 0.0;
        }
        let p = self.pos[i];
        let s = self.score[i];
        // Walk outwards from `p`, taking the nearer side each time (the
        // lower side on a tie).
        let (mut lo, mut hi) = (p, p + 1);
        let mut sum = 0.0;
        for _ in 0..j_max {
            let left = lo.checked_sub(1).map(|l| (s - arm[l].0, l));
            let right = arm.get(hi).map(|r| (r.0 - s, hi));
            let take_left = match (left, right) {
                (Some((dl, _)), Some((dr, _))) => dl <= dr,
                (Some(_), None) => true,
                _ => false,
            };
            if take_left {
                lo -= 1;
                sum += y[arm[lo].1];
            } else {
                sum += y[arm[hi].1];
                hi += 1;
            }
        }
        let j = j_max as f64;
        let d = y[i] - sum / j;
        j / (j + 1.0) * d * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::ColMajor;

    fn data(x: Vec<f64>, t: Vec<f64>, y: Vec<f64>) -> Data {
        let n = x.len();
        Data {
            y,
            t,
            x: ColMajor::from_column_data(n, 1, x),
            m: ColMajor::from_column_data(n, 0, vec![]),
            z: ColMajor::from_column_data(n, 0, vec![]),
            ps_start: None,
            x_gram: None,
            clusters: None,
            groups: None,
        }
    }

    /// The Abadie–Imbens variance worked by hand on a small example: the
    /// propensity is monotone in `x`, so matches follow the order of `x`.
    #[test]
    fn abadie_imbens_variance_by_hand() {
        // Sorted by x: c0 c1 t2 c3 t4 t5 c6 t7 (c control, t treated).
        let x = vec![-1.6, -1.0, -0.5, -0.1, 0.3, 0.6, 0.9, 1.5];
        let t = vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let y = vec![1.0, 2.0, 4.0, 1.5, 5.0, 3.0, 2.5, 6.0];
        let d = data(x.clone(), t.clone(), y.clone());
        let ps = propensity::fit(&d.x, &d.t, None, None).unwrap().ps;
        assert!(ps.windows(2).all(|w| w[0] < w[1]), "monotone propensity");
        // Matches by nearest propensity, computed independently.
        let nearest = |i: usize, arm: f64| {
            (0..8)
                .filter(|&j| t[j] == arm)
                .min_by(|&a, &b| (ps[a] - ps[i]).abs().total_cmp(&(ps[b] - ps[i]).abs()))
                .unwrap()
        };
        let m: Vec<usize> = (0..8).map(|i| nearest(i, 1.0 - t[i])).collect();
        let eff: Vec<f64> = (0..8)
            .map(|i| {
                if t[i] > 0.5 {
                    y[i] - y[m[i]]
                } else {
                    y[m[i]] - y[i]
                }
            })
            .collect();
        // Own-arm neighbours (two nearest by propensity, itself excluded).
        let sigma2 = |i: usize| {
            let mut same: Vec<usize> = (0..8).filter(|&j| j != i && t[j] == t[i]).collect();
            same.sort_by(|&a, &b| (ps[a] - ps[i]).abs().total_cmp(&(ps[b] - ps[i]).abs()));
            let mean = (y[same[0]] + y[same[1]]) / 2.0;
            2.0 / 3.0 * (y[i] - mean).powi(2)
        };
        for (estimand, units) in [
            (Estimand::Ate, (0..8).collect::<Vec<_>>()),
            (Estimand::Att, vec![2, 4, 5, 7]),
            (Estimand::Atc, vec![0, 1, 3, 6]),
        ] {
            let n = units.len() as f64;
            let tau = units.iter().map(|&i| eff[i]).sum::<f64>() / n;
            let mut k = [0.0; 8];
            for &i in &units {
                k[m[i]] += 1.0;
            }
            let spread: f64 = units.iter().map(|&i| (eff[i] - tau).powi(2)).sum();
            let reuse: f64 = (0..8)
                .map(|j| {
                    let f = if estimand == Estimand::Ate {
                        k[j] * k[j] + k[j]
                    } else {
                        k[j] * k[j] - k[j]
                    };
                    if f > 0.0 {
                        f * sigma2(j)
                    } else {
                        0.0
                    }
                })
                .sum();
            let se = ((spread + reuse) / (n * n)).sqrt();
            let opts = Options {
                estimand,
                ..Options::default()
            };
            let f = fit(&d, &opts, true).unwrap();
            assert!(
                (f.estimate - tau).abs() < 1e-12,
                "{estimand:?}: {} vs {tau}",
                f.estimate
            );
            let got = f.se.unwrap();
            assert!((got - se).abs() < 1e-12, "{estimand:?}: se {got} vs {se}");
            assert!(fit(&d, &opts, false).unwrap().se.is_none());
        }
    }
}
