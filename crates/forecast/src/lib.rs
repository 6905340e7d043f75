//! Time-series forecasting engine of Sprout: a child's stress for the next
//! hours from wearable data, and the next nights' sleep.
//!
//! Pure computation: data in, result out; no I/O, no async, no global state.
//!
//! # Entry points
//!
//! * [`forecast`]: resample a [`Series`] to the step, choose a model by
//!   rolling-origin backtest on the series' own history, forecast `horizon`
//!   steps with calibrated intervals, optionally using known future
//!   [`Event`]s (e.g. a scheduled test).
//! * [`forecast_sleep`]: next nights' duration and bedtime from the nightly
//!   series, with a free-day effect.
//! * [`backtest`]: score any [`ModelChoice`] (including the automatic one)
//!   by refitting at each of several origins; used by tests and benchmarks.
//!
//! # Models
//!
//! * **Seasonal naive** (period one day, and one week): the benchmark every
//!   other model must beat, and the fallback for short histories.
//! * **ETS** with additive errors, no trend and additive daily seasonality,
//!   smoothing parameters fitted by minimising one-step SSE (maximum
//!   likelihood for Gaussian errors) with Nelder–Mead; initial states from a
//!   classical decomposition of the first two days. (Additive and damped
//!   trends are available on request. Both are left out of the automatic
//!   choice: a line extrapolated a day ahead rarely suits a bounded signal
//!   such as stress, and the damped model, the costliest fit, seldom beat
//!   the others on simulated or real series.)
//! * **MSTL + ARMA(1,1)**: daily and weekly seasonal components by MSTL
//!   (iterated STL with loess; STL with the daily period alone while the
//!   training part is under two weeks), repeated forward. The seasonally
//!   adjusted series is forecast by ARMA(1,1) around its mean: its
//!   autocorrelation drops after one hour and then decays slowly (noise on
//!   top of bad days and episodes that fade over many hours), which AR(1)
//!   alone reverts too fast and exponential smoothing not at all.
//! * **Combination**: the equal-weight mean of the three best candidates,
//!   which often beats each of them when none dominates.
//! * **Event regression**, layered on every candidate: each event kind gets
//!   indicators for four 6-hour buckets of the 24 h before it and for its
//!   duration. Their effects are fitted by ridge least squares to the base
//!   model's residuals, the base model is refitted to the event-adjusted
//!   series, and the effects are refitted; the forecast adds the effects of
//!   calendar events ahead. A kind never seen in the training history has no
//!   estimable effect and is ignored.
//! * **Mean**: for a history too short for a daily cycle.
//!
//! # Choice and intervals
//!
//! The history is split once into a training part (parameters, event effects
//! and decompositions are estimated there) and a calibration part (30 % of
//! the history, at most two weeks plus a horizon). Each candidate, with
//! parameters fixed, runs through the calibration part and forecasts from up
//! to 96 origins; the lowest MAE wins. Its errors at each lead time give
//! split-conformal intervals (quantile of absolute errors, pooling adjacent
//! leads), so an 80 % interval covers about 80 % of outcomes. The final
//! forecast runs the same fitted model to the end of the history, except
//! that an MSTL model (alone or in the combination) is fitted again on the
//! whole history: its seasonal cycles and remainder model would otherwise
//! stop where the training part ends, up to two weeks before the forecast.
//! The intervals then describe the same procedure on a slightly shorter
//! history, which if anything overstates the error. Fitting once and
//! replaying the state is what keeps model selection, on two months of
//! hourly data, under a millisecond.
//!
//! Under three days of history there are too few origins to rank models or
//! calibrate intervals; seasonal naive (or the mean) answers, with intervals
//! from in-sample residual quantiles widened by half. Intervals and means are
//! clamped to caller-given bounds (stress lives in `[0, 1]`).
//!
//! Only the last ten weeks of history are used ([`MAX_HISTORY_DAYS`]):
//! enough for four weekly cycles in training, and cost stays bounded.
//!
//! Input gaps are filled after resampling (linearly up to three steps, else
//! from the previous day's shape); filled steps are never scored or used to
//! calibrate. Non-finite values are rejected with [`ForecastError::NonFinite`].
//!
//! # Why these implementations
//!
//! The `augurs` crates (0.10) were evaluated. `augurs-ets` has no seasonal
//! models, which the daily stress cycle needs, and pulls in `nalgebra`,
//! `rand` 0.8 and `rand_distr` for features not used here. `augurs-mstl`
//! is a thin wrapper that adds `augurs-core`, `distrs` and `tracing` around
//! `stlrs`, with intervals from the trend model's Gaussian assumption rather
//! than calibrated ones. This crate first used `stlrs`'s STL directly; it
//! now carries its own port of the same reference algorithm
//! (`models::stl`), whose results a test checks bit for bit against
//! `stlrs` (kept as a dev-dependency). The port computes each loess
//! smoother's weights once per series length instead of at every pass,
//! which cut a forecast's time several-fold: STL was most of it. Around it
//! are the few-line MSTL loop, so that each period's loess settings can be
//! chosen, and the small parts that no crate covers well: seasonal ETS,
//! ARMA(1,1), Nelder–Mead, event regression, conformal calibration and
//! sleep. Each is a few hundred lines of plain arithmetic with no further
//! dependencies.
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use sprout_forecast::{forecast, Event, Options, Series};
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
//! let times: Vec<_> = (0..24 * 21).map(|h| t0 + Duration::hours(h)).collect();
//! let values: Vec<f64> = (0..24 * 21)
//!     .map(|h| 0.3 + 0.2 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
//!     .collect();
//! let series = Series::new(times, values)?;
//! let mut options = Options::hourly();
//! options.bounds = Some((0.0, 1.0));
//! options.events.push(Event {
//!     at: Utc.with_ymd_and_hms(2026, 3, 23, 9, 0, 0).unwrap(),
//!     kind: "math_test".into(),
//! });
//! let fc = forecast(&series, &options)?;
//! assert_eq!(fc.mean.len(), 24);
//! assert!(fc.lower.iter().zip(&fc.upper).all(|(l, u)| l <= u));
//! # Ok::<(), sprout_forecast::ForecastError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backtest;
pub mod conformal;
mod error;
pub mod models;
mod select;
mod series;
mod sleep;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use backtest::{backtest, BacktestSummary, Protocol};
pub use error::ForecastError;
pub use models::ets::Trend;
pub use models::regression::Event;
pub use select::{ModelChoice, MAX_HISTORY_DAYS, MIN_HISTORY_DAYS, MIN_OBSERVATIONS, SHORT_HISTORY_WIDEN};
pub use series::{resample, Resampled, Series};
pub use sleep::{forecast_sleep, Interval, Night, NightForecast, SleepForecast, SLEEP_LEVEL};

