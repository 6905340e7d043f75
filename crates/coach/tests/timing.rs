//! Advice is timed for the moment it serves: before the test it names, never in the past,
//! an earlier bedtime a step from the child's own, on simulated children through weeks of
//! their calendars.

use chrono::{DateTime, Duration, Utc};
use sprout_coach::facts::{next_test, BEFORE_EVENT};
use sprout_coach::slots::candidate_slots;
use sprout_coach::{plan, StressInput};
use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::ChildData;
use sprout_sim::SimConfig;

fn end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

#[test]
fn advice_comes_before_the_test_it_names_and_never_in_the_past() {
    let config = SimConfig {
        seed: 3,
        children: 6,
        days: 45,
        end: end(),
        step_minutes: 10,
        ..SimConfig::default()
    };
    let (mut with_test, mut bedtimes) = (0, 0);
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = sim.stored_records(ChildId::new());
        // Every six hours through the last three weeks.
        for step in 0..84 {
            let now = end() - Duration::days(21) + Duration::hours(6 * step);
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
            let Some(plan) = plan(
                &data,
                &format!("{index}"),
                Some(sim.truth.age_years),
                &[],
                &[],
                &|_| None,
                StressInput::Compute,
            ) else {
                continue;
            };
            let slot = plan.decision.slot.start;
            assert!(
                slot > now,
                "child {index} at {now}: a suggestion for {slot}, already past"
            );
            let text = sprout_coach::template::write(&plan.facts, step as usize);
            sprout_coach::guardrails::check(&text, &plan.facts).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert!(
                !text.contains(" a exam") && !text.contains("With a exam"),
                "{text}"
            );
            if let Some(test) = next_test(&records.events, now) {
                let tz = sim.profile.timezone.tz();
                let could = candidate_slots(now, tz, plan.chronotype)
                    .iter()
                    .any(|s| s.start + BEFORE_EVENT <= test.start);
                if could && plan.decision.kind != InterventionKind::EarlyBedtime {
                    assert!(
                        slot + BEFORE_EVENT <= test.start,
                        "child {index} at {now}: a suggestion for {slot} with a test at {} and time before it",
                        test.start
                    );
                }
                if plan.facts.next_test.is_some() {
                    with_test += 1;
                    assert!(
                        slot + BEFORE_EVENT <= test.start,
                        "child {index} at {now}: '{text}' is for {slot}, the test starts {}",
                        test.start
                    );
                    let time = plan.facts.next_test_time.clone().expect("the test's time");
                    assert!(
                        text.contains(&time)
                            || !text.contains(&plan.facts.next_test.clone().expect("test").0),
                        "{text}"
                    );
                }
            }
            if let Some(step) = &plan.facts.bedtime {
                bedtimes += 1;
                assert_eq!(plan.decision.kind, InterventionKind::EarlyBedtime);
                assert!((15..30).contains(&step.minutes_earlier), "{step:?}");
                assert!(text.contains(&step.usual), "{text}");
            }
        }
    }
    println!("{with_test} suggestions named a test ahead; {bedtimes} earlier bedtimes");
    assert!(with_test >= 10, "tests ahead were named: {with_test}");
    assert!(bedtimes >= 3, "earlier bedtimes were suggested: {bedtimes}");
}
