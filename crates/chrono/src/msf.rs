//! Nights and mid-sleep: main sleep versus naps, local clock times, and the MCTQ
//! quantities MSW, MSF, SDw, SDf, SDweek, MSFsc and social jet lag.
//!
//! # Clock representation
//! Every clock time of a night is given in **hours relative to local midnight at the start
//! of the day that follows the night** (the wake date). 03:30 is `3.5`, 07:00 is `7.0`,
//! and an evening time is negative: 22:30 is `-1.5`. Averages stay linear (no wrap-around
//! at midnight) and the 03:00 / 04:30 cut-offs read naturally.
//!
//! Mid-sleep is the instant halfway between onset and offset, read on the local clock in
//! force at that instant; sleep duration is elapsed physical time. On the two DST nights
//! of a year the wall clock gains or loses an hour, which moves that single night by at
//! most half an hour and is otherwise handled by the time-zone database.
//!
//! # Definitions (Roenneberg et al. 2003, 2004; Wittmann et al. 2006)
//! * MSW, MSF: mean mid-sleep before school (work) days and before free days.
//! * SDw, SDf: mean sleep duration on those nights.
//! * SDweek = (5·SDw + 2·SDf) / 7.
//! * MSFsc = MSF − (SDf − SDweek) / 2 when SDf > SDw, else MSF: mid-sleep on free days
//!   corrected for the oversleep that pays back school-week sleep debt.
//! * Social jet lag = |MSF − MSW|.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::daytype::{night_type, Calendar, DayType};
use crate::episodes::SleepEpisode;

/// Earliest local onset hour of a main sleep: an episode starting from 18:00 can be the
/// night's sleep (young children go to bed early); earlier ones are naps.
pub const MAIN_SLEEP_ONSET_FROM_HOUR: u32 = 18;

/// Local onset hour (exclusive) after which an episode is no longer the night's main
/// sleep but a morning or daytime nap.
pub const MAIN_SLEEP_ONSET_UNTIL_HOUR: u32 = 6;

/// A sleep day runs from local noon to local noon, so that an evening onset and the
/// following morning's wake-up fall in the same day whatever the time of falling asleep.
pub const SLEEP_DAY_START_HOUR: i64 = 12;

/// Nights whose mid-sleep lies further than this from the median of nights of the same
/// kind are left out: a sleepover, an illness, a jet-lagged first night after a flight.
/// Three hours is wider than normal night-to-night variation in children (about ±1 h).
pub const OUTLIER_HOURS: f64 = 3.0;

/// Floor on the night-to-night standard deviation used for standard errors, so that a
/// handful of unusually regular nights does not produce false certainty.
pub const MIN_NIGHTLY_SD_HOURS: f64 = 0.25;

/// Weighting of SDweek: five school days and two free days per week (MCTQ).
const SCHOOL_DAYS_PER_WEEK: f64 = 5.0;
const FREE_DAYS_PER_WEEK: f64 = 2.0;

/// One night's main sleep read on the local clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Night {
    /// Local date of the morning ending the night; the night is labelled by this day.
    pub wake_date: NaiveDate,
    /// School night or free night (by `wake_date`).
    pub day_type: DayType,
    /// Sleep onset, hours relative to local midnight of `wake_date` (negative: evening).
    pub onset_hours: f64,
    /// Sleep offset, hours relative to local midnight of `wake_date`.
    pub offset_hours: f64,
    /// Mid-sleep, hours relative to local midnight of `wake_date`.
    pub mid_hours: f64,
    /// Elapsed sleep duration in hours.
    pub duration_hours: f64,
    /// The episode itself.
    pub episode: SleepEpisode,
}

/// The episodes of one sleep day (local noon to local noon).
#[derive(Debug, Clone, PartialEq)]
pub struct SleepDay {
    /// Local date of the morning inside this sleep day.
    pub wake_date: NaiveDate,
    /// The longest episode starting between 18:00 and 06:00 local, if any.
    pub main: Option<SleepEpisode>,
    /// Every other episode of the sleep day.
    pub naps: Vec<SleepEpisode>,
}

