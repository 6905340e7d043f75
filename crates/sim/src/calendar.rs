//! School calendar: school days and free days, assessments, holiday weeks, days off.

use crate::rng::{child_rng, shared_rng, Stream};
use crate::time::{local_date, local_instant};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sprout_domain::{EventType, NewSchoolEvent};

/// Calendars are known ahead: events up to a week after the period are included, so a
/// forecaster at the end of the period sees the next test coming.
pub(crate) const LOOKAHEAD_DAYS: i64 = 7;
/// One holiday week per this many simulated days (rounded), as school terms have.
const DAYS_PER_HOLIDAY: u32 = 60;
/// Periods shorter than this get no holiday: there would be too little school left.
const MIN_DAYS_FOR_HOLIDAY: u32 = 28;
/// A holiday keeps at least this many days of ordinary school before it in its segment.
const HOLIDAY_MARGIN_DAYS: i64 = 7;
/// Chance of one extra day off (teacher training, a bridge day) per holiday segment.
const NO_SCHOOL_PROB: f64 = 0.6;
/// Days from one assessment to the next: every one to two weeks.
const TEST_SPACING_DAYS: (i64, i64) = (7, 14);
/// The first assessment comes this many days into the period, so there is a baseline.
const FIRST_TEST_DAYS: (i64, i64) = (3, 10);
/// Assessments start on the quarter hour between 08:00 and 10:00 local (about 09:00).
const TEST_START_H: f64 = 8.0;
/// Number of quarter hours after [`TEST_START_H`] an assessment may start at.
const TEST_START_QUARTERS: u32 = 8;
/// An assessment lasts about a lesson.
const TEST_LENGTH_MIN: i64 = 45;
/// Assessment kinds and their weights: mostly maths tests, sometimes exams or quizzes.
const TEST_TYPES: [(&str, f64); 4] = [
    ("math_test", 0.5),
    ("exam", 0.25),
    ("science_test", 0.15),
    ("vocabulary_quiz", 0.1),
];

/// One local date of the calendar.
#[derive(Debug, Clone)]
pub(crate) struct Day {
    pub date: NaiveDate,
    pub school_day: bool,
    pub test_next_day: bool,
    /// Latent bad-day factor, filled in by the stress model.
    pub bad_day: f64,
    /// Hours short of sleep need in the night ending this morning, filled in by sleep.
    pub sleep_debt_h: f64,
}

/// Local dates covering the period with a day of margin either side, plus the lookahead.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    pub first: NaiveDate,
    pub days: Vec<Day>,
    /// Start instants of assessments, sorted.
    pub tests: Vec<DateTime<Utc>>,
    pub events: Vec<NewSchoolEvent>,
}

impl Calendar {
    /// The day of `date`, if the calendar covers it.
    pub fn day(&self, date: NaiveDate) -> Option<&Day> {
        usize::try_from((date - self.first).num_days())
            .ok()
            .and_then(|i| self.days.get(i))
    }

