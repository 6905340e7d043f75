//! What to simulate: how many children, over which period, at what cadence, from which
//! seed, and how their families behave.

use crate::scenario::Scenario;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

/// 2026-03-01T00:00:00Z as Unix seconds: a fixed default end keeps a default run reproducible
/// (the wall clock would not).
const DEFAULT_END_UNIX: i64 = 1_772_323_200;
/// Any seed works; a fixed one makes `SimConfig::default()` the same data everywhere.
const DEFAULT_SEED: u64 = 42;
/// One child of each chronotype.
const DEFAULT_CHILDREN: usize = 3;
/// Two months: long enough for a holiday week, several tests and a chronotype estimate.
const DEFAULT_DAYS: u32 = 60;
/// Wearables report about once a minute.
const DEFAULT_STEP_MINUTES: u32 = 1;
/// About half an hour a day without data: the watch charging, a loose strap.
const DEFAULT_GAP_RATE: f64 = 0.02;
/// A watch that is off more than this is not worn; larger rates are capped here.
const MAX_GAP_RATE: f64 = 0.9;
/// A sample cadence coarser than a day leaves nothing to simulate.
const MAX_STEP_MINUTES: u32 = 1_440;

/// What [`crate::simulate`] produces. The same value always gives the same output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Seeds every random draw; each child gets its own streams derived from (seed, index).
    pub seed: u64,
    /// How many children [`crate::simulate`] returns.
    pub children: usize,
    /// Length of the simulated period in days.
    pub days: u32,
    /// The period ends here (exclusive): samples cover `[end - days, end)`. Rounded down to
    /// the whole minute so sample times fall on minute boundaries.
    pub end: DateTime<Utc>,
    /// Minutes between samples (1 = one sample a minute); 0 is treated as 1.
    pub step_minutes: u32,
    /// Share of time with no samples at all (watch charging, strap loose), in `[0, 0.9]`.
    pub gap_rate: f64,
    /// How the families behave (when parents act, how effects vary).
    pub scenario: Scenario,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            children: DEFAULT_CHILDREN,
            days: DEFAULT_DAYS,
            end: DateTime::from_timestamp(DEFAULT_END_UNIX, 0).unwrap_or_default(),
            step_minutes: DEFAULT_STEP_MINUTES,
            gap_rate: DEFAULT_GAP_RATE,
            scenario: Scenario::default(),
        }
    }
}

impl SimConfig {
    /// The end actually used: `end` rounded down to the whole minute.
    pub fn period_end(&self) -> DateTime<Utc> {
        self.end.duration_trunc(Duration::minutes(1)).unwrap_or(self.end)
    }

    /// The first instant of the simulated period: `period_end() - days`.
    pub fn period_start(&self) -> DateTime<Utc> {
        self.period_end() - Duration::days(i64::from(self.days))
    }

    /// The sample cadence actually used, in `[1, 1440]` minutes.
    pub fn step(&self) -> u32 {
        self.step_minutes.clamp(1, MAX_STEP_MINUTES)
    }

    /// The gap share actually used, in `[0, 0.9]` (a NaN counts as no gaps).
    pub fn gap_share(&self) -> f64 {
        if self.gap_rate.is_nan() {
            0.0
        } else {
            self.gap_rate.clamp(0.0, MAX_GAP_RATE)
        }
    }
}
