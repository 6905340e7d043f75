//! Who is simulated and what is true about them: profile, chronotype, hidden truth.

use crate::rng::{child_rng, normal, Stream};
use chrono::{Duration, Months, NaiveDate};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sprout_domain::{
    ChildId, Intervention, InterventionKind, NewIntervention, NewSchoolEvent, NewSleepEpisode, RecordId,
    Sample, SchoolEvent, SleepEpisode, Timezone,
};
use std::collections::BTreeMap;
use std::fmt;

/// Display names, used in turn by child index.
const NAMES: [&str; 12] = [
    "Mia", "Leon", "Emma", "Noah", "Hannah", "Finn", "Sofia", "Elias", "Lina", "Ben", "Clara", "Paul",
];
/// Time zones by child index modulo 8: mostly Berlin, some New York and London, so the
/// engines meet more than one zone and DST calendar.
const ZONES: [chrono_tz::Tz; 8] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::London,
];
/// Sleep need at age 6, hours a night (paediatric guidance is 9-12 h at 6-12 years).
const SLEEP_NEED_AT_6_H: f64 = 10.8;
/// Sleep need falls by about 12 minutes a year of age through childhood.
const SLEEP_NEED_DECLINE_H_PER_YEAR: f64 = 0.2;
/// Child-to-child spread of sleep need, hours (SD).
const SLEEP_NEED_SD_H: f64 = 0.25;
/// Child-to-child spread of preferred mid-sleep within a chronotype, hours (SD).
const MID_SLEEP_SD_H: f64 = 0.15;
/// Earliest and latest mean school-day wake time, local hours (06:45-07:15).
const SCHOOL_WAKE_RANGE_H: (f64, f64) = (6.75, 7.25);
/// Resting awake heart rate at age 6, bpm.
const RESTING_HR_AT_6: f64 = 95.0;
/// Resting heart rate falls about 2 bpm a year through childhood.
const RESTING_HR_DECLINE_PER_YEAR: f64 = 2.0;
/// Child-to-child spread of resting heart rate, bpm (SD).
const RESTING_HR_SD: f64 = 4.0;
/// Typical awake RMSSD of a school child, ms.
const HRV_BASE_MS: f64 = 55.0;
/// Child-to-child spread of baseline HRV, ms (SD).
const HRV_BASE_SD_MS: f64 = 8.0;
/// Range of a child's activity level (multiplies the chance of an active minute).
const ACTIVITY_RANGE: (f64, f64) = (0.8, 1.25);
/// Floor of a kind's preference weight, so every kind a family uses appears sometimes.
const MIN_KIND_WEIGHT: f64 = 0.15;
/// "Other" is a catch-all families rarely pick.
const OTHER_KIND_WEIGHT: f64 = 0.1;

/// A child's chronotype: when they would sleep if nothing constrained them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimChronotype {
    EarlyBird,
    Intermediate,
    NightOwl,
}

impl SimChronotype {
    /// Children's chronotypes cycle through this list by index.
    pub const ALL: [SimChronotype; 3] = [Self::EarlyBird, Self::Intermediate, Self::NightOwl];

    /// The chronotype of child `index`: early bird, intermediate, night owl, early bird, ...
    pub fn for_index(index: usize) -> Self {
        Self::ALL[index % Self::ALL.len()]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EarlyBird => "early_bird",
            Self::Intermediate => "intermediate",
            Self::NightOwl => "night_owl",
        }
    }

    /// Mean preferred mid-sleep (hours after local midnight) of the type: the mid-point of
    /// a debt-free night when nothing constrains the timing. Chosen so that the children's
    /// MSFsc, which the sleep-debt correction pulls earlier, lands clearly inside the
    /// school-age convention's classes (early bird below 03:00, night owl from 04:30):
    /// about 02:25, 03:30 and 05:00.
    fn preferred_mid_sleep_h(self) -> f64 {
        match self {
            Self::EarlyBird => 2.4,
            Self::Intermediate => 3.9,
            Self::NightOwl => 5.9,
        }
    }

    /// Age range of the type, years: chronotype drifts later through late childhood, so owls
    /// are the older children.
    fn age_range(self) -> (u32, u32) {
        match self {
            Self::EarlyBird => (6, 9),
            Self::Intermediate => (8, 12),
            Self::NightOwl => (11, 14),
        }
    }
}

impl fmt::Display for SimChronotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a parent enters about a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildProfile {
    pub display_name: String,
    pub birth_date: NaiveDate,
    pub timezone: Timezone,
}

