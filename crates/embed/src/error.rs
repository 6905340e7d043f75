//! Typed errors for loading a model directory, tokenizing, embedding and indexing.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running an embedder.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON configuration file in the model directory could not be parsed.
    #[error("invalid JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The configuration describes a model this crate does not run.
    #[error("unsupported model configuration: {0}")]
    UnsupportedConfig(String),
    /// The vocabulary is unusable (empty, or without a special token the tokenizer needs).
    #[error("vocabulary: {0}")]
    Vocab(String),
    /// The weights file is missing a tensor, or a tensor has the wrong shape.
    #[error("bad weights in {path}: {reason}")]
    Weights { path: PathBuf, reason: String },
    /// An error raised by candle while computing.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Errors from [`crate::VectorIndex`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// A vector (inserted or queried) does not have the index's dimension.
    #[error("vector has {got} dimensions, the index holds {expected}")]
    DimensionMismatch { expected: usize, got: usize },
    /// A vector contains NaN or an infinity.
    #[error("vector contains a non-finite value")]
    NonFinite,
}
