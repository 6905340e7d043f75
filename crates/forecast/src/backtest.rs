//! Rolling-origin backtest of the full forecasting procedure: refit at each
//! origin on the history before it, score the next `horizon` steps.

use serde::{Deserialize, Serialize};

use crate::error::ForecastError;
use crate::models::naive;
use crate::models::regression::Event;
use crate::select::{self, Grid, ModelChoice};
use crate::series::{resample, Series};
use crate::Options;

/// How a backtest is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Number of forecast origins.
    pub origins: usize,
    /// Steps between consecutive origins.
    pub stride: usize,
    /// Steps forecast from each origin.
    pub horizon: usize,
    /// Step length in seconds (the series is resampled to it).
    pub step_secs: i64,
    /// Nominal interval coverage.
    pub level: f64,
    /// Known events (the calendar), past and future relative to each origin.
    pub events: Vec<Event>,
    /// Value range to clamp forecasts and intervals to.
    pub bounds: Option<(f64, f64)>,
}

impl Protocol {
    /// Hourly steps, 24 h horizon, 80 % intervals, `origins` origins a day apart.
    pub fn hourly(origins: usize) -> Self {
        Self {
            origins,
            stride: 24,
            horizon: 24,
            step_secs: 3600,
            level: 0.8,
            events: Vec::new(),
            bounds: None,
        }
    }
}

/// Accuracy of a forecasting procedure over several origins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSummary {
    /// Origins actually scored.
    pub origins: usize,
    /// Steps forecast from each origin.
    pub horizon: usize,
    /// Mean absolute error over all scored steps.
    pub mae: f64,
    /// MAE divided by the in-sample one-step seasonal naive MAE (period one
    /// day) of the history before the first origin; `None` when that is zero.
    pub mase: Option<f64>,
    /// Share of outcomes inside the forecast interval; `None` when nothing was scored.
    pub coverage: Option<f64>,
}

/// Runs `model` from `protocol.origins` origins, the last one `horizon` steps
/// before the end of the series, each refitting on the history before it.
/// Filled (missing) steps are not scored.
pub fn backtest(
    series: &Series,
    model: ModelChoice,
    protocol: &Protocol,
) -> Result<BacktestSummary, ForecastError> {
    let opts = Options {
        step_secs: protocol.step_secs,
        horizon: protocol.horizon,
        level: protocol.level,
        events: protocol.events.clone(),
        bounds: protocol.bounds,
        model,
    };
    select::validate(&opts)?;
    if protocol.origins == 0 || protocol.stride == 0 {
        return Err(ForecastError::InvalidOption {
            name: "origins",
            reason: "origins and stride must be positive".into(),
        });
    }
    let grid = resample(series, protocol.step_secs)?;
    let n = grid.values.len();
    let h = protocol.horizon;
    let span = (protocol.origins - 1)
        .checked_mul(protocol.stride)
        .and_then(|s| s.checked_add(h + select::MIN_OBSERVATIONS))
        .unwrap_or(usize::MAX);
    if n < span {
        return Err(ForecastError::TooShort { needed: span, got: n });
    }
    let first_origin = n - h - (protocol.origins - 1) * protocol.stride;
    let period = grid.steps_per_day().unwrap_or(1);
    let scale = naive::seasonal_naive_mae(&grid.values[..first_origin], period);
    let start_secs = grid.times.first().map(|t| t.timestamp()).unwrap_or(0);

    let (mut abs_sum, mut hits, mut count) = (0.0, 0usize, 0usize);
    for k in 0..protocol.origins {
        let o = first_origin + k * protocol.stride;
        let sub = Grid {
            values: &grid.values[..o],
            filled: &grid.filled[..o],
            start_secs,
            step_secs: protocol.step_secs,
        };
        let fc = select::forecast_grid(&sub, &opts)?;
        for j in 0..h {
            if grid.filled[o + j] {
                continue;
            }
            let actual = grid.values[o + j];
            abs_sum += (actual - fc.mean[j]).abs();
            hits += usize::from(actual >= fc.lower[j] && actual <= fc.upper[j]);
            count += 1;
        }
    }
    let mae = if count > 0 {
        abs_sum / count as f64
    } else {
        f64::NAN
    };
    Ok(BacktestSummary {
        origins: protocol.origins,
        horizon: h,
        mae,
        mase: scale.filter(|_| count > 0).map(|s| mae / s),
        coverage: (count > 0).then(|| hits as f64 / count as f64),
    })
}
