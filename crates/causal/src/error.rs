//! Owns the typed errors every public function returns.

use thiserror::Error;

/// Everything that can stop an estimate. Warnings that do not stop it travel
/// in `Estimate::warnings` instead.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CausalError {
    #[error("the table has no rows")]
    EmptyTable,
    #[error("column `{0}` is not in the table")]
    UnknownColumn(String),
    #[error("column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("column `{column}` has {got} rows but the table has {expected}")]
    ColumnLengthMismatch {
        column: String,
        expected: usize,
        got: usize,
    },
    #[error("column `{0}` must be numeric here")]
    NonNumericColumn(String),
    #[error("treatment `{0}` is not binary 0/1: name the treated and control values")]
    MissingTreatmentValues(String),
    #[error("treatment value {value} does not occur in column `{column}`")]
    TreatmentValueNotFound { column: String, value: String },
    #[error("treated and control values are the same ({0})")]
    SameTreatmentValues(String),
    #[error("only one treatment level is present ({level}); both arms are needed")]
    OneTreatmentLevel { level: String },
    #[error("too few rows for {what}: need at least {needed}, got {got}")]
    TooFewRows { what: String, needed: usize, got: usize },
    #[error("the graph has a cycle through `{0}`")]
    CyclicGraph(String),
    #[error("node `{0}` is not in the graph")]
    UnknownNode(String),
    #[error("the effect is not identifiable from observed variables: {0}")]
    NotIdentifiable(String),
    #[error("no instrument was named or found in the graph")]
    NoInstrument,
    #[error("`{instrument}` is not a valid instrument: {reason}")]
    InvalidInstrument { instrument: String, reason: String },
    #[error("the instrument barely moves the treatment (first-stage F = {f_stat:.3})")]
    WeakInstrument { f_stat: f64 },
    #[error("the treatment is collinear with the covariates, so its effect cannot be separated")]
    CollinearTreatment,
    #[error("no overlap between treated and control units: {0}")]
    NoOverlap(String),
    #[error("invalid specification: {0}")]
    InvalidSpec(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("numerical failure: {0}")]
    NumericalFailure(String),
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, CausalError>;
