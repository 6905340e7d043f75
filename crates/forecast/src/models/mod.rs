//! Forecasting models: benchmarks, exponential smoothing, multi-seasonal decomposition, event regression.

pub(crate) mod arima;
pub mod ets;
pub(crate) mod mstl;
pub(crate) mod naive;
pub(crate) mod optim;
pub mod regression;
pub(crate) mod stl;

/// What a fitted model's run through a series produces.
pub(crate) struct Run {
    /// The `h`-step forecast from each origin, one after another (`h` values
    /// per origin in one vector, which spares an allocation per origin).
    pub forecasts: Vec<f64>,
    /// One-step residuals over the whole series; empty unless asked for.
    pub residuals: Vec<f64>,
}
