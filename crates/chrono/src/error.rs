//! Errors for values that the engine refuses to build: inverted episodes and inconsistent cut-offs.

use chrono::{DateTime, Utc};
use thiserror::Error;

/// Why a value could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChronoError {
    /// The episode ends before (or when) it starts.
    #[error("sleep episode ends at {offset} which is not after its onset {onset}")]
    EpisodeNotPositive {
        /// Sleep onset.
        onset: DateTime<Utc>,
        /// Sleep offset (end of sleep).
        offset: DateTime<Utc>,
    },
    /// The episode is longer than any plausible single sleep.
    #[error("sleep episode of {hours:.1} h exceeds the {max_hours:.0} h limit")]
    EpisodeTooLong {
        /// Length of the rejected episode in hours.
        hours: f64,
        /// Longest accepted episode in hours.
        max_hours: f64,
    },
    /// Cut-offs must be finite and strictly increasing.
    #[error(
        "cut-offs must be finite with early_below < night_owl_from (got {early_below} and {night_owl_from})"
    )]
    InvalidCutoffs {
        /// Upper bound (exclusive) of the early-bird class.
        early_below: f64,
        /// Lower bound (inclusive) of the night-owl class.
        night_owl_from: f64,
    },
}
