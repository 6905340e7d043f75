//! Likely best windows of the day for focus and for calm, derived from habitual sleep
//! timing and the chronotype.
//!
//! These are **heuristics**, not validated recommendations. They rest on two general
//! observations: alertness is low right after waking (sleep inertia) and rises over the
//! following hours, and later chronotypes woken by a school alarm wake at an earlier
//! point of their internal day, so their alert window starts later after the alarm. The
//! calm window is the wind-down hour before habitual bedtime.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::classify::Chronotype;
use crate::daytype::DayType;
use crate::msf::KindStats;

/// Focus window start after habitual wake, by class (hours): early types are alert soonest.
pub const FOCUS_START_AFTER_WAKE_EARLY: f64 = 2.0;
/// Focus window start after habitual wake for intermediate types (hours).
pub const FOCUS_START_AFTER_WAKE_INTERMEDIATE: f64 = 2.5;
/// Focus window start after habitual wake for night owls (hours).
pub const FOCUS_START_AFTER_WAKE_NIGHT_OWL: f64 = 3.0;
/// Length of the focus window (hours): a morning block, 2–5 h after waking for early types.
pub const FOCUS_LENGTH_HOURS: f64 = 3.0;
/// Length of the calm (wind-down) window that ends at habitual bedtime (hours).
pub const CALM_LENGTH_HOURS: f64 = 1.0;

/// A local clock interval; `end` may be earlier than `start` when it crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockWindow {
    /// Local start time.
    pub start: NaiveTime,
    /// Local end time.
    pub end: NaiveTime,
}

/// Habitual timing and the windows derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BestWindows {
    /// Which nights the habitual times come from (school nights when available).
    pub basis: DayType,
    /// Habitual wake time.
    pub habitual_wake: NaiveTime,
    /// Habitual sleep onset.
    pub habitual_sleep_onset: NaiveTime,
    /// Likely best window for focused work.
    pub focus: ClockWindow,
    /// Likely best window for calm, wind-down activities.
    pub calm: ClockWindow,
}

/// Local clock time of hours relative to local midnight (wraps negatives: -1.5 → 22:30),
/// rounded to the minute.
pub fn clock_time(hours: f64) -> NaiveTime {
    let minutes = (hours * 60.0).round() as i64;
    let minutes = minutes.rem_euclid(24 * 60);
    // Always valid: hour < 24 and minute < 60 by construction.
    NaiveTime::from_hms_opt((minutes / 60) as u32, (minutes % 60) as u32, 0).unwrap_or(NaiveTime::MIN)
}

/// Windows from school-night timing when there is any, else from free nights.
pub fn best_windows(
    chronotype: Chronotype,
    school: Option<&KindStats>,
    free: Option<&KindStats>,
) -> Option<BestWindows> {
    let (basis, stats) = match (school, free) {
        (Some(s), _) => (DayType::School, s),
        (None, Some(f)) => (DayType::Free, f),
        (None, None) => return None,
    };
    let wake = stats.offset.mean;
    let onset = stats.onset.mean;
    let focus_start = wake
        + match chronotype {
            Chronotype::EarlyBird => FOCUS_START_AFTER_WAKE_EARLY,
            Chronotype::Intermediate => FOCUS_START_AFTER_WAKE_INTERMEDIATE,
            Chronotype::NightOwl => FOCUS_START_AFTER_WAKE_NIGHT_OWL,
        };
    Some(BestWindows {
        basis,
        habitual_wake: clock_time(wake),
        habitual_sleep_onset: clock_time(onset),
        focus: ClockWindow {
            start: clock_time(focus_start),
            end: clock_time(focus_start + FOCUS_LENGTH_HOURS),
        },
        calm: ClockWindow {
            start: clock_time(onset - CALM_LENGTH_HOURS),
            end: clock_time(onset),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msf::MeanSd;

    fn stats(onset: f64, offset: f64) -> KindStats {
        let one = |mean| MeanSd { mean, sd: 0.0, n: 10 };
        KindStats {
            mid: one((onset + offset) / 2.0),
            duration: one(offset - onset),
            onset: one(onset),
            offset: one(offset),
        }
    }

    #[test]
    fn later_types_focus_later_after_the_same_alarm() {
        let school = stats(-2.5, 7.0);
        let early = best_windows(Chronotype::EarlyBird, Some(&school), None).unwrap();
        let owl = best_windows(Chronotype::NightOwl, Some(&school), None).unwrap();
        assert_eq!(early.focus.start, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(owl.focus.start, NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        assert_eq!(owl.calm.start, NaiveTime::from_hms_opt(20, 30, 0).unwrap());
        assert_eq!(owl.calm.end, NaiveTime::from_hms_opt(21, 30, 0).unwrap());
    }

    #[test]
    fn free_nights_are_the_fallback_basis() {
        let free = stats(-1.0, 8.5);
        let w = best_windows(Chronotype::Intermediate, None, Some(&free)).unwrap();
        assert_eq!(w.basis, DayType::Free);
        assert_eq!(w.habitual_wake, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert!(best_windows(Chronotype::Intermediate, None, None).is_none());
    }

    #[test]
    fn clock_time_wraps_evening_hours() {
        assert_eq!(clock_time(-1.5), NaiveTime::from_hms_opt(22, 30, 0).unwrap());
        assert_eq!(clock_time(3.5), NaiveTime::from_hms_opt(3, 30, 0).unwrap());
        assert_eq!(clock_time(24.0), NaiveTime::MIN);
    }
}
