//! The prompt for a language-model writer: the original design's fields (age,
//! chronotype, forecast, causal insight, upcoming events) plus the decided action, as a
//! plain instruction with worked examples. Base models continue text, so the prompt is
//! a completion: the examples show the shape, the model writes the next one.
//!
//! A small model (Gemma 3 270M) copies what it is shown, so what it is shown is chosen:
//!
//! * several worked examples, not one: given a single example it copied it whole (its
//!   "12%", its activity), given several it follows its own facts;
//! * each about another activity at another time than the request's, and speaking only
//!   of kinds of facts the request also has (given an example about a test ahead, it
//!   writes about a test the child does not have);
//! * chosen among equals by a hash of the facts, so nothing recurs to be copied, while
//!   the same facts always get the same prompt (it is stored with the advice);
//! * the action last among the facts and phrased as the text starts ("Action: Try …"),
//!   so that naming it is copying the line just above.
//!
//! Each example's text passes the guardrails for its own facts. The local writer also
//! constrains the numbers it decodes to the facts' (the GGUF writer, in `sprout-writers`).

use crate::bedtime::BedtimeStep;
use crate::facts::{Facts, RightNow, ShortSleep};
use crate::slots::SlotKind;
use sprout_chrono::Chronotype;
use sprout_domain::InterventionKind;
use sprout_insights::effects::EffectStatus;

const INSTRUCTION: &str = "Write a short, warm recommendation for a parent in two sentences. \
Use only the facts given. Do not give medical advice. Name the action and its time.";

/// Marks the end of a recommendation in the completion.
pub const STOP: &str = "\n\n";

/// A worked example: facts and a text that says them well.
#[derive(Debug, Clone)]
pub struct WorkedExample {
    pub facts: Facts,
    pub text: &'static str,
}

/// Worked examples in each prompt: with one, a small model copies it whole; with
/// several about different activities it follows the facts it is given.
const EXAMPLES_SHOWN: usize = 3;

/// The prompt for `facts`: the instruction, worked examples, and the facts to write.
pub fn build(facts: &Facts) -> String {
    let lines = action_last(facts.lines());
    let examples = worked_examples();
    let mut prompt = format!("{INSTRUCTION}\n\n");
    for i in example_indices(facts, &lines, &examples) {
        let example = &examples[i];
        prompt.push_str(&format!(
            "Facts:\n{}\nRecommendation: {}{STOP}",
            action_last(example.facts.lines()).join("\n"),
            example.text
        ));
    }
    prompt.push_str(&format!("Facts:\n{}\nRecommendation:", lines.join("\n")));
    prompt
}

/// The facts with the action last, next to the text that starts by naming it.
fn action_last(mut lines: Vec<String>) -> Vec<String> {
    if let Some(i) = lines.iter().position(|l| l.starts_with("Action: ")) {
        let action = lines.remove(i).replacen("Action: ", "Action: Try ", 1);
        lines.push(action);
    }
    lines
}

/// Which examples go with these facts, in order. Only examples about another activity at
/// another time (a small model given an example close to its words copies it whole), and
/// only those whose kinds of facts this card also has (it follows their shape: an example
/// about a test ahead, given a card without one, would have it write about a test). The
/// fullest come first in the choice, ties broken by a hash of the facts' lines; the
/// fullest is shown last, next to the facts it is for.
fn example_indices(facts: &Facts, lines: &[String], examples: &[WorkedExample]) -> Vec<usize> {
    let hash = fnv1a(lines.join("\n").as_bytes());
    let have = kinds(facts);
    let mut candidates: Vec<(usize, u64, usize)> = examples
        .iter()
        .enumerate()
        .filter(|(_, e)| e.facts.action != facts.action && e.facts.slot_time != facts.slot_time)
        .filter_map(|(i, e)| {
            let shown = kinds(&e.facts);
            let fits = shown.iter().zip(have).all(|(s, h)| !s || h);
            let tie = fnv1a(&[hash.to_le_bytes(), (i as u64).to_le_bytes()].concat());
            fits.then_some((shown.iter().filter(|s| **s).count(), tie, i))
        })
        .collect();
    candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = candidates.iter().take(EXAMPLES_SHOWN).map(|c| c.2).collect();
    chosen.reverse();
    chosen
}

