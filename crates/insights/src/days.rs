//! Day-level facts about a child: the sleep of each night, and whether stress has
//! stayed high for days (the point to suggest talking to someone).
//!
//! (Intervention effects are estimated at the moments families decide, not per day:
//! see [`crate::moments`].)

use crate::ChildData;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sprout_chrono::msf::{nights, sleep_days, Night};
use sprout_chrono::SleepEpisode as EngineEpisode;

/// Fewest stress readings that make a day's mean worth using (10 is ten minutes of
/// a minute-by-minute device, or almost an hour of a five-minute one).
const MIN_READINGS: usize = 10;

/// The instant of a local clock time (minutes after midnight) on a date; the earlier
/// one when DST repeats it, `None` when DST skips it.
fn local_instant(tz: Tz, date: NaiveDate, minute_of_day: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(minute_of_day / 60 % 24, minute_of_day % 60, 0)?;
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The main sleep of each night (naps left out), labelled by the date it ends on.
pub(crate) fn main_nights(data: &ChildData<'_>, calendar: &sprout_chrono::Calendar) -> Vec<Night> {
    let episodes: Vec<EngineEpisode> = data
        .sleep_episodes
        .iter()
        .filter_map(|e| EngineEpisode::new(e.onset, e.offset).ok())
        .collect();
    nights(&sleep_days(&episodes, data.tz), data.tz, calendar)
}

/// Hours of main sleep per wake date.
pub(crate) fn previous_night_sleep(
    data: &ChildData<'_>,
    calendar: &sprout_chrono::Calendar,
) -> Vec<(NaiveDate, f64)> {
    main_nights(data, calendar)
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
