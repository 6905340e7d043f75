//! Promotion and rollback decisions, and the per-arm report behind `GET /api/v1/experiments`.
//!
//! The rule combines both statistics on purpose. The always-valid mSPRT p-value ([`crate::sequential`])
//! controls the false-positive rate no matter how often results are looked at; the Beta-Binomial
//! probability ([`crate::bayes`]) states the direction and confidence in terms a reviewer reads directly.
//!
//! * **Promote** when the always-valid p-value is below α, P(candidate better) ≥ `promote_probability`,
//!   and both arms have at least `min_answers_per_arm` answers.
//! * **Roll back** when the always-valid p-value is below α with the candidate worse, i.e.
//!   P(candidate better) ≤ 1 − `promote_probability`, and both arms have at least
//!   `min_answers_for_rollback` answers. Rolling back needs less data than promoting: a worse model
//!   harms families while it keeps serving, and rolling back only returns to the status quo.
//! * Otherwise **continue**.
//!
//! `decide` needs no history: promotion and rollback end the experiment, so "act the first time this
//! look's p-value is below α" is the same rule as comparing the running-minimum always-valid p-value
//! with α.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bayes::prob_candidate_better;
use crate::error::LearnError;
use crate::sequential::{confidence_sequence, msprt, DEFAULT_MIXING_VARIANCE};
use crate::stats::ArmStats;

/// Default answers per arm before a promotion: enough for the normal approximation behind the sequential
/// test to be reasonable for 👍 rates between about 0.2 and 0.8, and so a handful of enthusiastic early
/// parents cannot decide a rollout.
const DEFAULT_MIN_ANSWERS_PER_ARM: u64 = 30;
/// Default answers per arm before a rollback: the variance estimate needs a few answers in each arm to
/// mean anything, but harm should be stopped early.
const DEFAULT_MIN_ANSWERS_FOR_ROLLBACK: u64 = 10;
/// Default false-positive rate of the always-valid test.
const DEFAULT_ALPHA: f64 = 0.05;
/// Default posterior probability required to promote.
const DEFAULT_PROMOTE_PROBABILITY: f64 = 0.95;

/// Thresholds of the decision rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Answers each arm needs before the candidate can be promoted.
    pub min_answers_per_arm: u64,
    /// Answers each arm needs before the candidate can be rolled back.
    pub min_answers_for_rollback: u64,
    /// Level of the always-valid test, in (0, 1).
    pub alpha: f64,
    /// Posterior probability of being better needed to promote, in (0.5, 1); its complement bounds a
    /// rollback.
    pub promote_probability: f64,
    /// Mixing variance τ² of the mSPRT.
    pub mixing_variance: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_answers_per_arm: DEFAULT_MIN_ANSWERS_PER_ARM,
            min_answers_for_rollback: DEFAULT_MIN_ANSWERS_FOR_ROLLBACK,
            alpha: DEFAULT_ALPHA,
            promote_probability: DEFAULT_PROMOTE_PROBABILITY,
            mixing_variance: DEFAULT_MIXING_VARIANCE,
        }
    }
}

impl Policy {
    /// Checks that the thresholds are usable.
    pub fn validate(&self) -> Result<(), LearnError> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(LearnError::InvalidPolicy("alpha must be in (0, 1)"));
        }
        if !(self.promote_probability > 0.5 && self.promote_probability < 1.0) {
            return Err(LearnError::InvalidPolicy(
                "promote_probability must be in (0.5, 1)",
            ));
        }
        if !(self.mixing_variance.is_finite() && self.mixing_variance > 0.0) {
            return Err(LearnError::InvalidPolicy(
                "mixing_variance must be positive and finite",
            ));
        }
        Ok(())
    }
}

/// The numbers a decision was based on, for logs and the experiment page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Answers in the control arm.
    pub control_answered: u64,
    /// Answers in the candidate arm.
    pub candidate_answered: u64,
    /// Candidate 👍 rate − control 👍 rate.
    pub difference: f64,
    /// Always-valid p-value of the mSPRT at this look.
    pub always_valid_p: f64,
    /// P(candidate better); only computed once the sequential test rejects, since it is needed only then.
    pub prob_candidate_better: Option<f64>,
}

/// Why an experiment keeps running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContinueReason {
    /// An arm has fewer answers than the rule that would otherwise apply requires.
    NotEnoughAnswers {
        /// Answers required per arm.
        required: u64,
    },
    /// The always-valid test has not rejected "no difference".
    NotSignificant,
    /// The test rejected but the posterior is not confident enough in either direction.
    PosteriorNotConfident,
}

