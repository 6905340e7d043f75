//! Multi-seasonal decomposition (MSTL, periods of a day and a week) with a
//! non-seasonal ETS model on the seasonally adjusted series.
//!
//! The decomposition is `stlrs`'s MSTL (iterated STL with loess smoothing, a
//! faithful port of the reference algorithm). Future seasonal components
//! repeat the last estimated cycle of each period; the trend plus remainder is
//! forecast by ETS without seasonality (as in the usual STL-ETS forecaster)
//! or by AR(1) around its mean.

use super::arima::{self, ArFit};
use super::ets::{EtsFit, EtsSpec, Trend};

/// Outer MSTL iterations; two is the reference implementation's default and
/// further passes change the components very little.
const MSTL_ITERATIONS: usize = 2;

/// Model for the seasonally adjusted series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adjusted {
    /// Non-seasonal ETS with this trend.
    Ets(Trend),
    /// AR(1) around the mean.
    Ar,
}

#[derive(Debug, Clone)]
enum AdjustedFit {
    Ets(EtsFit),
    Ar(ArFit),
}

impl AdjustedFit {
    fn name(&self) -> String {
        match self {
            AdjustedFit::Ets(f) => f.name(),
            AdjustedFit::Ar(f) => f.name(),
        }
    }

    fn run(&self, y: &[f64], origins: &[usize], h: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        match self {
            AdjustedFit::Ets(f) => f.run(y, origins, h),
            AdjustedFit::Ar(f) => f.run(y, origins, h),
        }
    }
}

/// A fitted MSTL model with its model for the adjusted series.
#[derive(Debug, Clone)]
pub(crate) struct MstlFit {
    periods: Vec<usize>,
    /// Seasonal components over the training range, one vector per period.
    seasonal: Vec<Vec<f64>>,
    adjusted_model: AdjustedFit,
}

/// Fits the decomposition on `y`, then each of `models` on the seasonally
/// adjusted values; the decomposition (the costly part) is shared.
/// Needs at least two cycles of the longest period.
pub(crate) fn fit(y: &[f64], periods: &[usize], models: &[Adjusted]) -> Vec<MstlFit> {
    let Some(longest) = periods.iter().copied().max() else {
        return Vec::new();
    };
    if y.len() < 2 * longest || periods.iter().any(|&p| p < 2) {
        return Vec::new();
    }
    let Ok(result) = stlrs::Mstl::params().iterations(MSTL_ITERATIONS).fit(y, periods) else {
        return Vec::new();
    };
    let (seasonal, _, _) = result.into_parts();
    let adjusted: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v - seasonal_at(periods, &seasonal, t))
        .collect();
    models
        .iter()
        .filter_map(|&model| {
            Some(MstlFit {
                periods: periods.to_vec(),
                seasonal: seasonal.clone(),
                adjusted_model: fit_adjusted(model, &adjusted)?,
            })
        })
        .collect()
}

fn fit_adjusted(model: Adjusted, adjusted: &[f64]) -> Option<AdjustedFit> {
    Some(match model {
        Adjusted::Ets(trend) => AdjustedFit::Ets(EtsSpec { trend, period: None }.fit(adjusted)?),
        Adjusted::Ar => AdjustedFit::Ar(arima::fit(adjusted)?),
    })
}

/// Total seasonal effect at time index `t`: the decomposition inside the
/// training range, the last cycle repeated after it.
fn seasonal_at(periods: &[usize], seasonal: &[Vec<f64>], t: usize) -> f64 {
    periods
        .iter()
        .zip(seasonal)
        .map(|(&p, comp)| {
            let n = comp.len();
            if t < n {
                comp[t]
            } else {
                comp[n - p + (t - (n - p)) % p]
            }
        })
        .sum()
}

impl MstlFit {
    pub fn name(&self) -> String {
        let periods: Vec<String> = self.periods.iter().map(|p| p.to_string()).collect();
        format!("mstl({})+{}", periods.join(","), self.adjusted_model.name())
    }

    fn seasonal_at(&self, t: usize) -> f64 {
        seasonal_at(&self.periods, &self.seasonal, t)
    }

    /// Refits the adjusted-series model to `y` (same length as the original
    /// training data) keeping the seasonal components: used after event
    /// effects are removed, which barely move loess-smoothed seasonal cycles.
    pub fn refit(&self, y: &[f64]) -> Option<MstlFit> {
        let adjusted: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| v - self.seasonal_at(t))
            .collect();
        let adjusted_model = match &self.adjusted_model {
            AdjustedFit::Ets(f) => AdjustedFit::Ets(f.refit(&adjusted)?),
            AdjustedFit::Ar(_) => AdjustedFit::Ar(arima::fit(&adjusted)?),
        };
        Some(MstlFit {
            periods: self.periods.clone(),
            seasonal: self.seasonal.clone(),
            adjusted_model,
        })
    }

    /// Same contract as [`EtsFit::run`].
    pub fn run(&self, y: &[f64], origins: &[usize], h: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let adjusted: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| v - self.seasonal_at(t))
            .collect();
        let (mut forecasts, residuals) = self.adjusted_model.run(&adjusted, origins, h);
        for (fc, &o) in forecasts.iter_mut().zip(origins) {
            for (j, v) in fc.iter_mut().enumerate() {
                *v += self.seasonal_at(o + j);
            }
        }
        (forecasts, residuals)
    }
}
