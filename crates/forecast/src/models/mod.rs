//! Forecasting models: benchmarks, exponential smoothing, multi-seasonal decomposition, event regression.

pub(crate) mod arima;
pub mod ets;
pub(crate) mod mstl;
pub(crate) mod naive;
pub(crate) mod optim;
pub mod regression;
pub(crate) mod stl;
