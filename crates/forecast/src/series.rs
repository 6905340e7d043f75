//! Input series: validation, and resampling of irregular samples onto a regular grid with gap filling.

use chrono::{DateTime, TimeZone, Utc};

use crate::error::ForecastError;

/// Gaps up to this many steps are bridged by a straight line: a few missing
/// hours of a slowly varying signal are well described by their neighbours.
pub const MAX_LINEAR_GAP_STEPS: usize = 3;

/// Above this fraction of empty steps the filled grid would be mostly invented,
/// so resampling refuses rather than forecast from made-up data.
pub const MAX_MISSING_FRACTION: f64 = 0.5;

const SECS_PER_DAY: i64 = 86_400;

/// A validated time series: timestamps with finite values.
///
/// Samples may be irregular, unsorted, duplicated or have gaps; [`resample`]
/// turns them into a regular grid. Values are checked at construction, so a
/// `Series` never holds NaN or infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    times: Vec<DateTime<Utc>>,
    values: Vec<f64>,
}

impl Series {
    /// Builds a series, rejecting mismatched lengths, an empty input and non-finite values.
    pub fn new(times: Vec<DateTime<Utc>>, values: Vec<f64>) -> Result<Self, ForecastError> {
        if times.len() != values.len() {
            return Err(ForecastError::LengthMismatch {
                times: times.len(),
                values: values.len(),
            });
        }
        if values.is_empty() {
            return Err(ForecastError::Empty);
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ForecastError::NonFinite { index, value });
        }
        Ok(Self { times, values })
    }

    /// Builds a series from `(time, value)` pairs.
    pub fn from_pairs<I>(pairs: I) -> Result<Self, ForecastError>
    where
        I: IntoIterator<Item = (DateTime<Utc>, f64)>,
    {
        let (times, values) = pairs.into_iter().unzip();
        Self::new(times, values)
    }

    /// Observation timestamps, in input order.
    pub fn times(&self) -> &[DateTime<Utc>] {
        &self.times
    }

    /// Observation values, in input order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: construction rejects empty input.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A series on a regular grid: one value per step, gaps filled.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampled {
    /// Start of each step (aligned to multiples of the step since the Unix epoch).
    pub times: Vec<DateTime<Utc>>,
    /// Mean of the samples in each step, or the filled value for empty steps.
    pub values: Vec<f64>,
    /// True where the step had no sample and was filled.
    pub filled: Vec<bool>,
    /// Step length in seconds.
    pub step_secs: i64,
}

impl Resampled {
    /// Number of steps in one day, when the step divides a day evenly into at least two steps.
    pub fn steps_per_day(&self) -> Option<usize> {
        steps_per_day(self.step_secs)
    }

    /// Start time of the step `k` steps after the last one (k = 1 is the first future step).
    pub fn future_time(&self, k: usize) -> Option<DateTime<Utc>> {
        let last = self.times.last()?.timestamp();
        let offset = i64::try_from(k).ok()?.checked_mul(self.step_secs)?;
        Utc.timestamp_opt(last.checked_add(offset)?, 0).single()
    }
}

/// Steps per day for a step length, if it tiles a day into at least two steps.
pub(crate) fn steps_per_day(step_secs: i64) -> Option<usize> {
    if step_secs > 0 && SECS_PER_DAY % step_secs == 0 && SECS_PER_DAY / step_secs >= 2 {
        usize::try_from(SECS_PER_DAY / step_secs).ok()
    } else {
        None
    }
}

