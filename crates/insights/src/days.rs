//! The day-level table causal estimates are built on: one row per day of a child's
//! life, with what was done, how stressed the child was afterwards, and what else was
//! going on that could explain both.
//!
//! A table is built for one intervention kind: the days it was done (the first
//! intervention of a day counts) and the days nothing was done.
//! Outcome: mean stress in the [`OUTCOME_WINDOW`] after the intervention started; on a
//! day without one, in the same clock window at the child's usual time for that kind,
//! so treated and untreated days compare the same part of the day (an earlier bedtime
//! is compared with other evenings near bedtime, not with late afternoons).
//! Covariates, all fixed before the window opens: the day's awake stress so far (the
//! best measure of "a bad day", which makes parents intervene and raises stress
//! anyway), the previous night's sleep, school day, a test today or tomorrow.

use crate::calendar::{assessment_dates, free_days, is_school_day};
use crate::ChildData;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sprout_chrono::msf::{nights, sleep_days};
use sprout_chrono::SleepEpisode as EngineEpisode;
use sprout_domain::{InterventionKind, Sample};

/// How long after an intervention its effect on stress is measured: the length of a
/// calm evening activity and the time after it.
pub const OUTCOME_WINDOW: Duration = Duration::hours(2);
/// Local hour from which the day's stress so far is measured: after most children wake.
const DAY_START_HOUR: u32 = 6;
/// Fewest stress readings that make a window's mean worth using (10 is ten minutes of
/// a minute-by-minute device, or almost an hour of a five-minute one).
const MIN_READINGS: usize = 10;
/// Intervention time for a child who has never recorded one: early evening.
const DEFAULT_WINDOW_START_MIN: u32 = 19 * 60;
/// The morning whose stress is the second outcome (local clock).
const NEXT_MORNING: (u32, u32) = (7, 10);

/// One day of a child's life, ready for estimation.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub date: NaiveDate,
    pub treatment: Option<InterventionKind>,
    pub window_start: DateTime<Utc>,
    /// Mean stress in the outcome window.
    pub outcome: f64,
    /// Mean stress 07:00–10:00 the next morning, when measured.
    pub next_morning: Option<f64>,
    /// Mean awake stress from the morning until the window opened.
    pub pre_stress: f64,
    /// Hours slept the night before, when known.
    pub prev_sleep_hours: Option<f64>,
    pub school_day: bool,
    pub test_today: bool,
    pub test_tomorrow: bool,
}

/// What every kind's table is built from, computed once per child.
pub struct Readings {
    stress: Vec<(DateTime<Utc>, f64)>,
    /// Asleep readings are low whatever the day was like; they would blur "a bad day".
    awake: Vec<(DateTime<Utc>, f64)>,
    calendar: sprout_chrono::Calendar,
    tests: Vec<NaiveDate>,
    sleep_by_wake_date: Vec<(NaiveDate, f64)>,
}

impl Readings {
    pub fn new(data: &ChildData<'_>) -> Self {
        let stress = data
            .samples
            .iter()
            .filter_map(|s: &Sample| s.stress_level.map(|v| (s.time, v)))
            .collect();
        let awake = data
            .samples
            .iter()
            .filter(|s| !s.sleep_state.is_some_and(|state| state.is_asleep()))
            .filter_map(|s| s.stress_level.map(|v| (s.time, v)))
            .collect();
        let calendar = free_days(data.events, data.tz);
        let sleep_by_wake_date = previous_night_sleep(data, &calendar);
        Self {
            stress,
            awake,
            tests: assessment_dates(data.events, data.tz),
            calendar,
            sleep_by_wake_date,
        }
    }
}

/// Builds the table for one intervention kind from a child's data; days whose windows
/// lack readings are left out.
pub fn day_table(data: &ChildData<'_>, kind: InterventionKind) -> Vec<DayRow> {
    day_table_from(data, &Readings::new(data), kind)
}

