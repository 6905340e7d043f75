//! What can go wrong in a use case, typed: the HTTP edge maps each variant to its row of
//! the error table; a background job logs it as its own failure.

use sprout_store::StoreError;

/// A use case's failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store refused or failed (not found, conflict, unavailable, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing can be produced now, and retrying soon will not change that by itself
    /// (e.g. no time slot is left for a suggestion).
    #[error("{0}")]
    Unavailable(String),
    /// A shared resource (the local model) is busy: try again shortly.
    #[error("{0}")]
    Busy(String),
    /// Something failed on our side: `what` was being done; `cause` is the error chain,
    /// for the log only.
    #[error("{what}: {cause}")]
    Internal { what: &'static str, cause: String },
}

impl AppError {
    /// An unexpected failure while doing `what`, with `err`'s whole cause chain.
    pub fn internal(what: &'static str, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut cause = err.to_string();
        let mut source = err.source();
        while let Some(next) = source {
            cause.push_str(": ");
            cause.push_str(&next.to_string());
            source = next.source();
        }
        Self::Internal { what, cause }
    }
}

pub type AppResult<T> = Result<T, AppError>;
