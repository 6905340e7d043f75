//! Owns the public entry point `estimate_effect`: identification, data
//! preparation, the point fit and the interval.

use crate::bootstrap;
use crate::design::{self, Data, Prepared, Roles};
use crate::error::{CausalError, Result};
use crate::estimators;
use crate::graph::Graph;
use crate::identify;
use crate::spec::{Diagnostics, EffectSpec, Estimate, Method, Options};
use crate::stats::{normal_quantile, t_quantile};
use crate::table::Table;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Draws used when a method has no analytic interval and none were asked
/// for: enough for a stable 95% percentile interval at this crate's sizes.
pub const FALLBACK_BOOTSTRAP: usize = 200;

/// Fewest bootstrap draws accepted: a percentile interval needs a few.
const MIN_BOOTSTRAP: usize = 10;

/// Identification and prepared data, shared with the refuters.
pub(crate) struct Setup {
    pub data: Data,
    pub prep: Prepared,
    pub adjustment: Vec<String>,
    pub minimal: Vec<String>,
    pub instruments: Vec<String>,
}

fn check_options(opts: &Options) -> Result<()> {
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(CausalError::InvalidOption(format!(
            "level must be in (0, 1), got {}",
            opts.level
        )));
    }
    if let Some(b) = opts.bootstrap {
        if b < MIN_BOOTSTRAP {
            return Err(CausalError::InvalidOption(format!(
                "bootstrap needs at least {MIN_BOOTSTRAP} draws, got {b}"
            )));
        }
    }
    if opts.block_len == Some(0) {
        return Err(CausalError::InvalidOption("block_len must be at least 1".into()));
    }
    Ok(())
}

pub(crate) fn setup(table: &Table, spec: &EffectSpec, method: Method, opts: &Options) -> Result<Setup> {
    check_options(opts)?;
    if spec.treatment.is_empty() || spec.outcome.is_empty() {
        return Err(CausalError::InvalidSpec(
            "treatment and outcome must be named".into(),
        ));
    }
    table.require(&spec.treatment)?;
    table.require(&spec.outcome)?;
    for name in spec.effect_modifiers.iter().chain(&spec.instruments) {
        table.require(name)?;
    }
    let graph = match &spec.graph {
        Some(g) => g.clone(),
        None => {
            for name in &spec.common_causes {
                table.require(name)?;
            }
            Graph::from_shortcut(
                &spec.treatment,
                &spec.outcome,
                &spec.common_causes,
                &spec.instruments,
                &spec.effect_modifiers,
            )?
        }
    };
    let observed: Vec<&str> = table.columns().iter().map(|c| c.name()).collect();
    let (adjustment, minimal, instruments) = match method {
        Method::Naive => (Vec::new(), Vec::new(), Vec::new()),
        Method::Iv => {
            let instruments = if spec.instruments.is_empty() {
                identify::find_instruments(&graph, &spec.treatment, &spec.outcome, &observed)?
            } else {
                spec.instruments.clone()
            };
            if instruments.is_empty() {
                return Err(CausalError::NoInstrument);
            }
            let w: Vec<String> = spec
                .common_causes
                .iter()
                .filter(|c| table.has_column(c))
                .cloned()
                .collect();
            let w_ref: Vec<&str> = w.iter().map(String::as_str).collect();
            for z in &instruments {
                identify::check_instrument(&graph, z, &spec.treatment, &spec.outcome, &w_ref)?;
            }
            (w, Vec::new(), instruments)
        }
        _ => {
            let set = identify::identify_backdoor(&graph, &spec.treatment, &spec.outcome, &observed)?;
            (set.adjustment, set.minimal, Vec::new())
        }
    };
    // Effect modifiers only enter outcome models; instruments only 2SLS.
    let modifiers: &[String] = match method {
        Method::Regression | Method::Aipw => &spec.effect_modifiers,
        _ => &[],
    };
    let roles = Roles {
        treatment: &spec.treatment,
        outcome: &spec.outcome,
        covariates: &adjustment,
        modifiers,
        instruments: &instruments,
        treated: spec.treated_value.as_ref(),
        control: spec.control_value.as_ref(),
        clusters: spec.clusters.as_deref(),
        fixed_effects: spec.fixed_effects.as_deref(),
    };
    let (data, prep) = design::prepare(table, &roles)?;
    Ok(Setup {
        data,
        prep,
        adjustment,
        minimal,
        instruments,
    })
}

