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
pub(crate) fn local_instant(tz: Tz, date: NaiveDate, minute_of_day: u32) -> Option<DateTime<Utc>> {
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

/// Nights looked at for the usual bedtime and sleep: recent enough to be today's habit.
const RECENT_NIGHTS: Duration = Duration::days(28);
/// Fewest nights of a kind before their usual onset is trusted.
const MIN_NIGHTS: usize = 3;

/// The child's recent sleep habit: when sleep usually begins before a school day and
/// before a free day, and how long the nights last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SleepHabit {
    /// Median onset before a school day, hours from the next day's midnight (negative:
    /// the evening before).
    pub school_onset: Option<f64>,
    /// The same before a free day.
    pub free_onset: Option<f64>,
    /// Mean hours of main sleep a night.
    pub mean_sleep_hours: Option<f64>,
    /// The same over nights before a school day: what the week's short nights are (the
    /// next-nights forecast shows the same on school nights).
    pub school_sleep_hours: Option<f64>,
}

impl SleepHabit {
    /// The usual onset before a school day (`school_next`) or a free day, falling back to
    /// the other kind when one has too few nights.
    pub fn onset(&self, school_next: bool) -> Option<f64> {
        if school_next {
            self.school_onset.or(self.free_onset)
        } else {
            self.free_onset.or(self.school_onset)
        }
    }
}

/// The child's sleep over the last [`RECENT_NIGHTS`] before `now`.
pub fn sleep_habit(data: &ChildData<'_>) -> SleepHabit {
    let calendar = crate::calendar::free_days(data.events, data.tz);
    let since = data.now - RECENT_NIGHTS;
    let recent: Vec<Night> = main_nights(data, &calendar)
        .into_iter()
        .filter(|n| n.episode.offset > since && n.episode.offset <= data.now)
        .collect();
    let median_onset = |school: bool| {
        let mut onsets: Vec<f64> = recent
            .iter()
            .filter(|n| (n.day_type == sprout_chrono::DayType::School) == school)
            .map(|n| n.onset_hours)
            .collect();
        onsets.sort_by(f64::total_cmp);
        (onsets.len() >= MIN_NIGHTS).then(|| onsets[onsets.len() / 2])
    };
    SleepHabit {
        school_onset: median_onset(true),
        free_onset: median_onset(false),
        mean_sleep_hours: mean_hours(recent.iter()),
        school_sleep_hours: mean_hours(
            recent
                .iter()
                .filter(|n| n.day_type == sprout_chrono::DayType::School),
        ),
    }
}

/// Mean main-sleep hours of `nights`, when there are enough of them.
fn mean_hours<'a>(nights: impl Iterator<Item = &'a Night>) -> Option<f64> {
    let hours: Vec<f64> = nights.map(|n| n.duration_hours).collect();
    (hours.len() >= MIN_NIGHTS).then(|| hours.iter().sum::<f64>() / hours.len() as f64)
}

/// Stress at or above this, averaged over the last [`NOW_WINDOW`], is high *now*: the
/// live alert and the card's "right now" sentence use the same line.
pub const HIGH_NOW_STRESS: f64 = 0.8;
/// How much of the latest readings "now" means.
pub const NOW_WINDOW: Duration = Duration::minutes(30);
/// Fewest readings in [`NOW_WINDOW`] that make its mean meaningful.
pub const NOW_MIN_READINGS: usize = 5;

/// Mean stress over the [`NOW_WINDOW`] before `now`, when it holds enough readings.
pub fn stress_now(samples: &[sprout_domain::Sample], now: DateTime<Utc>) -> Option<f64> {
    let recent: Vec<f64> = samples
        .iter()
        .rev()
        .take_while(|s| s.time > now - NOW_WINDOW)
        .filter(|s| s.time <= now)
        .filter_map(|s| s.stress_level)
        .collect();
    (recent.len() >= NOW_MIN_READINGS).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
}

/// The least an earlier bedtime moves: the step is this, rounded down to the quarter
/// hour, so 15–29 minutes (paediatric sleep guidance moves bedtimes in such steps).
pub const BEDTIME_STEP_MINUTES: i64 = 15;

/// The earlier bedtime Sprout suggests for a usual onset, both in hours from a local
/// midnight (negative: the evening before): [`BEDTIME_STEP_MINUTES`] earlier, down to the
/// quarter hour of the local clock.
pub fn earlier_bedtime(onset_hours: f64) -> f64 {
    let minutes = (onset_hours * 60.0).round() as i64 - BEDTIME_STEP_MINUTES;
    minutes.div_euclid(15) as f64 * 15.0 / 60.0
}

/// Hours of sleep a night recommended at `age` (American Academy of Sleep Medicine
/// consensus, Paruthi et al. 2016), when it covers that age.
pub fn recommended_sleep_hours(age: u32) -> Option<(u32, u32)> {
    match age {
        3..=5 => Some((10, 13)),
        6..=12 => Some((9, 12)),
        13..=18 => Some((8, 10)),
        _ => None,
    }
}
