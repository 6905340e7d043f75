//! Choosing the action by Thompson sampling over (intervention, slot).
//!
//! Each candidate draws, from its posterior, how much it would lower the child's stress
//! and how likely the family is to find it helpful, plus a fixed fit with the child's
//! clock and the days ahead; the best draw is recommended. Where evidence is strong the
//! draws are tight and the best action wins nearly always; where it is thin they are
//! wide, so other actions get tried now and then — that is how the policy learns.

use crate::slots::{Slot, SlotKind};
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Normal};
use serde::Serialize;
use sprout_chrono::Chronotype;
use sprout_domain::InterventionKind;
use sprout_insights::effects::{EffectStatus, InterventionEffect};

/// Prior for a kind with no estimate for this child: a small benefit (typical for calm
/// activities in the literature of family routines) with a wide spread (0.04 on the 0–1
/// stress scale) so it is tried.
const PRIOR_EFFECT: (f64, f64) = (-0.02, 0.04);
/// How much a sure 👍 (approval 1 vs 0.5) is worth, in stress units: parents' answers can
/// outweigh small differences in measured effect, as they should.
const FEEDBACK_WEIGHT: f64 = 0.08;
/// Bonus for a kind the family says the child likes, when its draw says it helps: about
/// the value of a sure 👍 at a quarter of [`FEEDBACK_WEIGHT`].
const LIKED: f64 = 0.02;
/// Bonus for acting the evening before a test, when stress is known to rise.
const BEFORE_TEST: f64 = 0.015;

/// The kinds the policy recommends ("other" is not a recommendation).
pub const RECOMMENDABLE: [InterventionKind; 5] = [
    InterventionKind::Mindfulness,
    InterventionKind::OutdoorPlay,
    InterventionKind::Reading,
    InterventionKind::EarlyBedtime,
    InterventionKind::ScreenLimit,
];

/// Whether a kind makes sense in a slot: bedtime and screens are evening matters, outdoor
/// play needs daylight after school.
pub fn fits(kind: InterventionKind, slot: SlotKind) -> bool {
    match kind {
        InterventionKind::EarlyBedtime | InterventionKind::ScreenLimit => slot.is_evening(),
        InterventionKind::OutdoorPlay => slot == SlotKind::TomorrowAfternoon,
        _ => true,
    }
}

/// A past answer of the family.
#[derive(Debug, Clone)]
pub struct PastAnswer {
    pub kind: InterventionKind,
    pub slot: String,
    pub helpful: bool,
}

/// What the policy decides from.
pub struct PolicyInput<'a> {
    pub slots: &'a [Slot],
    pub effects: &'a [InterventionEffect],
    pub chronotype: Option<Chronotype>,
    /// A test or exam starts tomorrow (local).
    pub test_tomorrow: bool,
    pub answers: &'a [PastAnswer],
    /// Other families' experience: a Beta(α, β) prior on the 👍 rate of each kind, which
    /// the family's own answers update. A kind not listed starts from Beta(1, 1).
    pub approval_priors: &'a [ApprovalPrior],
    /// What the family says the child likes and wants to avoid.
    pub preferences: &'a sprout_domain::Preferences,
    /// Seeds the draws, so the same situation gives the same choice.
    pub seed: u64,
}

/// What other families' answers say about a kind of action, as a Beta prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ApprovalPrior {
    pub kind: InterventionKind,
    pub alpha: f64,
    pub beta: f64,
}

fn approval_prior(priors: &[ApprovalPrior], kind: InterventionKind) -> (f64, f64) {
    priors
        .iter()
        .find(|p| p.kind == kind)
        .map_or((1.0, 1.0), |p| (p.alpha, p.beta))
}

/// The chosen action and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub kind: InterventionKind,
    pub slot: Slot,
    pub reasons: Vec<String>,
    /// Each candidate's draw, best first, for the record.
    pub draws: Vec<Draw>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Draw {
    pub kind: InterventionKind,
    pub slot: SlotKind,
    pub score: f64,
}

/// Effect prior (mean, sd) for a kind: the child's estimate when there is one (pooled
/// with other children when available); with too little of the child's own data, what
/// other children show (the pooled estimate, whose spread includes how much children
/// differ); else the wide default.
fn effect_prior(kind: InterventionKind, effects: &[InterventionEffect]) -> (f64, f64) {
    let Some(e) = effects.iter().find(|e| e.kind == kind) else {
        return PRIOR_EFFECT;
    };
    if let Some(pooled) = e.pooled {
        return (pooled.effect, ((pooled.ci[1] - pooled.ci[0]) / 3.92).max(1e-3));
    }
    if e.status == EffectStatus::InsufficientData {
        return PRIOR_EFFECT;
    }
    match (e.effect, e.std_error) {
        (Some(effect), Some(se)) if effect.is_finite() && se.is_finite() => (effect, se.max(1e-3)),
        _ => PRIOR_EFFECT,
    }
}

/// Whether a slot suits the child's clock: the chronotype's best window is evening for
/// night owls and morning for early birds (see `sprout-chrono`'s windows); children in
/// between, or not known yet, can take any slot.
pub fn suits(slot: SlotKind, chronotype: Option<Chronotype>) -> bool {
    match chronotype {
        Some(Chronotype::NightOwl) => slot.is_evening(),
        Some(Chronotype::EarlyBird) => slot.is_morning(),
        _ => true,
    }
}

fn timing_fit(slot: SlotKind, test_tomorrow: bool) -> f64 {
    if test_tomorrow && slot == SlotKind::ThisEvening {
        BEFORE_TEST
    } else {
        0.0
    }
}