/// The kinds of facts a card has besides its action: a measured effect, none, a test
/// ahead, a forecast peak, the rise before tests, a bedtime step, short sleep, high
/// stress now, notes from the family.
fn kinds(f: &Facts) -> [bool; 9] {
    [
        f.effect_percent.is_some(),
        f.effect_percent.is_none(),
        f.next_test.is_some(),
        f.forecast_peak.is_some(),
        f.pre_test_rise.is_some(),
        f.bedtime.is_some(),
        f.short_sleep.is_some(),
        f.right_now.is_some(),
        !f.history.is_empty(),
    ]
}

/// FNV-1a: stable across builds and platforms (the prompt is stored with the advice, and
/// the same facts must give the same prompt).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Builds a worked example's facts, one fact at a time.
struct Draft(Facts);

impl Draft {
    fn new(
        action: InterventionKind,
        slot: SlotKind,
        slot_time: &str,
        age: u32,
        chronotype: Option<Chronotype>,
    ) -> Self {
        Self(Facts {
            action,
            slot,
            slot_time: slot_time.into(),
            chronotype,
            age_years: Some(age),
            effect_percent: None,
            effect_levels: None,
            effect_status: Some(EffectStatus::InsufficientData),
            next_test: None,
            next_test_time: None,
            forecast_peak: None,
            sustained_high: false,
            pre_test_rise: None,
            right_now: None,
            bedtime: None,
            short_sleep: None,
            history: Vec::new(),
        })
    }

    /// A measured benefit: the child's typical stress without it and with it, as the
    /// card says it (the percentage is kept for the "right now" sentence).
    fn effect(mut self, from: u32, to: u32) -> Self {
        self.0.effect_levels = Some((from, to));
        self.0.effect_percent = Some(((from - to) * 100 + from / 2) / from);
        self.0.effect_status = Some(EffectStatus::Beneficial);
        self
    }

    fn peak(mut self, level: u32, time: &str) -> Self {
        self.0.forecast_peak = Some((level, time.into(), "tomorrow".into()));
        self
    }

    fn test(mut self, name: &str, time: &str) -> Self {
        self.0.next_test = Some((name.into(), "tomorrow".into()));
        self.0.next_test_time = Some(time.into());
        self
    }

    fn rise(mut self, points: u32) -> Self {
        self.0.pre_test_rise = Some(points);
        self
    }

    fn step(mut self, usual: &str, minutes_earlier: u32) -> Self {
        self.0.bedtime = Some(BedtimeStep {
            usual: usual.into(),
            minutes_earlier,
        });
        self
    }

    fn short_sleep(mut self, hours: f64, recommended: (u32, u32)) -> Self {
        self.0.short_sleep = Some(ShortSleep {
            hours,
            recommended,
            school_nights: false,
        });
        self
    }

    fn high_now(mut self, level: u32, percent: u32) -> Self {
        self.0.right_now = Some(RightNow {
            level,
            helped_most: self.0.action,
            percent,
        });
        self
    }

    fn note(mut self, note: &str) -> Self {
        self.0.history.push(note.into());
        self
    }

    fn says(self, text: &'static str) -> WorkedExample {
        WorkedExample { facts: self.0, text }
    }
}

