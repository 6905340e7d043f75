//! The template writer: deterministic, grounded, two or three sentences, in several
//! phrasings. It is the default, and the fallback whenever another writer's text fails
//! the guardrails.

use crate::facts::{activity, Facts};
use sprout_chrono::Chronotype;

pub const MODEL_VERSION: &str = "template-1";
/// The second template style, for A/B tests of wording: the action comes first.
pub const ACTION_FIRST_VERSION: &str = "template-2";

/// How the sentences are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Style {
    /// The situation, then what to do (template-1).
    #[default]
    ContextFirst,
    /// What to do, then why (template-2).
    ActionFirst,
}

impl Style {
    /// The style a model version names, if it is a template version.
    pub fn of_version(version: &str) -> Option<Self> {
        match version {
            MODEL_VERSION => Some(Self::ContextFirst),
            ACTION_FIRST_VERSION => Some(Self::ActionFirst),
            _ => None,
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Self::ContextFirst => MODEL_VERSION,
            Self::ActionFirst => ACTION_FIRST_VERSION,
        }
    }
}

/// Writes the recommendation; `variant` picks the phrasing (any number works).
pub fn write(facts: &Facts, variant: usize) -> String {
    write_styled(facts, variant, Style::ContextFirst)
}

/// Writes the recommendation in a given style.
pub fn write_styled(facts: &Facts, variant: usize, style: Style) -> String {
    // High stress now outranks the day ahead: the card answers the alert.
    let context = match &facts.right_now {
        Some(now) => format!(
            "Stress is high right now ({} of 100); {} has lowered it by about {}%{} before, so it may help now.",
            now.level,
            activity(now.helped_most),
            now.percent,
            crate::facts::effect_when(now.helped_most)
        ),
        None => context(facts, variant),
    };
    let action = action(facts, variant);
    let mut sentences = match style {
        Style::ContextFirst => vec![context, action],
        Style::ActionFirst => vec![action, context],
    };
    if facts.sustained_high {
        sentences.push(
            "Stress has been high for several days now, so it may help to talk it over with the school counsellor or your paediatrician."
                .into(),
        );
    } else if let Some(short) = &facts.short_sleep {
        sentences.push(format!(
            "They have slept about {} hours {} lately, and {}–{} hours is recommended at their age.",
            short.hours,
            short.which_nights(),
            short.recommended.0,
            short.recommended.1
        ));
    }
    sentences.join(" ")
}

fn context(facts: &Facts, variant: usize) -> String {
    match (&facts.next_test, &facts.forecast_peak) {
        (Some((test, day)), _) => {
            let day_of = day.trim_start_matches("on ");
            let at = facts
                .next_test_time
                .as_ref()
                .map_or(String::new(), |t| format!(" at {t}"));
            match (variant % 2, facts.pre_test_rise) {
                (0, Some(rise)) => format!(
                    "Your child's stress is likely to rise ahead of {day_of}'s {test}{at}: it has been about {rise} \
                     points (of 100) higher than usual the day before tests."
                ),
                (0, None) => format!("Your child's stress is likely to rise ahead of {day_of}'s {test}{at}."),
                _ => format!(
                    "With {} {day}{at}, your child's stress may build up beforehand.",
                    crate::facts::with_article(test)
                ),
            }
        }
        (None, Some((value, time, day))) => match variant % 2 {
            0 => format!("Your child's stress is forecast to peak around {value} of 100 at {time} {day}."),
            _ => format!(
                "The forecast shows your child's stress peaking around {value} of 100 at {time} {day}."
            ),
        },
        (None, None) => match variant % 2 {
            0 => "Your child's next day looks fairly calm.".into(),
            _ => "The forecast for your child's next day looks steady.".into(),
        },
    }
}

fn action(facts: &Facts, variant: usize) -> String {
    let lead = match facts.chronotype {
        Some(Chronotype::NightOwl) => "Since they're a night owl, ",
        Some(Chronotype::EarlyBird) => "Since they're an early bird, ",
        _ => "",
    };
    let what = activity(facts.action);
    let when = format!("{} {}", facts.slot_time, facts.slot.phrase());
    let verb = match variant % 3 {
        0 => "try",
        1 => "plan",
        _ => "make time for",
    };
    // Levels read as levels: the child's typical stress without it and with it.
    let evidence = match (facts.effect_levels, facts.effect_percent) {
        (Some((from, to)), _) => format!(
            " (it has typically brought their stress from about {from} to {to} of 100{})",
            crate::facts::effect_span(facts.action)
        ),
        (None, Some(p)) => format!(
            " (it has lowered their stress{} by about {p}% before)",
            crate::facts::effect_when(facts.action)
        ),
        (None, None) => {
            " — this one is an experiment: we are still learning how much it helps them, so tell us how it goes"
                .into()
        }
    };
    // A bedtime says how it compares with the child's own: a step, not a new regime.
    let step = facts.bedtime.as_ref().map_or(String::new(), |b| {
        format!(", {} minutes before their usual {}", b.minutes_earlier, b.usual)
    });
    let sentence = format!("{lead}{verb} {what} at {when}{step}{evidence}.");
    capitalise(&sentence)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
