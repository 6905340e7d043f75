//! School days versus free days: the weekend default, per-date calendar overrides, and
//! which day a night belongs to.
//!
//! MCTQ compares sleep before work days with sleep before free days (Roenneberg, Wirz-Justice
//! & Merrow 2003): what matters is whether an alarm or a school start constrains the
//! *wake-up*, so a night is labelled by the day that follows it. Friday night is a free
//! night; Sunday night is a school night.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Kind of day, from the child's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    /// School (or nursery) constrains the morning.
    School,
    /// Nothing constrains the morning: weekend, holiday, no-school day.
    Free,
}

/// Per-date overrides of the weekend default, keyed by local date (holidays, strike days,
/// a Saturday school event).
pub type Calendar = BTreeMap<NaiveDate, DayType>;

/// Day type of a local date: the calendar entry if there is one, otherwise Saturday and
/// Sunday are free and every other day is a school day.
pub fn day_type(date: NaiveDate, calendar: &Calendar) -> DayType {
    if let Some(kind) = calendar.get(&date) {
        return *kind;
    }
    match date.weekday() {
        Weekday::Sat | Weekday::Sun => DayType::Free,
        _ => DayType::School,
    }
}

/// Day type of a night, given the local date of the morning that ends it.
pub fn night_type(wake_date: NaiveDate, calendar: &Calendar) -> DayType {
    day_type(wake_date, calendar)
}

/// Marks every date from `first` to `last` inclusive with `kind` (e.g. a holiday week).
pub fn mark_range(calendar: &mut Calendar, first: NaiveDate, last: NaiveDate, kind: DayType) {
    for date in first.iter_days().take_while(|d| *d <= last) {
        calendar.insert(date, kind);
    }
}
