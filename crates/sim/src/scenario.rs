//! How the simulated families behave: when parents act and how effects vary, chosen to
//! break the assumptions an effect estimate could silently lean on.
//!
//! The original model ([`Scenario::planned_evenings`]) plans each day's intervention for
//! an evening time chosen in advance, more often on bad days and test eves. Real parents
//! also act *because* they see the child stressed, keep habits for weeks, and see effects
//! that differ from child to child and outlast the evening; each of those is one knob
//! here, and each named scenario turns on one of them, with a known truth for every child.

use serde::{Deserialize, Serialize};

/// When parents start an intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentTiming {
    /// An evening time chosen in advance, on days drawn by how bad the day is and
    /// whether a test is ahead (at most one a day).
    PlannedEvenings,
    /// Parents watch the app: in the afternoon and evening, the first time a reading
    /// stands well above the child's usual level for that hour, they may start an
    /// activity at once (at most one a day). The spike that prompted them then fades by
    /// itself, which a comparison with other evenings reads as an effect.
    AtSpikes,
    /// As `PlannedEvenings`, but parents act mostly on bad days: a much stronger pull of
    /// the bad-day factor, so treated days are clearly more stressed days.
    OnBadDays,
}

/// The behaviour of every simulated family under one config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenario {
    pub timing: ParentTiming,
    /// Habits come in runs: whether parents act, and which kind they pick, mostly repeat
    /// the day before, so treated days cluster in weeks.
    pub streaky: bool,
    /// Child-to-child spread (SD, stress units) of the effect of every kind that has an
    /// effect at all; kinds with no effect stay at exactly zero for every child.
    pub effect_spread: f64,
    /// Share of an intervention's effect that carries over to every awake reading of the
    /// next day (0 = none).
    pub carry_over: f64,
    /// An earlier bedtime moves that night's sleep onset earlier, so the night is longer.
    pub bedtime_lengthens_sleep: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::planned_evenings()
    }
}

impl Scenario {
    /// The original families: planned evening activities, confounded by bad days and tests.
    pub fn planned_evenings() -> Self {
        Self {
            timing: ParentTiming::PlannedEvenings,
            streaky: false,
            effect_spread: 0.0,
            carry_over: 0.0,
            bedtime_lengthens_sleep: false,
        }
    }

    /// Parents act at stress spikes.
    pub fn at_spikes() -> Self {
        Self {
            timing: ParentTiming::AtSpikes,
            ..Self::planned_evenings()
        }
    }

    /// Parents act on bad days.
    pub fn on_bad_days() -> Self {
        Self {
            timing: ParentTiming::OnBadDays,
            ..Self::planned_evenings()
        }
    }

    /// Habits kept for weeks.
    pub fn streaky() -> Self {
        Self {
            streaky: true,
            ..Self::planned_evenings()
        }
    }

    /// Effects that differ between children (SD 0.03 around each kind's mean).
    pub fn varied_effects() -> Self {
        Self {
            effect_spread: 0.03,
            ..Self::at_spikes()
        }
    }

    /// Half of an effect carries over to the next day.
    pub fn carry_over() -> Self {
        Self {
            carry_over: 0.5,
            ..Self::planned_evenings()
        }
    }

    /// An earlier bedtime lengthens that night's sleep.
    pub fn longer_sleep() -> Self {
        Self {
            bedtime_lengthens_sleep: true,
            ..Self::planned_evenings()
        }
    }

    /// Every named scenario with its name, for tests and benchmarks that go through all.
    pub fn named() -> [(&'static str, Scenario); 7] {
        [
            ("planned_evenings", Self::planned_evenings()),
            ("at_spikes", Self::at_spikes()),
            ("on_bad_days", Self::on_bad_days()),
            ("streaky", Self::streaky()),
            ("varied_effects", Self::varied_effects()),
            ("carry_over", Self::carry_over()),
            ("longer_sleep", Self::longer_sleep()),
        ]
    }
}
