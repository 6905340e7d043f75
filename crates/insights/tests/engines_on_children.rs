//! The insights on simulated children whose truth is known.

use chrono::{DateTime, Duration, Utc};
use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::effects::{intervention_effects, Adjustment, EffectOptions, EffectStatus};
use sprout_insights::pooling::{pool, Estimate};
use sprout_insights::{chronotype::chronotype, forecast, ChildData};
use sprout_sim::{SimConfig, SimulatedChild};

use sprout_sim::StoredRecords as Stored;

fn stored(sim: &SimulatedChild) -> Stored {
    sim.stored_records(ChildId::new())
}

fn data<'a>(sim: &'a SimulatedChild, stored: &'a Stored, now: DateTime<Utc>) -> ChildData<'a> {
    ChildData {
        tz: sim.profile.timezone.tz(),
        birth_date: sim.profile.birth_date,
        samples: &sim.samples,
        events: &stored.events,
        interventions: &stored.interventions,
        sleep_episodes: &stored.sleep_episodes,
        now,
    }
}

fn end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

#[test]
fn chronotype_matches_the_simulated_truth() {
    for sim in sprout_sim::demo_family(end()) {
        let records = stored(&sim);
        let report = chronotype(&data(&sim, &records, end()));
        let found = report.chronotype.map(|c| serde_json::to_value(c).expect("json"));
        assert_eq!(
            found,
            Some(serde_json::json!(sim.truth.chronotype.as_str())),
            "{report:?}"
        );
        let msf_sc = report.msf_sc_hours.expect("msf_sc");
        assert!(
            (msf_sc - sim.truth.msf_sc_hours).abs() < 0.5,
            "{msf_sc} vs {}",
            sim.truth.msf_sc_hours
        );
    }
}

#[test]
fn forecasts_have_intervals_and_use_the_calendar() {
    let config = SimConfig {
        children: 1,
        days: 21,
        end: end(),
        step_minutes: 5,
        ..SimConfig::default()
    };
    let sim = sprout_sim::simulate_child(&config, 0);
    let records = stored(&sim);
    let child = data(&sim, &records, end());
    let stress = forecast::stress_forecast(&child, 24).expect("forecast");
    assert_eq!(stress.times.len(), 24);
    for i in 0..24 {
        assert!(stress.lower[i] <= stress.mean[i] && stress.mean[i] <= stress.upper[i]);
        assert!((0.0..=1.0).contains(&stress.lower[i]) && (0.0..=1.0).contains(&stress.upper[i]));
    }
    assert!(stress.times[0] > sim.samples.last().expect("samples").time - Duration::hours(1));
    let (nights, level) = forecast::sleep_outlook(&child, 3).expect("sleep");
    assert_eq!(nights.len(), 3);
    assert!((0.5..1.0).contains(&level));
    for night in &nights {
        assert!((6.0..13.0).contains(&night.duration_hours.mean), "{night:?}");
        assert!(night.duration_hours.lower <= night.duration_hours.mean);
    }
}

#[test]
fn no_data_is_an_honest_answer() {
    let child = ChildData {
        tz: chrono_tz::UTC,
        birth_date: chrono::NaiveDate::from_ymd_opt(2016, 1, 1).expect("date"),
        samples: &[],
        events: &[],
        interventions: &[],
        sleep_episodes: &[],
        now: end(),
    };
    assert!(forecast::stress_forecast(&child, 24).is_err());
    assert!(chronotype(&child).chronotype.is_none());
    let effects = intervention_effects(&child, EffectOptions::default(), &|_| None);
    assert!(effects
        .iter()
        .all(|e| e.status == EffectStatus::InsufficientData && e.effect.is_none()));
    assert!(effects
        .iter()
        .all(|e| e.interpretation.contains("not enough data yet")));
}