/// Local wall-clock time of an instant, on the episode's fixed offset when it has one,
/// otherwise on the child's zone.
pub fn local_time(instant: DateTime<Utc>, episode: &SleepEpisode, tz: Tz) -> NaiveDateTime {
    match episode.utc_offset {
        Some(fixed) => instant.with_timezone(&fixed).naive_local(),
        None => instant.with_timezone(&tz).naive_local(),
    }
}

/// True when an onset at this local time may start a main sleep.
fn is_night_onset(local_onset: NaiveDateTime) -> bool {
    // Daytime is 06:00–18:00; every other onset hour may start the night's sleep.
    !(MAIN_SLEEP_ONSET_UNTIL_HOUR..MAIN_SLEEP_ONSET_FROM_HOUR).contains(&local_onset.hour())
}

/// The wake date of the sleep day holding a local onset time.
fn wake_date_of(local_onset: NaiveDateTime) -> NaiveDate {
    (local_onset - Duration::hours(SLEEP_DAY_START_HOUR)).date() + Duration::days(1)
}

/// Groups valid episodes into sleep days and picks each day's main sleep; invalid
/// episodes (non-positive or implausibly long) are skipped. Sorted by wake date.
pub fn sleep_days(episodes: &[SleepEpisode], tz: Tz) -> Vec<SleepDay> {
    let mut sorted: Vec<SleepEpisode> = episodes
        .iter()
        .copied()
        .filter(|e| e.validate().is_ok())
        .collect();
    // Sorting makes the result independent of input order (ties broken by offset).
    sorted.sort_by_key(|e| (e.onset, e.offset));

    let mut days: BTreeMap<NaiveDate, SleepDay> = BTreeMap::new();
    for episode in sorted {
        let local_onset = local_time(episode.onset, &episode, tz);
        let wake_date = wake_date_of(local_onset);
        let day = days.entry(wake_date).or_insert_with(|| SleepDay {
            wake_date,
            main: None,
            naps: Vec::new(),
        });
        if !is_night_onset(local_onset) {
            day.naps.push(episode);
            continue;
        }
        match day.main {
            Some(main) if main.offset - main.onset >= episode.offset - episode.onset => {
                day.naps.push(episode);
            }
            Some(main) => {
                day.naps.push(main);
                day.main = Some(episode);
            }
            None => day.main = Some(episode),
        }
    }
    days.into_values().collect()
}

/// Hours from local midnight of `wake_date` to a local time.
fn hours_from_midnight(wake_date: NaiveDate, local: NaiveDateTime) -> f64 {
    let midnight = wake_date.and_time(NaiveTime::MIN);
    (local - midnight).num_seconds() as f64 / 3600.0
}

/// Main sleeps as nights on the local clock, labelled school or free by the calendar.
pub fn nights(days: &[SleepDay], tz: Tz, calendar: &Calendar) -> Vec<Night> {
    days.iter()
        .filter_map(|day| {
            let episode = day.main?;
            let wake_date = day.wake_date;
            Some(Night {
                wake_date,
                day_type: night_type(wake_date, calendar),
                onset_hours: hours_from_midnight(wake_date, local_time(episode.onset, &episode, tz)),
                offset_hours: hours_from_midnight(wake_date, local_time(episode.offset, &episode, tz)),
                mid_hours: hours_from_midnight(wake_date, local_time(episode.mid_instant(), &episode, tz)),
                duration_hours: episode.duration_hours(),
                episode,
            })
        })
        .collect()
}

/// Mean and sample standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (0 for a single value).
    pub sd: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanSd {
    /// Mean and SD of a non-empty slice; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(MeanSd { mean, sd, n })
    }

    /// Standard error of the mean, with the per-night SD floored at
    /// [`MIN_NIGHTLY_SD_HOURS`].
    pub fn standard_error(&self) -> f64 {
        self.sd.max(MIN_NIGHTLY_SD_HOURS) / (self.n.max(1) as f64).sqrt()
    }
}

/// Mid-sleep and duration statistics of one kind of night.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KindStats {
    /// Mid-sleep.
    pub mid: MeanSd,
    /// Sleep duration.
    pub duration: MeanSd,
    /// Sleep onset.
    pub onset: MeanSd,
    /// Sleep offset.
    pub offset: MeanSd,
}

