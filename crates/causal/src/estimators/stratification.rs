//! Owns propensity-score stratification: units are cut into quantile strata
//! of the estimated propensity, the difference in means is taken inside each
//! stratum, and the stratum effects are averaged with weights that match
//! the estimand (stratum size for ATE, treated count for ATT, control count
//! for ATC), as DoWhy's `PropensityScoreStratificationEstimator` does.
//! Strata missing an arm cannot contribute and are dropped with a warning.

use super::Fit;
use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::propensity;
use crate::spec::{Estimand, Options, Stratum};
use crate::stats::{mean, variance};

pub(super) fn fit(data: &Data, opts: &Options) -> Result<Fit> {
    if opts.num_strata == 0 {
        return Err(CausalError::InvalidOption("num_strata must be at least 1".into()));
    }
    let ps = propensity::fit(&data.x, &data.t, data.ps_start.as_ref())?;
    let n = data.n();
    let k = opts.num_strata.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| ps.ps[a].total_cmp(&ps.ps[b]));
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (rank, &i) in order.iter().enumerate() {
        groups[rank * k / n].push(i);
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
        let effect = if y1.is_empty() || y0.is_empty() {
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
        warnings.push(format!(
            "{dropped} of {k} propensity strata lacked treated or control units and were left out"
        ));
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
    })
}
