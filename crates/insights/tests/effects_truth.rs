//! Per-child effects against the simulator's truth, in every scenario that breaks a
//! naive design: parents acting at spikes or on bad days, streaky habits, effects that
//! differ between children, carry-over, bedtimes that lengthen sleep, and the original
//! planned evenings. Each scenario gives at least 200 (child, kind) estimates.

mod support;

use sprout_domain::InterventionKind;
use sprout_insights::effects::{intervention_effects, Adjustment, EffectOptions, EffectStatus, Evidence};
use sprout_sim::{Scenario, SimConfig};
use support::truth::{self, Summary};

/// Fewest (child, kind) estimates per scenario.
const MIN_PAIRS: usize = 200;

fn judge(name: &str, summary: &Summary) {
    let coverage = summary.coverage();
    let (claimed, null) = summary.false_claims();
    let bias = summary.relative_bias();
    println!(
        "{name}: {} pairs, coverage {:.3}, false claims {claimed}/{null}, bias {bias:?}, found {:.2}",
        summary.pairs.len(),
        coverage,
        summary.found()
    );
    assert!(
        summary.pairs.len() >= MIN_PAIRS,
        "{name}: only {} pairs",
        summary.pairs.len()
    );
    assert!(
        (0.90..=0.98).contains(&coverage),
        "{name}: 95% intervals cover the truth {:.1}% of the time",
        coverage * 100.0
    );
    assert!(
        claimed as f64 <= 0.05 * null as f64,
        "{name}: kinds that do nothing were called an effect in {claimed} of {null} children"
    );
    // Bias is judged where a kind has enough estimates to tell bias from noise.
    for (kind, (relative, n)) in bias {
        if n >= 40 {
            assert!(
                relative.abs() < 0.2,
                "{name}: {kind:?} is off by {:.0}% of its true effect on average (n = {n})",
                relative * 100.0
            );
        }
    }
}

/// `children` simulated children of a scenario, enough for [`MIN_PAIRS`] estimates (a
/// family has 1.2 to 3.7 kinds with enough starts, depending on how it acts).
fn scenario(name: &str, scenario: Scenario, children: usize) {
    judge(name, &truth::run(scenario, 11, children, 5));
}

#[test]
fn planned_evenings() {
    scenario("planned_evenings", Scenario::planned_evenings(), 92);
}

#[test]
fn parents_acting_at_spikes() {
    scenario("at_spikes", Scenario::at_spikes(), 62);
}

#[test]
fn parents_acting_on_bad_days() {
    scenario("on_bad_days", Scenario::on_bad_days(), 100);
}

#[test]
fn streaky_habits() {
    scenario("streaky", Scenario::streaky(), 125);
}

#[test]
fn effects_that_differ_between_children() {
    scenario("varied_effects", Scenario::varied_effects(), 62);
}

#[test]
fn carry_over_to_the_next_day() {
    scenario("carry_over", Scenario::carry_over(), 92);
}

#[test]
fn bedtimes_that_lengthen_sleep() {
    let summary = truth::run(Scenario::longer_sleep(), 11, 95, 5);
    judge("longer_sleep", &summary);
    // An early bedtime is judged on the next morning (above, with the truth the sleep
    // debt it spares gives) and on the night itself: the hours it added.
    let nights = Summary {
        pairs: summary.nights.clone(),
        ..Summary::default()
    };
    let n = nights.pairs.len();
    let mean = |f: fn(&truth::Pair) -> f64| nights.pairs.iter().map(f).sum::<f64>() / n as f64;
    let (estimate, truth) = (mean(|p| p.estimate), mean(|p| p.truth));
    println!(
        "longer nights: {n} children, coverage {:.3}, mean {estimate:.3} h vs truth {truth:.3} h",
        nights.coverage()
    );
    assert!(n >= 40, "enough children with early bedtimes: {n}");
    assert!(truth > 0.5, "the scenario's bedtimes lengthen the night: {truth}");
    assert!(
        (0.90..=0.99).contains(&nights.coverage()),
        "intervals for the longer night cover the hours added: {:.3}",
        nights.coverage()
    );
    assert!(
        ((estimate - truth) / truth).abs() < 0.1,
        "the longer night is found: {estimate:.3} h vs {truth:.3} h"
    );
}

/// Where bedtimes do not change sleep, the night's estimate says so.
#[test]
fn bedtimes_that_do_not_change_sleep_are_not_said_to() {
    let summary = truth::run(Scenario::planned_evenings(), 11, 95, 5);
    let n = summary.nights.len();
    let claimed = summary
        .nights
        .iter()
        .filter(|p| p.status != EffectStatus::Inconclusive)
        .count();
    assert!(n >= 40, "enough children with early bedtimes: {n}");
    assert!(summary.nights.iter().all(|p| p.truth == 0.0));
    assert!(
        claimed as f64 <= 0.05 * n as f64,
        "a change in sleep was claimed for {claimed} of {n} children"
    );
}

