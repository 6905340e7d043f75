//! Hourly and daily roll-ups of samples, in the child's own clock.
//!
//! Buckets follow the child's local hours and days, so "Tuesday" means the child's
//! Tuesday and a DST change gives a 23- or 25-hour day rather than a shifted one.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sprout_domain::Sample;

/// How coarse a roll-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Hour,
    Day,
}

/// Count, mean and range of one measurement in a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub count: u64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(skip)]
    sum: f64,
}

impl Summary {
    fn add(&mut self, value: Option<f64>) {
        let Some(v) = value else { return };
        self.count += 1;
        self.sum += v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.mean = Some(self.sum / self.count as f64);
    }
}

/// One hour or day of a child's samples.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// Start of the local hour or day, as an instant.
    pub start: DateTime<Utc>,
    /// Start of the next bucket.
    pub end: DateTime<Utc>,
    pub samples: u64,
    pub stress_level: Summary,
    pub heart_rate: Summary,
    pub hrv_ms: Summary,
    pub steps: Summary,
    /// Samples whose sleep state was one of the asleep stages.
    pub asleep_samples: u64,
}

/// The instant at which the local hour or day containing `time` began.
pub fn bucket_start(time: DateTime<Utc>, tz: Tz, resolution: Resolution) -> DateTime<Utc> {
    let local = time.with_timezone(&tz);
    match resolution {
        // Going back by the local minutes and seconds lands on the top of the local hour
        // even where the zone's offset is not whole hours.
        Resolution::Hour => {
            time - Duration::seconds(i64::from(local.minute()) * 60 + i64::from(local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()))
        }
        Resolution::Day => local_day_start(local.date_naive(), tz).unwrap_or(time),
    }
}

/// Local midnight, or the first instant of the day where midnight was skipped by DST.
fn local_day_start(date: chrono::NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    (0..=2).find_map(|hour| {
        let naive = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?);
        tz.from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

fn next_bucket(start: DateTime<Utc>, tz: Tz, resolution: Resolution) -> DateTime<Utc> {
    match resolution {
        Resolution::Hour => start + Duration::hours(1),
        Resolution::Day => {
            let date = start.with_timezone(&tz).date_naive();
            date.succ_opt()
                .and_then(|d| local_day_start(d, tz))
                .unwrap_or(start + Duration::days(1))
        }
    }
}

/// Folds time-ordered samples into buckets, appending to `buckets`.
pub fn fold(buckets: &mut Vec<Bucket>, samples: &[Sample], tz: Tz, resolution: Resolution) {
    for sample in samples {
        let start = bucket_start(sample.time, tz, resolution);
        let bucket = match buckets.last_mut() {
            Some(last) if last.start == start => last,
            _ => {
                buckets.push(Bucket {
                    start,
                    end: next_bucket(start, tz, resolution),
                    samples: 0,
                    stress_level: Summary::default(),
                    heart_rate: Summary::default(),
                    hrv_ms: Summary::default(),
                    steps: Summary::default(),
                    asleep_samples: 0,
                });
                match buckets.last_mut() {
                    Some(b) => b,
                    None => continue,
                }
            }
        };
        bucket.samples += 1;
        bucket.stress_level.add(sample.stress_level);
        bucket.heart_rate.add(sample.heart_rate);
        bucket.hrv_ms.add(sample.hrv_ms);
        bucket.steps.add(sample.steps.map(|s| s as f64));
        bucket.asleep_samples += u64::from(sample.sleep_state.is_some_and(|s| s.is_asleep()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn sample(time: DateTime<Utc>, stress: f64) -> Sample {
        Sample {
            time,
            stress_level: Some(stress),
            heart_rate: None,
            hrv_ms: None,
            sleep_state: None,
            steps: None,
        }
    }

    #[test]
    fn days_follow_the_childs_clock_across_dst() {
        let tz: Tz = "Europe/Berlin".parse().expect("zone");
        // 2026-03-29 is the spring-forward day in Berlin: 23 hours long.
        let start = bucket_start(t("2026-03-29T12:00:00Z"), tz, Resolution::Day);
        assert_eq!(start, t("2026-03-28T23:00:00Z"));
        assert_eq!(next_bucket(start, tz, Resolution::Day), t("2026-03-29T22:00:00Z"));
    }

    #[test]
    fn hours_follow_fractional_offsets() {
        let tz: Tz = "Asia/Kolkata".parse().expect("zone");
        assert_eq!(
            bucket_start(t("2026-03-01T10:45:10Z"), tz, Resolution::Hour),
            t("2026-03-01T10:30:00Z")
        );
    }

    #[test]
    fn summaries_are_exact() {
        let tz: Tz = "UTC".parse().expect("zone");
        let samples: Vec<Sample> = [0.2, 0.4, 0.9]
            .iter()
            .enumerate()
            .map(|(i, &s)| sample(t("2026-03-01T10:00:00Z") + Duration::minutes(i as i64), s))
            .collect();
        let mut buckets = Vec::new();
        fold(&mut buckets, &samples, tz, Resolution::Hour);
        assert_eq!(buckets.len(), 1);
        let stress = buckets[0].stress_level;
        assert_eq!(stress.count, 3);
        assert!((stress.mean.expect("mean") - 0.5).abs() < 1e-12);
        assert_eq!((stress.min, stress.max), (Some(0.2), Some(0.9)));
        assert_eq!(buckets[0].heart_rate.count, 0);
        assert_eq!(buckets[0].heart_rate.mean, None);
    }
}
