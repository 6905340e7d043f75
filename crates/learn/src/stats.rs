//! Per-arm counters of an experiment and the rates derived from them.

use serde::{Deserialize, Serialize};

use crate::error::LearnError;

/// What one arm of an experiment has collected so far.
///
/// `rewarded` counts recommendations that have a reward at all (answered, or with a measured outcome),
/// so `mean_reward` divides by the right number even when some rewards come from the outcome alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// Recommendations served by this arm.
    pub recommendations: u64,
    /// Recommendations the parent answered with 👍 or 👎.
    pub answered: u64,
    /// Answers that were 👍.
    pub helpful: u64,
    /// Recommendations that have a reward (see [`crate::reward()`]).
    pub rewarded: u64,
    /// Sum of those rewards, each in `[0, 1]`.
    pub reward_sum: f64,
    /// What a variance needs that takes the child — what is randomised — as the unit, not the
    /// answer (one child's answers are alike): see [`ChildSums`]. Empty when the counts carry no
    /// per-child detail, and the answers are then taken as independent.
    #[serde(default)]
    pub by_child: ChildSums,
}

/// Sums over the children of one arm, each child counted by its answers `n` and 👍 `h`: how many
/// children, Σn², Σnh and Σh². With them the variance of the arm's 👍 rate `p = Σh / Σn` is the
/// cluster-robust one, `G/(G−1) · Σ(h − p·n)² / (Σn)²` (Liang & Zeger 1986; the ratio estimator's
/// linearisation), which grows with how alike a child's answers are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildSums {
    /// Children with at least one answer.
    pub children: u64,
    /// Σ n² over those children.
    pub answered_sq: f64,
    /// Σ n·h.
    pub answered_helpful: f64,
    /// Σ h².
    pub helpful_sq: f64,
}

impl ChildSums {
    /// Adds one child's answers `answered`, of which `helpful` were 👍 (children without answers
    /// add nothing).
    pub fn add_child(&mut self, answered: u64, helpful: u64) {
        if answered == 0 {
            return;
        }
        let (n, h) = (answered as f64, helpful.min(answered) as f64);
        self.children = self.children.saturating_add(1);
        self.answered_sq += n * n;
        self.answered_helpful += n * h;
        self.helpful_sq += h * h;
    }

    /// The cluster-robust variance of the rate `rate` over `answered` answers; `None` with fewer than
    /// two children (nothing to estimate the spread between children from).
    pub fn rate_variance(&self, rate: f64, answered: u64) -> Option<f64> {
        if self.children < 2 || answered == 0 {
            return None;
        }
        let g = self.children as f64;
        let spread = self.helpful_sq - 2.0 * rate * self.answered_helpful + rate * rate * self.answered_sq;
        Some(g / (g - 1.0) * spread.max(0.0) / (answered as f64).powi(2))
    }
}

impl ArmStats {
    /// Counts one served recommendation.
    pub fn record_recommendation(&mut self) {
        self.recommendations = self.recommendations.saturating_add(1);
    }

    /// Counts the feedback on one recommendation: the answer if any, and its reward if any. A reward
    /// outside `[0, 1]` is clamped and a non-finite one is ignored, so one bad value cannot poison the
    /// running mean.
    pub fn record_feedback(&mut self, answer: Option<bool>, reward: Option<f64>) {
        if let Some(helpful) = answer {
            self.answered = self.answered.saturating_add(1);
            if helpful {
                self.helpful = self.helpful.saturating_add(1);
            }
        }
        if let Some(r) = reward.filter(|r| r.is_finite()) {
            self.rewarded = self.rewarded.saturating_add(1);
            self.reward_sum += r.clamp(0.0, 1.0);
        }
    }

    /// Answers that were 👎. Saturates at zero for inconsistent counters (see [`ArmStats::validate`]).
    pub fn unhelpful(&self) -> u64 {
        self.answered.saturating_sub(self.helpful)
    }

    /// The counts of an arm from its children's: each child's recommendations, answers and 👍
    /// (rewards are left at zero), with the per-child sums.
    pub fn from_children(children: impl IntoIterator<Item = (u64, u64, u64)>) -> Self {
        let mut arm = Self::default();
        for (recommendations, answered, helpful) in children {
            arm.recommendations = arm.recommendations.saturating_add(recommendations);
            arm.answered = arm.answered.saturating_add(answered);
            arm.helpful = arm.helpful.saturating_add(helpful.min(answered));
            arm.by_child.add_child(answered, helpful);
        }
        arm
    }

    /// Share of answers that were 👍, or `None` before the first answer.
    pub fn helpful_rate(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.helpful.min(self.answered) as f64 / self.answered as f64)
    }

    /// Mean reward, or `None` before the first reward.
    pub fn mean_reward(&self) -> Option<f64> {
        (self.rewarded > 0).then(|| self.reward_sum / self.rewarded as f64)
    }

    /// Checks that the counters are consistent with each other.
    pub fn validate(&self) -> Result<(), LearnError> {
        if self.helpful > self.answered {
            return Err(LearnError::InconsistentStats("more helpful answers than answers"));
        }
        if self.answered > self.recommendations {
            return Err(LearnError::InconsistentStats("more answers than recommendations"));
        }
        if self.rewarded > self.recommendations {
            return Err(LearnError::InconsistentStats("more rewards than recommendations"));
        }
        if !self.reward_sum.is_finite() || self.reward_sum < 0.0 || self.reward_sum > self.rewarded as f64 {
            return Err(LearnError::InconsistentStats("reward sum outside [0, rewarded]"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_updates_rates() {
        let mut s = ArmStats::default();
        assert_eq!(s.helpful_rate(), None);
        assert_eq!(s.mean_reward(), None);
        for (answer, reward) in [
            (Some(true), Some(0.9)),
            (Some(false), Some(0.1)),
            (None, Some(0.5)),
        ] {
            s.record_recommendation();
            s.record_feedback(answer, reward);
        }
        s.record_recommendation();
        s.record_feedback(None, Some(f64::NAN));
        assert_eq!(s.recommendations, 4);
        assert_eq!(s.answered, 2);
        assert_eq!(s.helpful, 1);
        assert_eq!(s.unhelpful(), 1);
        assert_eq!(s.helpful_rate(), Some(0.5));
        assert!((s.mean_reward().unwrap() - 0.5).abs() < 1e-12);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn validate_rejects_inconsistent_counters() {
        let s = ArmStats {
            recommendations: 5,
            answered: 3,
            helpful: 4,
            ..Default::default()
        };
        assert!(s.validate().is_err());
        let s = ArmStats {
            recommendations: 2,
            answered: 3,
            helpful: 1,
            ..Default::default()
        };
        assert!(s.validate().is_err());
        let s = ArmStats {
            recommendations: 2,
            rewarded: 1,
            reward_sum: 1.5,
            ..Default::default()
        };
        assert!(s.validate().is_err());
    }
}
