//! Model registry: model versions, the experiments that decide between them, and the rules that read
//! them ([`policy`]: which version writes for a child, what fine-tuning trains next).
//!
//! Plain serde data; the store keeps it. Times are supplied by the caller (an experiment's as RFC 3339
//! strings), so this crate never reads a clock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::assign::{assign, Arm};
use crate::decide::{Decision, Evidence};
use crate::error::LearnError;

pub mod metrics;
pub mod policy;

pub use metrics::{ClassFigures, HeldOutFigures, LeftOut, ModelMetrics, Objective, TrainingFigures};
pub use policy::{
    active, personal_for, personal_lost, personal_version, resolve, starting_point, trained_through,
    writing_version, Personal,
};

/// Event topic published when a candidate wins its experiment.
pub const EVENT_MODEL_PROMOTED: &str = "model.promoted";
/// Event topic published when a candidate loses its experiment.
pub const EVENT_MODEL_ROLLED_BACK: &str = "model.rolled_back";

/// Lifecycle of a model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// Trained, waiting for or running in an experiment.
    Candidate,
    /// Serving everyone outside experiments.
    Active,
    /// No longer served.
    Retired,
}

/// A registered model version: the record the store keeps and the API shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// Unique version label, e.g. `"gemma3-270m-kto-0123456789ab"`.
    pub version: String,
    /// Base model it was trained from (`template` for the template writers).
    pub base: String,
    /// Path of the fine-tuned adapter, if any.
    pub adapter_path: Option<String>,
    /// Identifier of the training-data snapshot, if any.
    pub data_snapshot: Option<String>,
    /// How it was trained and what the training measured.
    pub metrics: ModelMetrics,
    /// Lifecycle status.
    pub status: ModelStatus,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

/// Lifecycle of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Collecting answers.
    Running,
    /// The candidate won and became active.
    Promoted,
    /// The candidate lost and was withdrawn.
    RolledBack,
}