#[test]
fn effects_recover_the_truth_where_the_naive_comparison_does_not() {
    // Parents who start an activity when they see a spike: comparing starts with all
    // other moments reads the fading spike as harm.
    let config = SimConfig {
        children: 8,
        days: 90,
        end: end(),
        step_minutes: 5,
        scenario: sprout_sim::Scenario::at_spikes(),
        ..SimConfig::default()
    };
    let mut covered = 0;
    let mut reported = 0;
    let mut naive_error = 0.0;
    let mut adjusted_error = 0.0;
    let mut per_kind: std::collections::BTreeMap<InterventionKind, Vec<Estimate>> = Default::default();
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = stored(&sim);
        let child = data(&sim, &records, end());
        let options = EffectOptions {
            refute: false,
            ..EffectOptions::default()
        };
        let naive = intervention_effects(
            &child,
            EffectOptions {
                adjustment: Adjustment::Unadjusted,
                ..options
            },
            &|_| None,
        );
        for (effect, naive) in intervention_effects(&child, options, &|_| None)
            .into_iter()
            .zip(naive)
        {
            let truth = sim.truth.awake_stress_effect(effect.kind);
            let (Some(estimate), Some([lo, hi]), Some(se), Some(naive)) =
                (effect.effect, effect.ci, effect.std_error, naive.effect)
            else {
                continue;
            };
            reported += 1;
            covered += usize::from(lo <= truth && truth <= hi);
            naive_error += naive - truth;
            adjusted_error += estimate - truth;
            per_kind.entry(effect.kind).or_default().push(Estimate {
                effect: estimate,
                std_error: se,
            });
            println!(
                "child {index} {:?}: est {estimate:.3} [{lo:.3}, {hi:.3}] truth {truth} naive {naive:.3} days {}",
                effect.kind, effect.treated_days
            );
        }
    }
    println!(
        "covered {covered}/{reported}; mean naive error {:.3}, adjusted {:.3}",
        naive_error / reported as f64,
        adjusted_error / reported as f64
    );
    assert!(reported >= 8, "enough estimates to judge: {reported}");
    assert!(
        covered as f64 >= 0.85 * reported as f64,
        "intervals cover the truth: {covered}/{reported}"
    );
    assert!(
        (naive_error / reported as f64) > 0.02,
        "acting at spikes biases the naive comparison toward harm"
    );
    assert!((adjusted_error / reported as f64).abs() < (naive_error / reported as f64).abs() / 4.0);
    let mindfulness = pool(&per_kind[&InterventionKind::Mindfulness]).expect("pooled");
    let [lo, hi] = mindfulness.mean.ci95();
    println!("pooled mindfulness {:?}", mindfulness);
    assert!(
        lo <= -0.08 && -0.08 <= hi,
        "the population estimate covers the truth: [{lo}, {hi}]"
    );
}

#[test]
fn the_rise_before_tests_is_found_and_tested() {
    let config = SimConfig {
        children: 8,
        days: 90,
        end: end(),
        step_minutes: 5,
        ..SimConfig::default()
    };
    let mut differences = Vec::new();
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = stored(&sim);
        let pattern =
            sprout_insights::patterns::pre_test_pattern(&data(&sim, &records, end())).expect("enough days");
        println!("child {index}: {pattern:?}");
        assert!((0.0..=1.0).contains(&pattern.p_value));
        differences.push(pattern.difference);
    }
    // The simulator adds a linear rise up to +0.2 over the 24 h before a test (a mean of
    // +0.1 over the day), partly offset by parents' evening interventions. With 6-8 tests
    // per child a single child's rise is often not significant on its own — the answer
    // says so — but it is there for nearly every child.
    let positive = differences.iter().filter(|d| **d > 0.0).count();
    let mean = differences.iter().sum::<f64>() / differences.len() as f64;
    assert!(
        positive >= 7,
        "the rise shows for nearly every child: {differences:?}"
    );
    assert!((0.02..0.12).contains(&mean), "mean rise {mean}");
}