    /// Whether `date` is a school day; dates outside the calendar follow the weekday.
    pub fn is_school_day(&self, date: NaiveDate) -> bool {
        self.day(date).map_or_else(|| !is_weekend(date), |d| d.school_day)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn event_type(slug: &str) -> EventType {
    EventType::parse(slug).expect("event slugs here are fixed lower-case identifiers")
}

/// Builds child `index`'s calendar: holidays shared by children in the same zone (same
/// school region), assessments per child.
pub(crate) fn build(seed: u64, index: usize, tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Calendar {
    let first = local_date(tz, start) - Duration::days(1);
    let last = local_date(tz, end) + Duration::days(LOOKAHEAD_DAYS + 1);
    let period_first = local_date(tz, start);
    let period_days = (local_date(tz, end) - period_first).num_days().max(1);
    let mut free: Vec<bool> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(is_weekend)
        .collect();
    let mut events = Vec::new();

    let mut shared = shared_rng(seed, tz.name());
    let period_len = u32::try_from(period_days).unwrap_or(u32::MAX);
    let holidays = if period_len < MIN_DAYS_FOR_HOLIDAY {
        0
    } else {
        ((period_len + 30) / DAYS_PER_HOLIDAY).max(1)
    };
    let segment = period_days / i64::from(holidays.max(1));
    for h in 0..i64::from(holidays) {
        let seg_start = period_first + Duration::days(h * segment);
        let seg_end = seg_start + Duration::days(segment);
        let mondays: Vec<NaiveDate> = (seg_start + Duration::days(HOLIDAY_MARGIN_DAYS))
            .iter_days()
            .take_while(|d| *d + Duration::days(7) <= seg_end)
            .filter(|d| d.weekday() == Weekday::Mon)
            .collect();
        if mondays.is_empty() {
            continue;
        }
        let monday = mondays[shared.random_range(0..mondays.len())];
        mark_free(&mut free, first, monday, 7);
        events.push(NewSchoolEvent {
            event_type: event_type("holiday"),
            start: local_instant(tz, monday, 0.0),
            end: Some(local_instant(tz, monday + Duration::days(7), 0.0)),
        });
        if shared.random_bool(NO_SCHOOL_PROB) {
            let candidates: Vec<NaiveDate> = seg_start
                .iter_days()
                .take_while(|d| *d < seg_end)
                .filter(|d| !is_weekend(*d) && (*d < monday || *d >= monday + Duration::days(7)))
                .collect();
            if !candidates.is_empty() {
                let day = candidates[shared.random_range(0..candidates.len())];
                mark_free(&mut free, first, day, 1);
                events.push(NewSchoolEvent {
                    event_type: event_type("no_school"),
                    start: local_instant(tz, day, 0.0),
                    end: Some(local_instant(tz, day + Duration::days(1), 0.0)),
                });
            }
        }
    }

    let mut rng = child_rng(seed, index, Stream::Calendar);
    let mut tests = Vec::new();
    let mut test_dates = Vec::new();
    let mut candidate =
        period_first + Duration::days(rng.random_range(FIRST_TEST_DAYS.0..=FIRST_TEST_DAYS.1));
    let horizon = local_date(tz, end) + Duration::days(LOOKAHEAD_DAYS);
    while candidate < horizon {
        let Some(date) = candidate
            .iter_days()
            .take_while(|d| *d < horizon)
            .find(|d| !is_free(&free, first, *d))
        else {
            break;
        };
        let hours = TEST_START_H + 0.25 * f64::from(rng.random_range(0..=TEST_START_QUARTERS));
        let start_at = local_instant(tz, date, hours);
        events.push(NewSchoolEvent {
            event_type: event_type(pick_test_type(&mut rng)),
            start: start_at,
            end: Some(start_at + Duration::minutes(TEST_LENGTH_MIN)),
        });
        tests.push(start_at);
        test_dates.push(date);
        candidate = date + Duration::days(rng.random_range(TEST_SPACING_DAYS.0..=TEST_SPACING_DAYS.1));
    }
    events.retain(|e| e.start < end + Duration::days(LOOKAHEAD_DAYS) && e.end.unwrap_or(e.start) > start);
    events.sort_by_key(|e| e.start);

    let days = first
        .iter_days()
        .zip(free)
        .map(|(date, free)| Day {
            date,
            school_day: !free,
            test_next_day: test_dates.contains(&(date + Duration::days(1))),
            bad_day: 0.0,
            sleep_debt_h: 0.0,
        })
        .collect();
    Calendar {
        first,
        days,
        tests,
        events,
    }
}

fn mark_free(free: &mut [bool], first: NaiveDate, from: NaiveDate, days: i64) {
    for offset in 0..days {
        if let Ok(i) = usize::try_from((from - first).num_days() + offset) {
            if let Some(slot) = free.get_mut(i) {
                *slot = true;
            }
        }
    }
}

fn is_free(free: &[bool], first: NaiveDate, date: NaiveDate) -> bool {
    usize::try_from((date - first).num_days())
        .ok()
        .and_then(|i| free.get(i).copied())
        .unwrap_or(true)
}

fn pick_test_type(rng: &mut ChaCha8Rng) -> &'static str {
    let mut draw = rng.random::<f64>() * TEST_TYPES.iter().map(|(_, w)| w).sum::<f64>();
    for (slug, weight) in TEST_TYPES {
        if draw < weight {
            return slug;
        }
        draw -= weight;
    }
    TEST_TYPES[0].0
}
