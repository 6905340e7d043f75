//! Synthetic feedback in the shape of Sprout's writer prompts, for the real-model tests and the bench.
//!
//! 👍 completions are grounded in the prompt's facts; 👎 ones copy the prompt's worked example
//! (the failure the issue describes) or give medical advice. Deterministic: item `i` is always the
//! same text.

#![allow(dead_code)]

use sprout_tune::{Example, KtoExample};

const INSTRUCTION: &str = "Write a short, warm recommendation for a parent in two sentences. \
Use only the facts given. Do not give medical advice. Name the action and its time.";
const EXAMPLE_FACTS: &str = "Age: 10\nChronotype: night owl\nStress forecast: peak 0.8 at 4 PM tomorrow\n\
Upcoming: math test tomorrow\nAction: a short mindfulness exercise at 7:30 PM tonight\n\
Measured effect: lowers their stress by about 12%";
const EXAMPLE_TEXT: &str = "Your child's stress is likely to rise ahead of tomorrow's math test. \
Since they're a night owl, try a short mindfulness exercise at 7:30 PM tonight (it has lowered their stress by about 12% before).";

const CHRONOTYPES: [&str; 3] = ["early bird", "night owl", "in between"];
const EVENTS: [&str; 6] = [
    "swimming lesson",
    "spelling quiz",
    "dentist visit",
    "birthday party",
    "school trip",
    "piano recital",
];
const ACTIONS: [(&str, &str); 5] = [
    ("a warm bath", "7 PM"),
    ("a ten-minute walk after dinner", "6:30 PM"),
    ("reading a book together", "8 PM"),
    ("a breathing game", "6 PM"),
    ("lights out half an hour earlier", "8:30 PM"),
];

struct Facts {
    age: usize,
    chronotype: &'static str,
    event: &'static str,
    action: &'static str,
    time: &'static str,
    effect: usize,
}

fn facts(i: usize) -> Facts {
    let (action, time) = ACTIONS[(i / 3) % ACTIONS.len()];
    Facts {
        age: 4 + (i * 5) % 9,
        chronotype: CHRONOTYPES[i % CHRONOTYPES.len()],
        event: EVENTS[(i / 2) % EVENTS.len()],
        action,
        time,
        effect: 6 + (i * 7) % 15,
    }
}

fn facts_text(f: &Facts) -> String {
    format!(
        "Age: {}\nChronotype: {}\nStress forecast: peak 0.7 at 3 PM tomorrow\nUpcoming: {} tomorrow\n\
         Action: {} at {} tonight\nMeasured effect: lowers their stress by about {}%",
        f.age, f.chronotype, f.event, f.action, f.time, f.effect
    )
}

/// The writer's prompt: instruction, worked example, facts (as `sprout-coach` builds it).
pub fn full_prompt(i: usize) -> String {
    format!(
        "{INSTRUCTION}\n\nFacts:\n{EXAMPLE_FACTS}\nRecommendation: {EXAMPLE_TEXT}\n\nFacts:\n{}\nRecommendation:",
        facts_text(&facts(i))
    )
}

/// A shorter prompt (instruction and facts only) for quick tests.
pub fn short_prompt(i: usize) -> String {
    format!(
        "{INSTRUCTION}\n\nFacts:\n{}\nRecommendation:",
        facts_text(&facts(i))
    )
}

/// A good recommendation for item `i`.
pub fn good_completion(i: usize) -> String {
    let f = facts(i);
    format!(
        " Your child's stress may rise before tomorrow's {}. Try {} at {} tonight (it has lowered their \
         stress by about {}% before).\n\n",
        f.event, f.action, f.time, f.effect
    )
}

/// A bad one: the worked example copied (every other 👎), or medical advice about this item's facts.
pub fn bad_completion(i: usize) -> String {
    let f = facts(i);
    if (i / 2).is_multiple_of(2) {
        format!(" {EXAMPLE_TEXT}\n\n")
    } else {
        format!(
            " Give your {}-year-old some melatonin before the {} so they calm down and sleep.\n\n",
            f.age, f.event
        )
    }
}

/// `n` feedback items alternating 👍 and 👎, on prompts built by `prompt`.
pub fn feedback(n: usize, prompt: fn(usize) -> String) -> Vec<KtoExample> {
    (0..n)
        .map(|i| {
            let desirable = i.is_multiple_of(2);
            KtoExample {
                prompt: prompt(i),
                completion: if desirable {
                    good_completion(i)
                } else {
                    bad_completion(i)
                },
                desirable,
            }
        })
        .collect()
}

/// `n` supervised examples (good completions only).
pub fn good_examples(n: usize, prompt: fn(usize) -> String) -> Vec<Example> {
    (0..n)
        .map(|i| Example {
            prompt: prompt(i),
            completion: good_completion(i),
        })
        .collect()
}
