//! Interventions: what parents do, when, and why (confounded), and what it truly does.
//!
//! Parents act more on bad days and on the eve of a test, the very days that are more
//! stressed anyway; a naive comparison of treated and untreated evenings therefore makes
//! interventions look useless or harmful. Conditioning on the bad-day factor and the test
//! calendar (both in `Truth`) removes the bias. Under [`ParentTiming::AtSpikes`] parents
//! instead act the moment a reading spikes ([`SpikeWatcher`], run inside the sample loop
//! because it sees the readings), and only the readings before that moment explain it.

use crate::calendar::Calendar;
use crate::profile::Traits;
use crate::rng::normal;
use crate::scenario::{ParentTiming, Scenario};
use crate::sleep::Schedule;
use crate::stress::{awake_curve, BAD_DAY_SD};
use crate::time::{local_date, local_instant};
use chrono::{DateTime, Duration, NaiveDate, Utc};
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
/// Under [`ParentTiming::OnBadDays`]: acting is rarer on an ordinary day...
const BAD_DAYS_BASE_LOGIT: f64 = -1.8;
/// ...and far likelier on a bad one.
const BAD_DAYS_LOGIT_PER_SD: f64 = 3.0;
/// Streaky habits: the chance that today repeats yesterday's choice (to act or not, and
/// which kind), so runs last about a week.
const STREAK_KEEP: f64 = 0.85;
/// Spike-watching parents notice a reading this far above the child's usual level for
/// the hour (stress units)...
const SPIKE_NOTICE: f64 = 0.12;
/// ...and start an activity within a minute of seeing it with this probability.
const SPIKE_ACT_PER_MIN: f64 = 0.25;
/// They watch from the afternoon on school days (after school)...
const SPIKE_WATCH_SCHOOL_H: (f64, f64) = (16.0, 21.0);
/// ...and from early afternoon on free days.
const SPIKE_WATCH_FREE_H: (f64, f64) = (14.0, 21.0);
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

