//! One child's data, as the analyses take it.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sprout_domain::{Intervention, Sample, SchoolEvent, SleepEpisode};

/// Everything known about one child, sorted by time.
#[derive(Debug, Clone, Copy)]
pub struct ChildData<'a> {
    pub tz: Tz,
    pub birth_date: NaiveDate,
    pub samples: &'a [Sample],
    pub events: &'a [SchoolEvent],
    pub interventions: &'a [Intervention],
    pub sleep_episodes: &'a [SleepEpisode],
    /// The moment the analysis is for (forecasts start after the last sample before it).
    pub now: DateTime<Utc>,
}

impl ChildData<'_> {
    /// Age in years (fractional) at `now`.
    pub fn age_years(&self) -> f64 {
        let days = (self.now.date_naive() - self.birth_date).num_days().max(0);
        days as f64 / 365.25
    }
}

/// Why an analysis could not answer.
#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    /// Too little data for this analysis yet; the message says what is missing.
    #[error("not enough data yet: {0}")]
    NotEnoughData(String),
    #[error("forecast failed: {0}")]
    Forecast(#[from] sprout_forecast::ForecastError),
}
