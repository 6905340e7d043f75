//! Validation errors: what was wrong with an input, in words a client can act on.

use serde::Serialize;

/// One rejected field of one input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The field that failed, as the client named it (`stress_level`, `time`, ...).
    pub field: &'static str,
    /// Why, in one short phrase.
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A rejected row of a batch: its index in the batch and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    pub index: usize,
    pub reason: String,
}
