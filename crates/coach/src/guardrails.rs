//! Checks on every writer's text before a parent sees it.
//!
//! Advice about children must be careful: no diagnosis, no medication, no blame, no
//! number that is not one of the facts, short (two or three sentences), and it must name
//! the action that was decided at its own time: every clock time is one of the facts'
//! times as written, and the sentence naming the action gives the slot's time (never the
//! test's or the forecast peak's, which come after it). A text that breaks a rule is
//! replaced by the template's.

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
    #[error("the time {0} is not one of the facts' times")]
    StrayTime(String),
    #[error("the action is not given its own time ({0})")]
    ActionTime(String),
    #[error("{0} is said where the facts say otherwise")]
    MisplacedNumber(String),
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
    check_times(trimmed, facts)?;
    check_placed_numbers(trimmed, facts)
}

/// Each number said with what it measures is that measure's number on the card: a model
/// held to the card's numbers can still put the effect's level where the forecast peak
/// goes ("peak around 41 of 100"), or say "from about 30 to 30".
fn check_placed_numbers(text: &str, facts: &Facts) -> Result<(), Violation> {
    let lower = text.to_lowercase();
    for (phrase, allowed) in number_anchors(facts) {
        for said in numbers_after(&lower, &phrase) {
            if !allowed.contains(&said) {
                return Err(Violation::MisplacedNumber(format!("'{phrase}{said}'")));
            }
        }
    }
    let percents: Vec<String> = facts
        .effect_percent
        .iter()
        .chain(facts.right_now.iter().map(|n| &n.percent))
        .map(u32::to_string)
        .collect();
    for said in percent_numbers(&lower) {
        if !percents.contains(&said) {
            return Err(Violation::MisplacedNumber(format!("'{said}%'")));
        }
    }
    let minutes: Vec<String> = facts
        .bedtime
        .iter()
        .map(|b| b.minutes_earlier.to_string())
        .collect();
    for said in numbers_before(&lower, " minutes") {
        if !minutes.contains(&said) {
            return Err(Violation::MisplacedNumber(format!("'{said} minutes'")));
        }
    }
    let rise: Vec<String> = facts.pre_test_rise.iter().map(u32::to_string).collect();
    for said in numbers_before(&lower, " points") {
        if !rise.contains(&said) {
            return Err(Violation::MisplacedNumber(format!("'{said} points'")));
        }
    }
    Ok(())
}

/// Phrases that say which number follows them, with the card's numbers for each (none:
/// the card has no such number, so none may follow): the effect's two levels in order,
/// the forecast peak, the level right now, the hours slept. The guardrails check them,
/// and the local writer holds its decoding to them.
pub fn number_anchors(facts: &Facts) -> Vec<(String, Vec<String>)> {
    let list = |numbers: Vec<u32>| numbers.iter().map(u32::to_string).collect::<Vec<_>>();
    let mut anchors = Vec::new();
    match facts.effect_levels {
        Some((from, to)) => {
            anchors.push(("from about ".to_owned(), list(vec![from])));
            anchors.push((format!("from about {from} to "), list(vec![to])));
        }
        None => anchors.push(("from about ".to_owned(), Vec::new())),
    }
    let peak = list(facts.forecast_peak.iter().map(|(level, _, _)| *level).collect());
    anchors.push(("peak around ".to_owned(), peak.clone()));
    anchors.push(("peak at ".to_owned(), peak));
    anchors.push((
        "right now (".to_owned(),
        list(facts.right_now.iter().map(|n| n.level).collect()),
    ));
    let slept = facts.short_sleep.iter().map(|s| s.hours.to_string()).collect();
    anchors.push(("slept about ".to_owned(), slept));
    anchors
}

/// The numbers written right after each occurrence of `phrase`.
fn numbers_after(text: &str, phrase: &str) -> Vec<String> {
    text.match_indices(phrase)
        .filter_map(|(at, _)| {
            let rest = &text[at + phrase.len()..];
            rest.starts_with(|c: char| c.is_ascii_digit())
                .then(|| numbers_in(rest).into_iter().next())
                .flatten()
        })
        .collect()
}

/// The numbers written right before each occurrence of `unit`.
fn numbers_before(text: &str, unit: &str) -> Vec<String> {
    text.match_indices(unit)
        .filter_map(|(at, _)| {
            let head = &text[..at];
            let start = head
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |i| i + 1);
            (start < at).then(|| head[start..].to_owned())
        })
        .collect()
}

/// The numbers written as percentages ("12%").
fn percent_numbers(text: &str) -> Vec<String> {
    numbers_before(text, "%")
}

/// Clock times: each one of the facts' own; the action said at the slot's time, and a
/// sentence about the action that gives a time gives that one.
fn check_times(text: &str, facts: &Facts) -> Result<(), Violation> {
    let mut known: Vec<&str> = vec![facts.slot_time.as_str()];
    known.extend(facts.next_test_time.as_deref());
    known.extend(facts.forecast_peak.as_ref().map(|(_, time, _)| time.as_str()));
    known.extend(facts.bedtime.as_ref().map(|b| b.usual.as_str()));
    if let Some(stray) = clock_times(text)
        .into_iter()
        .find(|t| !known.contains(&t.as_str()))
    {
        return Err(Violation::StrayTime(stray));
    }
    let words = action_words(facts.action);
    let about_action: Vec<&str> = sentences(text)
        .into_iter()
        .filter(|s| words.iter().any(|w| s.to_lowercase().contains(w)))
        .collect();
    if !about_action
        .iter()
        .any(|s| clock_times(s).contains(&facts.slot_time))
    {
        return Err(Violation::ActionTime(facts.slot_time.clone()));
    }
    // Other times in a sentence about the action are the child's usual bedtime (the
    // step is measured from it) or belong with the action's own time.
    for sentence in &about_action {
        let times = clock_times(sentence);
        let usual = facts.bedtime.as_ref().map(|b| b.usual.as_str());
        if !times.is_empty()
            && !times.contains(&facts.slot_time)
            && times.iter().any(|t| Some(t.as_str()) != usual)
        {
            return Err(Violation::ActionTime(facts.slot_time.clone()));
        }
    }
    Ok(())
}

