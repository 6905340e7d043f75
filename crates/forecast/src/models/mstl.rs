//! Multi-seasonal decomposition (MSTL, periods of a day and a week) with an
//! ARMA(1,1) model of the seasonally adjusted series.
//!
//! The decomposition is MSTL (Bandara, Hyndman and Bergmeir, 2021): STL for
//! each period in turn, shortest first, on the series with the other
//! periods' current seasonal components removed, repeated twice. Each STL is
//! the reference algorithm ([`super::stl`]), with the reference defaults
//! except for how often the trend and low-pass loess are evaluated (see
//! [`LOESS_JUMP_DIVISOR`]). Future seasonal components repeat the last
//! estimated cycle of each period; the trend plus remainder is forecast by
//! ARMA(1,1) around its mean.

use super::arima::{self, ArmaFit};
use super::stl::{Stl, StlSettings};
use super::Run;

/// Outer MSTL iterations; two is the reference implementation's default and
/// further passes change the components very little.
const MSTL_ITERATIONS: usize = 2;

/// STL evaluates its trend and low-pass loess every `window / divisor`
/// steps and interpolates linearly in between. The reference uses 10; these
/// loess curves span a day or a week and are smooth on the scale of a
/// quarter window, so 4 gives the same components to well within the noise
/// at less than half the cost (the decomposition dominates a fit's time).
const LOESS_JUMP_DIVISOR: f32 = 4.0;

/// A fitted MSTL model with its model for the adjusted series.
#[derive(Debug, Clone)]
pub(crate) struct MstlFit {
    periods: Vec<usize>,
    /// Seasonal components over the training range, one vector per period.
    seasonal: Vec<Vec<f64>>,
    adjusted_model: ArmaFit,
}

/// Fits the decomposition on `y`, then ARMA(1,1) on the seasonally adjusted
/// values. Needs at least two cycles of the longest period.
pub(crate) fn fit(y: &[f64], periods: &[usize]) -> Option<MstlFit> {
    let longest = periods.iter().copied().max()?;
    if y.len() < 2 * longest || periods.iter().any(|&p| p < 2) {
        return None;
    }
    let seasonal = decompose(y, periods)?;
    let adjusted: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v - seasonal_at(periods, &seasonal, t))
        .collect();
    Some(MstlFit {
        periods: periods.to_vec(),
        seasonal,
        adjusted_model: arima::fit(&adjusted)?,
    })
}

/// Odd window of at least 3, as STL requires.
fn odd_window(len: usize) -> usize {
    len.max(3) | 1
}

/// The MSTL loop; returns one seasonal component per period (in the order given).
fn decompose(y: &[f64], periods: &[usize]) -> Option<Vec<Vec<f64>>> {
    let mut order: Vec<usize> = (0..periods.len()).collect();
    order.sort_by_key(|&i| periods[i]);
    let iterations = if periods.len() == 1 { 1 } else { MSTL_ITERATIONS };
    // One STL per period, planned once: its loess weights serve every iteration.
    let stls: Vec<Stl> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| Stl::new(y.len(), stl_settings(periods[i], rank)))
        .collect::<Option<_>>()?;
    let mut deseasonalised = y.to_vec();
    let mut seasonal = vec![Vec::new(); periods.len()];
    for iteration in 0..iterations {
        for (&i, stl) in order.iter().zip(&stls) {
            if iteration > 0 {
                deseasonalised
                    .iter_mut()
                    .zip(&seasonal[i])
                    .for_each(|(d, s)| *d += s);
            }
            let component = stl.seasonal(&deseasonalised);
            deseasonalised
                .iter_mut()
                .zip(&component)
                .for_each(|(d, s)| *d -= s);
            seasonal[i] = component;
        }
    }
    Some(seasonal)
}

/// The reference defaults for the period of the given rank (shortest first):
/// seasonal windows 11, 15, ...; trend and low-pass windows from the period;
/// the seasonal loess evaluated every tenth of its window.
fn stl_settings(period: usize, rank: usize) -> StlSettings {
    let seasonal_len = 7 + 4 * (rank + 1);
    let trend_len = odd_window(((1.5 * period as f32) / (1.0 - 1.5 / seasonal_len as f32)).ceil() as usize);
    let low_pass_len = odd_window(period);
    let jump = |window: usize, divisor: f32| ((window as f32 / divisor).ceil() as usize).max(1);
    StlSettings {
        period,
        seasonal_len,
        trend_len,
        low_pass_len,
        seasonal_jump: jump(seasonal_len, 10.0),
        trend_jump: jump(trend_len, LOESS_JUMP_DIVISOR),
        low_pass_jump: jump(low_pass_len, LOESS_JUMP_DIVISOR),
    }
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

    fn adjusted(&self, y: &[f64]) -> Vec<f64> {
        y.iter()
            .enumerate()
            .map(|(t, v)| v - seasonal_at(&self.periods, &self.seasonal, t))
            .collect()
    }

    /// Refits the adjusted-series model to `y` (same length as the original
    /// training data) keeping the seasonal components: used after event
    /// effects are removed, which barely move loess-smoothed seasonal cycles.
    pub fn refit(&self, y: &[f64]) -> Option<MstlFit> {
        Some(MstlFit {
            periods: self.periods.clone(),
            seasonal: self.seasonal.clone(),
            adjusted_model: arima::fit(&self.adjusted(y))?,
        })
    }

    /// Same contract as [`super::ets::EtsFit::run`].
    pub fn run(&self, y: &[f64], origins: &[usize], h: usize, residuals: bool) -> Run {
        let mut run = self.adjusted_model.run(&self.adjusted(y), origins, h, residuals);
        for (fc, &o) in run.forecasts.chunks_exact_mut(h.max(1)).zip(origins) {
            for (j, v) in fc.iter_mut().enumerate() {
                *v += seasonal_at(&self.periods, &self.seasonal, o + j);
            }
        }
        run
    }
}