/// Picks the action; `None` when no slot is left.
pub fn choose(input: &PolicyInput<'_>) -> Option<Decision> {
    let mut rng = ChaCha8Rng::seed_from_u64(input.seed);
    let mut draws = Vec::new();
    let suited: Vec<&Slot> = input
        .slots
        .iter()
        .filter(|s| suits(s.kind, input.chronotype))
        .collect();
    // A child whose window has passed for today still gets the next good slot; if none
    // is left, any slot is better than none.
    let slots: Vec<&Slot> = if suited.is_empty() {
        input.slots.iter().collect()
    } else {
        suited
    };
    for slot in slots {
        // A kind the family asked to avoid is never suggested.
        for kind in RECOMMENDABLE
            .into_iter()
            .filter(|k| fits(*k, slot.kind) && !input.preferences.avoided.contains(k))
        {
            let (mean, sd) = effect_prior(kind, input.effects);
            let effect = Normal::new(mean, sd).map(|d| d.sample(&mut rng)).unwrap_or(mean);
            let (up, down) = tally(input.answers, kind, slot.kind);
            let (alpha, beta) = approval_prior(input.approval_priors, kind);
            let approval = Beta::new(alpha + up, beta + down)
                .map(|d| d.sample(&mut rng))
                .unwrap_or(0.5);
            let liked = if input.preferences.liked.contains(&kind) && effect < 0.0 {
                LIKED
            } else {
                0.0
            };
            let score = -effect
                + FEEDBACK_WEIGHT * (approval - 0.5)
                + timing_fit(slot.kind, input.test_tomorrow)
                + liked;
            draws.push((
                Draw {
                    kind,
                    slot: slot.kind,
                    score,
                },
                *slot,
            ));
        }
    }
    draws.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    let (best, slot) = draws.first().cloned()?;
    let reasons = reasons(&best, input);
    Some(Decision {
        kind: best.kind,
        slot,
        reasons,
        draws: draws.into_iter().map(|(d, _)| d).collect(),
    })
}

/// 👍 and 👎 for a kind, counting answers in the same slot fully and other slots half.
fn tally(answers: &[PastAnswer], kind: InterventionKind, slot: SlotKind) -> (f64, f64) {
    answers
        .iter()
        .filter(|a| a.kind == kind)
        .fold((0.0, 0.0), |(up, down), a| {
            let weight = if a.slot == slot.as_str() { 1.0 } else { 0.5 };
            if a.helpful {
                (up + weight, down)
            } else {
                (up, down + weight)
            }
        })
}

fn reasons(best: &Draw, input: &PolicyInput<'_>) -> Vec<String> {
    let mut reasons = Vec::new();
    match input.effects.iter().find(|e| e.kind == best.kind) {
        Some(e) if e.status != EffectStatus::InsufficientData => {
            reasons.push(format!("measured effect: {}", e.interpretation));
        }
        _ => reasons.push("little evidence for this child yet: trying it teaches us".into()),
    }
    if input.preferences.liked.contains(&best.kind) {
        reasons.push("the family said the child likes it".into());
    }
    if !input.preferences.avoided.is_empty() {
        let avoided: Vec<&str> = input.preferences.avoided.iter().map(|k| k.as_str()).collect();
        reasons.push(format!(
            "left out, as the family asked: {}",
            avoided.join(", ").replace('_', " ")
        ));
    }
    let (up, down) = tally(input.answers, best.kind, best.slot);
    if up + down > 0.0 {
        reasons.push(format!("family feedback on it: {up} helpful, {down} not"));
    }
    let (alpha, beta) = approval_prior(input.approval_priors, best.kind);
    if (alpha, beta) != (1.0, 1.0) {
        reasons.push(format!(
            "other families: about {:.0}% found it helpful",
            100.0 * alpha / (alpha + beta)
        ));
    }
    match (input.chronotype, best.slot) {
        (Some(Chronotype::NightOwl), s) if s.is_evening() => {
            reasons.push("night owl: an evening slot".into())
        }
        (Some(Chronotype::EarlyBird), s) if s.is_morning() => {
            reasons.push("early bird: a morning slot".into())
        }
        _ => {}
    }
    if input.test_tomorrow && best.slot == SlotKind::ThisEvening {
        reasons.push("a test tomorrow: calm the evening before".into());
    }
    reasons
}

/// The seed for a child's decision at a moment: stable within the hour and the same
/// feedback, so repeated requests agree, and new feedback changes the draw.
pub fn seed(child: &str, now: DateTime<Utc>, answers: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in child
        .bytes()
        .chain(now.format("%Y%m%d%H").to_string().bytes())
        .chain(answers.to_le_bytes())
    {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use sprout_insights::effects::PooledEffect;

    fn too_few_days(pooled: Option<PooledEffect>) -> InterventionEffect {
        InterventionEffect {
            pooled,
            ..InterventionEffect::not_estimated(InterventionKind::Mindfulness, 2, 30)
        }
    }

    #[test]
    fn a_child_with_little_data_leans_on_what_other_children_show() {
        let alone = [too_few_days(None)];
        assert_eq!(effect_prior(InterventionKind::Mindfulness, &alone), PRIOR_EFFECT);
        let pooled = PooledEffect {
            effect: -0.08,
            ci: [-0.12, -0.04],
            population_effect: -0.08,
            children: 12,
        };
        let (mean, sd) = effect_prior(InterventionKind::Mindfulness, &[too_few_days(Some(pooled))]);
        assert!((mean + 0.08).abs() < 1e-12);
        assert!((sd - 0.08 / 3.92).abs() < 1e-12);
    }
}
