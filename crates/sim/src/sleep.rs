//! Sleep: nightly timing by chronotype and school constraints, stages, naps, episodes.
//!
//! Hours here are local clock hours counted from midnight of the evening's date, so an
//! onset of 21.5 is 21:30 and a wake of 31.0 is 07:00 the next morning.

use crate::calendar::Calendar;
use crate::profile::Traits;
use crate::rng::normal;
use crate::time::{local_instant, utc_offset_min};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sprout_domain::{NewSleepEpisode, SleepState};

/// On school nights parents push bedtime a little earlier than the child would choose.
const SCHOOL_NIGHT_ADVANCE_H: f64 = 0.33;
/// On free mornings a child sleeps in by this share of the previous school night's debt.
const RECOVERY_SHARE: f64 = 0.5;
/// Night-to-night spread of sleep onset, hours (SD).
const ONSET_JITTER_H: f64 = 0.33;
/// Spread of wake time on school mornings (an alarm clock), hours (SD).
const SCHOOL_WAKE_JITTER_H: f64 = 0.15;
/// Spread of wake time on free mornings, hours (SD).
const FREE_WAKE_JITTER_H: f64 = 0.4;
/// A child sent to bed early falls asleep this long after the bedtime starts, hours.
const EARLY_BEDTIME_SETTLE_H: f64 = 0.33;
/// No simulated night is shorter than this, however the jitter falls.
const MIN_NIGHT_H: f64 = 5.0;
/// A sleep cycle lasts 80-110 minutes.
const CYCLE_MIN: (u32, u32) = (80, 110);
/// Share of the first cycle spent in deep sleep; deep sleep dominates early in the night.
const DEEP_FIRST: f64 = 0.4;
/// Deep sleep's share shrinks by this much each cycle...
const DEEP_DECLINE: f64 = 0.08;
/// ...but never below this.
const DEEP_MIN: f64 = 0.05;
/// Share of the first cycle spent in REM; REM grows towards morning.
const REM_FIRST: f64 = 0.1;
/// REM's share grows by this much each cycle...
const REM_GROWTH: f64 = 0.06;
/// ...up to this.
const REM_MAX: f64 = 0.4;
/// Chance of a brief awakening at the end of a sleep cycle.
const AWAKENING_PROB: f64 = 0.25;
/// A brief awakening lasts 1-4 minutes.
const AWAKENING_MIN: (i64, i64) = (1, 4);
/// No awakening within this many minutes of the final wake, so the episode ends cleanly.
const AWAKENING_MARGIN_MIN: i64 = 20;
/// Children this age or younger sometimes nap.
const NAP_MAX_AGE: u32 = 7;
/// Chance of a nap on a free day for a child young enough.
const NAP_PROB_FREE_DAY: f64 = 0.35;
/// Chance of a nap on a school day (after school) for a child young enough.
const NAP_PROB_SCHOOL_DAY: f64 = 0.1;
/// Naps start between 13:00 and 15:00 local.
const NAP_START_H: (f64, f64) = (13.0, 15.0);
/// Naps last 25-75 minutes.
const NAP_MIN: (i64, i64) = (25, 75);

/// The mean (jitter-free) schedule of a child's nights, in evening-date hours.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub school_onset: f64,
    pub school_wake: f64,
    pub free_onset: f64,
    pub free_wake: f64,
}

impl Schedule {
    /// A child's mean schedule: free nights at the preferred time plus recovery sleep;
    /// school nights a little earlier and cut short by the school-day wake time.
    pub fn of(traits: &Traits) -> Self {
        let preferred_onset = 24.0 + traits.preferred_mid_h - traits.sleep_need_h / 2.0;
        let natural_wake = preferred_onset + traits.sleep_need_h;
        let school_onset = preferred_onset - SCHOOL_NIGHT_ADVANCE_H;
        let school_wake = natural_wake.min(24.0 + traits.school_wake_h);
        let debt = (traits.sleep_need_h - (school_wake - school_onset)).max(0.0);
        Self {
            school_onset,
            school_wake,
            free_onset: preferred_onset,
            free_wake: natural_wake + RECOVERY_SHARE * debt,
        }
    }