/// Resamples to a regular grid of `step_secs` by averaging samples within each
/// step, then fills empty steps: short gaps linearly, long gaps with the value
/// one day earlier (the daily cycle is the strongest structure in the data).
pub fn resample(series: &Series, step_secs: i64) -> Result<Resampled, ForecastError> {
    if step_secs <= 0 {
        return Err(ForecastError::InvalidOption {
            name: "step_secs",
            reason: format!("must be positive, got {step_secs}"),
        });
    }
    let bucket = |t: &DateTime<Utc>| t.timestamp().div_euclid(step_secs);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for t in series.times() {
        let b = bucket(t);
        first = first.min(b);
        last = last.max(b);
    }
    let span = last
        .checked_sub(first)
        .and_then(|d| d.checked_add(1))
        .and_then(|d| usize::try_from(d).ok())
        .ok_or(ForecastError::Empty)?;
    // A grid far larger than the sample count is mostly gap; refuse before allocating it.
    let max_span = series.len().saturating_mul(2).saturating_add(2);
    if span > max_span.max(4) && (series.len() as f64) < span as f64 * (1.0 - MAX_MISSING_FRACTION) {
        return Err(ForecastError::TooSparse {
            missing: span.saturating_sub(series.len()),
            total: span,
        });
    }

    let mut sums = vec![0.0; span];
    let mut counts = vec![0usize; span];
    for (t, v) in series.times().iter().zip(series.values()) {
        // In range by construction of `first`/`last`.
        let idx = (bucket(t) - first) as usize;
        sums[idx] += v;
        counts[idx] += 1;
    }
    let missing = counts.iter().filter(|&&c| c == 0).count();
    if missing as f64 > span as f64 * MAX_MISSING_FRACTION {
        return Err(ForecastError::TooSparse { missing, total: span });
    }
    let mut values: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    let filled: Vec<bool> = counts.iter().map(|&c| c == 0).collect();
    fill_gaps(&mut values, &filled, steps_per_day(step_secs));

    let times = (0..span)
        .map(|i| {
            let secs = (first + i as i64) * step_secs;
            Utc.timestamp_opt(secs, 0)
                .single()
                .ok_or_else(|| ForecastError::InvalidOption {
                    name: "series",
                    reason: format!("timestamp {secs} out of range"),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Resampled {
        times,
        values,
        filled,
        step_secs,
    })
}

/// Fills NaN runs in place. The first and last steps always hold samples.
fn fill_gaps(values: &mut [f64], filled: &[bool], period: Option<usize>) {
    let n = values.len();
    let mut i = 0;
    while i < n {
        if !filled[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && filled[i] {
            i += 1;
        }
        // `start > 0` and `i < n` because the ends are observed.
        let (left, right) = (values[start - 1], values[i]);
        let len = i - start;
        for (k, idx) in (start..i).enumerate() {
            let frac = (k + 1) as f64 / (len + 1) as f64;
            let linear = left + (right - left) * frac;
            values[idx] = match period {
                Some(p) if len > MAX_LINEAR_GAP_STEPS && start > p => {
                    // Yesterday's shape, shifted so the fill joins the observed edges.
                    let left_offset = left - values[start - 1 - p];
                    let offset = if i - p < start {
                        let right_offset = right - values[i - p];
                        left_offset + (right_offset - left_offset) * frac
                    } else {
                        // Gap longer than a day: the right edge's reference is itself filled later.
                        left_offset
                    };
                    values[idx - p] + offset
                }
                _ => linear,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 - 1_700_000_000 % 3600 + h * 3600, 0)
            .single()
            .expect("valid test time")
    }

    #[test]
    fn averages_within_step_and_fills_short_gap() {
        let times = vec![at(0), at(0), at(1), at(4)];
        let s = Series::new(times, vec![1.0, 3.0, 2.0, 5.0]).expect("valid");
        let r = resample(&s, 3600).expect("resample");
        assert_eq!(r.values.len(), 5);
        assert_eq!(r.values[0], 2.0);
        assert!((r.values[2] - 3.0).abs() < 1e-12);
        assert!((r.values[3] - 4.0).abs() < 1e-12);
        assert_eq!(r.filled, vec![false, false, true, true, false]);
    }

    #[test]
    fn rejects_non_finite() {
        let err = Series::new(vec![at(0), at(1)], vec![1.0, f64::NAN]).expect_err("nan");
        assert!(matches!(err, ForecastError::NonFinite { index: 1, .. }));
    }

    #[test]
    fn rejects_mostly_empty_grid() {
        let s = Series::new(vec![at(0), at(1000)], vec![1.0, 2.0]).expect("valid");
        assert!(matches!(resample(&s, 3600), Err(ForecastError::TooSparse { .. })));
    }
}
