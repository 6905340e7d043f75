//! The prompt for a language-model writer: the original design's fields (age,
//! chronotype, forecast, causal insight, upcoming events) plus the decided action, as a
//! plain instruction with one worked example. Base models continue text, so the prompt
//! is a completion: the example shows the shape, the model writes the next one.

use crate::Facts;

const INSTRUCTION: &str = "Write a short, warm recommendation for a parent in two sentences. \
Use only the facts given. Do not give medical advice. Name the action and its time.";

const EXAMPLE_FACTS: &str =
    "Age: 10\nChronotype: night owl\nStress forecast: peak 80 of 100 at 4 PM tomorrow\n\
Upcoming: math test tomorrow\nAction: a short mindfulness exercise at 7:30 PM tonight\n\
Measured effect: lowers their stress by about 12%";

const EXAMPLE_TEXT: &str = "Your child's stress is likely to rise ahead of tomorrow's math test. \
Since they're a night owl, try a short mindfulness exercise at 7:30 PM tonight (it has lowered their stress by about 12% before).";

/// Marks the end of a recommendation in the completion.
pub const STOP: &str = "\n\n";

pub fn build(facts: &Facts) -> String {
    format!(
        "{INSTRUCTION}\n\nFacts:\n{EXAMPLE_FACTS}\nRecommendation: {EXAMPLE_TEXT}\n\nFacts:\n{}\nRecommendation:",
        facts.lines().join("\n")
    )
}
