//! Patterns in a child's own history that a parent can recognise, each with a test of
//! whether it is more than chance: "stress is 0.12 higher than usual in the day before
//! a test".

use crate::calendar::{assessment_dates, free_days, is_school_day};
use crate::ChildData;
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;

/// The stretch before a test that is compared: the day leading up to it.
const LEAD_UP: Duration = Duration::hours(24);
/// Fewest evenings on each side for a comparison at all.
const MIN_EVENINGS: usize = 3;
/// A pattern is reported when its two-sided p-value is below this.
pub const SIGNIFICANCE: f64 = 0.05;

/// A difference between the day before a test and the day before other school days.
#[derive(Debug, Clone, Serialize)]
pub struct PreTestPattern {
    /// Mean stress in the 24 hours before a test minus in the same hours before other
    /// school days.
    pub difference: f64,
    pub evenings_before_tests: usize,
    pub other_evenings: usize,
    /// Welch's t-test, two-sided (normal approximation of the t distribution).
    pub p_value: f64,
    pub significant: bool,
}

/// Mean stress in `[end - LEAD_UP, end)`, when there are enough readings.
fn lead_up_mean(data: &ChildData<'_>, end: chrono::DateTime<Utc>) -> Option<f64> {
    let start = data.samples.partition_point(|s| s.time < end - LEAD_UP);
    let stop = data.samples.partition_point(|s| s.time < end);
    let values: Vec<f64> = data
        .samples
        .get(start..stop)?
        .iter()
        .filter_map(|s| s.stress_level)
        .collect();
    (values.len() >= 24).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Compares the day before each assessment with the same hours before other school days.
pub fn pre_test_pattern(data: &ChildData<'_>) -> Option<PreTestPattern> {
    let tests: Vec<chrono::DateTime<Utc>> = data
        .events
        .iter()
        .filter(|e| e.event_type.is_assessment())
        .map(|e| e.start)
        .collect();
    let test_dates = assessment_dates(data.events, data.tz);
    let calendar = free_days(data.events, data.tz);
    let (first, last) = (data.samples.first()?.time, data.samples.last()?.time);
    let before: Vec<f64> = tests
        .iter()
        .filter(|t| **t <= last)
        .filter_map(|t| lead_up_mean(data, *t))
        .collect();
    // Other school days, at the clock time tests usually start.
    let mut clock: Vec<NaiveTime> = tests.iter().map(|t| t.with_timezone(&data.tz).time()).collect();
    clock.sort_unstable();
    let usual = clock
        .get(clock.len() / 2)
        .copied()
        .or_else(|| NaiveTime::from_hms_opt(9, 0, 0))?;
    let mut other = Vec::new();
    let mut day: NaiveDate = first.with_timezone(&data.tz).date_naive() + Duration::days(1);
    while day <= last.with_timezone(&data.tz).date_naive() {
        if is_school_day(day, &calendar) && test_dates.binary_search(&day).is_err() {
            let end = data
                .tz
                .from_local_datetime(&day.and_time(usual))
                .earliest()
                .map(|t| t.with_timezone(&Utc));
            if let Some(mean) = end.filter(|e| *e <= last).and_then(|e| lead_up_mean(data, e)) {
                other.push(mean);
            }
        }
        day += Duration::days(1);
    }
    if before.len() < MIN_EVENINGS || other.len() < MIN_EVENINGS {
        return None;
    }
    let (m1, v1) = mean_var(&before);
    let (m2, v2) = mean_var(&other);
    let se = (v1 / before.len() as f64 + v2 / other.len() as f64).sqrt();
    let difference = m1 - m2;
    let p_value = if se > 0.0 {
        2.0 * (1.0 - normal_cdf((difference / se).abs()))
    } else {
        1.0
    };
    Some(PreTestPattern {
        difference,
        evenings_before_tests: before.len(),
        other_evenings: other.len(),
        p_value,
        significant: p_value < SIGNIFICANCE,
    })
}

fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var)
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, error below 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn normal_cdf_is_accurate() {
        assert!((super::normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((super::normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((super::normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }
}