/// As [`day_table`], from readings prepared once for all kinds.
pub fn day_table_from(data: &ChildData<'_>, readings: &Readings, kind: InterventionKind) -> Vec<DayRow> {
    let tz = data.tz;
    let Readings {
        stress,
        awake,
        calendar,
        tests,
        sleep_by_wake_date,
    } = readings;
    let (Some(first), Some(last)) = (stress.first(), stress.last()) else {
        return Vec::new();
    };
    let usual_start = usual_intervention_minute(data, kind);

    let mut rows = Vec::new();
    let mut date = first.0.with_timezone(&tz).date_naive();
    let last_date = last.0.with_timezone(&tz).date_naive();
    while date <= last_date {
        let intervention = data
            .interventions
            .iter()
            .find(|i| i.time.with_timezone(&tz).date_naive() == date);
        let window_start = match intervention {
            Some(i) if i.kind == kind => Some(i.time),
            Some(_) => None,
            None => local_instant(tz, date, usual_start),
        };
        let day_start = local_instant(tz, date, DAY_START_HOUR * 60);
        if let (Some(window_start), Some(day_start)) = (
            window_start.filter(|w| *w + OUTCOME_WINDOW <= data.now),
            day_start,
        ) {
            let outcome = mean_between(stress, window_start, window_start + OUTCOME_WINDOW);
            let pre_stress = mean_between(awake, day_start.min(window_start), window_start);
            if let (Some(outcome), Some(pre_stress)) = (outcome, pre_stress) {
                let next_day = date.succ_opt().unwrap_or(date);
                let next_morning = match (
                    local_instant(tz, next_day, NEXT_MORNING.0 * 60),
                    local_instant(tz, next_day, NEXT_MORNING.1 * 60),
                ) {
                    (Some(from), Some(to)) => mean_between(stress, from, to),
                    _ => None,
                };
                rows.push(DayRow {
                    date,
                    treatment: intervention.map(|i| i.kind),
                    window_start,
                    outcome,
                    next_morning,
                    pre_stress,
                    prev_sleep_hours: sleep_by_wake_date
                        .iter()
                        .find(|(d, _)| *d == date)
                        .map(|(_, h)| *h),
                    school_day: is_school_day(date, calendar),
                    test_today: tests.binary_search(&date).is_ok(),
                    test_tomorrow: tests.binary_search(&next_day).is_ok(),
                });
            }
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    rows
}

/// Mean of the readings in `[from, to)`, when there are enough of them.
fn mean_between(readings: &[(DateTime<Utc>, f64)], from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    let start = readings.partition_point(|(t, _)| *t < from);
    let end = readings.partition_point(|(t, _)| *t < to);
    let window = readings.get(start..end)?;
    (window.len() >= MIN_READINGS).then(|| window.iter().map(|(_, v)| v).sum::<f64>() / window.len() as f64)
}

/// The instant of a local clock time (minutes after midnight) on a date; the earlier
/// one when DST repeats it, `None` when DST skips it.
fn local_instant(tz: Tz, date: NaiveDate, minute_of_day: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(minute_of_day / 60 % 24, minute_of_day % 60, 0)?;
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The child's usual clock time for an intervention kind: the median of their recorded
/// ones of that kind, else of all kinds.
fn usual_intervention_minute(data: &ChildData<'_>, kind: InterventionKind) -> u32 {
    let of_kind = data.interventions.iter().any(|i| i.kind == kind);
    let mut minutes: Vec<u32> = data
        .interventions
        .iter()
        .filter(|i| !of_kind || i.kind == kind)
        .map(|i| {
            let local = i.time.with_timezone(&data.tz);
            local.hour() * 60 + local.minute()
        })
        .collect();
    if minutes.is_empty() {
        return DEFAULT_WINDOW_START_MIN;
    }
    minutes.sort_unstable();
    minutes[minutes.len() / 2]
}

/// Hours of main sleep per wake date.
pub(crate) fn previous_night_sleep(
    data: &ChildData<'_>,
    calendar: &sprout_chrono::Calendar,
) -> Vec<(NaiveDate, f64)> {
    let episodes: Vec<EngineEpisode> = data
        .sleep_episodes
        .iter()
        .filter_map(|e| EngineEpisode::new(e.onset, e.offset).ok())
        .collect();
    nights(&sleep_days(&episodes, data.tz), data.tz, calendar)
        .into_iter()
        .map(|n| (n.wake_date, n.duration_hours))
        .collect()
}

/// Mean awake stress that counts as a high day.
pub const HIGH_DAY_STRESS: f64 = 0.65;
/// Consecutive high days that make stress "sustained".
pub const SUSTAINED_DAYS: usize = 3;

/// Whether each of the last [`SUSTAINED_DAYS`] complete local days had a mean awake
/// stress of at least [`HIGH_DAY_STRESS`]: the point to suggest talking to someone.
pub fn sustained_high_stress(data: &ChildData<'_>) -> bool {
    let today = data.now.with_timezone(&data.tz).date_naive();
    (1..=SUSTAINED_DAYS as i64).all(|back| {
        let day = today - Duration::days(back);
        let (Some(from), Some(to)) = (
            local_instant(data.tz, day, 0),
            local_instant(data.tz, day + Duration::days(1), 0),
        ) else {
            return false;
        };
        let awake: Vec<f64> = data
            .samples
            .iter()
            .filter(|s| s.time >= from && s.time < to && !s.sleep_state.is_some_and(|st| st.is_asleep()))
            .filter_map(|s| s.stress_level)
            .collect();
        awake.len() >= MIN_READINGS && awake.iter().sum::<f64>() / awake.len() as f64 >= HIGH_DAY_STRESS
    })
}
