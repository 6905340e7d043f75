//! Owns the refuters, modelled on DoWhy's: placebo treatment, random common
//! cause, data subset, and an E-value sensitivity analysis for unobserved
//! confounding. They refit point estimates only (no intervals) a few dozen
//! times, so they cost milliseconds at this crate's sizes.

use crate::design::Data;
use crate::effect::{estimate_from_setup, setup};
use crate::error::Result;
use crate::estimators;
use crate::spec::{EffectSpec, Estimate, Method, Options, Refutation};
use crate::stats::{mean, normal_draw, variance};
use crate::table::Table;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Placebo permutations: enough to see whether the placebo effect centres
/// on zero, few enough to stay in milliseconds.
pub const PLACEBO_SIMULATIONS: usize = 30;
/// Random-common-cause repetitions.
pub const RANDOM_CAUSE_SIMULATIONS: usize = 10;
/// Subset repetitions.
pub const SUBSET_SIMULATIONS: usize = 20;
/// Share of rows kept in each subset (DoWhy's default `subset_fraction`).
pub const SUBSET_FRACTION: f64 = 0.8;
/// The mean placebo effect passes when it is within this many standard
/// errors (of that mean) of zero.
const PLACEBO_Z: f64 = 3.0;
/// VanderWeele & Ding (2017): a standardised mean difference d maps to an
/// approximate risk ratio exp(0.91 d).
const SMD_TO_LOG_RR: f64 = 0.91;
/// A "moderate" unobserved confounder: associated with treatment and
/// outcome by this risk ratio each. Estimates whose E-value is below it
/// could be explained away by such a confounder.
pub const MODERATE_CONFOUNDER_RR: f64 = 1.5;

/// Runs all refuters against the estimate of `method`. The base estimate
/// (and its interval, used as the yardstick) is computed with `opts`.
pub fn refute(table: &Table, spec: &EffectSpec, method: Method, opts: &Options) -> Result<Vec<Refutation>> {
    let s = setup(table, spec, method, opts)?;
    let base = estimate_from_setup(&s, method, opts)?;
    let point = |d: &Data| estimators::point(method, d, opts);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5EED_F00D);
    Ok(vec![
        placebo(&s.data, &base, &point, &mut rng),
        random_common_cause(&s.data, &base, &point, &mut rng),
        data_subset(&s.data, &base, &point, &mut rng),
        sensitivity(&s.data, &base),
    ])
}

