//! Heart rate, HRV and steps: driven by stress, sleep stage and activity.

use crate::profile::Traits;
use crate::rng::normal;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sprout_domain::SleepState;

/// Stress level at which heart rate and HRV sit at the child's resting values.
const REFERENCE_STRESS: f64 = 0.3;
/// Heart rate rises about 35 bpm from calm (0.3) to maximal stress.
const HR_PER_STRESS: f64 = 50.0;
/// Walking raises heart rate about 0.25 bpm per step a minute.
const HR_PER_STEP_PER_MIN: f64 = 0.25;
/// Asleep, heart rate falls about 12 bpm below resting awake.
const SLEEP_HR_DROP: f64 = 12.0;
/// Deep sleep lowers heart rate a little further...
const DEEP_HR_DROP: f64 = 4.0;
/// ...while REM sleep raises it.
const REM_HR_RISE: f64 = 4.0;
/// Beat-to-beat measurement noise of heart rate, bpm (SD).
const HR_NOISE_SD: f64 = 2.5;
/// Plausible heart-rate range for a child, bpm.
const HR_RANGE: (f64, f64) = (40.0, 210.0);
/// HRV (RMSSD) falls about 70 ms from calm to maximal stress.
const HRV_PER_STRESS: f64 = 70.0;
/// HRV is about 25 ms higher asleep...
const SLEEP_HRV_RISE: f64 = 25.0;
/// ...and higher still in deep sleep...
const DEEP_HRV_RISE: f64 = 15.0;
/// ...and a little lower in REM than in light sleep.
const REM_HRV_DROP: f64 = 5.0;
/// Measurement noise of HRV, ms (SD).
const HRV_NOISE_SD: f64 = 6.0;
/// Plausible HRV range, ms.
const HRV_RANGE: (f64, f64) = (5.0, 250.0);
/// Above this many steps a minute, motion spoils the HRV reading and none is reported.
const MOTION_STEPS_PER_MIN: f64 = 40.0;
/// Chance that an awake minute is active, by time of day, on a school day: the walk to
/// school, breaks, the afternoon.
const SCHOOL_DAY_ACTIVITY: [(f64, f64); 9] = [
    (0.0, 0.02),
    (7.25, 0.5),
    (8.0, 0.08),
    (10.0, 0.35),
    (10.33, 0.08),
    (13.0, 0.35),
    (14.0, 0.2),
    (19.0, 0.08),
    (21.0, 0.03),
];
/// Chance that an awake minute is active on a free day: more play, later start.
const FREE_DAY_ACTIVITY: [(f64, f64); 6] = [
    (0.0, 0.02),
    (8.0, 0.15),
    (10.0, 0.3),
    (14.0, 0.35),
    (18.0, 0.15),
    (21.0, 0.03),
];
/// Chance that a minute of outdoor play is active.
const OUTDOOR_ACTIVITY: f64 = 0.75;
/// Steps in an active minute: a walk or a run.
const ACTIVE_STEPS: (i64, i64) = (50, 130);
/// Steps in a quiet awake minute: shuffling about.
const QUIET_STEPS: (i64, i64) = (0, 6);

/// Steps over `minutes` awake minutes at local `hour` (a step function, held per sample).
pub(crate) fn steps(
    traits: &Traits,
    hour: f64,
    school_day: bool,
    outdoors: bool,
    minutes: u32,
    rng: &mut ChaCha8Rng,
) -> i64 {
    let table: &[(f64, f64)] = if school_day {
        &SCHOOL_DAY_ACTIVITY
    } else {
        &FREE_DAY_ACTIVITY
    };
    let base = table
        .iter()
        .take_while(|(from, _)| *from <= hour)
        .last()
        .map_or(0.0, |p| p.1);
    let p_active = if outdoors {
        OUTDOOR_ACTIVITY
    } else {
        (base * traits.activity).min(1.0)
    };
    (0..minutes)
        .map(|_| {
            let (lo, hi) = if rng.random_bool(p_active) {
                ACTIVE_STEPS
            } else {
                QUIET_STEPS
            };
            rng.random_range(lo..=hi)
        })
        .sum()
}

/// Heart rate, bpm, rounded as wearables report it.
pub(crate) fn heart_rate(
    traits: &Traits,
    stress: f64,
    state: SleepState,
    steps_per_min: f64,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let state_shift = match state {
        SleepState::Awake => HR_PER_STEP_PER_MIN * steps_per_min,
        SleepState::Deep => -SLEEP_HR_DROP - DEEP_HR_DROP,
        SleepState::Rem => -SLEEP_HR_DROP + REM_HR_RISE,
        SleepState::Light | SleepState::Asleep => -SLEEP_HR_DROP,
    };
    let hr = traits.resting_hr
        + HR_PER_STRESS * (stress - REFERENCE_STRESS)
        + state_shift
        + HR_NOISE_SD * normal(rng);
    hr.clamp(HR_RANGE.0, HR_RANGE.1).round()
}

/// HRV (RMSSD), ms to one decimal, or none while moving too much to measure.
pub(crate) fn hrv(
    traits: &Traits,
    stress: f64,
    state: SleepState,
    steps_per_min: f64,
    rng: &mut ChaCha8Rng,
) -> Option<f64> {
    let state_shift = match state {
        SleepState::Awake => 0.0,
        SleepState::Deep => SLEEP_HRV_RISE + DEEP_HRV_RISE,
        SleepState::Rem => SLEEP_HRV_RISE - REM_HRV_DROP,
        SleepState::Light | SleepState::Asleep => SLEEP_HRV_RISE,
    };
    let noise = HRV_NOISE_SD * normal(rng);
    let value = traits.hrv_base - HRV_PER_STRESS * (stress - REFERENCE_STRESS) + state_shift + noise;
    (steps_per_min <= MOTION_STEPS_PER_MIN)
        .then(|| (value.clamp(HRV_RANGE.0, HRV_RANGE.1) * 10.0).round() / 10.0)
}
