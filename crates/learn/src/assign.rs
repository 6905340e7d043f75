//! Stable experiment assignment: a hash of (child id, experiment id) decides the arm.
//!
//! Hashing instead of a per-request coin flip keeps each child in one arm for the whole experiment, so a
//! family never sees recommendations flip between model versions and the arms stay comparable
//! populations. Including the experiment id makes assignments of different experiments independent, so
//! the same children are not always the guinea pigs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Domain-separation prefix: the hash is used for nothing else, and bumping the version would reshuffle
/// every assignment on purpose rather than by accident.
const ASSIGN_DOMAIN: &[u8] = b"sprout-learn/assign/v1";

/// Number of hash bits turned into the uniform number: an `f64` mantissa holds exactly 53 bits, so every
/// value `k / 2^53` is represented exactly and the result is uniform on that grid in `[0, 1)`.
const UNIFORM_BITS: u32 = 53;

/// Which model version serves a child during an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    /// The active version.
    Control,
    /// The candidate version under test.
    Candidate,
}

impl Arm {
    /// The arm's name as stored with each recommendation and shown in results.
    pub const fn as_str(self) -> &'static str {
        match self {
            Arm::Control => "control",
            Arm::Candidate => "candidate",
        }
    }
}

/// Deterministic uniform number in `[0, 1)` for a (child, experiment) pair: the first 53 bits of
/// SHA-256(domain ‖ child id ‖ experiment id).
pub fn assignment_unit(child_id: &Uuid, experiment_id: &Uuid) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(ASSIGN_DOMAIN);
    hasher.update(child_id.as_bytes());
    hasher.update(experiment_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let bits = u64::from_be_bytes(first) >> (64 - UNIFORM_BITS);
    // 2^53 as f64 is exact; `bits < 2^53` so the quotient is < 1.
    bits as f64 / (1u64 << UNIFORM_BITS) as f64
}

/// Arm of `child_id` in experiment `experiment_id` when a share `candidate_share` of children should get
/// the candidate.
///
/// The share is clamped to `[0, 1]` and a NaN share sends everyone to control, the safe default; use
/// [`crate::Experiment::new`] to reject bad shares up front.
pub fn assign(child_id: &Uuid, experiment_id: &Uuid, candidate_share: f64) -> Arm {
    let share = if candidate_share.is_nan() {
        0.0
    } else {
        candidate_share.clamp(0.0, 1.0)
    };
    if assignment_unit(child_id, experiment_id) < share {
        Arm::Candidate
    } else {
        Arm::Control
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_shares() {
        let child = Uuid::from_u128(7);
        let exp = Uuid::from_u128(11);
        assert_eq!(assign(&child, &exp, 0.0), Arm::Control);
        assert_eq!(assign(&child, &exp, 1.0), Arm::Candidate);
        assert_eq!(assign(&child, &exp, f64::NAN), Arm::Control);
        assert_eq!(assign(&child, &exp, 7.0), Arm::Candidate);
        assert_eq!(assign(&child, &exp, -1.0), Arm::Control);
    }

    #[test]
    fn unit_is_in_range_and_order_sensitive() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let u = assignment_unit(&a, &b);
        assert!((0.0..1.0).contains(&u));
        assert_ne!(u, assignment_unit(&b, &a));
    }
}