/// What to do with an experiment now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Keep collecting answers.
    Continue {
        /// Why.
        reason: ContinueReason,
        /// The numbers behind it.
        evidence: Evidence,
    },
    /// The candidate is better with high confidence: make it the active version.
    Promote {
        /// The numbers behind it.
        evidence: Evidence,
    },
    /// The candidate is worse: stop serving it.
    RollBack {
        /// The numbers behind it.
        evidence: Evidence,
    },
}

impl Decision {
    /// The numbers the decision was based on.
    pub fn evidence(&self) -> &Evidence {
        match self {
            Decision::Continue { evidence, .. }
            | Decision::Promote { evidence }
            | Decision::RollBack { evidence } => evidence,
        }
    }

    /// Whether the decision ends the experiment.
    pub fn is_final(&self) -> bool {
        !matches!(self, Decision::Continue { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.evidence();
        let prob = e
            .prob_candidate_better
            .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.4}"));
        let verdict = match self {
            Decision::Promote { .. } => "promote: candidate better".to_owned(),
            Decision::RollBack { .. } => "roll back: candidate worse".to_owned(),
            Decision::Continue {
                reason: ContinueReason::NotEnoughAnswers { required },
                ..
            } => {
                format!("continue: fewer than {required} answers in an arm")
            }
            Decision::Continue {
                reason: ContinueReason::NotSignificant,
                ..
            } => "continue: no significant difference yet".to_owned(),
            Decision::Continue {
                reason: ContinueReason::PosteriorNotConfident,
                ..
            } => "continue: posterior not confident".to_owned(),
        };
        write!(
            f,
            "{verdict} (answers {}/{}, difference {:+.4}, always-valid p {:.4}, P(better) {prob})",
            e.control_answered, e.candidate_answered, e.difference, e.always_valid_p
        )
    }
}

/// Applies the decision rule (see the module docs) to the current counters.
pub fn decide(control: &ArmStats, candidate: &ArmStats, policy: &Policy) -> Result<Decision, LearnError> {
    policy.validate()?;
    control.validate()?;
    candidate.validate()?;
    let test = msprt(control, candidate, policy.mixing_variance);
    let mut evidence = Evidence {
        control_answered: control.answered,
        candidate_answered: candidate.answered,
        difference: test.difference,
        always_valid_p: test.p_value,
        prob_candidate_better: None,
    };
    let fewest = control.answered.min(candidate.answered);
    if fewest < policy.min_answers_for_rollback.min(policy.min_answers_per_arm) {
        let required = policy.min_answers_for_rollback.min(policy.min_answers_per_arm);
        return Ok(Decision::Continue {
            reason: ContinueReason::NotEnoughAnswers { required },
            evidence,
        });
    }
    if test.p_value >= policy.alpha {
        return Ok(Decision::Continue {
            reason: ContinueReason::NotSignificant,
            evidence,
        });
    }
    let prob = prob_candidate_better(control, candidate);
    evidence.prob_candidate_better = Some(prob);
    if test.difference < 0.0 && prob <= 1.0 - policy.promote_probability {
        if fewest >= policy.min_answers_for_rollback {
            return Ok(Decision::RollBack { evidence });
        }
        let required = policy.min_answers_for_rollback;
        return Ok(Decision::Continue {
            reason: ContinueReason::NotEnoughAnswers { required },
            evidence,
        });
    }
    if test.difference > 0.0 && prob >= policy.promote_probability {
        if fewest >= policy.min_answers_per_arm {
            return Ok(Decision::Promote { evidence });
        }
        let required = policy.min_answers_per_arm;
        return Ok(Decision::Continue {
            reason: ContinueReason::NotEnoughAnswers { required },
            evidence,
        });
    }
    Ok(Decision::Continue {
        reason: ContinueReason::PosteriorNotConfident,
        evidence,
    })
}

/// One arm's line on the experiment page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    /// Recommendations served.
    pub recommendations: u64,
    /// Answers received.
    pub answered: u64,
    /// 👍 rate, if any answers.
    pub helpful_rate: Option<f64>,
    /// Mean reward, if any rewards.
    pub mean_reward: Option<f64>,
}

impl From<&ArmStats> for ArmReport {
    fn from(s: &ArmStats) -> Self {
        Self {
            recommendations: s.recommendations,
            answered: s.answered,
            helpful_rate: s.helpful_rate(),
            mean_reward: s.mean_reward(),
        }
    }
}

