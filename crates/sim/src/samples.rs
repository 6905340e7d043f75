//! The sample loop: one reading per step with stress, heart rate, HRV, sleep state, steps.

use crate::calendar::Calendar;
use crate::gaps::GapCursor;
use crate::interventions::{EffectCursor, SpikeWatcher};
use crate::physiology;
use crate::profile::Traits;
use crate::rng::normal;
use crate::scenario::{ParentTiming, Scenario};
use crate::sleep::{SleepPlan, StageCursor};
use crate::stress::{latent, test_bump, Fluctuation, StressInputs, SENSOR_NOISE_SD};
use crate::time::LocalClock;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand_chacha::ChaCha8Rng;
use sprout_domain::{InterventionKind, NewIntervention, Sample};
use std::collections::BTreeMap;

/// A "day" starts at 04:00 local: the night after an evening belongs to that evening's day.
pub(crate) const DAY_START_H: f64 = 4.0;

/// Everything the loop reads.
pub(crate) struct World<'a> {
    pub traits: &'a Traits,
    pub tz: Tz,
    pub calendar: &'a Calendar,
    pub sleep: &'a SleepPlan,
    /// Interventions planned in advance, sorted.
    pub interventions: Vec<NewIntervention>,
    /// This child's true effect of every kind.
    pub effects: BTreeMap<InterventionKind, f64>,
    pub scenario: Scenario,
    pub gaps: &'a [(DateTime<Utc>, DateTime<Utc>)],
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_minutes: u32,
}

/// Samples at `start + k * step` for every k with the time before `end`, minus gaps, and
/// every intervention: the planned ones and those a spike-watching parent started.
///
/// Every random draw happens for every step, gap or not, so the gap rate only removes
/// samples and never changes the others; a watching parent draws from `parent_rng`, so
/// the readings' own draws are the same whatever the parent does.
pub(crate) fn generate(
    world: World<'_>,
    rng: &mut ChaCha8Rng,
    parent_rng: &mut ChaCha8Rng,
) -> (Vec<Sample>, Vec<NewIntervention>) {
    let step = Duration::minutes(i64::from(world.step_minutes));
    let total_steps = ((world.end - world.start).num_minutes() / i64::from(world.step_minutes)).max(0);
    let mut samples = Vec::with_capacity(usize::try_from(total_steps).unwrap_or(0));
    let mut stages = StageCursor::new(&world.sleep.stages);
    let mut effects = EffectCursor::new(
        world.interventions,
        world.effects,
        world.tz,
        world.scenario.carry_over,
    );
    let mut watcher = (world.scenario.timing == ParentTiming::AtSpikes)
        .then(|| SpikeWatcher::new(world.traits, world.tz, world.calendar, world.step_minutes));
    let mut gaps = GapCursor::new(world.gaps);
    let mut fluctuation = Fluctuation::new(world.step_minutes, rng);
    let mut clock = LocalClock::new(world.tz);
    let mut t = world.start;
    while t < world.end {
        let (date, hour) = clock.date_hours(t);
        let day_date = if hour < DAY_START_H {
            date - Duration::days(1)
        } else {
            date
        };
        let day = world.calendar.day(day_date);
        let school_day = day.is_some_and(|d| d.school_day);
        let state = stages.state_at(t);
        let awake = !state.is_asleep();
        fluctuation.advance(awake, school_day, rng);
        let inputs = StressInputs {
            state,
            hour,
            school_day,
            bad_day: day.map_or(0.0, |d| d.bad_day),
            debt_h: day.map_or(0.0, |d| d.sleep_debt_h),
            spike: fluctuation.spike,
            ar: fluctuation.ar,
        };
        let (effect, outdoors) = effects.at(t, day_date, awake);
        let true_stress = latent(&inputs) + test_bump(t, &world.calendar.tests) + effect;
        let stress = (true_stress + SENSOR_NOISE_SD * normal(rng)).clamp(0.0, 1.0);
        let steps = if awake {
            physiology::steps(world.traits, hour, school_day, outdoors, world.step_minutes, rng)
        } else {
            0
        };
        let steps_per_min = steps as f64 / f64::from(world.step_minutes);
        let body_stress = true_stress.clamp(0.0, 1.0);
        let heart_rate = physiology::heart_rate(world.traits, body_stress, state, steps_per_min, rng);
        let hrv_ms = physiology::hrv(world.traits, body_stress, state, steps_per_min, rng);
        let seen = !gaps.contains(t);
        if let Some(watcher) = watcher.as_mut() {
            let started = watcher.after_reading(t, hour, stress, awake && seen, t + step, parent_rng);
            if let Some(started) = started.filter(|i| i.time + Duration::minutes(i.duration_min) <= world.end)
            {
                effects.push(started);
            }
        }
        if seen {
            samples.push(Sample {
                time: t,
                stress_level: Some(stress),
                heart_rate: Some(heart_rate),
                hrv_ms,
                sleep_state: Some(state),
                steps: Some(steps),
            });
        }
        t += step;
    }
    (samples, effects.into_interventions())
}
