//! Statistics core for learning from parents' feedback on recommendations.
//!
//! Parents answer 👍/👎 to recommendations written by a model. Every new model version must win a fair
//! A/B test against the active version before it serves everyone. This crate holds the pure statistics
//! behind that loop; storage, events and HTTP live elsewhere.
//!
//! # Methods
//!
//! * **Reward** ([`mod@reward`]): a weighted blend of the parent's answer (👍 = 1, 👎 = 0) and a measured
//!   outcome score (the child's stress after the recommended time against its forecast, scaled by the
//!   forecast interval width), falling back to whichever part is known.
//! * **Assignment** ([`mod@assign`]): SHA-256 of (child id, experiment id) mapped to a uniform number in
//!   `[0, 1)`, compared with the candidate share. Deterministic, so a child sees the same arm for the
//!   whole experiment, and independent across experiments.
//! * **Beta-Binomial posterior** ([`bayes`]): each arm's 👍 rate gets a uniform Beta(1, 1) prior and the
//!   conjugate posterior Beta(1 + 👍, 1 + 👎). The probability that the candidate is better,
//!   P(p_candidate > p_control), is computed exactly with the closed-form finite sum for two Beta
//!   distributions with integer parameters (see e.g. Cook, "Exact calculation of beta inequalities",
//!   2005; Miller, "Formulas for Bayesian A/B testing", 2015).
//! * **Always-valid test** ([`sequential`]): a mixture sequential probability ratio test (mSPRT) on the
//!   difference of 👍 rates with a normal mixing distribution N(0, τ²), following Johari, Koomen,
//!   Pekelis & Walsh (2017), "Peeking at A/B tests: why it matters, and what to do about it" (KDD '17).
//!   The mixture likelihood ratio is a nonnegative martingale under the null, so by Ville's inequality
//!   (Robbins 1970, "Statistical methods related to the law of the iterated logarithm") it exceeds 1/α
//!   with probability at most α *ever*: checking after every answer does not inflate false positives.
//!   The dual confidence sequence for the difference is provided too.
//! * **Decision** ([`mod@decide`]): promote when the always-valid p-value is below α, the posterior
//!   probability of being better is high and both arms have a minimum number of answers; roll back when
//!   the always-valid test rejects with the candidate worse; otherwise continue.
//! * **Registry** ([`registry`]): model versions and experiments as plain serde data, and the rules that
//!   read them: which version writes for a child, where a training run starts, whether one is due.
//! * **Population prior** ([`prior`]): a Beta prior for per-child Thompson sampling, fitted to all
//!   children by the method of moments for the Beta-Binomial model and shrunk toward Beta(1, 1) when
//!   only a few children are known.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assign;
pub mod bayes;
pub mod decide;
pub mod error;
pub mod prior;
pub mod registry;
pub mod reward;
pub mod sequential;
pub mod stats;

pub use assign::{assign, assignment_unit, Arm};
pub use bayes::prob_candidate_better;
pub use decide::{
    decide, summarize, ArmReport, ContinueReason, Decision, Evidence, ExperimentReport, Policy,
};
pub use error::LearnError;
pub use prior::{population_prior, BetaPrior};
pub use registry::{
    Experiment, ExperimentStatus, ModelEvent, ModelMetrics, ModelStatus, ModelVersion, Objective,
    EVENT_MODEL_PROMOTED, EVENT_MODEL_ROLLED_BACK,
};
pub use reward::{outcome_score, reward, ANSWER_WEIGHT, OUTCOME_WEIGHT};
pub use sequential::{confidence_sequence, msprt, AlwaysValidP, SequentialTest, DEFAULT_MIXING_VARIANCE};
pub use stats::{ArmStats, ChildSums};