/// Statuses as stored and shown: `candidate`, `active`, `retired`; `running`,
/// `promoted`, `rolled_back` (the serde names).
macro_rules! status_names {
    ($status:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $status {
            /// The name stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),*
                }
            }
        }

        impl std::str::FromStr for $status {
            type Err = LearnError;

            fn from_str(name: &str) -> Result<Self, LearnError> {
                match name {
                    $($name => Ok(Self::$variant),)*
                    other => Err(LearnError::UnknownStatus(other.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $status {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_names!(ModelStatus {
    Candidate => "candidate",
    Active => "active",
    Retired => "retired",
});

status_names!(ExperimentStatus {
    Running => "running",
    Promoted => "promoted",
    RolledBack => "rolled_back",
});

/// An A/B test of a candidate version against the active one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Experiment id; also an input of the assignment hash.
    pub id: Uuid,
    /// The active version (control arm).
    pub control_version: String,
    /// The version under test (candidate arm).
    pub candidate_version: String,
    /// Share of children assigned to the candidate, in (0, 1).
    pub candidate_share: f64,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// End time, RFC 3339, once concluded.
    pub ended_at: Option<String>,
    /// Lifecycle status.
    pub status: ExperimentStatus,
}

/// Payload of a `model.promoted` / `model.rolled_back` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEvent {
    /// [`EVENT_MODEL_PROMOTED`] or [`EVENT_MODEL_ROLLED_BACK`].
    pub topic: String,
    /// The concluded experiment.
    pub experiment_id: Uuid,
    /// The version that was active during the experiment.
    pub control_version: String,
    /// The version that was tested.
    pub candidate_version: String,
    /// When the experiment concluded, RFC 3339.
    pub at: String,
    /// The numbers the decision was based on, for the log.
    pub evidence: Evidence,
}

impl Experiment {
    /// A running experiment with the given id. The share must lie strictly inside (0, 1): an experiment
    /// where one arm gets nobody cannot compare anything.
    pub fn new(
        id: Uuid,
        control_version: impl Into<String>,
        candidate_version: impl Into<String>,
        candidate_share: f64,
        started_at: impl Into<String>,
    ) -> Result<Self, LearnError> {
        let (control_version, candidate_version) = (control_version.into(), candidate_version.into());
        if !(candidate_share > 0.0 && candidate_share < 1.0) {
            return Err(LearnError::InvalidShare(candidate_share));
        }
        if control_version == candidate_version {
            return Err(LearnError::SameVersion(control_version));
        }
        Ok(Self {
            id,
            control_version,
            candidate_version,
            candidate_share,
            started_at: started_at.into(),
            ended_at: None,
            status: ExperimentStatus::Running,
        })
    }

    /// Like [`Experiment::new`] with a fresh random (v4) id.
    pub fn start(
        control_version: impl Into<String>,
        candidate_version: impl Into<String>,
        candidate_share: f64,
        started_at: impl Into<String>,
    ) -> Result<Self, LearnError> {
        Self::new(
            Uuid::new_v4(),
            control_version,
            candidate_version,
            candidate_share,
            started_at,
        )
    }

    /// The arm of a child in this experiment (see [`crate::assign()`]).
    pub fn arm_of(&self, child_id: &Uuid) -> Arm {
        assign(child_id, &self.id, self.candidate_share)
    }

    /// The version serving a child in this experiment.
    pub fn version_for(&self, child_id: &Uuid) -> &str {
        match self.arm_of(child_id) {
            Arm::Control => &self.control_version,
            Arm::Candidate => &self.candidate_version,
        }
    }

    /// Applies a decision: a promotion or rollback ends the experiment and returns the event to publish;
    /// `Continue` changes nothing. Concluding twice is an error so an event is never published twice.
    pub fn conclude(
        &mut self,
        decision: &Decision,
        at: impl Into<String>,
    ) -> Result<Option<ModelEvent>, LearnError> {
        if self.status != ExperimentStatus::Running {
            return Err(LearnError::NotRunning);
        }
        let (status, topic) = match decision {
            Decision::Continue { .. } => return Ok(None),
            Decision::Promote { .. } => (ExperimentStatus::Promoted, EVENT_MODEL_PROMOTED),
            Decision::RollBack { .. } => (ExperimentStatus::RolledBack, EVENT_MODEL_ROLLED_BACK),
        };
        let at = at.into();
        self.status = status;
        self.ended_at = Some(at.clone());
        Ok(Some(ModelEvent {
            topic: topic.to_owned(),
            experiment_id: self.id,
            control_version: self.control_version.clone(),
            candidate_version: self.candidate_version.clone(),
            at,
            evidence: *decision.evidence(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{ContinueReason, Evidence};

    fn evidence() -> Evidence {
        Evidence {
            control_answered: 100,
            candidate_answered: 100,
            difference: 0.2,
            always_valid_p: 0.001,
            prob_candidate_better: Some(0.999),
        }
    }

    #[test]
    fn new_validates() {
        assert!(Experiment::new(Uuid::nil(), "a", "b", 0.0, "t").is_err());
        assert!(Experiment::new(Uuid::nil(), "a", "b", f64::NAN, "t").is_err());
        assert!(Experiment::new(Uuid::nil(), "a", "a", 0.5, "t").is_err());
        let e = Experiment::start("a", "b", 0.2, "2026-11-27T00:00:00Z").unwrap();
        assert_eq!(e.status, ExperimentStatus::Running);
        assert_ne!(e.id, Uuid::nil());
    }

    #[test]
    fn conclude_publishes_once() {
        let mut e = Experiment::new(Uuid::from_u128(5), "v1", "v2", 0.5, "2026-11-27T00:00:00Z").unwrap();
        let cont = Decision::Continue {
            reason: ContinueReason::NotSignificant,
            evidence: evidence(),
        };
        assert_eq!(e.conclude(&cont, "t1").unwrap(), None);
        assert_eq!(e.status, ExperimentStatus::Running);
        let event = e
            .conclude(&Decision::Promote { evidence: evidence() }, "t2")
            .unwrap()
            .unwrap();
        assert_eq!(event.topic, EVENT_MODEL_PROMOTED);
        assert_eq!(event.candidate_version, "v2");
        assert_eq!(e.status, ExperimentStatus::Promoted);
        assert_eq!(e.ended_at.as_deref(), Some("t2"));
        assert_eq!(
            e.conclude(&Decision::RollBack { evidence: evidence() }, "t3"),
            Err(LearnError::NotRunning)
        );

        let mut e = Experiment::new(Uuid::from_u128(6), "v1", "v3", 0.5, "t").unwrap();
        let event = e
            .conclude(&Decision::RollBack { evidence: evidence() }, "t4")
            .unwrap()
            .unwrap();
        assert_eq!(event.topic, EVENT_MODEL_ROLLED_BACK);
        assert_eq!(e.status, ExperimentStatus::RolledBack);
    }

    #[test]
    fn version_follows_assignment() {
        let e = Experiment::new(Uuid::from_u128(9), "v1", "v2", 0.5, "t").unwrap();
        for k in 0..50u128 {
            let child = Uuid::from_u128(k);
            let expected = match e.arm_of(&child) {
                Arm::Control => "v1",
                Arm::Candidate => "v2",
            };
            assert_eq!(e.version_for(&child), expected);
        }
    }
}
