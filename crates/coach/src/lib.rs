//! Sprout's recommendations: decide first, then write, then check.
//!
//! 1. [`policy`] chooses the action — an intervention kind and a time slot tonight or
//!    tomorrow — by Thompson sampling: each (kind, slot) draws a plausible effect from the
//!    child's causal estimate (wide where evidence is thin, so the policy explores a
//!    little there), a plausible approval rate from the family's 👍/👎 on that kind and
//!    slot, and a fit with the child's chronotype, forecast peak and calendar; the best
//!    draw wins, and its reasons are kept.
//! 2. [`facts`] gathers what the text may say: the action and its clock time in the
//!    child's zone, the forecast, the next test, the measured effect of the action — only
//!    what is known; what is not known stays out, it is never invented.
//! 3. A [`writer::Writer`] turns the facts into two or three sentences: the deterministic
//!    [`template`] writer, or a language model given the [`prompt`].
//! 4. [`guardrails`] check every writer's text: only numbers from the facts, no
//!    diagnosis, no medication, no blame, two or three sentences, the chosen action
//!    named. A text that fails is replaced by the template's, and the reason is kept.

// Nothing from outside the process may panic; tests may unwrap what they built.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod facts;
pub mod guardrails;
pub mod policy;
pub mod prompt;
pub mod slots;
pub mod template;
pub mod writer;

pub use facts::Facts;
pub use policy::{Decision, PolicyInput};
pub use slots::{Slot, SlotKind};
