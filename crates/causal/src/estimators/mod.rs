//! Owns the dispatch from a [`Method`] to its estimator and the shared
//! result of one fit.

mod aipw;
mod ipw;
mod iv;
mod matching;
mod naive;
mod regression;
mod stratification;

use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::propensity::WarmStart;
use crate::spec::{Method, Options, Overlap, Stratum};

/// One point fit, before intervals are attached.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fit {
    pub estimate: f64,
    /// Analytic standard error, where the method has one.
    pub se: Option<f64>,
    /// Name of the analytic standard error.
    pub se_kind: &'static str,
    /// Degrees of freedom of a t interval, when the standard error has them.
    pub df: Option<f64>,
    /// Clusters the standard error allowed for.
    pub clusters: Option<usize>,
    pub warnings: Vec<String>,
    pub overlap: Option<Overlap>,
    pub strata: Vec<Stratum>,
    pub first_stage_f: Option<f64>,
    /// Propensity coefficients, reused as the starting point of bootstrap
    /// refits.
    pub ps_start: Option<WarmStart>,
}

impl Fit {
    fn point(estimate: f64) -> Fit {
        Fit {
            estimate,
            ..Fit::default()
        }
    }
}

/// Runs `method` on `data`, with its analytic standard error.
pub(crate) fn fit(method: Method, data: &Data, opts: &Options) -> Result<Fit> {
    run(method, data, opts, true)
}

/// Point estimate only, for bootstrap draws and refuters, where standard
/// errors would be thrown away.
pub(crate) fn point(method: Method, data: &Data, opts: &Options) -> Result<f64> {
    run(method, data, opts, false).map(|f| f.estimate)
}

fn run(method: Method, data: &Data, opts: &Options, with_se: bool) -> Result<Fit> {
    data.check_arms()?;
    let f = match method {
        Method::Naive => naive::fit(data, opts),
        Method::Regression => regression::fit(data, opts, with_se),
        Method::PsStratification => stratification::fit(data, opts),
        Method::PsMatching => matching::fit(data, opts, with_se),
        Method::Ipw => ipw::fit(data, opts, with_se),
        Method::Aipw => aipw::fit(data, opts),
        Method::Iv => iv::fit(data, opts),
    }?;
    if !f.estimate.is_finite() || f.se.is_some_and(|s| !s.is_finite()) {
        return Err(CausalError::NumericalFailure(format!(
            "{} produced a non-finite value",
            method.as_str()
        )));
    }
    Ok(f)
}

/// Splits indices by arm.
pub(crate) fn arms(t: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let n1 = t.iter().filter(|&&v| v > 0.5).count();
    let mut treated = Vec::with_capacity(n1);
    let mut control = Vec::with_capacity(t.len() - n1);
    for (i, &ti) in t.iter().enumerate() {
        if ti > 0.5 {
            treated.push(i);
        } else {
            control.push(i);
        }
    }
    (treated, control)
}
