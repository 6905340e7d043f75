//! Typed errors for loading the GGUF file, tokenizing and running the model.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum GemmaError {
    /// The model file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a GGUF file candle can parse.
    #[error("invalid GGUF file {path}: {reason}")]
    InvalidGguf { path: PathBuf, reason: String },
    /// The GGUF file is for another architecture.
    #[error("unsupported architecture {0:?}: only gemma3 is supported")]
    UnsupportedArchitecture(String),
    /// A metadata key the model needs is missing.
    #[error("missing GGUF metadata key {0}")]
    MissingMetadata(String),
    /// A metadata key has the wrong type or an impossible value.
    #[error("bad GGUF metadata {key}: {reason}")]
    BadMetadata { key: String, reason: String },
    /// A tensor the model needs is missing or has the wrong shape.
    #[error("bad tensor {name}: {reason}")]
    BadTensor { name: String, reason: String },
    /// The tokenizer vocabulary in the metadata is inconsistent.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The prompt (or text to score) produced no tokens to feed the model.
    #[error("empty input: {0}")]
    EmptyInput(&'static str),
    /// The request needs more positions than the model's context.
    #[error("context overflow: {needed} positions needed, the model supports {max}")]
    ContextOverflow { needed: usize, max: usize },
    /// A generation option is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    /// An error raised by candle while computing.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result alias for this crate.
pub type Result<T, E = GemmaError> = std::result::Result<T, E>;
