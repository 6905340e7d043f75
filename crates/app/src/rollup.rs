//! Hourly and daily roll-ups of samples, in the child's own clock.
//!
//! Buckets follow the child's local hours and days, so "Tuesday" means the child's
//! Tuesday and a DST change gives a 23- or 25-hour day rather than a shifted one.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sprout_domain::Sample;
use sprout_store::{Aggregate, HourAggregate};

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
        if let Some(v) = value {
            self.absorb(1, v, Some(v), Some(v));
        }
    }

    /// Adds a retired hour's aggregate (or another summary's parts) to this one.
    fn absorb(&mut self, count: u64, sum: f64, min: Option<f64>, max: Option<f64>) {
        if count == 0 {
            return;
        }
        self.count += count;
        self.sum += sum;
        self.min = [self.min, min].into_iter().flatten().reduce(f64::min);
        self.max = [self.max, max].into_iter().flatten().reduce(f64::max);
        self.mean = Some(self.sum / self.count as f64);
    }

    fn absorb_aggregate(&mut self, a: &Aggregate) {
        self.absorb(a.count, a.sum, a.min, a.max);
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

impl Bucket {
    fn empty(start: DateTime<Utc>, tz: Tz, resolution: Resolution) -> Self {
        Bucket {
            start,
            end: next_bucket(start, tz, resolution),
            samples: 0,
            stress_level: Summary::default(),
            heart_rate: Summary::default(),
            hrv_ms: Summary::default(),
            steps: Summary::default(),
            asleep_samples: 0,
        }
    }

    fn absorb(&mut self, other: &Bucket) {
        self.samples += other.samples;
        self.asleep_samples += other.asleep_samples;
        for (mine, theirs) in [
            (&mut self.stress_level, &other.stress_level),
            (&mut self.heart_rate, &other.heart_rate),
            (&mut self.hrv_ms, &other.hrv_ms),
            (&mut self.steps, &other.steps),
        ] {
            mine.absorb(theirs.count, theirs.sum, theirs.min, theirs.max);
        }
    }
}

/// Retired hours as buckets of `resolution` (an hour, or the local day holding it).
pub fn from_hours(hours: &[HourAggregate], tz: Tz, resolution: Resolution) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    for hour in hours {
        let start = bucket_start(hour.start, tz, resolution);
        if buckets.last().is_none_or(|b| b.start != start) {
            buckets.push(Bucket::empty(start, tz, resolution));
        }
        let Some(bucket) = buckets.last_mut() else {
            continue;
        };
        bucket.samples += hour.samples;
        bucket.asleep_samples += hour.asleep_samples;
        bucket.stress_level.absorb_aggregate(&hour.stress_level);
        bucket.heart_rate.absorb_aggregate(&hour.heart_rate);
        bucket.hrv_ms.absorb_aggregate(&hour.hrv_ms);
        bucket.steps.absorb_aggregate(&hour.steps);
    }
    buckets
}

/// Merges two time-ordered bucket lists of one resolution; buckets with the same start
/// (a retired hour and late samples of that hour not yet retired) become one.
pub fn merge(a: Vec<Bucket>, b: Vec<Bucket>) -> Vec<Bucket> {
    let mut all: Vec<Bucket> = a.into_iter().chain(b).collect();
    all.sort_by_key(|bucket| bucket.start);
    let mut merged: Vec<Bucket> = Vec::with_capacity(all.len());
    for bucket in all {
        match merged.last_mut() {
            Some(last) if last.start == bucket.start => last.absorb(&bucket),
            _ => merged.push(bucket),
        }
    }
    merged
}

/// Folds time-ordered samples into buckets, appending to `buckets`.
pub fn fold(buckets: &mut Vec<Bucket>, samples: &[Sample], tz: Tz, resolution: Resolution) {
    for sample in samples {
        let start = bucket_start(sample.time, tz, resolution);
        let bucket = match buckets.last_mut() {
            Some(last) if last.start == start => last,
            _ => {
                buckets.push(Bucket::empty(start, tz, resolution));
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
    fn retired_hours_and_late_samples_merge_exactly() {
        let tz: Tz = "UTC".parse().expect("zone");
        let hour = HourAggregate {
            start: t("2026-03-01T10:00:00Z"),
            samples: 2,
            stress_level: Aggregate {
                count: 2,
                sum: 0.6,
                min: Some(0.1),
                max: Some(0.5),
            },
            heart_rate: Aggregate::default(),
            hrv_ms: Aggregate::default(),
            steps: Aggregate::default(),
            asleep_samples: 1,
        };
        let mut raw = Vec::new();
        fold(
            &mut raw,
            &[sample(t("2026-03-01T10:30:00Z"), 0.9)],
            tz,
            Resolution::Hour,
        );
        fold(
            &mut raw,
            &[sample(t("2026-03-01T11:30:00Z"), 0.3)],
            tz,
            Resolution::Hour,
        );
        let merged = merge(from_hours(std::slice::from_ref(&hour), tz, Resolution::Hour), raw);
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].samples, merged[0].asleep_samples), (3, 1));
        let stress = merged[0].stress_level;
        assert_eq!(stress.count, 3);
        assert!((stress.mean.expect("mean") - 0.5).abs() < 1e-12);
        assert_eq!((stress.min, stress.max), (Some(0.1), Some(0.9)));
        let days = from_hours(&[hour], tz, Resolution::Day);
        assert_eq!((days[0].start, days[0].samples), (t("2026-03-01T00:00:00Z"), 2));
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