/// Clock times as the card writes them: "7 PM", "7:30 AM" (12-hour) or "19:30" (24-hour).
pub fn clock_times(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut times = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit());
        if !starts_number {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        let minutes = chars.get(j) == Some(&':')
            && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            && chars.get(j + 2).is_some_and(char::is_ascii_digit);
        let end = if minutes { j + 3 } else { j };
        let rest: String = chars[end..chars.len().min(end + 3)].iter().collect();
        let meridiem = rest.starts_with(" AM") || rest.starts_with(" PM");
        if meridiem {
            times.push(chars[i..end + 3].iter().collect());
        } else if minutes {
            times.push(chars[i..end].iter().collect());
        }
        i = end.max(i + 1);
    }
    times
}

/// The sentences of a text, as [`count_sentences`] counts them.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    for (k, (at, c)) in bytes.iter().enumerate() {
        let ends = matches!(c, '.' | '!' | '?') && bytes.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
        if ends {
            out.push(text[start..at + c.len_utf8()].trim());
            start = at + c.len_utf8();
        }
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::SlotKind;
    use sprout_domain::InterventionKind;

    fn facts() -> Facts {
        Facts {
            action: InterventionKind::Mindfulness,
            slot: SlotKind::ThisEvening,
            slot_time: "7:30 PM".into(),
            chronotype: None,
            age_years: Some(10),
            effect_percent: None,
            effect_levels: None,
            effect_status: None,
            next_test: Some(("math test".into(), "tomorrow".into())),
            next_test_time: Some("10 AM".into()),
            forecast_peak: None,
            sustained_high: false,
            pre_test_rise: None,
            right_now: None,
            bedtime: None,
            short_sleep: None,
            history: Vec::new(),
        }
    }

    #[test]
    fn times_are_the_facts_own_and_the_action_has_its_slot() {
        let facts = facts();
        let good = "Your child's stress may rise ahead of tomorrow's math test at 10 AM. \
                    Try a short mindfulness exercise at 7:30 PM tonight.";
        assert_eq!(check(good, &facts), Ok(()));
        // The digits are all on the card, the time is not.
        let stray = "Your child's stress may rise ahead of tomorrow's math test at 10 AM. \
                     Try a short mindfulness exercise at 7:10 PM tonight.";
        assert_eq!(check(stray, &facts), Err(Violation::StrayTime("7:10 PM".into())));
        // The action put at the test's time: after the moment it is for.
        let after = "Your child's stress may rise ahead of tomorrow's math test at 7:30 PM. \
                     Try a short mindfulness exercise at 10 AM tomorrow.";
        assert_eq!(check(after, &facts), Err(Violation::ActionTime("7:30 PM".into())));
        let untimed = "Your child's stress may rise ahead of tomorrow's math test at 10 AM. \
                       Try a short mindfulness exercise tonight.";
        assert_eq!(
            check(untimed, &facts),
            Err(Violation::ActionTime("7:30 PM".into()))
        );
    }

    #[test]
    fn each_number_is_said_with_what_it_measures() {
        let mut facts = facts();
        facts.effect_levels = Some((38, 30));
        facts.effect_percent = Some(21);
        facts.forecast_peak = Some((65, "1 PM".into(), "tomorrow".into()));
        let start = "Try a short mindfulness exercise at 7:30 PM tonight";
        let good = format!("{start}. It has typically brought their stress from about 38 to 30 of 100.");
        assert_eq!(check(&good, &facts), Ok(()));
        for (wrong, said) in [
            ("from about 30 to 30 of 100", "'from about 30'"),
            ("from about 38 to 38 of 100", "'from about 38 to 38'"),
        ] {
            let text = format!("{start}. It has typically brought their stress {wrong}.");
            assert_eq!(
                check(&text, &facts),
                Err(Violation::MisplacedNumber(said.into())),
                "{text}"
            );
        }
        let peak = format!("{start}. Stress may peak around 38 of 100 at 1 PM tomorrow.");
        assert_eq!(
            check(&peak, &facts),
            Err(Violation::MisplacedNumber("'peak around 38'".into()))
        );
        let percent = format!("{start}. It has lowered their stress by about 30% before.");
        assert_eq!(
            check(&percent, &facts),
            Err(Violation::MisplacedNumber("'30%'".into()))
        );
    }

    #[test]
    fn clock_times_in_both_formats() {
        assert_eq!(
            clock_times("at 7 PM, 7:30 AM, 19:30 and 6.5 hours, 9–12 hours, 86 of 100"),
            vec!["7 PM", "7:30 AM", "19:30"]
        );
    }
}