/// Longest horizon accepted: two weeks of hourly steps. Beyond that the
/// repeated seasonal cycle is all a model can offer.
pub const MAX_HORIZON: usize = 14 * 24;

/// What to forecast and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Step length in seconds; the series is resampled to it (3600 for hourly).
    pub step_secs: i64,
    /// Number of steps to forecast.
    pub horizon: usize,
    /// Nominal coverage of the intervals, in (0, 1).
    pub level: f64,
    /// Calendar events, past and future; past ones teach their effect,
    /// future ones apply it.
    pub events: Vec<Event>,
    /// Range to clamp forecasts and intervals to, e.g. `(0.0, 1.0)` for stress.
    pub bounds: Option<(f64, f64)>,
    /// Model to use; [`ModelChoice::Auto`] picks by backtest.
    pub model: ModelChoice,
}

impl Options {
    /// Hourly steps, 24 h ahead, 80 % intervals, automatic model, no events or bounds.
    pub fn hourly() -> Self {
        Self {
            step_secs: 3600,
            horizon: 24,
            level: 0.8,
            events: Vec::new(),
            bounds: None,
            model: ModelChoice::Auto,
        }
    }
}

/// A forecast with intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Model that produced it, e.g. `"ets(A,N,A,24)+events"`.
    pub model: String,
    /// Number of steps.
    pub horizon: usize,
    /// Start time of each forecast step.
    pub times: Vec<DateTime<Utc>>,
    /// Point forecast per step.
    pub mean: Vec<f64>,
    /// Lower interval bound per step.
    pub lower: Vec<f64>,
    /// Upper interval bound per step.
    pub upper: Vec<f64>,
    /// Nominal interval coverage.
    pub level: f64,
    /// Future events whose effect is included in the forecast.
    pub events_used: Vec<Event>,
    /// Calibration-set accuracy of the chosen model (coverage cross-fitted);
    /// `None` for the short-history fallback.
    pub backtest: Option<BacktestSummary>,
}

/// Forecasts `options.horizon` steps after the last observation of `series`.
pub fn forecast(series: &Series, options: &Options) -> Result<Forecast, ForecastError> {
    select::validate(options)?;
    let grid = resample(series, options.step_secs)?;
    let start_secs = grid.times.first().map(|t| t.timestamp()).unwrap_or(0);
    select::forecast_grid(
        &select::Grid {
            values: &grid.values,
            filled: &grid.filled,
            start_secs,
            step_secs: options.step_secs,
        },
        options,
    )
}
