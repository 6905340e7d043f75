//! Owns propensity-score stratification: units are cut into strata of the
//! estimated propensity, the difference in means is taken inside each
//! stratum, and the stratum effects are averaged with weights that match
//! the estimand (stratum size for ATE, treated count for ATT, control count
//! for ATC), as DoWhy's `PropensityScoreStratificationEstimator` does.
//! Strata missing an arm (or, with `strata_clipping`, with too few units in
//! an arm) cannot contribute and are dropped with a warning.
//!
//! Two ways to cut ([`StrataRule`]): by default `num_strata` equal-count
//! strata of the ranked propensity — quintiles, the design behind Cochran's
//! (1968) and Rosenbaum & Rubin's (1984) result that five strata remove
//! about 90% of the confounding bias. DoWhy's rule, `round(rank / n ·
//! num_strata)`, gives `num_strata + 1` strata whose two end strata are half
//! as wide: a side effect of rounding instead of truncating, kept as an
//! option so estimates can be compared with DoWhy's exactly. Under both
//! rules units with equal propensities share a stratum (ranks of ties are
//! averaged, as pandas does), so the result does not depend on row order.

use super::Fit;
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::propensity;
use crate::spec::{Estimand, Options, StrataRule, Stratum};
use crate::stats::{mean, variance};

/// Stratum of each position of `order` (units sorted by `ps`), and the
/// number of strata.
fn strata_labels(ps: &[f64], order: &[usize], k: usize, rule: StrataRule) -> (Vec<usize>, usize) {
    let n = order.len();
    let mut label = vec![0; n];
    let mut a = 0;
    while a < n {
        // Positions a..=b hold one value of the propensity.
        let mut b = a;
        while b + 1 < n && ps[order[b + 1]] == ps[order[a]] {
            b += 1;
        }
        let s = match rule {
            // floor(mean 0-based position · k / n), in integers; without
            // ties this is floor(position · k / n), k equal-count strata.
            StrataRule::Quantile => ((a + b) * k) / (2 * n),
            // pandas' average 1-based rank, then DoWhy's float arithmetic
            // and NumPy's round-half-to-even.
            StrataRule::DoWhy => {
                let rank = (a + b) as f64 / 2.0 + 1.0;
                ((rank / n as f64) * k as f64).round_ties_even() as usize
            }
        };
        label[a..=b].fill(s);
        a = b + 1;
    }
    let strata = match rule {
        StrataRule::Quantile => k,
        StrataRule::DoWhy => k + 1,
    };
    (label, strata)
}

pub(super) fn fit(data: &Data, opts: &Options) -> Result<Fit> {
    if opts.num_strata == 0 {
        return Err(CausalError::InvalidOption("num_strata must be at least 1".into()));
    }
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref(), data.x_gram())?;
    let n = data.n();
    let k = opts.num_strata.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| ps.ps[a].total_cmp(&ps.ps[b]));
    let (label, n_strata) = strata_labels(&ps.ps, &order, k, opts.strata_rule);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n_strata];
    for (&s, &i) in label.iter().zip(&order) {
        groups[s.min(n_strata - 1)].push(i);
    }
    // Pooled arm variances stand in for a stratum arm with a single unit.
    let (all1, all0): (Vec<f64>, Vec<f64>) = {
        let (tr, co) = super::arms(&data.t);
        (
            tr.iter().map(|&i| data.y[i]).collect(),
            co.iter().map(|&i| data.y[i]).collect(),
        )
    };
    let (pool_v1, pool_v0) = (variance(&all1), variance(&all0));

    let mut strata = Vec::with_capacity(k);
    let mut total_w = 0.0;
    let mut acc = 0.0;
    let mut acc_var = 0.0;
    let mut parts: Vec<(f64, f64, f64)> = Vec::new();
    let mut dropped = 0usize;
    for g in &groups {
        if g.is_empty() {
            continue;
        }
        let y1: Vec<f64> = g
            .iter()
            .filter(|&&i| data.t[i] > 0.5)
            .map(|&i| data.y[i])
            .collect();
        let y0: Vec<f64> = g
            .iter()
            .filter(|&&i| data.t[i] <= 0.5)
            .map(|&i| data.y[i])
            .collect();
        let lo = ps.ps[g[0]];
        let hi = ps.ps[g[g.len() - 1]];
        let effect = if y1.len().min(y0.len()) <= opts.strata_clipping {
            dropped += 1;
            None
        } else {
            let d = mean(&y1) - mean(&y0);
            let w = match opts.estimand {
                Estimand::Ate => g.len() as f64,
                Estimand::Att => y1.len() as f64,
                Estimand::Atc => y0.len() as f64,
            };
            let v1 = if y1.len() > 1 { variance(&y1) } else { pool_v1 };
            let v0 = if y0.len() > 1 { variance(&y0) } else { pool_v0 };
            parts.push((w, d, v1 / y1.len() as f64 + v0 / y0.len() as f64));
            Some(d)
        };
        strata.push(Stratum {
            ps_low: lo,
            ps_high: hi,
            n_treated: y1.len(),
            n_control: y0.len(),
            effect,
        });
    }
    for &(w, _, _) in &parts {
        total_w += w;
    }
    if parts.is_empty() || total_w <= 0.0 {
        return Err(CausalError::NoOverlap(
            "no propensity stratum holds both treated and control units".into(),
        ));
    }
    for &(w, d, v) in &parts {
        let share = w / total_w;
        acc += share * d;
        acc_var += share * share * v;
    }
    let mut warnings = ps.warnings(&data.t);
    if dropped > 0 {
        let used = strata.len();
        warnings.push(if opts.strata_clipping == 0 {
            format!("{dropped} of {used} propensity strata lacked treated or control units and were left out")
        } else {
            format!(
                "{dropped} of {used} propensity strata had {} or fewer treated or control units and were left out",
                opts.strata_clipping
            )
        });
    }
    Ok(Fit {
        estimate: acc,
        se: Some(acc_var.sqrt()),
        se_kind: "stratified difference in means",
        warnings,
        overlap: Some(ps.overlap(&data.t)),
        ps_start: Some(ps.warm_start()),
        strata,
        first_stage_f: None,
        ..Fit::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strata_labels_by_rule_keep_ties_together() {
        // Ten units, already in order; units 3 and 4 share a propensity,
        // as do 7, 8 and 9.
        let ps = [0.1, 0.2, 0.3, 0.4, 0.4, 0.5, 0.6, 0.7, 0.7, 0.7];
        let order: Vec<usize> = (0..10).collect();
        // Quantile: floor(mean position · 5 / 10); the tie at positions 3-4
        // (mean 3.5) stays in stratum 1 instead of being split 1 | 2.
        let (q, kq) = strata_labels(&ps, &order, 5, StrataRule::Quantile);
        assert_eq!((q, kq), (vec![0, 0, 1, 1, 1, 2, 3, 4, 4, 4], 5));
        // DoWhy: round_half_even(rank / 10 · 5) with average ranks
        // 1 2 3 4.5 4.5 6 7 9 9 9: 0.5→0, 1, 1.5→2, 2.25→2, 3, 3.5→4, 4.5→4.
        let (d, kd) = strata_labels(&ps, &order, 5, StrataRule::DoWhy);
        assert_eq!((d, kd), (vec![0, 1, 2, 2, 2, 3, 4, 4, 4, 4], 6));
        // Without ties the quantile rule is plain equal-count binning.
        let distinct: Vec<f64> = (0..10).map(f64::from).collect();
        let (q, _) = strata_labels(&distinct, &order, 5, StrataRule::Quantile);
        assert_eq!(q, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
}