/// Children of parents who act on bad days, analysed with no adjustment: the checks
/// must say so (they can fail), and with the adjustment they pass.
///
/// (A spike that fades within minutes is invisible to any check that looks before the
/// moment or on other days: against it only the adjustment for the readings just before
/// the moment protects, which is why it is in every estimate.)
#[test]
fn the_checks_fail_when_the_comparison_ignores_why_parents_act() {
    let config = SimConfig {
        seed: 5,
        children: 6,
        days: 90,
        end: truth::end(),
        step_minutes: 5,
        scenario: Scenario::on_bad_days(),
        ..SimConfig::default()
    };
    let names = ["negative_control_outcome", "time_shift_placebo"];
    let mut failed_unadjusted = [0usize; 2];
    let mut either_failed = 0;
    let mut passed_adjusted = [0usize; 2];
    let mut checked = 0;
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = sim.stored_records(sprout_domain::ChildId::new());
        let data = truth::child_data(&sim, &records);
        let naive = intervention_effects(
            &data,
            EffectOptions {
                adjustment: Adjustment::Unadjusted,
                ..EffectOptions::default()
            },
            &|_| None,
        );
        let adjusted = intervention_effects(&data, EffectOptions::default(), &|_| None);
        for (naive, adjusted) in naive.iter().zip(&adjusted) {
            if naive.effect.is_none() || adjusted.effect.is_none() {
                continue;
            }
            checked += 1;
            let verdict = |e: &sprout_insights::effects::InterventionEffect, name: &str| {
                e.refutations.iter().find(|r| r.name == name).map(|r| r.passed)
            };
            for (i, name) in names.into_iter().enumerate() {
                println!(
                    "child {index} {:?} {name}: unadjusted {:?}, adjusted {:?}",
                    naive.kind,
                    verdict(naive, name),
                    verdict(adjusted, name)
                );
                failed_unadjusted[i] += usize::from(verdict(naive, name) == Some(false));
                passed_adjusted[i] += usize::from(verdict(adjusted, name) == Some(true));
            }
            either_failed += usize::from(names.iter().any(|n| verdict(naive, n) == Some(false)));
        }
    }
    println!("{checked} estimates; failed unadjusted {failed_unadjusted:?} (either {either_failed}); passed adjusted {passed_adjusted:?}");
    assert!(checked >= 10, "{checked}");
    // With 5–20 starts a kind, each check has modest power on its own; together they
    // flag most naive comparisons.
    assert!(
        either_failed * 2 > checked,
        "the checks should catch most unadjusted comparisons: {either_failed} of {checked}"
    );
    for (i, name) in names.into_iter().enumerate() {
        assert!(failed_unadjusted[i] > 0, "the {name} never failed");
        assert!(
            passed_adjusted[i] * 5 >= checked * 4,
            "the {name} should pass on most adjusted comparisons: {} of {checked}",
            passed_adjusted[i]
        );
    }
}

/// "Strong evidence" only where an effect is established and every check ran and passed.
#[test]
fn strong_evidence_is_said_only_after_passed_checks() {
    let config = SimConfig {
        seed: 3,
        children: 6,
        days: 90,
        end: truth::end(),
        step_minutes: 5,
        scenario: Scenario::at_spikes(),
        ..SimConfig::default()
    };
    let mut strong = 0;
    for index in 0..config.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = sim.stored_records(sprout_domain::ChildId::new());
        let data = truth::child_data(&sim, &records);
        let unchecked = EffectOptions {
            refute: false,
            ..EffectOptions::default()
        };
        for effect in intervention_effects(&data, unchecked, &|_| None) {
            assert!(
                !effect.interpretation.contains("strong evidence"),
                "{}",
                effect.interpretation
            );
            if matches!(effect.status, EffectStatus::Beneficial | EffectStatus::Harmful) {
                assert_eq!(effect.evidence, Evidence::Unchecked);
                assert!(
                    effect.interpretation.contains("not been run"),
                    "{}",
                    effect.interpretation
                );
            }
        }
        for effect in intervention_effects(&data, EffectOptions::default(), &|_| None) {
            let all_passed = effect.refutations.len() == 3 && effect.refutations.iter().all(|r| r.passed);
            let says_strong = effect.interpretation.contains("strong evidence");
            assert_eq!(
                says_strong,
                effect.evidence == Evidence::Strong,
                "{}",
                effect.interpretation
            );
            if says_strong {
                strong += 1;
                assert!(all_passed, "{effect:?}");
                assert_eq!(effect.status, EffectStatus::Beneficial);
                assert!(effect.adjusted_p_value.is_some_and(|p| p < 0.05));
            }
            if effect.kind == InterventionKind::ScreenLimit || effect.kind == InterventionKind::Other {
                assert!(
                    !says_strong,
                    "a kind that does nothing: {}",
                    effect.interpretation
                );
            }
        }
    }
    assert!(strong >= 3, "real effects do reach strong evidence: {strong}");
}