    /// Roenneberg's MSFsc of this schedule, hours after local midnight (see `Truth`).
    pub fn msf_sc(&self) -> f64 {
        let sd_w = self.school_wake - self.school_onset;
        let sd_f = self.free_wake - self.free_onset;
        let msf = (self.free_onset + self.free_wake) / 2.0 - 24.0;
        if sd_f > sd_w {
            let sd_week = (5.0 * sd_w + 2.0 * sd_f) / 7.0;
            msf - (sd_f - sd_week) / 2.0
        } else {
            msf
        }
    }
}

/// A stretch of one asleep stage; between stretches the child is awake.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stage {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: SleepState,
}

/// Every episode and every asleep stretch of one child, sorted and non-overlapping.
#[derive(Debug, Clone, Default)]
pub(crate) struct SleepPlan {
    pub episodes: Vec<NewSleepEpisode>,
    pub stages: Vec<Stage>,
    /// What each early bedtime in the period did to its night, in order.
    pub bedtime_nights: Vec<BedtimeNight>,
}

/// One early bedtime's night, against the night the child would have had without it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BedtimeNight {
    /// Hours added to the night (0 when the child would have slept that early anyway, or
    /// when bedtimes do not lengthen sleep).
    pub gain_h: f64,
    /// Hours of sleep debt the next day is spared.
    pub debt_relief_h: f64,
}

/// Plans the nights (and naps) touching `[start, end)` and records each morning's debt.
/// `early_bedtimes` (local evening hour by evening date) are the evenings with an early
/// bedtime; when `lengthens` they move that night's onset to shortly after the bedtime
/// starts, when that is earlier than the child would sleep.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    traits: &Traits,
    tz: Tz,
    calendar: &mut Calendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    early_bedtimes: &[(NaiveDate, f64)],
    lengthens: bool,
    rng: &mut ChaCha8Rng,
) -> SleepPlan {
    let schedule = Schedule::of(traits);
    let mut plan = SleepPlan::default();
    let mut naps = Vec::new();
    for i in 0..calendar.days.len().saturating_sub(1) {
        let date = calendar.days[i].date;
        let free_night = !calendar.days[i + 1].school_day;
        let (onset_h, wake_h) = if free_night {
            (
                schedule.free_onset + ONSET_JITTER_H * normal(rng),
                schedule.free_wake + FREE_WAKE_JITTER_H * normal(rng),
            )
        } else {
            (
                schedule.school_onset + ONSET_JITTER_H * normal(rng),
                schedule.school_wake + SCHOOL_WAKE_JITTER_H * normal(rng),
            )
        };
        let bedtime = early_bedtimes
            .iter()
            .find(|(d, _)| *d == date)
            .map(|(_, hour)| *hour);
        let natural_onset_h = onset_h;
        let onset_h = match bedtime.map(|hour| hour + EARLY_BEDTIME_SETTLE_H) {
            Some(early) if lengthens && early < onset_h => early,
            _ => onset_h,
        };
        let slept_h = |onset_h: f64| {
            let wake_h = wake_h.max(onset_h + MIN_NIGHT_H);
            (local_instant(tz, date, wake_h) - local_instant(tz, date, onset_h)).num_minutes() as f64 / 60.0
        };
        let debt = |slept_h: f64| (traits.sleep_need_h - slept_h).max(0.0);
        if bedtime.is_some_and(|hour| evening_within(tz, date, hour, start, end)) {
            let (without, with) = (slept_h(natural_onset_h), slept_h(onset_h));
            plan.bedtime_nights.push(BedtimeNight {
                gain_h: with - without,
                debt_relief_h: debt(without) - debt(with),
            });
        }
        let wake_h = wake_h.max(onset_h + MIN_NIGHT_H);
        let onset = local_instant(tz, date, onset_h);
        let offset = local_instant(tz, date, wake_h);
        calendar.days[i + 1].sleep_debt_h = debt(slept_h(onset_h));
        let stages = night_stages(onset, offset, rng);
        if offset > start && onset < end {
            plan.episodes.push(episode(tz, onset, offset));
            plan.stages.extend(stages);
        }
        if traits.age_years <= NAP_MAX_AGE {
            let nap_day = &calendar.days[i + 1];
            let prob = if nap_day.school_day {
                NAP_PROB_SCHOOL_DAY
            } else {
                NAP_PROB_FREE_DAY
            };
            let wants = rng.random_bool(prob);
            let nap_h = rng.random_range(NAP_START_H.0..NAP_START_H.1);
            let length = Duration::minutes(rng.random_range(NAP_MIN.0..=NAP_MIN.1));
            let nap_start = local_instant(tz, nap_day.date, nap_h);
            if wants && nap_start + length > start && nap_start < end {
                naps.push((nap_start, nap_start + length));
            }
        }
    }
    for (onset, offset) in naps {
        plan.episodes.push(episode(tz, onset, offset));
        plan.stages.extend(nap_stages(onset, offset));
    }
    plan.episodes.sort_by_key(|e| e.onset);
    plan.stages.sort_by_key(|s| s.start);
    plan
}

