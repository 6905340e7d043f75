//! Checks on every writer's text before a parent sees it.
//!
//! Advice about children must be careful: no diagnosis, no medication, no blame, no
//! number that is not one of the facts, short (two or three sentences), and it must name
//! the action that was decided. A text that breaks a rule is replaced by the template's.

use crate::facts::{action_words, numbers_in, Facts};

/// Shortest and longest acceptable text, in sentences.
const SENTENCES: (usize, usize) = (2, 3);

/// Words that diagnose or label a child.
const DIAGNOSIS: &[&str] = &[
    "diagnos",
    "disorder",
    "adhd",
    "autis",
    "depress",
    "anxiety disorder",
    "syndrome",
    "patholog",
    "mental illness",
    "condition",
];
/// Words that suggest medication or supplements.
const MEDICATION: &[&str] = &[
    "medic",
    "pill",
    "tablet",
    "drug",
    "dose",
    "dosage",
    "melatonin",
    "supplement",
    "prescri",
    "mg ",
    "antidepress",
    "sedat",
    "ibuprofen",
];
/// Words that blame the child or the parent.
const BLAME: &[&str] = &[
    "your fault",
    "blame",
    "lazy",
    "bad parent",
    "should have",
    "failed to",
    "careless",
    "naughty",
];

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("the number {0} is not one of the facts")]
    InventedNumber(String),
    #[error("it reads as a diagnosis ('{0}')")]
    Diagnosis(String),
    #[error("it mentions medication ('{0}')")]
    Medication(String),
    #[error("it blames ('{0}')")]
    Blame(String),
    #[error("it has {0} sentences; two or three are wanted")]
    Length(usize),
    #[error("it does not name the recommended action")]
    MissingAction,
    #[error("it is empty")]
    Empty,
}

/// Checks `text` against the facts; the first rule broken is the answer.
pub fn check(text: &str, facts: &Facts) -> Result<(), Violation> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Violation::Empty);
    }
    let lower = trimmed.to_lowercase();
    for (words, violation) in [
        (DIAGNOSIS, Violation::Diagnosis as fn(String) -> Violation),
        (MEDICATION, Violation::Medication),
        (BLAME, Violation::Blame),
    ] {
        if let Some(word) = words.iter().find(|w| lower.contains(*w)) {
            return Err(violation(word.trim().to_owned()));
        }
    }
    let allowed = facts.numbers();
    if let Some(number) = numbers_in(trimmed).into_iter().find(|n| !allowed.contains(n)) {
        return Err(Violation::InventedNumber(number));
    }
    let sentences = count_sentences(trimmed);
    let max = SENTENCES.1 + usize::from(facts.sustained_high);
    if sentences < SENTENCES.0 || sentences > max {
        return Err(Violation::Length(sentences));
    }
    if !action_words(facts.action).iter().any(|w| lower.contains(w)) {
        return Err(Violation::MissingAction);
    }
    Ok(())
}

/// Sentences end in '.', '!' or '?' followed by a space or the end; decimals ("0.85")
/// and clock times do not end one.
fn count_sentences(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut count = 0;
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) {
            count += 1;
        }
    }
    if !matches!(chars.last(), Some('.' | '!' | '?')) {
        count += 1;
    }
    count
}
