//! Facts as the server would give a writer, for simulated children: each child's data up
//! to a moment, through the real planning path (`sprout_coach::plan`). Shared by the
//! local writer's pass-rate test and its bench.

use chrono::{DateTime, Duration, Utc};
use sprout_coach::{plan, Facts, StressInput};
use sprout_domain::ChildId;
use sprout_insights::ChildData;
use sprout_sim::SimConfig;

/// Two months of data, as the demo family has: measured effects for some children.
const DAYS: u32 = 60;
/// A sample every ten minutes keeps hundreds of children quick to simulate.
const STEP_MINUTES: u32 = 10;

fn end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The facts of `children` simulated children from `seed`, each planned at its own
/// moment of the last week (a different weekday and hour per child, so mornings,
/// evenings, school days and days before tests all come up). A child with nothing left
/// to plan is skipped.
pub fn simulated_facts(seed: u64, children: usize) -> Vec<Facts> {
    let config = SimConfig {
        seed,
        children,
        days: DAYS,
        end: end(),
        step_minutes: STEP_MINUTES,
        ..SimConfig::default()
    };
    (0..children)
        .filter_map(|index| {
            let sim = sprout_sim::simulate_child(&config, index);
            let records = sim.stored_records(ChildId::new());
            let hours_back = 1 + (index * 29) % (7 * 24);
            let now = end() - Duration::hours(hours_back as i64) - Duration::minutes(17);
            let samples: Vec<_> = sim.samples.iter().filter(|s| s.time < now).cloned().collect();
            let data = ChildData {
                tz: sim.profile.timezone.tz(),
                birth_date: sim.profile.birth_date,
                samples: &samples,
                events: &records.events,
                interventions: &records.interventions,
                sleep_episodes: &records.sleep_episodes,
                now,
            };
            plan(
                &data,
                &format!("{seed}-{index}"),
                Some(sim.truth.age_years),
                &[],
                &[],
                &|_| None,
                StressInput::Compute,
                &sprout_domain::Preferences::default(),
                sprout_domain::ClockFormat::TwelveHour,
            )
            .map(|p| p.facts)
        })
        .collect()
}
