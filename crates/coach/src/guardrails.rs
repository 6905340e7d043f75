//! Checks on every writer's text before a parent sees it.
//!
//! Advice about children must be careful: no diagnosis, no medication, no blame, no
//! number that is not one of the facts, short (two or three sentences), and it must name
//! the action that was decided. A text that breaks a rule is replaced by the template's.
//!
//! A number must also be the fact it says it is: "18 points" must be the rise before
//! tests, "7 PM" one of the card's clock times. A writer whose numbers are constrained to
//! the card's (the local model) can still put one in the wrong place, e.g. the effect's
//! 18% as "18 points (of 100) higher before a test"; the words right after a number say
//! what it claims to be ([`Claim`]).

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
    #[error("'{0}' is not what the facts say it is ({1})")]
    MisplacedNumber(String, &'static str),
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
    // A number may also be what one of the family's notes says it is.
    let noted = claims(&facts.history.join(" "));
    if let Some((said, claim)) = claims(trimmed)
        .into_iter()
        .filter(|c| !noted.contains(c))
        .find(|(said, claim)| !claim.facts(facts).contains(said))
    {
        return Err(Violation::MisplacedNumber(claim.quote(&said), claim.what()));
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

/// What a number in a text says it is, from the words right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// "15%", "15 percent": the measured effect, or what helped most right now.
    Percent,
    /// "8 points": the rise before tests.
    Points,
    /// "86 of 100": the forecast peak, or the level right now.
    Level,
    /// "7.6 hours": recent sleep, or the recommended range.
    Hours,
    /// "20 minutes": how much earlier the bedtime is.
    Minutes,
    /// "7:30 PM" (said as written in the facts, "H:MM AM"): one of the card's clock times.
    Clock,
}

impl Claim {
    fn what(self) -> &'static str {
        match self {
            Self::Percent => "a percentage",
            Self::Points => "points",
            Self::Level => "a level out of 100",
            Self::Hours => "hours",
            Self::Minutes => "minutes",
            Self::Clock => "a time of day",
        }
    }

    fn quote(self, said: &str) -> String {
        match self {
            Self::Percent => format!("{said}%"),
            Self::Points => format!("{said} points"),
            Self::Level => format!("{said} of 100"),
            Self::Hours => format!("{said} hours"),
            Self::Minutes => format!("{said} minutes"),
            Self::Clock => said.to_owned(),
        }
    }

    /// What the facts hold for this kind of number, written as the text would.
    fn facts(self, facts: &Facts) -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        let now = facts.right_now.as_ref();
        match self {
            Self::Percent => values.extend(
                facts
                    .effect_percent
                    .into_iter()
                    .chain(now.map(|n| n.percent))
                    .map(|p| p.to_string()),
            ),
            Self::Points => values.extend(facts.pre_test_rise.map(|r| r.to_string())),
            Self::Level => values.extend(
                facts
                    .forecast_peak
                    .as_ref()
                    .map(|p| p.0)
                    .into_iter()
                    .chain(now.map(|n| n.level))
                    .map(|l| l.to_string()),
            ),
            Self::Hours => {
                if let Some(short) = &facts.short_sleep {
                    values.push(short.hours.to_string());
                    values.push(short.recommended.0.to_string());
                    values.push(short.recommended.1.to_string());
                }
            }
            Self::Minutes => values.extend(facts.bedtime.as_ref().map(|b| b.minutes_earlier.to_string())),
            Self::Clock => {
                values.push(facts.slot_time.clone());
                values.extend(facts.next_test_time.clone());
                values.extend(facts.forecast_peak.as_ref().map(|p| p.1.clone()));
                values.extend(facts.bedtime.as_ref().map(|b| b.usual.clone()));
            }
        }
        values
    }
}

/// The numbers of `text` that say what they are, with what they say; a clock time comes
/// whole ("7:30 PM"). Numbers followed by anything else ("9-12 hours": the 9) say nothing.
fn claims(text: &str) -> Vec<(String, Claim)> {
    let spans = number_spans(text);
    let mut claims = Vec::new();
    let mut i = 0;
    while let Some(&(start, end)) = spans.get(i) {
        i += 1;
        let number = &text[start..end];
        // "7:30 PM": the hour, a colon, the minutes right after it.
        let minutes = spans
            .get(i)
            .filter(|(s, _)| text[end..].starts_with(':') && *s == end + 1)
            .map(|&(s, e)| (&text[s..e], e));
        let (clock, after) = match minutes {
            Some((mm, e)) => (format!("{number}:{mm}"), e),
            None => (number.to_owned(), end),
        };
        let rest: String = text[after..]
            .trim_start()
            .chars()
            .take(12)
            .collect::<String>()
            .to_lowercase();
        if let Some(half) = ["am", "a.m.", "pm", "p.m."]
            .iter()
            .find(|m| rest.starts_with(*m))
            .map(|m| if m.starts_with('a') { "AM" } else { "PM" })
        {
            claims.push((format!("{clock} {half}"), Claim::Clock));
            i += usize::from(minutes.is_some());
            continue;
        }
        if minutes.is_some() {
            continue;
        }
        let claim = [
            ("%", Claim::Percent),
            ("percent", Claim::Percent),
            ("point", Claim::Points),
            ("of 100", Claim::Level),
            ("out of 100", Claim::Level),
            ("hour", Claim::Hours),
            ("minute", Claim::Minutes),
        ]
        .iter()
        .find(|(word, _)| rest.starts_with(word))
        .map(|(_, claim)| *claim);
        if let Some(claim) = claim {
            claims.push((number.to_owned(), claim));
        }
    }
    claims
}