/// Estimates the effect of `spec.treatment` on `spec.outcome` with `method`.
///
/// The adjustment set comes from the graph (or DoWhy's shortcut graph built
/// from the common causes) by the back-door criterion; instruments are
/// checked graphically. The interval is analytic where the method has one
/// and no bootstrap was asked for, otherwise a (block) bootstrap percentile
/// interval. Every method has an analytic interval; a method without one
/// would bootstrap ([`FALLBACK_BOOTSTRAP`] draws unless told otherwise).
pub fn estimate_effect(table: &Table, spec: &EffectSpec, method: Method, opts: &Options) -> Result<Estimate> {
    let s = setup(table, spec, method, opts)?;
    estimate_from_setup(&s, method, opts)
}

/// The point estimate alone, as [`estimate_effect`] would give it, without a
/// standard error or interval: for callers that refit many times and keep only
/// the number (iterations, sensitivity checks).
pub fn point_estimate(table: &Table, spec: &EffectSpec, method: Method, opts: &Options) -> Result<f64> {
    let s = setup(table, spec, method, opts)?;
    let estimate = estimators::point(method, &s.data, opts)?;
    if !estimate.is_finite() {
        return Err(CausalError::NumericalFailure("the estimate is not finite".into()));
    }
    Ok(estimate)
}

pub(crate) fn estimate_from_setup(s: &Setup, method: Method, opts: &Options) -> Result<Estimate> {
    let data = &s.data;
    let fit = estimators::fit(method, data, opts)?;
    let mut warnings = s.prep.warnings.clone();
    warnings.extend(fit.warnings.iter().cloned());
    let z = match fit.df {
        Some(df) => t_quantile(0.5 + opts.level / 2.0, df),
        None => normal_quantile(0.5 + opts.level / 2.0),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let draws = opts.bootstrap.or(match fit.se {
        Some(_) => None,
        None => Some(FALLBACK_BOOTSTRAP),
    });
    let mut diagnostics = Diagnostics {
        adjustment_set: s.adjustment.clone(),
        minimal_adjustment_set: s.minimal.clone(),
        instruments: s.instruments.clone(),
        covariates: s.prep.x_names.clone(),
        propensity: fit.overlap.clone(),
        strata: fit.strata.clone(),
        first_stage_f: fit.first_stage_f,
        rows_missing: s.prep.rows_missing,
        rows_other_treatment: s.prep.rows_other_treatment,
        clusters: fit.clusters,
        degrees_of_freedom: fit.df,
        ..Diagnostics::default()
    };
    let analytic = |se: f64| (fit.estimate - z * se, fit.estimate + z * se);
    let (ci, std_error) = match draws {
        Some(b) => {
            let warm = Data {
                ps_start: fit.ps_start.clone(),
                ..data.clone()
            };
            let boot = bootstrap::run(&warm, b, opts.block_len, &mut rng, |d| {
                estimators::point(method, d, opts)
            });
            match (boot, fit.se) {
                (Ok(boot), se) => {
                    let kind = if opts.block_len.is_some_and(|l| l > 1) {
                        "block bootstrap percentile"
                    } else {
                        "bootstrap percentile"
                    };
                    diagnostics.ci_method = format!("{kind} ({} draws)", boot.estimates.len());
                    diagnostics.bootstrap_draws = boot.estimates.len();
                    diagnostics.bootstrap_failures = boot.failures;
                    if boot.failures > 0 {
                        warnings.push(format!(
                            "{} of {b} bootstrap draws could not be estimated and were skipped",
                            boot.failures
                        ));
                    }
                    (boot.percentile_ci(opts.level), se.or(Some(boot.sd())))
                }
                (Err(e), Some(se)) => {
                    warnings.push(format!("bootstrap failed ({e}); the analytic interval is used"));
                    diagnostics.ci_method = format!("analytic ({})", fit.se_kind);
                    (analytic(se), Some(se))
                }
                (Err(e), None) => return Err(e),
            }
        }
        None => {
            let se = fit.se.unwrap_or(0.0);
            diagnostics.ci_method = format!("analytic ({})", fit.se_kind);
            (analytic(se), fit.se)
        }
    };
    let all_finite = fit.estimate.is_finite()
        && ci.0.is_finite()
        && ci.1.is_finite()
        && std_error.is_none_or(f64::is_finite);
    if !all_finite {
        return Err(CausalError::NumericalFailure(
            "the estimate or its interval is not finite".into(),
        ));
    }
    let n_treated = data.n_treated();
    Ok(Estimate {
        method: method.as_str().to_string(),
        estimand: opts.estimand,
        estimate: fit.estimate,
        ci,
        std_error,
        n: data.n(),
        n_treated,
        n_control: data.n() - n_treated,
        warnings,
        diagnostics,
    })
}
