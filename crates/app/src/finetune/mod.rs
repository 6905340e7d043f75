//! Fine-tuning the local writer on parents' answers, in the background, never in a request.
//!
//! Every `every` answers (default 10), a job trains a LoRA adapter with KTO on the
//! answers of families who consented to training, against the frozen starting model as
//! reference, and registers it as a candidate version with its loss curve, held-out
//! metrics and the snapshot id of its data. The candidate then faces the active version
//! in an A/B experiment (when none is running), and is announced (`model.candidate`).
//!
//! - **Pooled or per child** ([`Scope`]). Pooled (the default) counts and trains on all
//!   families' answers: one family's ten answers teach a 270M model little. Per child,
//!   every `every` answers about one child train that child's own adapter on that child's
//!   answers only, continuing from the child's previous adapter or else from the version
//!   the child is served. A child's own version cannot be A/B-tested alone (one child is
//!   one arm), so the child versions are tested together: the first one registers the
//!   *personal* version `<stem>-personal-<id of the active version>`, which writes for
//!   each child with the child's newest own adapter and for a child without one with the
//!   version that was active when it was made, and which faces that version in an
//!   experiment like any candidate. Promoted, every child is written for by their own
//!   newest adapter from then on; rolled back, the child adapters are not served, and
//!   none are trained until another version is active (the personal version is not
//!   tried again against the same one).
//! - **Where it runs.** With PostgreSQL the job goes on the durable queue, so any worker
//!   runs it (and a worker that dies mid-training leaves it to another); with the embedded
//!   store it runs on the node. Training itself runs as a separate `sprout learn train`
//!   process at low priority when the binary is known ([`Trainer::Process`]): minutes of
//!   one core and 3–4 GB that are given back when it exits, and a crash there cannot take
//!   the API down. Tests run it in-process ([`Trainer::InProcess`]).
//! - **Exactly once in effect.** A version is named after its data snapshot (the sha256
//!   of the training set), so a job that runs twice, or two nodes that both saw the tenth
//!   answer, register one version; a job that finds the answers already covered does nothing.
//! - **Where it starts.** From the active version's adapter when that is a fine-tuned
//!   version of this base, else from the newest supervised first adapter ([`train_initial`],
//!   `sprout learn sft`), else from zero.
//!
//! Here: the configuration; `schedule` says when a run is due and what follows it,
//! `dataset` gathers the consented answers, `runner` trains (in this process or as a
//! child process). Which version writes for a child, where a run starts and what has
//! been trained on are the registry's rules (`sprout_learn::registry`).

mod dataset;
mod runner;
mod schedule;

use std::path::PathBuf;
use std::sync::Arc;

pub use dataset::{dataset, Dataset};
pub use runner::{train, train_initial};
pub use schedule::{after_feedback, run_job};
/// The name of the base in the registry: the version its `gguf:` writer reports.
pub use sprout_writers::base_version;

/// Answers between two training runs unless configured.
pub const DEFAULT_EVERY: u64 = 10;
/// Share of children a new candidate writes for in its experiment.
pub const DEFAULT_CANDIDATE_SHARE: f64 = 0.5;

/// Whose answers count towards a training run and are trained on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every family's: one shared adapter.
    #[default]
    Pooled,
    /// One child's: an adapter per child.
    Child,
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pooled" => Ok(Self::Pooled),
            "child" => Ok(Self::Child),
            _ => Err(format!("'{text}' is not a fine-tuning scope (pooled, child)")),
        }
    }
}

/// How the adapter is trained (the trainer's defaults otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub epochs: usize,
    /// Stop after this many optimiser steps (a bound on the time one run takes).
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub max_seq_len: usize,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 2,
            max_steps: None,
            batch_size: 4,
            max_seq_len: 256,
            seed: 0,
        }
    }
}

/// Who runs the training.
#[derive(Debug, Clone, PartialEq)]
pub enum Trainer {
    /// On a blocking thread of this process.
    InProcess,
    /// `EXE learn train` as a child process at low priority, given the database URL in its
    /// environment (not on its command line, where other users could read it).
    Process { exe: PathBuf, database: crate::Secret },
}

/// Fine-tuning of the local GGUF writer.
#[derive(Debug, Clone)]
pub struct FineTuneConfig {
    /// The GGUF file adapters are trained for (the `gguf:` writer's).
    pub base: PathBuf,
    /// Where adapters are written, one directory per version. Nodes that serve them must
    /// see the same directory (a shared volume).
    pub adapters: PathBuf,
    /// Answers between training runs (0: never).
    pub every: u64,
    /// Whose answers count and train.
    pub scope: Scope,
    pub settings: TrainSettings,
    pub trainer: Trainer,
    /// Share of children the candidate writes for in its experiment.
    pub candidate_share: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FineTuneError {
    #[error("the store failed: {0}")]
    Store(#[from] sprout_store::StoreError),
    #[error("training failed: {0}")]
    Train(#[from] sprout_tune::TuneError),
    #[error("{0}")]
    Other(String),
}

/// Shared so the job and the feedback route agree on one training per process.
pub type TrainingLock = Arc<tokio::sync::Mutex<()>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        assert_eq!("pooled".parse(), Ok(Scope::Pooled));
        assert_eq!("child".parse(), Ok(Scope::Child));
        assert!("family".parse::<Scope>().is_err());
    }
}
