//! Stress: circadian and weekly shape, bad days, sleep debt, tests ahead, spikes, noise.
//!
//! Latent stress of a sample at t (before sensor noise and clamping):
//! - awake: `curve(clock hour, school/free day) + b_day + DEBT_STRESS_PER_H * debt + spike + ar`
//! - asleep: `stage level + SLEEP_BAD_DAY_SHARE * b_day + SLEEP_NOISE_SHARE * ar`
//!
//! plus, in both states, the pre-test bump and the intervention effects (see `Truth`).

use crate::calendar::Calendar;
use crate::rng::normal;
use chrono::{DateTime, Duration, Utc};
use rand_chacha::ChaCha8Rng;
use sprout_domain::SleepState;

/// Awake stress on a school day by local clock hour: calm at waking, highest through school
/// and homework, easing in the evening. Linear between points.
const SCHOOL_DAY_CURVE: [(f64, f64); 10] = [
    (0.0, 0.30),
    (6.0, 0.30),
    (7.5, 0.40),
    (9.0, 0.47),
    (12.0, 0.52),
    (15.0, 0.50),
    (17.0, 0.45),
    (19.0, 0.41),
    (21.0, 0.36),
    (24.0, 0.30),
];
/// Awake stress on a free day: lower and flatter than a school day.
const FREE_DAY_CURVE: [(f64, f64); 8] = [
    (0.0, 0.26),
    (8.0, 0.26),
    (10.0, 0.30),
    (13.0, 0.34),
    (17.0, 0.34),
    (19.0, 0.32),
    (21.0, 0.29),
    (24.0, 0.26),
];
/// Stress in light sleep: low, but kept off 0 so effects and noise rarely hit the floor.
const LIGHT_SLEEP_STRESS: f64 = 0.17;
/// Stress in deep sleep: the calmest state.
const DEEP_SLEEP_STRESS: f64 = 0.14;
/// Stress in REM sleep: dreaming is more aroused than deep sleep.
const REM_SLEEP_STRESS: f64 = 0.2;
/// Spread of the latent bad-day factor across days (SD, stress units).
pub(crate) const BAD_DAY_SD: f64 = 0.07;
/// Day-to-day persistence of the bad-day factor (AR(1) coefficient): bad days cluster.
const BAD_DAY_PERSISTENCE: f64 = 0.5;
/// Share of the bad-day factor that carries into sleep.
const SLEEP_BAD_DAY_SHARE: f64 = 0.3;
/// Extra awake stress per hour of sleep debt from the night before.
pub(crate) const DEBT_STRESS_PER_H: f64 = 0.02;
/// How much stress rises over the 24 hours before an assessment (see `Truth`).
pub const PRE_TEST_BUMP: f64 = 0.2;
/// The pre-test rise starts this long before an assessment.
const PRE_TEST_HOURS: i64 = 24;
/// Minute-level fluctuation of stress (SD of the AR(1) process, stress units).
const NOISE_SD: f64 = 0.05;
/// Minute-to-minute persistence of the fluctuation: a time constant of about half an hour.
const NOISE_PERSISTENCE_PER_MIN: f64 = 0.97;
/// Share of the minute-level fluctuation that shows during sleep.
const SLEEP_NOISE_SHARE: f64 = 0.4;
/// The wearable's own measurement noise (SD, stress units), independent per sample.
pub(crate) const SENSOR_NOISE_SD: f64 = 0.02;
/// Acute stress episodes (a quarrel, a scare) per awake hour on school days...
const SPIKES_PER_H_SCHOOL: f64 = 0.2;
/// ...and on free days.
const SPIKES_PER_H_FREE: f64 = 0.1;
/// An acute episode adds 0.06-0.18 at once...
const SPIKE_SIZE: (f64, f64) = (0.06, 0.18);
/// ...and fades with this time constant, minutes.
const SPIKE_DECAY_MIN: f64 = 15.0;