/// Where the numbers of `text` are, as [`numbers_in`] reads them (byte ranges).
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_digit = chars.peek().is_some_and(|(_, n)| n.is_ascii_digit());
        let in_number = c.is_ascii_digit() || (c == '.' && start.is_some() && next_is_digit);
        match (in_number, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
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
    use crate::bedtime::BedtimeStep;
    use crate::facts::ShortSleep;
    use crate::slots::SlotKind;
    use sprout_domain::InterventionKind;

    fn card() -> Facts {
        Facts {
            action: InterventionKind::EarlyBedtime,
            slot: SlotKind::ThisEvening,
            slot_time: "9:30 PM".into(),
            chronotype: None,
            age_years: Some(10),
            effect_percent: Some(18),
            effect_status: None,
            next_test: Some(("math test".into(), "tomorrow".into())),
            next_test_time: Some("8 AM".into()),
            forecast_peak: Some((72, "1 PM".into(), "tomorrow".into())),
            sustained_high: false,
            pre_test_rise: Some(8),
            right_now: None,
            bedtime: Some(BedtimeStep {
                usual: "9:50 PM".into(),
                minutes_earlier: 20,
            }),
            short_sleep: Some(ShortSleep {
                hours: 8.5,
                recommended: (9, 12),
            }),
            history: vec!["25 minutes of reading helped.".into()],
        }
    }

    #[test]
    fn numbers_read_as_what_follows_them() {
        assert_eq!(
            claims("At 9:30 PM, 20 minutes early; 9-12 hours, 8.5 hours; 72 of 100; 8 points; 18%. Age 10."),
            [
                ("9:30 PM".to_string(), Claim::Clock),
                ("20".into(), Claim::Minutes),
                ("12".into(), Claim::Hours),
                ("8.5".into(), Claim::Hours),
                ("72".into(), Claim::Level),
                ("8".into(), Claim::Points),
                ("18".into(), Claim::Percent),
            ]
        );
        assert_eq!(
            claims("by 8 a.m. or 7:30pm"),
            [
                ("8 AM".to_string(), Claim::Clock),
                ("7:30 PM".into(), Claim::Clock)
            ]
        );
    }

    #[test]
    fn a_number_of_the_card_in_the_wrong_place_is_refused() {
        let facts = card();
        let good = "Try an earlier bedtime at 9:30 PM tonight, 20 minutes before their usual 9:50 PM. \
                    They have slept about 8.5 hours a night lately, and 9-12 hours is recommended; it has \
                    lowered their stress by about 18% before, and it runs 8 points (of 100) higher before tests.";
        assert_eq!(check(good, &facts), Ok(()));
        for (bad, quoted) in [
            ("about 18 points (of 100) higher", "18 points"),
            ("by about 8% before", "8%"),
            ("at 8:30 PM tonight", "8:30 PM"),
            ("peak around 100 of 100", "100 of 100"),
            ("slept about 10 hours", "10 hours"),
            ("20 minutes", ""),
        ] {
            let text = format!("Try an earlier bedtime at 9:30 PM tonight. Stress {bad} before tomorrow.");
            match check(&text, &facts) {
                Err(Violation::MisplacedNumber(said, _)) => assert_eq!(said, quoted, "{text}"),
                other => assert!(quoted.is_empty() && other.is_ok(), "{text}: {other:?}"),
            }
        }
        // A family note may be quoted with its own numbers, as it says them.
        let noted = "Try an earlier bedtime at 9:30 PM tonight. You said 25 minutes of reading helped.";
        assert_eq!(check(noted, &facts), Ok(()));
        let twisted = "Try an earlier bedtime at 9:30 PM tonight. It is 25 points higher before tests.";
        assert!(matches!(
            check(twisted, &facts),
            Err(Violation::MisplacedNumber(..))
        ));
    }
}