/// Whether the evening hour of `date` falls in the simulated period.
fn evening_within(tz: Tz, date: NaiveDate, hour: f64, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let t = local_instant(tz, date, hour);
    t >= start && t < end
}

fn episode(tz: Tz, onset: DateTime<Utc>, offset: DateTime<Utc>) -> NewSleepEpisode {
    NewSleepEpisode {
        onset,
        offset,
        utc_offset_min: utc_offset_min(tz, onset),
    }
}

/// Cycles of light, deep, light and REM sleep, deep early and REM late, with occasional
/// brief awakenings between cycles.
fn night_stages(onset: DateTime<Utc>, offset: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Vec<Stage> {
    let mut stages = Vec::new();
    let mut t = onset;
    let mut cycle = 0.0;
    while t < offset {
        let length = f64::from(rng.random_range(CYCLE_MIN.0..=CYCLE_MIN.1));
        let deep = (DEEP_FIRST - DEEP_DECLINE * cycle).max(DEEP_MIN);
        let rem = (REM_FIRST + REM_GROWTH * cycle).min(REM_MAX);
        let light = 1.0 - deep - rem;
        let parts = [
            (SleepState::Light, light / 2.0),
            (SleepState::Deep, deep),
            (SleepState::Light, light / 2.0),
            (SleepState::Rem, rem),
        ];
        for (state, share) in parts {
            let minutes = ((length * share).round() as i64).max(1);
            let end = (t + Duration::minutes(minutes)).min(offset);
            if end > t {
                push_stage(&mut stages, t, end, state);
            }
            t = end;
        }
        let awakening = Duration::minutes(rng.random_range(AWAKENING_MIN.0..=AWAKENING_MIN.1));
        let brief_awakening = rng.random_bool(AWAKENING_PROB);
        if brief_awakening && t + awakening + Duration::minutes(AWAKENING_MARGIN_MIN) < offset {
            t += awakening;
        }
        cycle += 1.0;
    }
    stages
}

/// A nap: light sleep, a stretch of deep sleep, light sleep again.
fn nap_stages(onset: DateTime<Utc>, offset: DateTime<Utc>) -> Vec<Stage> {
    let length = (offset - onset).num_minutes();
    let first = onset + Duration::minutes(length * 2 / 5);
    let second = onset + Duration::minutes(length * 4 / 5);
    let mut stages = Vec::new();
    push_stage(&mut stages, onset, first, SleepState::Light);
    push_stage(&mut stages, first, second, SleepState::Deep);
    push_stage(&mut stages, second, offset, SleepState::Light);
    stages
}

/// Appends a stretch, merging it into the previous one when it continues the same stage.
fn push_stage(stages: &mut Vec<Stage>, start: DateTime<Utc>, end: DateTime<Utc>, state: SleepState) {
    if end <= start {
        return;
    }
    match stages.last_mut() {
        Some(last) if last.end == start && last.state == state => last.end = end,
        _ => stages.push(Stage { start, end, state }),
    }
}

/// Walks the stages alongside increasing sample times.
pub(crate) struct StageCursor<'a> {
    stages: &'a [Stage],
    next: usize,
}

impl<'a> StageCursor<'a> {
    pub fn new(stages: &'a [Stage]) -> Self {
        Self { stages, next: 0 }
    }

    /// The sleep state at `t`; calls must come with non-decreasing `t`.
    pub fn state_at(&mut self, t: DateTime<Utc>) -> SleepState {
        while self.stages.get(self.next).is_some_and(|s| s.end <= t) {
            self.next += 1;
        }
        match self.stages.get(self.next) {
            Some(stage) if stage.start <= t => stage.state,
            _ => SleepState::Awake,
        }
    }
}
