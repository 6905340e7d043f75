//! Effect estimates against the simulator's known truth, scenario by scenario: shared by
//! the tests and the coverage example that writes the table in bench/RESULTS.md.

// Each test binary and the coverage example use part of these helpers.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::effects::{intervention_effects, EffectOptions, EffectStatus};
use sprout_insights::ChildData;
use sprout_sim::{Scenario, SimConfig};
use std::collections::BTreeMap;

pub fn end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

/// One (child, kind) estimate with its truth.
#[derive(Debug, Clone)]
pub struct Pair {
    pub kind: InterventionKind,
    pub truth: f64,
    pub estimate: f64,
    pub ci: [f64; 2],
    pub std_error: f64,
    pub df: f64,
    pub status: EffectStatus,
}

/// What a scenario's estimates add up to.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pairs: Vec<Pair>,
    /// Early bedtimes' effect on that night's sleep (hours), against the hours they truly
    /// added; the status says whether the interval excludes no change.
    pub nights: Vec<Pair>,
    pub children: usize,
}

impl Summary {
    pub fn coverage(&self) -> f64 {
        let covered = self
            .pairs
            .iter()
            .filter(|p| p.ci[0] <= p.truth && p.truth <= p.ci[1])
            .count();
        covered as f64 / self.pairs.len().max(1) as f64
    }

    /// Share of (child, kind) pairs whose kind does nothing but was called beneficial or
    /// harmful.
    pub fn false_claims(&self) -> (usize, usize) {
        let null: Vec<&Pair> = self.pairs.iter().filter(|p| p.truth == 0.0).collect();
        let claimed = null
            .iter()
            .filter(|p| matches!(p.status, EffectStatus::Beneficial | EffectStatus::Harmful))
            .count();
        (claimed, null.len())
    }

    /// Per kind with an effect: (mean estimate - mean truth) / mean truth.
    pub fn relative_bias(&self) -> BTreeMap<InterventionKind, (f64, usize)> {
        let mut by_kind: BTreeMap<InterventionKind, Vec<&Pair>> = BTreeMap::new();
        for p in self.pairs.iter().filter(|p| p.truth != 0.0) {
            by_kind.entry(p.kind).or_default().push(p);
        }
        by_kind
            .into_iter()
            .map(|(kind, pairs)| {
                let n = pairs.len() as f64;
                let est = pairs.iter().map(|p| p.estimate).sum::<f64>() / n;
                let truth = pairs.iter().map(|p| p.truth).sum::<f64>() / n;
                (kind, ((est - truth) / truth, pairs.len()))
            })
            .collect()
    }

    /// Standard deviation of (estimate - truth) / standard error (1 when errors are right)
    /// and the median degrees of freedom.
    pub fn z_spread(&self) -> (f64, f64) {
        let z: Vec<f64> = self
            .pairs
            .iter()
            .map(|p| (p.estimate - p.truth) / p.std_error)
            .collect();
        let n = z.len().max(1) as f64;
        let mean = z.iter().sum::<f64>() / n;
        let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let mut df: Vec<f64> = self.pairs.iter().map(|p| p.df).collect();
        df.sort_by(f64::total_cmp);
        (sd, df.get(df.len() / 2).copied().unwrap_or(f64::NAN))
    }

    /// Mean estimate of the kinds that do nothing (should be near 0).
    pub fn null_mean(&self) -> f64 {
        let null: Vec<f64> = self
            .pairs
            .iter()
            .filter(|p| p.truth == 0.0)
            .map(|p| p.estimate)
            .collect();
        null.iter().sum::<f64>() / null.len().max(1) as f64
    }

    /// Share of pairs with a real effect that were called beneficial (power).
    pub fn found(&self) -> f64 {
        let real: Vec<&Pair> = self.pairs.iter().filter(|p| p.truth < 0.0).collect();
        real.iter()
            .filter(|p| p.status == EffectStatus::Beneficial)
            .count() as f64
            / real.len().max(1) as f64
    }
}

/// A simulated child's data as the analyses take it, at the end of the period.
pub fn child_data<'a>(
    sim: &'a sprout_sim::SimulatedChild,
    records: &'a sprout_sim::StoredRecords,
) -> ChildData<'a> {
    ChildData {
        tz: sim.profile.timezone.tz(),
        birth_date: sim.profile.birth_date,
        samples: &sim.samples,
        events: &records.events,
        interventions: &records.interventions,
        sleep_episodes: &records.sleep_episodes,
        now: end(),
    }
}

/// Estimates every kind for `children` simulated children of `scenario`.
pub fn run(scenario: Scenario, seed: u64, children: usize, step_minutes: u32) -> Summary {
    let config = SimConfig {
        seed,
        children,
        days: 90,
        end: end(),
        step_minutes,
        scenario,
        ..SimConfig::default()
    };
    let mut summary = Summary {
        children,
        ..Summary::default()
    };
    for index in 0..children {
        let sim = sprout_sim::simulate_child(&config, index);
        let records = sim.stored_records(ChildId::new());
        let data = child_data(&sim, &records);
        let options = EffectOptions {
            bootstrap: None,
            refute: false,
            ..EffectOptions::default()
        };
        for effect in intervention_effects(&data, options, &|_| None) {
            let (Some(estimate), Some(ci)) = (effect.effect, effect.ci) else {
                continue;
            };
            if let (Some(night), Some(truth)) = (
                effect.night.and_then(|n| n.sleep_hours),
                sim.truth.early_bedtime_nights,
            ) {
                let [lo, hi] = night.ci;
                summary.nights.push(Pair {
                    kind: effect.kind,
                    truth: truth.sleep_gain_hours,
                    estimate: night.effect,
                    ci: night.ci,
                    std_error: night.std_error.unwrap_or(f64::NAN),
                    df: f64::NAN,
                    status: if lo > 0.0 || hi < 0.0 {
                        EffectStatus::Beneficial
                    } else {
                        EffectStatus::Inconclusive
                    },
                });
            }
            summary.pairs.push(Pair {
                kind: effect.kind,
                truth: sim.truth.awake_stress_effect(effect.kind),
                estimate,
                ci,
                std_error: effect.std_error.unwrap_or(f64::NAN),
                df: effect
                    .design
                    .as_ref()
                    .and_then(|d| d.degrees_of_freedom)
                    .unwrap_or(f64::NAN),
                status: effect.status,
            });
        }
    }
    summary
}