/// One child's true effect of every kind: the kind's mean, plus the scenario's
/// child-to-child spread for kinds that have an effect at all (a kind that does nothing
/// does nothing for everyone).
pub(crate) fn child_effects(scenario: &Scenario, rng: &mut ChaCha8Rng) -> BTreeMap<InterventionKind, f64> {
    InterventionKind::ALL
        .into_iter()
        .map(|k| {
            // Every draw happens for every kind, so the spread never shifts other draws.
            let deviation = scenario.effect_spread * normal(rng);
            let mean = true_effect(k);
            (k, if mean == 0.0 { 0.0 } else { mean + deviation })
        })
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
pub(crate) fn intervention_probability(timing: ParentTiming, bad_day: f64, test_next_day: bool) -> f64 {
    let (base, per_sd) = match timing {
        ParentTiming::OnBadDays => (BAD_DAYS_BASE_LOGIT, BAD_DAYS_LOGIT_PER_SD),
        _ => (BASE_LOGIT, BAD_DAY_LOGIT_PER_SD),
    };
    let logit = base + per_sd * bad_day / BAD_DAY_SD + if test_next_day { TEST_EVE_LOGIT } else { 0.0 };
    1.0 / (1.0 + (-logit).exp())
}

/// Plans at most one intervention a local day, each inside `[start, end)`. Parents who
/// act at spikes plan nothing: their activities come from [`SpikeWatcher`] while the
/// readings are made.
pub(crate) fn plan(
    traits: &Traits,
    scenario: &Scenario,
    tz: Tz,
    calendar: &Calendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Vec<NewIntervention> {
    let schedule = Schedule::of(traits);
    let mut planned = Vec::new();
    let mut yesterday: Option<(bool, InterventionKind)> = None;
    for day in &calendar.days {
        // Every draw happens every day, so one day's choice never shifts another's.
        let mut acts = rng.random_bool(intervention_probability(
            scenario.timing,
            day.bad_day,
            day.test_next_day,
        ));
        let mut kind = pick_kind(&traits.kind_weights, rng);
        // Drawn only for streaky families, so the others' data stay as they always were.
        let keeps_habit = scenario.streaky && rng.random_bool(STREAK_KEEP);
        if let (true, Some((acted, habit))) = (keeps_habit, yesterday) {
            acts = acted;
            kind = habit;
        }
        yesterday = Some((acts, kind));
        acts &= scenario.timing != ParentTiming::AtSpikes;
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

/// A parent watching the readings: acts at most once a day, the first time a reading in
/// the watching hours stands [`SPIKE_NOTICE`] above the child's usual level for the hour.
pub(crate) struct SpikeWatcher<'a> {
    weights: [f64; 6],
    tz: Tz,
    calendar: &'a Calendar,
    act_probability: f64,
    acted_on: Option<NaiveDate>,
}

impl<'a> SpikeWatcher<'a> {
    pub fn new(traits: &Traits, tz: Tz, calendar: &'a Calendar, step_minutes: u32) -> Self {
        let mut weights = traits.kind_weights;
        // A bedtime is not a reaction to a reading.
        for (w, kind) in weights.iter_mut().zip(InterventionKind::ALL) {
            if kind == InterventionKind::EarlyBedtime {
                *w = 0.0;
            }
        }
        Self {
            weights,
            tz,
            calendar,
            act_probability: 1.0 - (1.0 - SPIKE_ACT_PER_MIN).powf(f64::from(step_minutes)),
            acted_on: None,
        }
    }

    /// What the parent does after seeing `reading` at `t` (local `date`, `hour`): an
    /// activity starting at `start` (the next reading's time), or nothing. Draws the
    /// same random numbers whatever it decides, so a decision never shifts later ones.
    pub fn after_reading(
        &mut self,
        t: DateTime<Utc>,
        hour: f64,
        reading: f64,
        awake: bool,
        start: DateTime<Utc>,
        rng: &mut ChaCha8Rng,
    ) -> Option<NewIntervention> {
        let acts_now = rng.random_bool(self.act_probability);
        let kind = pick_kind(&self.weights, rng);
        let (lo, hi) = duration_range(kind);
        let duration_min = rng.random_range(lo..=hi);
        let date = local_date(self.tz, t);
        let school_day = self.calendar.day(date).is_some_and(|d| d.school_day);
        let (from, to) = if school_day {
            SPIKE_WATCH_SCHOOL_H
        } else {
            SPIKE_WATCH_FREE_H
        };
        let noticed =
            awake && (from..to).contains(&hour) && reading - awake_curve(hour, school_day) > SPIKE_NOTICE;
        if !noticed || !acts_now || self.acted_on == Some(date) {
            return None;
        }
        self.acted_on = Some(date);
        Some(NewIntervention {
            kind,
            time: start,
            duration_min,
        })
    }
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

/// Walks the interventions alongside increasing sample times; activities a watching
/// parent starts are pushed as they happen.
pub(crate) struct EffectCursor {
    interventions: Vec<NewIntervention>,
    effects: BTreeMap<InterventionKind, f64>,
    window: Duration,
    next: usize,
    tz: Tz,
    carry_over: f64,
    /// The carried-over effect each local date receives from the day before.
    carried: BTreeMap<NaiveDate, f64>,
}

impl EffectCursor {
    pub fn new(
        interventions: Vec<NewIntervention>,
        effects: BTreeMap<InterventionKind, f64>,
        tz: Tz,
        carry_over: f64,
    ) -> Self {
        let window = Duration::minutes((EFFECT_WINDOW_HOURS * 60.0).round() as i64);
        let mut cursor = Self {
            interventions: Vec::new(),
            effects,
            window,
            next: 0,
            tz,
            carry_over,
            carried: BTreeMap::new(),
        };
        for i in interventions {
            cursor.push(i);
        }
        cursor
    }

    fn effect(&self, kind: InterventionKind) -> f64 {
        self.effects.get(&kind).copied().unwrap_or(0.0)
    }

    /// Adds an intervention; it must not start before the last one added.
    pub fn push(&mut self, intervention: NewIntervention) {
        if self.carry_over != 0.0 {
            let next_day = local_date(self.tz, intervention.time) + Duration::days(1);
            *self.carried.entry(next_day).or_default() += self.carry_over * self.effect(intervention.kind);
        }
        self.interventions.push(intervention);
    }

    /// The summed true effect at `t` (awake readings of `day` also get the carry-over of
    /// the day before) and whether an outdoor play is under way; calls must come with
    /// non-decreasing `t`.
    pub fn at(&mut self, t: DateTime<Utc>, day: NaiveDate, awake: bool) -> (f64, bool) {
        while self
            .interventions
            .get(self.next)
            .is_some_and(|i| i.time + self.window <= t)
        {
            self.next += 1;
        }
        let mut effect = if awake {
            self.carried.get(&day).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        let mut outdoors = false;
        for i in self.interventions[self.next..].iter().take_while(|i| i.time <= t) {
            if t < i.time + self.window {
                effect += self.effect(i.kind);
            }
            outdoors |=
                i.kind == InterventionKind::OutdoorPlay && t < i.time + Duration::minutes(i.duration_min);
        }
        (effect, outdoors)
    }

    /// Every intervention, in time order.
    pub fn into_interventions(self) -> Vec<NewIntervention> {
        self.interventions
    }
}
