//! An earlier bedtime a family can keep, and the child's sleep against what is
//! recommended at their age.
//!
//! Paediatric sleep guidance moves a bedtime in small steps (15–30 minutes, kept for
//! several nights before the next), because a child sent to bed hours before their body
//! is ready lies awake. So an earlier bedtime is placed 15–30 minutes before the child's
//! own usual sleep onset on that kind of night (school or free day next), never at a
//! clock time chosen for children in general. Recommended sleep by age: the American
//! Academy of Sleep Medicine consensus (Paruthi et al. 2016).

use crate::policy::Decision;
use crate::slots::{Slot, SlotKind};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sprout_insights::days::{earlier_bedtime, SleepHabit};

/// The least a bedtime moves (see [`sprout_insights::days::earlier_bedtime`]).
pub const MIN_STEP_MINUTES: i64 = sprout_insights::days::BEDTIME_STEP_MINUTES;
/// The most a bedtime moves in one suggestion.
pub const MAX_STEP_MINUTES: i64 = 30;
/// A bedtime tonight is suggested only with this much time left to plan for it.
const LEAD_TIME: Duration = Duration::minutes(30);

/// The earlier bedtime, as the card states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedtimeStep {
    /// When the child usually falls asleep on that kind of night ("10:20 PM").
    pub usual: String,
    /// How much earlier the suggested bedtime is.
    pub minutes_earlier: u32,
}

/// Moves an early-bedtime decision to a step before the child's usual onset that night
/// (tonight's when there is still time, else tomorrow's), and says the step. Other
/// decisions, and children whose usual onset is not known yet, are left as they are.
pub fn place(
    mut decision: Decision,
    habit: &SleepHabit,
    school_next: &dyn Fn(NaiveDate) -> bool,
    now: DateTime<Utc>,
    tz: Tz,
    clock: sprout_domain::ClockFormat,
) -> (Decision, Option<BedtimeStep>) {
    if decision.kind != sprout_domain::InterventionKind::EarlyBedtime {
        return (decision, None);
    }
    let today = now.with_timezone(&tz).date_naive();
    let evenings = match decision.slot.kind {
        SlotKind::ThisEvening => vec![
            (SlotKind::ThisEvening, today),
            (SlotKind::TomorrowEvening, today + Duration::days(1)),
        ],
        _ => vec![(SlotKind::TomorrowEvening, today + Duration::days(1))],
    };
    for (kind, evening) in evenings {
        let next = evening + Duration::days(1);
        let Some(onset) = habit.onset(school_next(next)) else {
            return (decision, None);
        };
        let (Some(usual), Some(bedtime)) = (at(tz, next, onset), at(tz, next, earlier_bedtime(onset))) else {
            continue;
        };
        if bedtime <= now + LEAD_TIME {
            continue;
        }
        decision.slot = Slot {
            kind,
            start: bedtime,
            local_time: bedtime.with_timezone(&tz).time(),
        };
        let step = BedtimeStep {
            usual: clock.time(usual.with_timezone(&tz).time()),
            minutes_earlier: u32::try_from((usual - bedtime).num_minutes()).unwrap_or(0),
        };
        return (decision, Some(step));
    }
    (decision, None)
}

/// The instant `hours` from local midnight of `date` (negative: the evening before).
fn at(tz: Tz, date: NaiveDate, hours: f64) -> Option<DateTime<Utc>> {
    let midnight = tz
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()?
        .with_timezone(&Utc);
    Some(midnight + Duration::seconds((hours * 3600.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Decision;
    use sprout_insights::days::recommended_sleep_hours;

    fn decision(kind: SlotKind, start: DateTime<Utc>, tz: Tz) -> Decision {
        Decision {
            kind: sprout_domain::InterventionKind::EarlyBedtime,
            slot: Slot {
                kind,
                start,
                local_time: start.with_timezone(&tz).time(),
            },
            reasons: Vec::new(),
            draws: Vec::new(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_late_sleeper_is_moved_a_step_not_hours() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Usually asleep at 00:33 before school, 01:10 before a free day.
        let habit = SleepHabit {
            school_onset: Some(0.55),
            free_onset: Some(1.17),
            mean_sleep_hours: Some(6.5),
            school_sleep_hours: None,
        };
        let now = utc("2026-03-02T15:00:00Z"); // Monday 16:00 local
        let (placed, step) = place(
            decision(SlotKind::ThisEvening, utc("2026-03-02T18:00:00Z"), tz),
            &habit,
            &|_| true,
            now,
            tz,
            sprout_domain::ClockFormat::TwelveHour,
        );
        let step = step.expect("a step");
        assert_eq!(placed.slot.kind, SlotKind::ThisEvening);
        assert_eq!(placed.slot.local_time, NaiveTime::from_hms_opt(0, 15, 0).unwrap());
        assert_eq!(step.usual, "12:33 AM");
        assert_eq!(step.minutes_earlier, 18);
    }

    #[test]
    fn the_step_is_fifteen_to_thirty_minutes_and_never_in_the_past() {
        let tz: Tz = "America/New_York".parse().unwrap();
        for onset_minutes in (-180..60).step_by(7) {
            let habit = SleepHabit {
                school_onset: Some(f64::from(onset_minutes) / 60.0),
                free_onset: None,
                mean_sleep_hours: None,
                school_sleep_hours: None,
            };
            for hour in [12, 20, 23] {
                let now = utc(&format!("2026-05-04T{hour:02}:00:00Z"));
                let (placed, step) = place(
                    decision(SlotKind::ThisEvening, now, tz),
                    &habit,
                    &|_| true,
                    now,
                    tz,
                    sprout_domain::ClockFormat::TwelveHour,
                );
                let step = step.expect("a step");
                assert!(
                    (MIN_STEP_MINUTES..MAX_STEP_MINUTES).contains(&i64::from(step.minutes_earlier)),
                    "{onset_minutes}: {step:?}"
                );
                assert!(placed.slot.start > now + LEAD_TIME);
            }
        }
    }

    #[test]
    fn without_a_known_habit_nothing_moves() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let habit = SleepHabit {
            school_onset: None,
            free_onset: None,
            mean_sleep_hours: None,
            school_sleep_hours: None,
        };
        let start = utc("2026-03-02T18:00:00Z");
        let (placed, step) = place(
            decision(SlotKind::ThisEvening, start, tz),
            &habit,
            &|_| true,
            utc("2026-03-02T12:00:00Z"),
            tz,
            sprout_domain::ClockFormat::TwelveHour,
        );
        assert!(step.is_none());
        assert_eq!(placed.slot.start, start);
    }

    #[test]
    fn recommended_sleep_follows_the_consensus() {
        assert_eq!(recommended_sleep_hours(12), Some((9, 12)));
        assert_eq!(recommended_sleep_hours(13), Some((8, 10)));
        assert_eq!(recommended_sleep_hours(4), Some((10, 13)));
        assert_eq!(recommended_sleep_hours(30), None);
    }
}
