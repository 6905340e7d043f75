//! Interventions: what parents do, when, and why (confounded), and what it truly does.
//!
//! Parents act more on bad days and on the eve of a test, the very days that are more
//! stressed anyway; a naive comparison of treated and untreated evenings therefore makes
//! interventions look useless or harmful. Conditioning on the bad-day factor and the test
//! calendar (both in `Truth`) removes the bias.

use crate::calendar::Calendar;
use crate::profile::Traits;
use crate::sleep::Schedule;
use crate::stress::BAD_DAY_SD;
use crate::time::local_instant;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sprout_domain::{InterventionKind, NewIntervention};
use std::collections::BTreeMap;

/// Hours after its start during which an intervention changes stress (see `Truth`).
pub const EFFECT_WINDOW_HOURS: f64 = 2.0;
/// Log-odds of an intervention on an ordinary day (about one day in four).
const BASE_LOGIT: f64 = -1.1;
/// Extra log-odds per SD of the bad-day factor: parents see a rough day and act.
const BAD_DAY_LOGIT_PER_SD: f64 = 1.6;
/// Extra log-odds on the eve of a test: parents try to calm a nervous child.
const TEST_EVE_LOGIT: f64 = 1.2;
/// On school days parents act after dinner, 18:00-20:00 local.
const SCHOOL_DAY_START_H: (f64, f64) = (18.0, 20.0);
/// On free days they act earlier, 15:00-19:00 local.
const FREE_DAY_START_H: (f64, f64) = (15.0, 19.0);
/// An early bedtime starts 30-60 minutes before the child's usual bedtime...
const EARLY_BEDTIME_LEAD_H: (f64, f64) = (0.5, 1.0);
/// ...but within the evening, so it stays on its own local date.
const EARLY_BEDTIME_START_H: (f64, f64) = (18.0, 23.0);

/// The true effect of `kind` on stress (see `Truth::effects`): mindfulness helps most,
/// outdoor play and an early bedtime somewhat, reading a little, a screen limit not at all.
pub fn true_effect(kind: InterventionKind) -> f64 {
    match kind {
        InterventionKind::Mindfulness => -0.08,
        InterventionKind::OutdoorPlay => -0.06,
        InterventionKind::EarlyBedtime => -0.04,
        InterventionKind::Reading => -0.03,
        InterventionKind::ScreenLimit => 0.0,
        InterventionKind::Other => 0.0,
    }
}

/// Every kind's true effect.
pub(crate) fn effects() -> BTreeMap<InterventionKind, f64> {
    InterventionKind::ALL
        .into_iter()
        .map(|k| (k, true_effect(k)))
        .collect()
}

/// How long a kind typically lasts, minutes (all within 10-60).
fn duration_range(kind: InterventionKind) -> (i64, i64) {
    match kind {
        InterventionKind::Mindfulness => (10, 20),
        InterventionKind::OutdoorPlay => (30, 60),
        InterventionKind::EarlyBedtime => (10, 30),
        InterventionKind::Reading => (15, 40),
        InterventionKind::ScreenLimit => (30, 60),
        InterventionKind::Other => (10, 60),
    }
}

/// The parents' probability of intervening on a day with bad-day factor `bad_day`.
pub(crate) fn intervention_probability(bad_day: f64, test_next_day: bool) -> f64 {
    let logit = BASE_LOGIT
        + BAD_DAY_LOGIT_PER_SD * bad_day / BAD_DAY_SD
        + if test_next_day { TEST_EVE_LOGIT } else { 0.0 };
    1.0 / (1.0 + (-logit).exp())
}

/// Plans at most one intervention a local day, each inside `[start, end)`.
pub(crate) fn plan(
    traits: &Traits,
    tz: Tz,
    calendar: &Calendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Vec<NewIntervention> {
    let schedule = Schedule::of(traits);
    let mut planned = Vec::new();
    for day in &calendar.days {
        // Every draw happens every day, so one day's choice never shifts another's.
        let acts = rng.random_bool(intervention_probability(day.bad_day, day.test_next_day));
        let kind = pick_kind(&traits.kind_weights, rng);
        let (lo, hi) = duration_range(kind);
        let duration_min = rng.random_range(lo..=hi);
        let (from, to) = if day.school_day {
            SCHOOL_DAY_START_H
        } else {
            FREE_DAY_START_H
        };
        let mut hour = rng.random_range(from..to);
        let lead = rng.random_range(EARLY_BEDTIME_LEAD_H.0..EARLY_BEDTIME_LEAD_H.1);
        if kind == InterventionKind::EarlyBedtime {
            let bedtime = if calendar.is_school_day(day.date + Duration::days(1)) {
                schedule.school_onset
            } else {
                schedule.free_onset
            };
            hour = (bedtime - lead).clamp(EARLY_BEDTIME_START_H.0, EARLY_BEDTIME_START_H.1);
        }
        let time = local_instant(tz, day.date, hour);
        if acts && time >= start && time + Duration::minutes(duration_min) <= end {
            planned.push(NewIntervention {
                kind,
                time,
                duration_min,
            });
        }
    }
    planned
}

fn pick_kind(weights: &[f64; 6], rng: &mut ChaCha8Rng) -> InterventionKind {
    let mut draw = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (kind, weight) in InterventionKind::ALL.into_iter().zip(weights) {
        if draw < *weight {
            return kind;
        }
        draw -= weight;
    }
    InterventionKind::Mindfulness
}

/// Walks the interventions alongside increasing sample times.
pub(crate) struct EffectCursor<'a> {
    interventions: &'a [NewIntervention],
    window: Duration,
    next: usize,
}

impl<'a> EffectCursor<'a> {
    pub fn new(interventions: &'a [NewIntervention]) -> Self {
        let window = Duration::minutes((EFFECT_WINDOW_HOURS * 60.0).round() as i64);
        Self {
            interventions,
            window,
            next: 0,
        }
    }

    /// The summed true effect at `t` and whether an outdoor play is under way; calls must
    /// come with non-decreasing `t`.
    pub fn at(&mut self, t: DateTime<Utc>) -> (f64, bool) {
        while self
            .interventions
            .get(self.next)
            .is_some_and(|i| i.time + self.window <= t)
        {
            self.next += 1;
        }
        let mut effect = 0.0;
        let mut outdoors = false;
        for i in self.interventions[self.next..].iter().take_while(|i| i.time <= t) {
            if t < i.time + self.window {
                effect += true_effect(i.kind);
            }
            outdoors |=
                i.kind == InterventionKind::OutdoorPlay && t < i.time + Duration::minutes(i.duration_min);
        }
        (effect, outdoors)
    }
}