fn fmt(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(0.001..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

fn not_run(name: &str, what: &str) -> Refutation {
    Refutation {
        name: name.to_string(),
        new_effect: 0.0,
        p_value: None,
        passed: false,
        explanation: format!("The {what} check could not be run on these data, so it gives no reassurance."),
    }
}

fn placebo<F: Fn(&Data) -> Result<f64>>(
    data: &Data,
    base: &Estimate,
    point: &F,
    rng: &mut ChaCha8Rng,
) -> Refutation {
    const NAME: &str = "placebo_treatment";
    let mut effects = Vec::with_capacity(PLACEBO_SIMULATIONS);
    let mut shuffled = data.clone();
    for _ in 0..PLACEBO_SIMULATIONS {
        shuffled.t.shuffle(rng);
        if let Ok(v) = point(&shuffled) {
            if v.is_finite() {
                effects.push(v);
            }
        }
    }
    if effects.len() < 2 {
        return not_run(NAME, "placebo-treatment");
    }
    let m = mean(&effects);
    let se_mean = (variance(&effects) / effects.len() as f64).sqrt();
    // The small absolute term lets a perfectly constant outcome (all placebo
    // effects exactly zero) pass.
    let passed = m.abs() <= PLACEBO_Z * se_mean + 1e-12 * (1.0 + base.estimate.abs());
    let extreme = effects.iter().filter(|e| e.abs() >= base.estimate.abs()).count();
    let p_value = (1 + extreme) as f64 / (1 + effects.len()) as f64;
    let explanation = if passed {
        format!(
            "Replacing the treatment with a random one gives an effect near zero ({}), as it should: no sign the estimate is an artefact.",
            fmt(m)
        )
    } else {
        format!(
            "Replacing the treatment with a random one still gives an effect of {}, so the estimate may reflect how the data are arranged rather than the treatment.",
            fmt(m)
        )
    };
    Refutation {
        name: NAME.into(),
        new_effect: m,
        p_value: Some(p_value),
        passed,
        explanation,
    }
}

fn within(ci: (f64, f64), v: f64) -> bool {
    v >= ci.0 && v <= ci.1
}

fn random_common_cause<F: Fn(&Data) -> Result<f64>>(
    data: &Data,
    base: &Estimate,
    point: &F,
    rng: &mut ChaCha8Rng,
) -> Refutation {
    const NAME: &str = "random_common_cause";
    let mut effects = Vec::with_capacity(RANDOM_CAUSE_SIMULATIONS);
    for _ in 0..RANDOM_CAUSE_SIMULATIONS {
        let noise: Vec<f64> = (0..data.n()).map(|_| normal_draw(rng)).collect();
        let mut d = data.clone();
        d.x = d.x.push_column(&noise);
        d.x_gram = None;
        if let Ok(v) = point(&d) {
            if v.is_finite() {
                effects.push(v);
            }
        }
    }
    if effects.is_empty() {
        return not_run(NAME, "random-common-cause");
    }
    let m = mean(&effects);
    let passed = within(base.ci, m);
    let explanation = if passed {
        format!(
            "Adding a made-up random background factor leaves the effect at {} (was {}), as it should.",
            fmt(m),
            fmt(base.estimate)
        )
    } else {
        format!(
            "Adding a made-up random background factor moves the effect to {} (was {}), which suggests the estimate is unstable.",
            fmt(m),
            fmt(base.estimate)
        )
    };
    Refutation {
        name: NAME.into(),
        new_effect: m,
        p_value: None,
        passed,
        explanation,
    }
}

fn data_subset<F: Fn(&Data) -> Result<f64>>(
    data: &Data,
    base: &Estimate,
    point: &F,
    rng: &mut ChaCha8Rng,
) -> Refutation {
    const NAME: &str = "data_subset";
    let n = data.n();
    let keep = ((n as f64) * SUBSET_FRACTION).round() as usize;
    let mut idx: Vec<usize> = (0..n).collect();
    let mut effects = Vec::with_capacity(SUBSET_SIMULATIONS);
    for _ in 0..SUBSET_SIMULATIONS {
        idx.shuffle(rng);
        let mut part = idx[..keep].to_vec();
        // Keep the original order so time structure is preserved.
        part.sort_unstable();
        if let Ok(v) = point(&data.select(&part)) {
            if v.is_finite() {
                effects.push(v);
            }
        }
    }
    if effects.is_empty() {
        return not_run(NAME, "data-subset");
    }
    let m = mean(&effects);
    let passed = within(base.ci, m);
    let pct = (SUBSET_FRACTION * 100.0).round();
    let explanation = if passed {
        format!(
            "Re-estimating on random {pct}% subsets of the data gives {} on average (was {}), so no small group of rows drives the result.",
            fmt(m),
            fmt(base.estimate)
        )
    } else {
        format!(
            "Re-estimating on random {pct}% subsets of the data gives {} on average (was {}), so a few rows may be driving the result.",
            fmt(m),
            fmt(base.estimate)
        )
    };
    Refutation {
        name: NAME.into(),
        new_effect: m,
        p_value: None,
        passed,
        explanation,
    }
}

/// E-value of a risk ratio (VanderWeele & Ding 2017).
pub fn e_value(rr: f64) -> f64 {
    let rr = if rr < 1.0 { 1.0 / rr } else { rr };
    rr + (rr * (rr - 1.0)).max(0.0).sqrt()
}

/// The E-value of an interval's limit nearest no effect, for an outcome with standard
/// deviation `outcome_sd` (the standardised difference mapped to a risk ratio by
/// exp(0.91 d)); 1 when the interval includes no effect or the spread is unknown.
pub fn interval_e_value(ci: (f64, f64), outcome_sd: f64) -> f64 {
    let (lo, hi) = ci;
    if lo <= 0.0 && hi >= 0.0 || outcome_sd.is_nan() || outcome_sd <= 0.0 {
        return 1.0;
    }
    let near = if lo > 0.0 { lo } else { hi };
    e_value((SMD_TO_LOG_RR * near / outcome_sd).exp())
}

fn sensitivity(data: &Data, base: &Estimate) -> Refutation {
    const NAME: &str = "unobserved_confounder_e_value";
    let sd = variance(&data.y).sqrt();
    if sd.is_nan() || sd <= 0.0 {
        return not_run(NAME, "unobserved-confounding");
    }
    let log_rr = |effect: f64| SMD_TO_LOG_RR * effect / sd;
    let e_point = e_value(log_rr(base.estimate).exp());
    let e_ci = interval_e_value(base.ci, sd);
    // Bias factor of a confounder with risk ratio MODERATE_CONFOUNDER_RR on
    // both sides (Ding & VanderWeele 2016), removed on the log scale.
    let r = MODERATE_CONFOUNDER_RR;
    let log_bias = (r * r / (2.0 * r - 1.0)).ln();
    let lr = log_rr(base.estimate);
    let shrunk = lr.signum() * (lr.abs() - log_bias).max(0.0);
    let new_effect = shrunk * sd / SMD_TO_LOG_RR;
    let passed = e_point >= MODERATE_CONFOUNDER_RR;
    let explanation = if passed {
        format!(
            "A hidden factor would need to raise both the chance of treatment and the outcome about {:.2}-fold (E-value; {:.2} for the interval limit) to explain the effect away, more than a moderate one would.",
            e_point, e_ci
        )
    } else {
        format!(
            "A hidden factor raising both the chance of treatment and the outcome only {:.2}-fold (E-value) could explain the effect away, so it is fragile.",
            e_point
        )
    };
    Refutation {
        name: NAME.into(),
        new_effect,
        p_value: None,
        passed,
        explanation,
    }
}