/// The examples: every activity the policy chooses, evenings, mornings and afternoons,
/// and each kind of fact a card may have (a measured effect or none, a test ahead, a
/// forecast peak, the rise before tests, a bedtime step, short sleep, high stress now, a
/// note from the family). Each example has only the facts its text speaks of, so that
/// one whose facts a card also has shows how to say that card's facts (see
/// `example_indices`).
pub fn worked_examples() -> Vec<WorkedExample> {
    use Chronotype::{EarlyBird, Intermediate, NightOwl};
    use InterventionKind::{EarlyBedtime, Mindfulness, OutdoorPlay, Reading, ScreenLimit};
    use SlotKind::{ThisEvening, TomorrowAfternoon, TomorrowEvening, TomorrowMorning};
    vec![
        // Every card has a measured effect or none: five of each, one per activity, so
        // that three fit any card whatever its activity and time.
        Draft::new(OutdoorPlay, TomorrowAfternoon, "4:30 PM", 8, Some(Intermediate)).says(
            "Try some outdoor play at 4:30 PM tomorrow afternoon. \
             We are still learning how much it helps them, so tell us how it goes.",
        ),
        Draft::new(ScreenLimit, TomorrowEvening, "6 PM", 12, Some(NightOwl)).says(
            "Try a screen-free hour at 6 PM tomorrow evening. \
             We do not know yet how much it helps them, so let us know how it goes.",
        ),
        Draft::new(Reading, TomorrowMorning, "7:45 AM", 7, Some(EarlyBird)).says(
            "Try some quiet reading together at 7:45 AM tomorrow morning. \
             We are still learning how much it helps them, so tell us how it goes.",
        ),
        Draft::new(Mindfulness, ThisEvening, "5:15 PM", 11, None).says(
            "Try a short mindfulness exercise at 5:15 PM tonight. \
             We do not know yet how much it helps them, so let us know how it goes.",
        ),
        Draft::new(EarlyBedtime, ThisEvening, "8:45 PM", 9, Some(Intermediate)).says(
            "Try an earlier bedtime at 8:45 PM tonight. \
             We are still learning how much it helps them, so tell us how it goes.",
        ),
        Draft::new(OutdoorPlay, TomorrowAfternoon, "3:30 PM", 7, None)
            .effect(36, 30)
            .says("Try some outdoor play at 3:30 PM tomorrow afternoon. It has typically brought their stress from about 36 to 30 of 100 in the two hours after."),
        Draft::new(Mindfulness, ThisEvening, "6:30 PM", 9, Some(Intermediate))
            .effect(43, 37)
            .says("Try a short mindfulness exercise at 6:30 PM tonight. It has typically brought their stress from about 43 to 37 of 100 in the two hours after."),
        Draft::new(Reading, TomorrowEvening, "7:15 PM", 10, Some(NightOwl))
            .effect(36, 32)
            .says("Try some quiet reading together at 7:15 PM tomorrow evening. It has typically brought their stress from about 36 to 32 of 100 in the two hours after."),
        Draft::new(ScreenLimit, ThisEvening, "6:45 PM", 13, Some(Intermediate))
            .effect(43, 36)
            .says("Try a screen-free hour at 6:45 PM tonight. It has typically brought their stress from about 43 to 36 of 100 in the two hours after."),
        Draft::new(EarlyBedtime, TomorrowEvening, "9:15 PM", 8, Some(EarlyBird))
            .effect(36, 33)
            .says(
                "Try an earlier bedtime at 9:15 PM tomorrow evening. \
                 It has typically brought their stress from about 36 to 33 of 100 the next morning.",
            ),
        Draft::new(Mindfulness, ThisEvening, "7:30 PM", 10, Some(NightOwl))
            .test("math test", "9 AM")
            .effect(43, 38)
            .says(
                "Try a short mindfulness exercise at 7:30 PM tonight, before tomorrow's math test at 9 AM. \
                 It has typically brought their stress from about 43 to 38 of 100 in the two hours after.",
            ),
        Draft::new(ScreenLimit, ThisEvening, "8:30 PM", 11, Some(Intermediate))
            .test("spelling quiz", "10:30 AM")
            .says(
                "Try a screen-free hour at 8:30 PM tonight, ahead of tomorrow's spelling quiz at 10:30 AM. \
                 We are still learning how much it helps them, so tell us how it goes.",
            ),
        Draft::new(Reading, ThisEvening, "8 PM", 13, Some(NightOwl))
            .rise(8)
            .says(
                "Try some quiet reading together at 8 PM tonight. \
                 Their stress is 8 points (of 100) higher than usual the day before a test.",
            ),
        Draft::new(OutdoorPlay, TomorrowAfternoon, "5 PM", 10, None)
            .rise(12)
            .effect(36, 31)
            .says(
                "Try some outdoor play at 5 PM tomorrow afternoon; it has typically brought their stress from about 36 to 31 of 100 in the two hours after. \
                 Their stress is 12 points (of 100) higher than usual the day before a test.",
            ),
        Draft::new(Reading, TomorrowMorning, "6:30 AM", 6, Some(EarlyBird))
            .peak(68, "1 PM")
            .effect(43, 39)
            .says(
                "Try some quiet reading together at 6:30 AM tomorrow morning. \
                 It has typically brought their stress from about 43 to 39 of 100 in the two hours after, and their stress may peak around 68 of 100 at 1 PM tomorrow.",
            ),
        Draft::new(ScreenLimit, TomorrowEvening, "8:30 PM", 14, Some(NightOwl))
            .peak(75, "2 PM")
            .says(
                "Try a screen-free hour at 8:30 PM tomorrow evening. \
                 Their stress may peak around 75 of 100 at 2 PM tomorrow, and we are still learning how much this helps them.",
            ),
        Draft::new(OutdoorPlay, TomorrowEvening, "5:30 PM", 12, Some(Intermediate))
            .short_sleep(8.2, (9, 12))
            .says(
                "Try some outdoor play at 5:30 PM tomorrow evening. \
                 They have slept about 8.2 hours a night lately, and 9-12 hours is recommended at their age.",
            ),
        Draft::new(ScreenLimit, ThisEvening, "6 PM", 15, Some(NightOwl))
            .short_sleep(6.9, (8, 10))
            .effect(36, 32)
            .says(
                "Try a screen-free hour at 6 PM tonight; it has typically brought their stress from about 36 to 32 of 100 in the two hours after. \
                 They have slept about 6.9 hours a night lately, and 8-10 hours is recommended at their age.",
            ),
        Draft::new(EarlyBedtime, ThisEvening, "11 PM", 13, Some(NightOwl))
            .step("11:20 PM", 20)
            .short_sleep(7.6, (9, 12))
            .says(
                "Try an earlier bedtime at 11 PM tonight, 20 minutes before their usual 11:20 PM. \
                 They have slept about 7.6 hours a night lately, and 9-12 hours is recommended at their age.",
            ),
        Draft::new(EarlyBedtime, TomorrowEvening, "9:30 PM", 10, Some(Intermediate))
            .step("9:55 PM", 25)
            .says(
                "Try an earlier bedtime at 9:30 PM tomorrow evening, 25 minutes before their usual 9:55 PM. \
                 We are still learning how much it helps them, so tell us how it goes.",
            ),
        Draft::new(Mindfulness, TomorrowMorning, "7:15 AM", 9, Some(EarlyBird))
            .high_now(84, 14)
            .effect(43, 37)
            .says(
                "Try a short mindfulness exercise at 7:15 AM tomorrow morning; it has typically brought their stress from about 43 to 37 of 100 in the two hours after. \
                 Stress is high right now (84 of 100), so one now may help too.",
            ),
        Draft::new(Reading, ThisEvening, "8:15 PM", 9, None)
            .note("Reading before bed went well last week.")
            .says(
                "Try some quiet reading together at 8:15 PM tonight. \
                 You said reading before bed went well last week, and we are still learning how much it helps them.",
            ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worked_example_passes_the_guardrails_for_its_facts() {
        for example in worked_examples() {
            crate::guardrails::check(example.text, &example.facts)
                .unwrap_or_else(|v| panic!("{v}: {}", example.text));
            assert!(
                example.text.contains(&example.facts.slot_time),
                "{}",
                example.text
            );
        }
    }

    /// Cards of every shape the examples have, with every activity at the usual times.
    fn cards() -> Vec<Facts> {
        let mut cards = Vec::new();
        for example in worked_examples() {
            for action in InterventionKind::ALL {
                for (slot, time) in [
                    (SlotKind::ThisEvening, "7 PM"),
                    (SlotKind::ThisEvening, "6:30 PM"),
                    (SlotKind::TomorrowMorning, "7:30 AM"),
                    (SlotKind::TomorrowAfternoon, "4 PM"),
                    (SlotKind::TomorrowEvening, "6 PM"),
                ] {
                    let mut card = example.facts.clone();
                    (card.action, card.slot, card.slot_time) = (action, slot, time.into());
                    cards.push(card);
                }
            }
        }
        cards
    }

    #[test]
    fn the_examples_fit_the_card_and_vary() {
        let examples = worked_examples();
        let mut seen = std::collections::HashSet::new();
        for card in cards() {
            let chosen = example_indices(&card, &card.lines(), &examples);
            assert_eq!(chosen.len(), EXAMPLES_SHOWN, "{:?}", card.lines());
            for i in chosen {
                let example = &examples[i].facts;
                assert_ne!(example.action, card.action);
                assert_ne!(example.slot_time, card.slot_time);
                for (shown, has) in kinds(example).iter().zip(kinds(&card)) {
                    assert!(!shown || has, "{:?} for {:?}", example.lines(), card.lines());
                }
                seen.insert(i);
            }
        }
        assert_eq!(seen.len(), examples.len(), "every example is used");
    }

    #[test]
    fn the_same_facts_give_the_same_prompt() {
        for card in cards().iter().step_by(7) {
            let prompt = build(card);
            assert_eq!(prompt, build(&card.clone()));
            assert!(prompt.ends_with(&format!(
                "Action: Try {} at {} {}\nRecommendation:",
                crate::facts::activity(card.action),
                card.slot_time,
                card.slot.phrase()
            )));
        }
    }
}
