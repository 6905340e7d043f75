//! Deterministic simulator of children's wearable data, with the truth it was built from.
//!
//! [`simulate`] turns a [`SimConfig`] into children whose data look like a wearable's
//! (stress, heart rate, HRV, sleep stage and steps every minute, with sensor noise and
//! gaps), plus their school calendar, their parents' interventions and their sleep
//! episodes, in the domain types the rest of Sprout ingests. Each child also carries its
//! [`Truth`]: chronotype and MSFsc, the exact effect of every intervention kind, the
//! pre-test bump and the latent factors of every day, so engines can be tested against
//! what really happened.
//!
//! The model in brief:
//! - Sleep follows the chronotype; school mornings cut night owls' sleep short, and they
//!   sleep in on free days (weekends, holidays, days off). A night is free when the day
//!   after it is.
//! - Stress has a circadian shape (low asleep, a school-day peak, calmer evenings), is
//!   higher on school days, moves with a latent AR(1) bad-day factor and last night's
//!   sleep debt, rises over the 24 hours before a test, and carries acute spikes, minute-level
//!   AR(1) noise and sensor noise. Heart rate and HRV follow stress and sleep.
//! - Parents intervene more on bad days and before tests (confounding), at most once a day,
//!   and each intervention lowers stress by a known amount for a known window. The
//!   [`Scenario`] can make parents act at stress spikes or mostly on bad days, keep habits
//!   for weeks, give each child its own effects, carry effects into the next day, and let
//!   an earlier bedtime lengthen the night.
//!
//! Same config, same output: every draw comes from ChaCha8 streams seeded by
//! (seed, child index, model part), so a child does not depend on how many are simulated.

mod calendar;
mod config;
mod gaps;
mod interventions;
mod physiology;
mod profile;
mod rng;
mod samples;
mod scenario;
mod sleep;
mod stress;
mod time;

pub use config::SimConfig;
pub use interventions::{true_effect, EFFECT_WINDOW_HOURS};
pub use profile::{
    BedtimeNights, ChildProfile, DayTruth, SimChronotype, SimulatedChild, StoredRecords, Truth,
};
pub use scenario::{ParentTiming, Scenario};
pub use stress::PRE_TEST_BUMP;

use chrono::{DateTime, Duration, Utc};
use rng::{child_rng, Stream};

/// The seed of [`demo_family`]: fixed, so every demo shows the same family.
pub const DEMO_SEED: u64 = 20_260_301;
/// The demo covers two months.
const DEMO_DAYS: u32 = 60;
/// One child of each chronotype.
const DEMO_CHILDREN: usize = 3;

/// Simulates children `0..config.children`.
pub fn simulate(config: &SimConfig) -> Vec<SimulatedChild> {
    (0..config.children)
        .map(|index| simulate_child(config, index))
        .collect()
}

/// Simulates child `index` alone; identical to `simulate(config)[index]`.
pub fn simulate_child(config: &SimConfig, index: usize) -> SimulatedChild {
    let start = config.period_start();
    let end = config.period_end();
    let seed = config.seed;
    let last_day = time::local_date(chrono_tz::UTC, end - Duration::seconds(1));
    let (profile, traits) = profile::draw(seed, index, last_day);
    let tz = profile.timezone.tz();

    let mut calendar = calendar::build(seed, index, tz, start, end);
    stress::draw_bad_days(&mut calendar, &mut child_rng(seed, index, Stream::BadDays));
    let scenario = config.scenario;
    let planned = interventions::plan(
        &traits,
        &scenario,
        tz,
        &calendar,
        start,
        end,
        &mut child_rng(seed, index, Stream::Interventions),
    );
    let early_bedtimes: Vec<_> = planned
        .iter()
        .filter(|i| i.kind == sprout_domain::InterventionKind::EarlyBedtime)
        .map(|i| time::local_date_hours(tz, i.time))
        .collect();
    let sleep = sleep::plan(
        &traits,
        tz,
        &mut calendar,
        start,
        end,
        &early_bedtimes,
        scenario.bedtime_lengthens_sleep,
        &mut child_rng(seed, index, Stream::Sleep),
    );
    let effects = interventions::child_effects(&scenario, &mut child_rng(seed, index, Stream::Effects));
    let gaps = gaps::draw(
        config.gap_share(),
        tz,
        start,
        end,
        &mut child_rng(seed, index, Stream::Gaps),
    );
    let world = samples::World {
        traits: &traits,
        tz,
        calendar: &calendar,
        sleep: &sleep,
        interventions: planned,
        effects: effects.clone(),
        scenario,
        gaps: &gaps,
        start,
        end,
        step_minutes: config.step(),
    };
    let (samples, interventions) = samples::generate(
        world,
        &mut child_rng(seed, index, Stream::Signals),
        &mut child_rng(seed, index, Stream::Parents),
    );

    let first_date = time::local_date(tz, start);
    let last_date = time::local_date(tz, end - Duration::seconds(1));
    let days = calendar
        .days
        .iter()
        .filter(|d| d.date >= first_date && d.date <= last_date)
        .map(|d| DayTruth {
            date: d.date,
            school_day: d.school_day,
            bad_day: d.bad_day,
            test_next_day: d.test_next_day,
            sleep_debt_hours: d.sleep_debt_h,
        })
        .collect();
    let schedule = sleep::Schedule::of(&traits);
    let bedtime_carried = scenario.carry_over * effects[&sprout_domain::InterventionKind::EarlyBedtime];
    let truth = Truth {
        chronotype: traits.chronotype,
        msf_sc_hours: schedule.msf_sc(),
        preferred_mid_sleep_hours: traits.preferred_mid_h,
        sleep_need_hours: traits.sleep_need_h,
        age_years: traits.age_years,
        effects,
        effect_window_hours: EFFECT_WINDOW_HOURS,
        carry_over: scenario.carry_over,
        early_bedtime_nights: profile::BedtimeNights::of(&sleep.bedtime_nights, bedtime_carried),
        scenario,
        pre_test_bump: PRE_TEST_BUMP,
        days,
    };
    SimulatedChild {
        profile,
        truth,
        samples,
        events: calendar.events,
        interventions,
        sleep_episodes: sleep.episodes,
    }
}

/// The demo family: an early bird, an intermediate and a night owl, 60 days up to `end`,
/// one sample a minute, from [`DEMO_SEED`].
pub fn demo_family(end: DateTime<Utc>) -> Vec<SimulatedChild> {
    simulate(&SimConfig {
        seed: DEMO_SEED,
        children: DEMO_CHILDREN,
        days: DEMO_DAYS,
        end,
        ..SimConfig::default()
    })
}
