//! Typed errors for building the training model, training, and reading or writing adapters.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// Loading the GGUF file or its tokenizer failed.
    #[error(transparent)]
    Gemma(#[from] sprout_gemma::GemmaError),
    /// An error raised by candle while computing.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A weight the training model needs is missing or has the wrong shape.
    #[error("bad weight {name}: {reason}")]
    BadWeight { name: String, reason: String },
    /// A training or LoRA option is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    /// The examples cannot be trained on (none, no completion tokens, only one kind of feedback...).
    #[error("bad training data: {0}")]
    BadData(String),
    /// Text examples were given to a model built without a tokenizer.
    #[error("this model has no tokenizer; pass token ids")]
    NoTokenizer,
    /// An adapter file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An adapter's description (JSON) is malformed or does not fit the model.
    #[error("bad adapter {path}: {reason}")]
    BadAdapter { path: PathBuf, reason: String },
    /// The loss became NaN or infinite.
    #[error("training diverged at step {step}: loss {loss}")]
    Diverged { step: usize, loss: f64 },
}

/// Result alias for this crate.
pub type Result<T, E = TuneError> = std::result::Result<T, E>;
