//! Wearable samples: one reading of a child's state at one instant.

use crate::time::{clip, parse_instant};
use crate::{RowError, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most samples one request may carry: a day of minute readings is 1,440, so this is
/// about a week from one device, and keeps one request's work bounded.
pub const MAX_BATCH_SAMPLES: usize = 10_000;

/// How many bad rows a rejection names; enough to fix a systematic fault, short to read.
const MAX_REPORTED_ROWS: usize = 10;

/// Plausible physiological bounds; outside them a reading is a sensor fault.
const HEART_RATE_BPM: (f64, f64) = (20.0, 260.0);
const HRV_MS: (f64, f64) = (0.0, 1_000.0);
const MAX_STEPS_PER_SAMPLE: i64 = 100_000;

/// A stress score in `[0, 1]`, as the wearable reports it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct StressLevel(f64);

impl StressLevel {
    pub fn parse(value: f64) -> Result<Self, ValidationError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "stress_level",
                format!("{value} is outside [0, 1]"),
            ))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// The sleep stage a device reports for a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SleepState {
    Awake,
    Light,
    Deep,
    Rem,
    /// Asleep, stage unknown (devices without staging).
    Asleep,
}

impl SleepState {
    pub const ALL: [SleepState; 5] = [Self::Awake, Self::Light, Self::Deep, Self::Rem, Self::Asleep];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Awake => "awake",
            Self::Light => "light",
            Self::Deep => "deep",
            Self::Rem => "rem",
            Self::Asleep => "asleep",
        }
    }

    pub fn is_asleep(self) -> bool {
        !matches!(self, Self::Awake)
    }
}

impl fmt::Display for SleepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SleepState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "sleep_state",
                    format!("'{}' is not one of awake, light, deep, rem, asleep", clip(s)),
                )
            })
    }
}

/// A sample as a client sends it, before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SampleInput {
    /// RFC 3339 with an offset.
    pub time: String,
    pub stress_level: Option<f64>,
    pub heart_rate: Option<f64>,
    pub hrv_ms: Option<f64>,
    pub sleep_state: Option<String>,
    pub steps: Option<i64>,
}

/// A validated reading: a real instant and at least one value, each within bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    pub time: DateTime<Utc>,
    pub stress_level: Option<f64>,
    pub heart_rate: Option<f64>,
    pub hrv_ms: Option<f64>,
    pub sleep_state: Option<SleepState>,
    pub steps: Option<i64>,
}

impl Sample {
    /// Validates one client row against the bounds above, with `now` for the clock check.
    pub fn parse(input: &SampleInput, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let time = parse_instant("time", &input.time, now)?.with_timezone(&Utc);
        let stress_level = input
            .stress_level
            .map(StressLevel::parse)
            .transpose()?
            .map(StressLevel::value);
        let heart_rate = input
            .heart_rate
            .map(|v| in_range("heart_rate", v, HEART_RATE_BPM))
            .transpose()?;
        let hrv_ms = input.hrv_ms.map(|v| in_range("hrv_ms", v, HRV_MS)).transpose()?;
        let sleep_state = input
            .sleep_state
            .as_deref()
            .map(SleepState::from_str)
            .transpose()?;
        let steps = match input.steps {
            Some(s) if !(0..=MAX_STEPS_PER_SAMPLE).contains(&s) => {
                return Err(ValidationError::new(
                    "steps",
                    format!("{s} is outside [0, {MAX_STEPS_PER_SAMPLE}]"),
                ))
            }
            other => other,
        };
        let sample = Sample {
            time,
            stress_level,
            heart_rate,
            hrv_ms,
            sleep_state,
            steps,
        };
        if sample.is_empty() {
            return Err(ValidationError::new(
                "sample",
                "has no value (give at least one of stress_level, heart_rate, hrv_ms, sleep_state, steps)",
            ));
        }
        Ok(sample)
    }

    fn is_empty(&self) -> bool {
        self.stress_level.is_none()
            && self.heart_rate.is_none()
            && self.hrv_ms.is_none()
            && self.sleep_state.is_none()
            && self.steps.is_none()
    }
}

fn in_range(field: &'static str, value: f64, (lo, hi): (f64, f64)) -> Result<f64, ValidationError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            format!("{value} is outside [{lo}, {hi}]"),
        ))
    }
}

/// A batch whose every row is valid and whose size is bounded: all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleBatch(Vec<Sample>);