/// MCTQ quantities for one child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidSleepSummary {
    /// School nights kept.
    pub school: Option<KindStats>,
    /// Free nights kept.
    pub free: Option<KindStats>,
    /// Nights left out as outliers.
    pub excluded: usize,
    /// SDweek, when both kinds are present.
    pub sd_week: Option<f64>,
    /// MSFsc, when there are free nights.
    pub msf_sc: Option<f64>,
    /// Standard error of MSFsc (hours), from night-to-night spread.
    pub msf_sc_standard_error: Option<f64>,
    /// |MSF − MSW|, when both kinds are present.
    pub social_jetlag: Option<f64>,
}

impl MidSleepSummary {
    /// School plus free nights kept.
    pub fn nights_used(&self) -> usize {
        self.school.map_or(0, |s| s.mid.n) + self.free.map_or(0, |s| s.mid.n)
    }

    /// Free nights kept.
    pub fn free_nights(&self) -> usize {
        self.free.map_or(0, |s| s.mid.n)
    }

    /// School nights kept.
    pub fn school_nights(&self) -> usize {
        self.school.map_or(0, |s| s.mid.n)
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Keeps the nights of one kind whose mid-sleep is within [`OUTLIER_HOURS`] of the median.
fn kind_stats(nights: &[&Night]) -> (Option<KindStats>, usize) {
    let mut mids: Vec<f64> = nights.iter().map(|n| n.mid_hours).collect();
    let Some(centre) = median(&mut mids) else {
        return (None, 0);
    };
    let kept: Vec<&&Night> = nights
        .iter()
        .filter(|n| (n.mid_hours - centre).abs() <= OUTLIER_HOURS)
        .collect();
    let excluded = nights.len() - kept.len();
    let collect = |f: fn(&Night) -> f64| -> Vec<f64> { kept.iter().map(|n| f(n)).collect() };
    let stats = (|| {
        Some(KindStats {
            mid: MeanSd::of(&collect(|n| n.mid_hours))?,
            duration: MeanSd::of(&collect(|n| n.duration_hours))?,
            onset: MeanSd::of(&collect(|n| n.onset_hours))?,
            offset: MeanSd::of(&collect(|n| n.offset_hours))?,
        })
    })();
    (stats, excluded)
}

/// Computes the MCTQ quantities from nights.
pub fn summarize(nights: &[Night]) -> MidSleepSummary {
    let school_nights: Vec<&Night> = nights.iter().filter(|n| n.day_type == DayType::School).collect();
    let free_nights: Vec<&Night> = nights.iter().filter(|n| n.day_type == DayType::Free).collect();
    let (school, excluded_school) = kind_stats(&school_nights);
    let (free, excluded_free) = kind_stats(&free_nights);

    let sd_week = match (school, free) {
        (Some(w), Some(f)) => Some(
            (SCHOOL_DAYS_PER_WEEK * w.duration.mean + FREE_DAYS_PER_WEEK * f.duration.mean)
                / (SCHOOL_DAYS_PER_WEEK + FREE_DAYS_PER_WEEK),
        ),
        _ => None,
    };

    let (msf_sc, msf_sc_standard_error) = match free {
        None => (None, None),
        Some(f) => {
            let se_msf = f.mid.standard_error();
            match (school, sd_week) {
                (Some(w), Some(week)) if f.duration.mean > w.duration.mean => {
                    // MSF − (SDf − SDweek)/2 = MSF − 5/14·(SDf − SDw): the correction's
                    // error comes from both duration means.
                    let weight = SCHOOL_DAYS_PER_WEEK / (2.0 * (SCHOOL_DAYS_PER_WEEK + FREE_DAYS_PER_WEEK));
                    let se_corr = weight
                        * (f.duration.standard_error().powi(2) + w.duration.standard_error().powi(2)).sqrt();
                    (
                        Some(f.mid.mean - (f.duration.mean - week) / 2.0),
                        Some((se_msf.powi(2) + se_corr.powi(2)).sqrt()),
                    )
                }
                _ => (Some(f.mid.mean), Some(se_msf)),
            }
        }
    };

    let social_jetlag = match (school, free) {
        (Some(w), Some(f)) => Some((f.mid.mean - w.mid.mean).abs()),
        _ => None,
    };

    MidSleepSummary {
        school,
        free,
        excluded: excluded_school + excluded_free,
        sd_week,
        msf_sc,
        msf_sc_standard_error,
        social_jetlag,
    }
}