/// Everything the experiment page shows: per-arm numbers, both decision statistics and the decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// The active version's arm.
    pub control: ArmReport,
    /// The candidate's arm.
    pub candidate: ArmReport,
    /// Posterior P(candidate 👍 rate > control 👍 rate).
    pub prob_candidate_better: f64,
    /// Always-valid p-value at this look; keep a running minimum across looks with
    /// [`crate::AlwaysValidP`] for a report that never goes back up.
    pub always_valid_p: f64,
    /// Confidence sequence for the difference in 👍 rates at level 1 − α, once both arms have answers.
    pub difference_interval: Option<(f64, f64)>,
    /// The decision rule's verdict.
    pub decision: Decision,
}

/// Builds the experiment page's numbers.
pub fn summarize(
    control: &ArmStats,
    candidate: &ArmStats,
    policy: &Policy,
) -> Result<ExperimentReport, LearnError> {
    let decision = decide(control, candidate, policy)?;
    Ok(ExperimentReport {
        control: control.into(),
        candidate: candidate.into(),
        prob_candidate_better: prob_candidate_better(control, candidate),
        always_valid_p: decision.evidence().always_valid_p,
        difference_interval: confidence_sequence(control, candidate, policy.alpha, policy.mixing_variance),
        decision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(answered: u64, helpful: u64) -> ArmStats {
        ArmStats {
            recommendations: answered,
            answered,
            helpful,
            ..Default::default()
        }
    }

    #[test]
    fn clear_winner_is_promoted() {
        let d = decide(&arm(300, 120), &arm(300, 200), &Policy::default()).unwrap();
        assert!(matches!(d, Decision::Promote { .. }), "{d}");
        assert!(d.evidence().prob_candidate_better.unwrap() > 0.99);
    }

    #[test]
    fn clear_loser_is_rolled_back() {
        let d = decide(&arm(300, 200), &arm(300, 120), &Policy::default()).unwrap();
        assert!(matches!(d, Decision::RollBack { .. }), "{d}");
    }

    #[test]
    fn minimum_sample_blocks_promotion_but_not_rollback() {
        let policy = Policy {
            min_answers_per_arm: 1_000,
            ..Policy::default()
        };
        let d = decide(&arm(300, 120), &arm(300, 200), &policy).unwrap();
        assert_eq!(
            d,
            Decision::Continue {
                reason: ContinueReason::NotEnoughAnswers { required: 1_000 },
                evidence: *d.evidence()
            }
        );
        let d = decide(&arm(300, 200), &arm(300, 120), &policy).unwrap();
        assert!(matches!(d, Decision::RollBack { .. }));
    }

    #[test]
    fn tiny_samples_continue() {
        let d = decide(&arm(3, 0), &arm(3, 3), &Policy::default()).unwrap();
        assert!(matches!(
            d,
            Decision::Continue {
                reason: ContinueReason::NotEnoughAnswers { .. },
                ..
            }
        ));
    }

    #[test]
    fn equal_arms_continue() {
        let d = decide(&arm(500, 250), &arm(500, 250), &Policy::default()).unwrap();
        assert!(matches!(
            d,
            Decision::Continue {
                reason: ContinueReason::NotSignificant,
                ..
            }
        ));
        assert!(!d.is_final());
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let bad = Policy {
            alpha: 0.0,
            ..Policy::default()
        };
        assert!(decide(&arm(10, 5), &arm(10, 5), &bad).is_err());
        let bad = Policy {
            promote_probability: 0.4,
            ..Policy::default()
        };
        assert!(decide(&arm(10, 5), &arm(10, 5), &bad).is_err());
        let broken = ArmStats {
            answered: 5,
            helpful: 6,
            recommendations: 5,
            ..Default::default()
        };
        assert!(decide(&broken, &arm(10, 5), &Policy::default()).is_err());
    }

    #[test]
    fn report_has_all_numbers() {
        let mut c = arm(200, 90);
        c.rewarded = 200;
        c.reward_sum = 100.0;
        let report = summarize(&c, &arm(200, 110), &Policy::default()).unwrap();
        assert_eq!(report.control.helpful_rate, Some(0.45));
        assert_eq!(report.control.mean_reward, Some(0.5));
        assert!(report.prob_candidate_better > 0.9);
        let (lo, hi) = report.difference_interval.unwrap();
        assert!(lo < 0.1 && 0.1 < hi);
        assert!(!report.decision.to_string().is_empty());
    }
}
