//! Checks on every writer's text before a parent sees it.
//!
//! Advice about children must be careful: no diagnosis, no medication, no blame, no
//! number that is not one of the facts, short (two or three sentences), and it must name
//! the action that was decided at its own time: every clock time is one of the facts'
//! times as written, and the sentence naming the action gives the slot's time (never the
//! test's or the forecast peak's, which come after it). A text that breaks a rule is
//! replaced by the template's.
//!
//! A number must also be the fact it says it is: "18 points" must be the rise before
//! tests, "7 PM" one of the card's clock times, "from about 40 to 34" the effect's two
//! levels in that order. A writer whose numbers are constrained to the card's (the local
//! model) can still put one in the wrong place, e.g. the effect's 18% as "18 points (of
//! 100) higher before a test"; the words right after a number say what it claims to be
//! ([`Claim`]), and the words right before some say which fact it is
//! ([`number_anchors`], which the local model's decoding follows too).

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
    #[error("the action is not given its own time ({0})")]
    ActionTime(String),
    #[error("{0} is said where the facts say otherwise")]
    WrongFact(String),
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
    check_times(trimmed, facts)?;
    check_placed_numbers(trimmed, facts)
}

/// Each number said after the words that name its fact is that fact's (the numbers'
/// kinds, from the words after them, are checked by [`Claim`]): a model held to the
/// card's numbers can still put the effect's level where the forecast peak goes ("peak
/// around 41 of 100"), or say "from about 30 to 30".
fn check_placed_numbers(text: &str, facts: &Facts) -> Result<(), Violation> {
    let lower = text.to_lowercase();
    for (phrase, allowed) in number_anchors(facts) {
        for said in numbers_after(&lower, &phrase) {
            if !allowed.contains(&said) {
                return Err(Violation::WrongFact(format!("'{phrase}{said}'")));
            }
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

/// The action said at the slot's time, and a sentence about the action that gives a time
/// gives that one (that each time is one of the card's is [`Claim::Clock`]'s check).
fn check_times(text: &str, facts: &Facts) -> Result<(), Violation> {
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

/// What a number in a text says it is, from the words right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// "15%", "15 percent": the measured effect, or what helped most right now.
    Percent,
    /// "8 points": the rise before tests.
    Points,
    /// "86 of 100": the forecast peak, the level right now, or the effect's levels.
    Level,
    /// "7.6 hours": recent sleep, or the recommended range.
    Hours,
    /// "20 minutes": how much earlier the bedtime is.
    Minutes,
    /// "7:30 PM" or "19:30" (said as written in the facts): one of the card's clock times.
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
                    .chain(facts.effect_levels.into_iter().flat_map(|(from, to)| [from, to]))
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
        // "19:30": a 24-hour clock time.
        if minutes.is_some() {
            claims.push((clock, Claim::Clock));
            i += 1;
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

    fn card() -> Facts {
        Facts {
            action: InterventionKind::EarlyBedtime,
            slot: SlotKind::ThisEvening,
            slot_time: "9:30 PM".into(),
            chronotype: None,
            age_years: Some(10),
            effect_percent: Some(18),
            effect_levels: None,
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
                school_nights: false,
            }),
            history: vec!["25 minutes of reading helped.".into()],
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
        assert_eq!(
            check(stray, &facts),
            Err(Violation::MisplacedNumber("7:10 PM".into(), "a time of day"))
        );
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
                Err(Violation::WrongFact(said.into())),
                "{text}"
            );
        }
        let peak = format!("{start}. Stress may peak around 38 of 100 at 1 PM tomorrow.");
        assert_eq!(
            check(&peak, &facts),
            Err(Violation::WrongFact("'peak around 38'".into()))
        );
        let percent = format!("{start}. It has lowered their stress by about 30% before.");
        assert_eq!(
            check(&percent, &facts),
            Err(Violation::MisplacedNumber("30%".into(), "a percentage"))
        );
    }

    #[test]
    fn clock_times_in_both_formats() {
        assert_eq!(
            clock_times("at 7 PM, 7:30 AM, 19:30 and 6.5 hours, 9–12 hours, 86 of 100"),
            vec!["7 PM", "7:30 AM", "19:30"]
        );
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
