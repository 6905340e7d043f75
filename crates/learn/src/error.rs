//! Errors for inputs that cannot be turned into a sound statistical answer.

use thiserror::Error;

/// Why a request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LearnError {
    /// A candidate share outside `[0, 1]` (or not a number).
    #[error("candidate share must be within [0, 1], got {0}")]
    InvalidShare(f64),
    /// A decision policy whose parameters make no sense.
    #[error("invalid policy: {0}")]
    InvalidPolicy(&'static str),
    /// Counters that contradict each other (e.g. more 👍 than answers).
    #[error("inconsistent arm counters: {0}")]
    InconsistentStats(&'static str),
    /// An experiment must compare two different versions.
    #[error("control and candidate are the same version `{0}`")]
    SameVersion(String),
    /// A finished experiment cannot change status again.
    #[error("experiment is no longer running")]
    NotRunning,
    /// A status name that is not one of the lifecycle's.
    #[error("unknown status `{0}`")]
    UnknownStatus(String),
}
