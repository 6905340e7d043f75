//! Next nights' sleep duration and bedtime from the nightly history, with a
//! free-day effect (nights before a weekend or holiday run later and longer).
//!
//! Each quantity is modelled as a slowly moving level plus a fixed free-day
//! offset: the offset is the difference of recent free-day and school-night
//! means, the level an exponentially weighted mean of offset-adjusted nights.
//! Nightly data are short and noisy, so anything richer overfits.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::conformal::conformal_quantile;
use crate::error::ForecastError;
use crate::select::{MIN_OBSERVATIONS, SHORT_HISTORY_WIDEN};

/// Nominal coverage of sleep intervals.
pub const SLEEP_LEVEL: f64 = 0.8;

/// Smoothing weight of the newest night: about a week's effective memory,
/// long enough to damp one bad night, short enough to follow a new routine.
const SLEEP_SMOOTHING: f64 = 0.25;

/// Free-day effect and residual spread use the most recent nights only
/// (four weeks), so term and holiday routines do not mix for long.
const SLEEP_WINDOW_NIGHTS: usize = 28;

/// Each kind of night needs this many examples before an effect is estimated.
const MIN_NIGHTS_PER_KIND: usize = 2;

/// Below this many residuals the quantile is crude, so intervals are widened.
const MIN_RESIDUALS_FOR_QUANTILE: usize = 7;

/// One recorded night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Night {
    /// Date on which the night starts (the evening's date).
    pub date: NaiveDate,
    /// Sleep duration in hours.
    pub duration_h: f64,
    /// Bedtime as minutes after 18:00 local time (so 21:30 is 210, 00:30 is 390).
    pub bedtime_min: f64,
    /// True when the following day is free (weekend, holiday).
    pub free_day: bool,
}

/// A point forecast with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point forecast.
    pub mean: f64,
    /// Lower interval bound.
    pub lower: f64,
    /// Upper interval bound.
    pub upper: f64,
}

/// Forecast for one upcoming night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NightForecast {
    /// 0 for the next night, 1 for the one after, ...
    pub index: usize,
    /// Whether the caller said this night precedes a free day.
    pub free_day: bool,
    /// Sleep duration, hours.
    pub duration_h: Interval,
    /// Bedtime, minutes after 18:00.
    pub bedtime_min: Interval,
}

/// Forecast for the upcoming nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SleepForecast {
    /// One entry per element of `upcoming_free`.
    pub nights: Vec<NightForecast>,
    /// Nominal interval coverage.
    pub level: f64,
    /// Estimated extra sleep before a free day, hours (0 when not estimable).
    pub free_day_duration_effect_h: f64,
    /// Estimated bedtime shift before a free day, minutes (0 when not estimable).
    pub free_day_bedtime_effect_min: f64,
}

struct Fitted {
    level: f64,
    effect: f64,
    width: f64,
}

fn fit(values: &[f64], free: &[bool]) -> Fitted {
    let recent = values.len().saturating_sub(SLEEP_WINDOW_NIGHTS);
    let (mut free_sum, mut free_n, mut school_sum, mut school_n) = (0.0, 0usize, 0.0, 0usize);
    for (v, f) in values[recent..].iter().zip(&free[recent..]) {
        if *f {
            free_sum += v;
            free_n += 1;
        } else {
            school_sum += v;
            school_n += 1;
        }
    }
    let effect = if free_n >= MIN_NIGHTS_PER_KIND && school_n >= MIN_NIGHTS_PER_KIND {
        free_sum / free_n as f64 - school_sum / school_n as f64
    } else {
        0.0
    };
    let adjusted: Vec<f64> = values
        .iter()
        .zip(free)
        .map(|(v, f)| if *f { v - effect } else { *v })
        .collect();
    // Start from the mean of the first few nights so the level is not one night's noise.
    let warm = adjusted.len().min(MIN_NIGHTS_PER_KIND + 1);
    let mut level = adjusted[..warm].iter().sum::<f64>() / warm as f64;
    let mut residuals = Vec::with_capacity(adjusted.len());
    for (i, z) in adjusted.iter().enumerate() {
        if i >= warm {
            residuals.push(z - level);
        }
        level += SLEEP_SMOOTHING * (z - level);
    }
    let recent_res = &residuals[residuals.len().saturating_sub(SLEEP_WINDOW_NIGHTS)..];
    let mut width = conformal_quantile(recent_res.iter().copied(), SLEEP_LEVEL);
    if recent_res.len() < MIN_RESIDUALS_FOR_QUANTILE {
        width *= SHORT_HISTORY_WIDEN;
    }
    Fitted { level, effect, width }
}

/// Forecasts sleep for the nights described by `upcoming_free` (true where the
/// night precedes a free day), given past nights in any order.
pub fn forecast_sleep(nights: &[Night], upcoming_free: &[bool]) -> Result<SleepForecast, ForecastError> {
    if nights.len() < MIN_OBSERVATIONS {
        return Err(ForecastError::TooShort {
            needed: MIN_OBSERVATIONS,
            got: nights.len(),
        });
    }
    for (index, n) in nights.iter().enumerate() {
        for value in [n.duration_h, n.bedtime_min] {
            if !value.is_finite() {
                return Err(ForecastError::NonFinite { index, value });
            }
        }
    }
    let mut sorted: Vec<&Night> = nights.iter().collect();
    sorted.sort_by_key(|n| n.date);
    let free: Vec<bool> = sorted.iter().map(|n| n.free_day).collect();
    let duration: Vec<f64> = sorted.iter().map(|n| n.duration_h).collect();
    let bedtime: Vec<f64> = sorted.iter().map(|n| n.bedtime_min).collect();
    let d = fit(&duration, &free);
    let b = fit(&bedtime, &free);

    let interval = |f: &Fitted, k: usize, is_free: bool, range: (f64, f64)| {
        let mean = f.level + if is_free { f.effect } else { 0.0 };
        // Error variance of an exponentially weighted level grows by alpha^2 per step ahead.
        let w = f.width * (1.0 + k as f64 * SLEEP_SMOOTHING * SLEEP_SMOOTHING).sqrt();
        Interval {
            mean: mean.clamp(range.0, range.1),
            lower: (mean - w).clamp(range.0, range.1),
            upper: (mean + w).clamp(range.0, range.1),
        }
    };
    let nights_out = upcoming_free
        .iter()
        .enumerate()
        .map(|(k, &is_free)| NightForecast {
            index: k,
            free_day: is_free,
            duration_h: interval(&d, k, is_free, (0.0, 24.0)),
            bedtime_min: interval(&b, k, is_free, (f64::MIN, f64::MAX)),
        })
        .collect();
    Ok(SleepForecast {
        nights: nights_out,
        level: SLEEP_LEVEL,
        free_day_duration_effect_h: d.effect,
        free_day_bedtime_effect_min: b.effect,
    })
}