/// The truth of one simulated day, for engines' tests to compare estimates with.
///
/// A "day" runs from 04:00 local on `date` to 04:00 local the next day, so the night after
/// an evening belongs to that evening's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayTruth {
    /// The local date.
    pub date: NaiveDate,
    /// A weekday without holiday or `no_school` event.
    pub school_day: bool,
    /// The latent bad-day factor b (stress units, mean 0): added to every awake sample's
    /// stress that day and, times 0.3, to every asleep sample's. AR(1) across days.
    pub bad_day: f64,
    /// An assessment (`math_test`, `exam`, ...) starts on the next local date.
    pub test_next_day: bool,
    /// Hours of sleep short of need in the night that ended this morning (0 if none); each
    /// hour adds 0.02 to the day's awake stress.
    pub sleep_debt_hours: f64,
}

/// The hidden truth behind a child's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub chronotype: SimChronotype,
    /// The child's MSFsc, hours after local midnight: Roenneberg's mid-sleep on free days
    /// corrected for sleep debt, `MSF - (SD_f - SD_week) / 2` when `SD_f > SD_w` (else `MSF`),
    /// with `SD_week = (5 SD_w + 2 SD_f) / 7`, evaluated on the child's mean (jitter-free)
    /// school-night and free-night schedule in local clock time. The formula applied to
    /// two months of simulated episodes lands within about a quarter hour of it.
    pub msf_sc_hours: f64,
    /// The mid-point of a debt-free night when nothing constrains timing (the model's
    /// chronotype parameter), hours after local midnight.
    pub preferred_mid_sleep_hours: f64,
    /// Hours of sleep the child needs a night.
    pub sleep_need_hours: f64,
    /// Age in whole years at the end of the period.
    pub age_years: u32,
    /// This child's true effect of each intervention kind (stress units; negative =
    /// calmer): an intervention of kind k starting at t adds `effects[k]` to the stress of
    /// every sample with time in `[t, t + effect_window_hours)`, additively, after all
    /// other terms and before clamping to `[0, 1]`. The same for every child unless the
    /// scenario spreads effects between children. It changes nothing else, except as
    /// `carry_over` and `early_bedtime_nights` say.
    pub effects: BTreeMap<InterventionKind, f64>,
    /// Length of the window an intervention acts in, hours.
    pub effect_window_hours: f64,
    /// Share of `effects[k]` added to every awake sample of the local date after an
    /// intervention of kind k (0 = no carry-over).
    pub carry_over: f64,
    /// What this child's early bedtimes did to their nights and the days after, averaged
    /// over the evenings with one in the period (`None` when there was none).
    pub early_bedtime_nights: Option<BedtimeNights>,
    /// How the family behaved.
    pub scenario: crate::Scenario,
    /// Stress added by an upcoming assessment at T to a sample at t in `[T - 24 h, T)`:
    /// `pre_test_bump * (1 - (T - t) / 24 h)`, a linear rise to the full bump at the start
    /// of the test and nothing from T on. Additive, like the effects.
    pub pre_test_bump: f64,
    /// One entry per local date in the simulated period, in order.
    pub days: Vec<DayTruth>,
}

impl Truth {
    /// What `kind` does to awake stress where its effect shows: over the effect window
    /// after a start, or for an early bedtime (whose window the child mostly sleeps
    /// through) on the next day's awake readings.
    pub fn awake_stress_effect(&self, kind: InterventionKind) -> f64 {
        if kind == InterventionKind::EarlyBedtime {
            self.early_bedtime_nights.map_or(0.0, |b| b.next_day_stress)
        } else {
            self.effects.get(&kind).copied().unwrap_or(0.0)
        }
    }
}

/// The true effect of an early bedtime on the night and the next day, as an average over
/// the evenings with one: what an estimate that compares those evenings with others
/// should find.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BedtimeNights {
    pub evenings: usize,
    /// Mean hours added to the night: the onset moves to 20 minutes after the bedtime
    /// starts when the scenario says bedtimes lengthen sleep and the child would have
    /// slept later (0 on other nights, and always 0 in other scenarios).
    pub sleep_gain_hours: f64,
    /// Mean change in every awake reading of the next day (stress units; negative =
    /// calmer): less sleep debt (`DEBT_STRESS_PER_H` per hour spared) plus the carry-over
    /// of the bedtime's own effect.
    pub next_day_stress: f64,
}

impl BedtimeNights {
    pub(crate) fn of(nights: &[crate::sleep::BedtimeNight], carried: f64) -> Option<Self> {
        let n = nights.len();
        let mean = |f: fn(&crate::sleep::BedtimeNight) -> f64| nights.iter().map(f).sum::<f64>() / n as f64;
        (n > 0).then(|| Self {
            evenings: n,
            sleep_gain_hours: mean(|b| b.gain_h),
            next_day_stress: carried - crate::stress::DEBT_STRESS_PER_H * mean(|b| b.debt_relief_h),
        })
    }
}

