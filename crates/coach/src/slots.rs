//! The time slots an action can be placed in, in the child's clock.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sprout_chrono::Chronotype;

/// Which part of which day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    ThisEvening,
    TomorrowMorning,
    TomorrowAfternoon,
    TomorrowEvening,
}

impl SlotKind {
    pub const ALL: [SlotKind; 4] = [
        Self::ThisEvening,
        Self::TomorrowMorning,
        Self::TomorrowAfternoon,
        Self::TomorrowEvening,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ThisEvening => "this_evening",
            Self::TomorrowMorning => "tomorrow_morning",
            Self::TomorrowAfternoon => "tomorrow_afternoon",
            Self::TomorrowEvening => "tomorrow_evening",
        }
    }

    pub fn is_evening(self) -> bool {
        matches!(self, Self::ThisEvening | Self::TomorrowEvening)
    }

    pub fn is_morning(self) -> bool {
        self == Self::TomorrowMorning
    }

    /// "tonight", "tomorrow morning", ...
    pub fn phrase(self) -> &'static str {
        match self {
            Self::ThisEvening => "tonight",
            Self::TomorrowMorning => "tomorrow morning",
            Self::TomorrowAfternoon => "tomorrow afternoon",
            Self::TomorrowEvening => "tomorrow evening",
        }
    }
}

/// A concrete slot: its kind and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slot {
    pub kind: SlotKind,
    pub start: DateTime<Utc>,
    /// Local clock time, e.g. 19:30.
    pub local_time: NaiveTime,
}

/// Evening start by chronotype: early birds wind down earlier, night owls later.
fn evening(chronotype: Option<Chronotype>) -> (u32, u32) {
    match chronotype {
        Some(Chronotype::EarlyBird) => (18, 30),
        Some(Chronotype::NightOwl) => (19, 30),
        _ => (19, 0),
    }
}

/// Morning start: before school, a little later for those who wake later.
fn morning(chronotype: Option<Chronotype>) -> (u32, u32) {
    match chronotype {
        Some(Chronotype::EarlyBird) => (7, 0),
        _ => (7, 30),
    }
}

/// After school.
const AFTERNOON: (u32, u32) = (16, 0);
/// Tonight's slot is offered only if there is still time to plan for it.
const LEAD_TIME: Duration = Duration::minutes(30);
/// Once tonight's usual start is too close, tonight is offered later, on the quarter
/// hour, for this long after that start: a family that opens the app at 19:10 can still
/// do something calm tonight, before a test tomorrow above all.
const TONIGHT_SPAN: Duration = Duration::minutes(150);
/// Slots start on the quarter hour.
const QUARTER_S: i64 = 15 * 60;

/// The slots still ahead of `now`.
pub fn candidate_slots(now: DateTime<Utc>, tz: Tz, chronotype: Option<Chronotype>) -> Vec<Slot> {
    let today = now.with_timezone(&tz).date_naive();
    let tomorrow = today.succ_opt().unwrap_or(today);
    SlotKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let (date, (h, m)) = match kind {
                SlotKind::ThisEvening => (today, evening(chronotype)),
                SlotKind::TomorrowMorning => (tomorrow, morning(chronotype)),
                SlotKind::TomorrowAfternoon => (tomorrow, AFTERNOON),
                SlotKind::TomorrowEvening => (tomorrow, evening(chronotype)),
            };
            let mut start = local(tz, date, h, m)?;
            if kind == SlotKind::ThisEvening && start <= now + LEAD_TIME {
                let later = quarter_after(now + LEAD_TIME)?;
                if later > start + TONIGHT_SPAN {
                    return None;
                }
                start = later;
            }
            (start > now + LEAD_TIME).then(|| Slot {
                kind,
                start,
                local_time: start.with_timezone(&tz).time(),
            })
        })
        .collect()
}

/// The first quarter hour strictly after `t`.
fn quarter_after(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = t.timestamp();
    DateTime::from_timestamp((s.div_euclid(QUARTER_S) + 1) * QUARTER_S, 0)
}

fn local(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, minute, 0)?;
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_slots_are_not_offered() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let late = DateTime::parse_from_rfc3339("2026-03-02T21:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let kinds: Vec<SlotKind> = candidate_slots(late, tz, None).iter().map(|s| s.kind).collect();
        assert!(!kinds.contains(&SlotKind::ThisEvening));
        let noon = DateTime::parse_from_rfc3339("2026-03-02T11:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let slots = candidate_slots(noon, tz, Some(Chronotype::NightOwl));
        assert_eq!(slots[0].kind, SlotKind::ThisEvening);
        assert_eq!(slots[0].local_time, NaiveTime::from_hms_opt(19, 30, 0).unwrap());
    }

    #[test]
    fn tonight_moves_later_while_the_evening_lasts() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let at = |utc: &str| DateTime::parse_from_rfc3339(utc).unwrap().with_timezone(&Utc);
        // 19:08 in Berlin: 19:30 is too close, 19:45 is the next quarter after the lead.
        let tonight = candidate_slots(at("2026-12-06T18:08:00Z"), tz, Some(Chronotype::NightOwl))[0];
        assert_eq!(tonight.kind, SlotKind::ThisEvening);
        assert_eq!(tonight.local_time, NaiveTime::from_hms_opt(19, 45, 0).unwrap());
        // 21:20: 22:00 is the last the night owl's evening offers...
        let late = candidate_slots(at("2026-12-06T20:20:00Z"), tz, Some(Chronotype::NightOwl))[0];
        assert_eq!(late.local_time, NaiveTime::from_hms_opt(22, 0, 0).unwrap());
        // ...and at 21:40 tonight is over.
        let over = candidate_slots(at("2026-12-06T20:40:00Z"), tz, Some(Chronotype::NightOwl));
        assert_eq!(over[0].kind, SlotKind::TomorrowMorning);
    }
}