impl SampleBatch {
    /// Parses rows that each arrive as raw JSON, so a row of the wrong shape is reported
    /// by its index like any other bad row instead of failing the whole document.
    pub fn parse_raw<'a>(
        rows: impl ExactSizeIterator<Item = &'a str>,
        now: DateTime<Utc>,
    ) -> Result<Self, BatchRejection> {
        let count = rows.len();
        if count == 0 {
            return Err(BatchRejection::Empty);
        }
        if count > MAX_BATCH_SAMPLES {
            return Err(BatchRejection::TooLarge { count });
        }
        let mut samples = Vec::with_capacity(count);
        let mut bad = Vec::new();
        let mut bad_count = 0;
        for (index, raw) in rows.enumerate() {
            let parsed = serde_json::from_str::<SampleInput>(raw)
                .map_err(|e| strip_position(&e.to_string()))
                .and_then(|input| Sample::parse(&input, now).map_err(|e| e.to_string()));
            match parsed {
                Ok(sample) => samples.push(sample),
                Err(reason) => {
                    bad_count += 1;
                    if bad.len() < MAX_REPORTED_ROWS {
                        bad.push(RowError { index, reason });
                    }
                }
            }
        }
        if bad.is_empty() {
            Ok(Self(samples))
        } else {
            Err(BatchRejection::InvalidRows { rows: bad, bad_count })
        }
    }

    /// Wraps samples that were produced inside the process (simulator, demo seed).
    pub fn from_trusted(samples: Vec<Sample>) -> Result<Self, BatchRejection> {
        match samples.len() {
            0 => Err(BatchRejection::Empty),
            count if count > MAX_BATCH_SAMPLES => Err(BatchRejection::TooLarge { count }),
            _ => Ok(Self(samples)),
        }
    }

    pub fn samples(&self) -> &[Sample] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Serde's messages end in "at line 1 column 17", which means nothing for a row, and
/// may quote the client's text at length: the reason is kept short.
fn strip_position(message: &str) -> String {
    const MAX_REASON_CHARS: usize = 160;
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    if message.chars().count() <= MAX_REASON_CHARS {
        message.to_owned()
    } else {
        let head: String = message.chars().take(MAX_REASON_CHARS).collect();
        format!("{head}…")
    }
}

/// Why a whole batch was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BatchRejection {
    #[error("the batch is empty")]
    Empty,
    #[error("the batch has {count} samples; at most {MAX_BATCH_SAMPLES} are accepted per request")]
    TooLarge { count: usize },
    #[error("{bad_count} sample(s) are invalid; nothing was written")]
    InvalidRows { rows: Vec<RowError>, bad_count: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("fixed time")
    }

    #[test]
    fn a_valid_row_parses_and_keeps_its_instant_in_utc() {
        let rows = [r#"{"time":"2026-03-01T08:00:00+01:00","stress_level":0.4,"sleep_state":"awake"}"#];
        let batch = SampleBatch::parse_raw(rows.into_iter(), now()).expect("valid");
        assert_eq!(batch.samples()[0].time.to_rfc3339(), "2026-03-01T07:00:00+00:00");
        assert_eq!(batch.samples()[0].sleep_state, Some(SleepState::Awake));
    }

    #[test]
    fn bad_rows_are_named_by_index_and_reason() {
        let rows = [
            r#"{"time":"2026-03-01T08:00:00Z","stress_level":0.4}"#,
            r#"{"time":"2026-03-01T08:01:00Z","stress_level":1.4}"#,
            r#"{"time":"2026-03-01 08:02:00","stress_level":0.4}"#,
            r#"{"time":"2026-03-01T08:03:00Z"}"#,
            r#"{"time":"2026-03-01T08:04:00Z","stress_level":"high"}"#,
            r#"{"time":"2026-03-01T08:05:00Z","sleep_state":"dozing"}"#,
        ];
        let Err(BatchRejection::InvalidRows { rows: bad, bad_count }) =
            SampleBatch::parse_raw(rows.into_iter(), now())
        else {
            panic!("expected a rejection")
        };
        assert_eq!(bad_count, 5);
        let indices: Vec<usize> = bad.iter().map(|r| r.index).collect();
        assert_eq!(indices, vec![1, 2, 3, 4, 5]);
        assert!(bad[0].reason.contains("stress_level"), "{}", bad[0].reason);
        assert!(bad[1].reason.contains("offset"), "{}", bad[1].reason);
        assert!(bad[2].reason.contains("no value"), "{}", bad[2].reason);
        assert!(bad[3].reason.contains("invalid type"), "{}", bad[3].reason);
        assert!(bad[4].reason.contains("dozing"), "{}", bad[4].reason);
    }

    #[test]
    fn size_bounds_are_enforced() {
        assert_eq!(
            SampleBatch::parse_raw(std::iter::empty::<&str>(), now()),
            Err(BatchRejection::Empty)
        );
        let row = r#"{"time":"2026-03-01T08:00:00Z","steps":3}"#;
        let many = vec![row; MAX_BATCH_SAMPLES + 1];
        assert!(matches!(
            SampleBatch::parse_raw(many.into_iter(), now()),
            Err(BatchRejection::TooLarge { .. })
        ));
    }

    #[test]
    fn echoed_client_text_is_kept_short() {
        let long = "x".repeat(300);
        let row = format!(r#"{{"time":"2026-03-01T08:00:00Z","stress_level":"{long}"}}"#);
        let Err(BatchRejection::InvalidRows { rows, .. }) =
            SampleBatch::parse_raw([row.as_str()].into_iter(), now())
        else {
            panic!("expected a rejection")
        };
        assert!(rows[0].reason.chars().count() <= 161, "{}", rows[0].reason);
    }

    #[test]
    fn clock_faults_are_refused() {
        let future = SampleInput {
            time: "2026-03-03T12:00:00Z".into(),
            steps: Some(1),
            ..Default::default()
        };
        assert!(Sample::parse(&future, now()).is_err());
        let ancient = SampleInput {
            time: "1999-12-31T23:59:59Z".into(),
            steps: Some(1),
            ..Default::default()
        };
        assert!(Sample::parse(&ancient, now()).is_err());
    }
}
