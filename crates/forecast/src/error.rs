//! Typed errors for every way input to the forecaster can be unusable.

use thiserror::Error;

/// Why a forecast, backtest or sleep forecast could not be produced.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ForecastError {
    /// The series has no observations at all.
    #[error("the series is empty")]
    Empty,
    /// Timestamps and values differ in length.
    #[error("{times} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps given.
        times: usize,
        /// Number of values given.
        values: usize,
    },
    /// A value is NaN or infinite.
    #[error("value at index {index} is not finite ({value})")]
    NonFinite {
        /// Position of the offending value in the input.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Too few observations (after resampling) to say anything.
    #[error("need at least {needed} observations after resampling, got {got}")]
    TooShort {
        /// Minimum number of observations required.
        needed: usize,
        /// Number available.
        got: usize,
    },
    /// So much of the resampled grid is missing that filling it would invent the series.
    #[error("{missing} of {total} resampled steps are missing; too sparse to forecast")]
    TooSparse {
        /// Number of empty steps.
        missing: usize,
        /// Number of steps between first and last observation.
        total: usize,
    },
    /// An option is out of its valid range.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// Option name as in [`crate::Options`] or [`crate::Protocol`].
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
