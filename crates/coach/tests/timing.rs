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
        // Half the families read 24-hour times: the rules hold in both.
        let clock = if index % 2 == 0 {
            sprout_domain::ClockFormat::TwelveHour
        } else {
            sprout_domain::ClockFormat::TwentyFourHour
        };
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
                &sprout_domain::Preferences::default(),
                clock,
            ) else {
                continue;
            };
            let slot = plan.decision.slot.start;
            assert!(
                slot > now,
                "child {index} at {now}: a suggestion for {slot}, already past"
            );
            let text = sprout_coach::template::write(&plan.facts, step as usize);
            let twelve_hour = text.contains(" AM") || text.contains(" PM");
            assert_eq!(
                twelve_hour,
                clock == sprout_domain::ClockFormat::TwelveHour,
                "{text}"
            );
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

/// High stress now: the card says so with the alert's level and offers what has helped
/// this child most (as the Insights view measured it); calm readings leave it out.
#[test]
fn high_stress_now_gets_what_has_helped_most() {
    let config = SimConfig {
        seed: 5,
        children: 8,
        days: 90,
        end: end(),
        step_minutes: 5,
        ..SimConfig::default()
    };
    let mut answered = 0;
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = sim.stored_records(ChildId::new());
        // The evening before the period ends, with the last 40 minutes made high (awake).
        let now = end() - Duration::hours(5);
        let mut samples: Vec<_> = sim.samples.iter().filter(|s| s.time < now).cloned().collect();
        let calm = samples.clone();
        for s in samples
            .iter_mut()
            .filter(|s| s.time > now - Duration::minutes(40))
        {
            s.stress_level = Some(0.9);
            s.sleep_state = None;
        }
        let plan = |samples: &[sprout_domain::Sample]| {
            let data = ChildData {
                tz: sim.profile.timezone.tz(),
                birth_date: sim.profile.birth_date,
                samples,
                events: &records.events,
                interventions: &records.interventions,
                sleep_episodes: &records.sleep_episodes,
                now,
            };
            plan(
                &data,
                "c",
                Some(10),
                &[],
                &[],
                &|_| None,
                StressInput::Compute,
                &sprout_domain::Preferences::default(),
                sprout_domain::ClockFormat::TwelveHour,
            )
            .expect("a plan")
        };
        let stressed = plan(&samples);
        let best = stressed
            .effects
            .iter()
            .filter(|e| e.status == sprout_insights::effects::EffectStatus::Beneficial)
            .min_by(|a, b| {
                a.relative_effect
                    .unwrap_or(0.0)
                    .total_cmp(&b.relative_effect.unwrap_or(0.0))
            });
        match (best, &stressed.facts.right_now) {
            (Some(best), Some(now)) => {
                answered += 1;
                assert_eq!(now.level, 90);
                assert_eq!(now.helped_most, best.kind);
                let text = sprout_coach::template::write(&stressed.facts, index);
                assert!(text.starts_with("Stress is high right now (90 of 100)"), "{text}");
                sprout_coach::guardrails::check(&text, &stressed.facts)
                    .unwrap_or_else(|e| panic!("{e}: {text}"));
            }
            (None, None) => {}
            (best, now) => panic!(
                "child {index}: best {:?}, right now {now:?}",
                best.map(|b| b.kind)
            ),
        }
        if stressed.facts.right_now.is_some() {
            assert!(
                plan(&calm).facts.right_now.is_none(),
                "calm readings are not 'high right now'"
            );
        }
    }
    assert!(answered >= 3, "children with a measured benefit: {answered}");
}