/// One simulated child: what a parent enters, what the wearable sends, what is true.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedChild {
    pub profile: ChildProfile,
    pub truth: Truth,
    /// Strictly increasing in time, all in `[end - days, end)`.
    pub samples: Vec<Sample>,
    /// School calendar, sorted by start: assessments, holiday weeks, days off. Covers the
    /// period and the week after it (calendars are known ahead).
    pub events: Vec<NewSchoolEvent>,
    /// Sorted by time; at most one a local day.
    pub interventions: Vec<NewIntervention>,
    /// Sorted by onset: nights and naps overlapping the period, with their true (unclipped)
    /// onset and offset.
    pub sleep_episodes: Vec<NewSleepEpisode>,
}

/// A simulated child's records as a store would hand them back, for code that analyses
/// simulated data without a database (benchmarks, engine tests).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecords {
    pub events: Vec<SchoolEvent>,
    pub interventions: Vec<Intervention>,
    pub sleep_episodes: Vec<SleepEpisode>,
}

impl SimulatedChild {
    /// The child's events, interventions and sleep episodes, as stored for `child_id`.
    pub fn stored_records(&self, child_id: ChildId) -> StoredRecords {
        StoredRecords {
            events: self
                .events
                .iter()
                .map(|e| SchoolEvent {
                    id: RecordId::new(),
                    child_id,
                    event_type: e.event_type.clone(),
                    start: e.start,
                    end: e.end,
                })
                .collect(),
            interventions: self
                .interventions
                .iter()
                .map(|i| Intervention {
                    id: RecordId::new(),
                    child_id,
                    kind: i.kind,
                    time: i.time,
                    duration_min: i.duration_min,
                })
                .collect(),
            sleep_episodes: self
                .sleep_episodes
                .iter()
                .map(|e| SleepEpisode {
                    id: RecordId::new(),
                    child_id,
                    onset: e.onset,
                    offset: e.offset,
                    utc_offset_min: e.utc_offset_min,
                })
                .collect(),
        }
    }
}

/// Hidden per-child parameters the model draws from.
#[derive(Debug, Clone)]
pub(crate) struct Traits {
    pub chronotype: SimChronotype,
    pub age_years: u32,
    pub sleep_need_h: f64,
    pub preferred_mid_h: f64,
    pub school_wake_h: f64,
    pub activity: f64,
    pub resting_hr: f64,
    pub hrv_base: f64,
    /// Preference weight of each kind, in `InterventionKind::ALL` order.
    pub kind_weights: [f64; 6],
}

/// Draws child `index`'s profile and hidden parameters; `today` is the period's last date.
pub(crate) fn draw(seed: u64, index: usize, today: NaiveDate) -> (ChildProfile, Traits) {
    let mut rng = child_rng(seed, index, Stream::Profile);
    let chronotype = SimChronotype::for_index(index);
    let (min_age, max_age) = chronotype.age_range();
    let age_years = rng.random_range(min_age..=max_age);
    let days_past_birthday = rng.random_range(0..365);
    let birth_date = today
        .checked_sub_months(Months::new(12 * age_years))
        .map(|d| d - Duration::days(days_past_birthday))
        .unwrap_or(today);
    let age_past_6 = f64::from(age_years.saturating_sub(6));
    let sleep_need_h =
        SLEEP_NEED_AT_6_H - SLEEP_NEED_DECLINE_H_PER_YEAR * age_past_6 + SLEEP_NEED_SD_H * normal(&mut rng);
    let preferred_mid_h = chronotype.preferred_mid_sleep_h() + MID_SLEEP_SD_H * normal(&mut rng);
    let school_wake_h = rng.random_range(SCHOOL_WAKE_RANGE_H.0..SCHOOL_WAKE_RANGE_H.1);
    let activity = rng.random_range(ACTIVITY_RANGE.0..ACTIVITY_RANGE.1);
    let resting_hr =
        RESTING_HR_AT_6 - RESTING_HR_DECLINE_PER_YEAR * age_past_6 + RESTING_HR_SD * normal(&mut rng);
    let hrv_base = HRV_BASE_MS + HRV_BASE_SD_MS * normal(&mut rng);
    let mut kind_weights = [0.0; 6];
    for (weight, kind) in kind_weights.iter_mut().zip(InterventionKind::ALL) {
        *weight = if kind == InterventionKind::Other {
            OTHER_KIND_WEIGHT
        } else {
            MIN_KIND_WEIGHT + rng.random::<f64>()
        };
    }
    let display_name = match index / NAMES.len() {
        0 => NAMES[index % NAMES.len()].to_owned(),
        round => format!("{} {}", NAMES[index % NAMES.len()], round + 1),
    };
    let timezone = Timezone::parse(ZONES[index % ZONES.len()].name())
        .expect("the zone list holds only IANA zones chrono-tz knows");
    let profile = ChildProfile {
        display_name,
        birth_date,
        timezone,
    };
    let traits = Traits {
        chronotype,
        age_years: today.years_since(birth_date).unwrap_or(age_years),
        sleep_need_h,
        preferred_mid_h,
        school_wake_h,
        activity,
        resting_hr,
        hrv_base,
        kind_weights,
    };
    (profile, traits)
}
