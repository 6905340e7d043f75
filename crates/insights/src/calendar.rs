//! The child's free days and upcoming assessments, from their school events.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use sprout_chrono::{Calendar, DayType};
use sprout_domain::SchoolEvent;

/// Longest span an all-day event marks free; a longer one is a data-entry slip.
const MAX_FREE_SPAN_DAYS: i64 = 120;

/// Dates made free by `holiday`, `no_school` or `vacation` events (start to end, local).
/// Weekends are free by default in the chronotype engine and need no entry.
pub fn free_days(events: &[SchoolEvent], tz: Tz) -> Calendar {
    let mut calendar = Calendar::new();
    for event in events.iter().filter(|e| e.event_type.is_free_day()) {
        let first = event.start.with_timezone(&tz).date_naive();
        // An end at local midnight closes the previous day.
        let last = event
            .end
            .map(|end| (end - Duration::seconds(1)).with_timezone(&tz).date_naive())
            .unwrap_or(first)
            .min(first + Duration::days(MAX_FREE_SPAN_DAYS));
        let mut day = first;
        while day <= last {
            calendar.insert(day, DayType::Free);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    calendar
}

/// Whether `date` is a school day: a weekday that the calendar does not make free.
pub fn is_school_day(date: NaiveDate, calendar: &Calendar) -> bool {
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    !weekend && calendar.get(&date) != Some(&DayType::Free)
}

/// Local dates on which an assessment (test, exam, quiz) starts.
pub fn assessment_dates(events: &[SchoolEvent], tz: Tz) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = events
        .iter()
        .filter(|e| e.event_type.is_assessment())
        .map(|e| e.start.with_timezone(&tz).date_naive())
        .collect();
    dates.sort_unstable();
    dates.dedup();
    dates
}