/// Draws the bad-day factor of every calendar day: AR(1), mean 0, SD [`BAD_DAY_SD`].
pub(crate) fn draw_bad_days(calendar: &mut Calendar, rng: &mut ChaCha8Rng) {
    let innovation = (1.0 - BAD_DAY_PERSISTENCE * BAD_DAY_PERSISTENCE).sqrt();
    let mut b = BAD_DAY_SD * normal(rng);
    for day in &mut calendar.days {
        day.bad_day = b;
        b = BAD_DAY_PERSISTENCE * b + innovation * BAD_DAY_SD * normal(rng);
    }
}

/// Awake baseline stress at local clock `hour` on a school or free day.
pub(crate) fn awake_curve(hour: f64, school_day: bool) -> f64 {
    if school_day {
        interpolate(&SCHOOL_DAY_CURVE, hour)
    } else {
        interpolate(&FREE_DAY_CURVE, hour)
    }
}

fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * ((x - x0) / (x1 - x0)).clamp(0.0, 1.0);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

/// Latent stress of a sample from its parts.
pub(crate) struct StressInputs {
    pub state: SleepState,
    pub hour: f64,
    pub school_day: bool,
    pub bad_day: f64,
    pub debt_h: f64,
    pub spike: f64,
    pub ar: f64,
}

pub(crate) fn latent(i: &StressInputs) -> f64 {
    match i.state {
        SleepState::Awake => {
            awake_curve(i.hour, i.school_day) + i.bad_day + DEBT_STRESS_PER_H * i.debt_h + i.spike + i.ar
        }
        asleep => {
            let level = match asleep {
                SleepState::Deep => DEEP_SLEEP_STRESS,
                SleepState::Rem => REM_SLEEP_STRESS,
                _ => LIGHT_SLEEP_STRESS,
            };
            level + SLEEP_BAD_DAY_SHARE * i.bad_day + SLEEP_NOISE_SHARE * i.ar
        }
    }
}

/// The pre-test bump at `t` (see `Truth::pre_test_bump`), summed over upcoming tests.
pub(crate) fn test_bump(t: DateTime<Utc>, tests: &[DateTime<Utc>]) -> f64 {
    let window = Duration::hours(PRE_TEST_HOURS);
    tests
        .iter()
        .filter(|test| **test > t && **test - t <= window)
        .map(|test| PRE_TEST_BUMP * (1.0 - (*test - t).num_seconds() as f64 / window.num_seconds() as f64))
        .sum()
}

/// The minute-level AR(1) fluctuation and the acute spikes, advanced sample by sample.
pub(crate) struct Fluctuation {
    pub ar: f64,
    pub spike: f64,
    persistence: f64,
    innovation_sd: f64,
    spike_decay: f64,
    step_h: f64,
}

impl Fluctuation {
    pub fn new(step_minutes: u32, rng: &mut ChaCha8Rng) -> Self {
        let persistence = NOISE_PERSISTENCE_PER_MIN.powf(f64::from(step_minutes));
        Self {
            ar: NOISE_SD * normal(rng),
            spike: 0.0,
            persistence,
            innovation_sd: NOISE_SD * (1.0 - persistence * persistence).sqrt(),
            spike_decay: (-f64::from(step_minutes) / SPIKE_DECAY_MIN).exp(),
            step_h: f64::from(step_minutes) / 60.0,
        }
    }

    /// Moves one sample on; spikes start only while awake.
    pub fn advance(&mut self, awake: bool, school_day: bool, rng: &mut ChaCha8Rng) {
        use rand::Rng;
        self.ar = self.persistence * self.ar + self.innovation_sd * normal(rng);
        self.spike *= self.spike_decay;
        let rate = if school_day {
            SPIKES_PER_H_SCHOOL
        } else {
            SPIKES_PER_H_FREE
        };
        if rng.random_bool((rate * self.step_h).min(1.0)) && awake {
            self.spike += rng.random_range(SPIKE_SIZE.0..SPIKE_SIZE.1);
        }
    }
}
