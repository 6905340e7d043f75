//! The next hours of a child's stress and the next nights of their sleep.

use crate::calendar::{free_days, is_school_day};
use crate::{ChildData, InsightError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sprout_chrono::msf::{nights, sleep_days};
use sprout_chrono::SleepEpisode as EngineEpisode;
use sprout_forecast::{forecast, forecast_sleep, Event, Night, Options, Series, SleepForecast};

/// Stress history the forecaster looks at: it uses at most ten weeks itself, and a
/// longer load only costs time.
pub const STRESS_HISTORY: Duration = Duration::days(70);
/// Level of every stress interval shown to parents: wide enough to be honest, narrow
/// enough to be useful.
pub const STRESS_LEVEL: f64 = 0.8;
/// Nights of sleep history the sleep forecast learns from.
const SLEEP_HISTORY_NIGHTS: usize = 56;

/// The stress forecast as the API shows it (and as the cache keeps it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StressForecast {
    pub model: String,
    pub level: f64,
    pub times: Vec<DateTime<Utc>>,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// The calendar events the forecast took into account.
    pub events: Vec<ForecastEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForecastEvent {
    pub event_type: String,
    pub start: DateTime<Utc>,
}

/// Hourly stress for the next `hours`, from the last sample on, with the child's
/// upcoming assessments as known future events.
pub fn stress_forecast(data: &ChildData<'_>, hours: usize) -> Result<StressForecast, InsightError> {
    let since = data.now - STRESS_HISTORY;
    // Complete hours only: a half-measured hour's mean is a noisy reading of it, and the
    // current hour is what the forecast starts with. (It also lets a cache keep one
    // forecast per hour while samples of that hour arrive.)
    let hour_start =
        DateTime::from_timestamp(data.now.timestamp().div_euclid(3_600) * 3_600, 0).unwrap_or(data.now);
    // Hourly means first: the forecaster works hourly anyway, and handing it a minute
    // series only makes it resample tens of thousands of points on every call.
    let mut hourly: Vec<(i64, f64, u32)> = Vec::new();
    for sample in data
        .samples
        .iter()
        .filter(|s| s.time > since && s.time < hour_start)
    {
        let Some(value) = sample.stress_level else {
            continue;
        };
        let hour = sample.time.timestamp().div_euclid(3_600);
        match hourly.last_mut() {
            Some((h, sum, n)) if *h == hour => {
                *sum += value;
                *n += 1;
            }
            _ => hourly.push((hour, value, 1)),
        }
    }
    if hourly.is_empty() {
        return Err(InsightError::NotEnoughData("no stress readings yet".into()));
    }
    let (times, values): (Vec<_>, Vec<_>) = hourly
        .iter()
        .filter_map(|(hour, sum, n)| Some((DateTime::from_timestamp(hour * 3_600, 0)?, sum / f64::from(*n))))
        .unzip();
    let series = Series::new(times, values)?;
    let events: Vec<Event> = data
        .events
        .iter()
        .filter(|e| e.event_type.is_assessment())
        .map(|e| Event {
            at: e.start,
            kind: e.event_type.as_str().to_owned(),
        })
        .collect();
    let options = Options {
        horizon: hours,
        level: STRESS_LEVEL,
        events,
        bounds: Some((0.0, 1.0)),
        ..Options::hourly()
    };
    let result = forecast(&series, &options)?;
    Ok(StressForecast {
        model: result.model,
        level: result.level,
        times: result.times,
        mean: result.mean,
        lower: result.lower,
        upper: result.upper,
        events: result
            .events_used
            .into_iter()
            .map(|e| ForecastEvent {
                event_type: e.kind,
                start: e.at,
            })
            .collect(),
    })
}

/// One forecast night as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NightOutlook {
    /// The evening the night starts.
    pub date: NaiveDate,
    /// The next day is free (weekend or holiday).
    pub before_free_day: bool,
    pub duration_hours: Range,
    /// Bedtime, local clock, e.g. "21:10".
    pub bedtime: ClockRange,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Range {
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClockRange {
    pub mean: String,
    pub lower: String,
    pub upper: String,
}

/// The next `count` nights' sleep duration and bedtime, from the child's recent nights
/// and whether each upcoming night precedes a free day.
pub fn sleep_outlook(data: &ChildData<'_>, count: usize) -> Result<(Vec<NightOutlook>, f64), InsightError> {
    let calendar = free_days(data.events, data.tz);
    let episodes: Vec<EngineEpisode> = data
        .sleep_episodes
        .iter()
        .filter(|e| e.offset <= data.now)
        .filter_map(|e| EngineEpisode::new(e.onset, e.offset).ok())
        .collect();
    let history: Vec<Night> = nights(&sleep_days(&episodes, data.tz), data.tz, &calendar)
        .into_iter()
        .rev()
        .take(SLEEP_HISTORY_NIGHTS)
        .rev()
        .filter_map(|n| {
            Some(Night {
                date: n.wake_date.pred_opt()?,
                duration_h: n.duration_hours,
                // Onset is hours from the wake day's midnight (-2.5 = 21:30); the
                // forecaster takes minutes after 18:00.
                bedtime_min: (n.onset_hours + 6.0) * 60.0,
                free_day: n.day_type == sprout_chrono::DayType::Free,
            })
        })
        .collect();
    let today = data.now.with_timezone(&data.tz).date_naive();
    let evenings: Vec<NaiveDate> = (0..count as i64).map(|i| today + Duration::days(i)).collect();
    let upcoming: Vec<bool> = evenings
        .iter()
        .map(|d| !is_school_day(*d + Duration::days(1), &calendar))
        .collect();
    let SleepForecast {
        nights: forecast_nights,
        level,
        ..
    } = forecast_sleep(&history, &upcoming)?;
    let outlook = forecast_nights
        .into_iter()
        .zip(evenings)
        .map(|(night, date)| NightOutlook {
            date,
            before_free_day: night.free_day,
            duration_hours: Range {
                mean: night.duration_h.mean,
                lower: night.duration_h.lower,
                upper: night.duration_h.upper,
            },
            bedtime: ClockRange {
                mean: clock(night.bedtime_min.mean),
                lower: clock(night.bedtime_min.lower),
                upper: clock(night.bedtime_min.upper),
            },
        })
        .collect();
    Ok((outlook, level))
}

/// Minutes after 18:00 as a local clock time ("21:30").
fn clock(minutes_after_six_pm: f64) -> String {
    let total = (18.0 * 60.0 + minutes_after_six_pm)
        .round()
        .rem_euclid(24.0 * 60.0) as i64;
    format!("{:02}:{:02}", total / 60, total % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_times_wrap_past_midnight() {
        assert_eq!(super::clock(210.0), "21:30");
        assert_eq!(super::clock(390.0), "00:30");
        assert_eq!(super::clock(-30.0), "17:30");
    }
}
