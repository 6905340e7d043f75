//! Good recommendations to learn from before any parent has answered: varied facts, each
//! written by the template writer in both styles and several phrasings, with the prompt a
//! language-model writer gets for them.
//!
//! A first adapter trained on these pairs (supervised, `sprout learn sft`; see
//! `sprout-tune`) teaches the shape: the given action, its time, only the given numbers.
//! Every text passes the guardrails, because the template writer's do.
//!
//! # No adapter by default
//!
//! The adapter was meant to stop the base Gemma 3 270M copying its prompt's one worked
//! example: with it, 75 of 200 simulated children's texts passed the guardrails unaided
//! (99 invented or copied a number, 26 named another activity). Two changes made that
//! unnecessary, measured on the same 200 children (`cargo bench -p sprout-writers --bench
//! writer_pass_rate`, figures in `bench/RESULTS.md`): numbers constrained at decoding to
//! the facts' (the GGUF writer, in `sprout-writers`), and prompts with three worked
//! examples that fit the card ([`crate::prompt`]). Together the base model passes 199 of 200
//! (the one failure a rise before tests said with another of the card's numbers, which
//! the guardrails refuse), with the decided activity and its time in every text. So the
//! base model writes when the local model is configured, and no adapter is trained or
//! shipped for it; `sprout learn sft` still trains one on request as a starting point
//! for learning from parents' answers (KTO), and a fine-tuned version writes only once
//! an experiment has promoted it.

use crate::facts::Facts;
use crate::slots::SlotKind;
use crate::{prompt, template};
use sprout_chrono::Chronotype;
use sprout_domain::InterventionKind;
use sprout_insights::effects::EffectStatus;

/// A prompt and the text a good writer continues it with (ending at the writer's stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodExample {
    pub prompt: String,
    pub completion: String,
}

const TESTS: [&str; 5] = [
    "math test",
    "spelling quiz",
    "science test",
    "reading test",
    "history quiz",
];
const SLOT_TIMES: [(SlotKind, &[&str]); 4] = [
    (SlotKind::ThisEvening, &["6:30 PM", "7 PM", "7:30 PM", "8 PM"]),
    (SlotKind::TomorrowMorning, &["7 AM", "7:30 AM", "8 AM"]),
    (SlotKind::TomorrowAfternoon, &["3:30 PM", "4 PM", "4:30 PM"]),
    (SlotKind::TomorrowEvening, &["6 PM", "7 PM", "7:30 PM"]),
];
const PEAK_TIMES: [&str; 4] = ["10 AM", "1 PM", "3 PM", "5 PM"];

/// `n` examples, the same for the same `n` (item `i` varies kind, slot, chronotype, age,
/// measured effect, calendar and forecast independently of the others).
pub fn good_examples(n: usize) -> Vec<GoodExample> {
    (0..n).map(example).collect()
}

fn example(i: usize) -> GoodExample {
    let (facts, style) = facts(i);
    GoodExample {
        prompt: prompt::build(&facts),
        completion: format!(" {}{}", template::write_styled(&facts, i, style), prompt::STOP),
    }
}

/// Item `i`'s facts and the template style that writes them.
fn facts(i: usize) -> (Facts, template::Style) {
    let pick =
        |salt: usize, len: usize| (i.wrapping_mul(2_654_435_761).wrapping_add(salt * 40_503) >> 7) % len;
    let action = InterventionKind::ALL[i % InterventionKind::ALL.len()];
    let (slot, times) = SLOT_TIMES[pick(1, SLOT_TIMES.len())];
    let chronotype = match slot {
        // The policy gives night owls evenings and early birds mornings.
        SlotKind::ThisEvening | SlotKind::TomorrowEvening => {
            [Some(Chronotype::NightOwl), Some(Chronotype::Intermediate), None][pick(2, 3)]
        }
        SlotKind::TomorrowMorning => {
            [Some(Chronotype::EarlyBird), Some(Chronotype::Intermediate)][pick(2, 2)]
        }
        SlotKind::TomorrowAfternoon => [Some(Chronotype::Intermediate), None][pick(2, 2)],
    };
    let (effect_percent, effect_status) = match pick(3, 4) {
        0 => (None, Some(EffectStatus::InsufficientData)),
        1 => (None, Some(EffectStatus::Inconclusive)),
        _ => (Some(5 + pick(4, 20) as u32), Some(EffectStatus::Beneficial)),
    };
    let next_test = (pick(5, 3) > 0).then(|| (TESTS[pick(6, TESTS.len())].to_owned(), "tomorrow".to_owned()));
    let forecast_peak = (pick(7, 2) == 0).then(|| {
        (
            60 + pick(8, 30) as u32,
            PEAK_TIMES[pick(9, PEAK_TIMES.len())].to_owned(),
            "tomorrow".to_owned(),
        )
    });
    let facts = Facts {
        action,
        slot,
        slot_time: times[pick(10, times.len())].to_owned(),
        chronotype,
        age_years: (pick(11, 5) > 0).then(|| 5 + pick(12, 10) as u32),
        effect_percent,
        // The same effect as levels: from the child's typical stress, lowered by it.
        effect_levels: effect_percent.map(|p| {
            let from = 35 + pick(15, 30) as u32;
            (from, from * (100 - p) / 100)
        }),
        effect_status,
        next_test,
        next_test_time: None,
        forecast_peak,
        sustained_high: pick(13, 12) == 0,
        pre_test_rise: None,
        right_now: None,
        bedtime: None,
        short_sleep: None,
        history: Vec::new(),
    };
    let style = if pick(14, 2) == 0 {
        template::Style::ContextFirst
    } else {
        template::Style::ActionFirst
    };
    (facts, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_vary_and_repeat_exactly() {
        let a = good_examples(60);
        assert_eq!(a, good_examples(60));
        let prompts: std::collections::HashSet<_> = a.iter().map(|e| &e.prompt).collect();
        assert!(prompts.len() >= 55, "{} distinct prompts of 60", prompts.len());
        let completions: std::collections::HashSet<_> = a.iter().map(|e| &e.completion).collect();
        assert!(completions.len() >= 55);
        assert!(a
            .iter()
            .all(|e| e.completion.starts_with(' ') && e.completion.ends_with(prompt::STOP)));
    }

    #[test]
    fn every_example_passes_the_guardrails() {
        for (i, e) in good_examples(120).iter().enumerate() {
            let text = e.completion.trim();
            crate::guardrails::check(text, &facts(i).0)
                .unwrap_or_else(|v| panic!("example {i}: {v}: {text}"));
        }
    }
}
