//! Store errors: what went wrong, typed so the HTTP layer can map each to a status.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; `what` names the field (e.g. `email`).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// A row the operation relies on is gone.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A stored value could not be read back (a corrupt or hand-edited row).
    #[error("stored {what} is invalid: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// The database could not be reached or was saturated: worth retrying, not a bug.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
        )
    }

    pub(crate) fn corrupt(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            reason: reason.to_string(),
        }
    }

    /// Maps a unique-constraint violation to a [`StoreError::Conflict`] naming `what`.
    pub(crate) fn from_insert(err: sqlx::Error, what: &'static str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict { what },
            _ => Self::Database(err),
        }
    }
}
