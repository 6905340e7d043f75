//! Sentence embeddings and a small vector index, for semantic retrieval over a child's past
//! recommendations, parent feedback comments and parent notes.
//!
//! ```no_run
//! use sprout_embed::{Embedder, HashingEmbedder, MiniLm, VectorIndex};
//!
//! // The real model when its directory is configured, the lexical fallback otherwise.
//! let embedder: Box<dyn Embedder> = match std::env::var_os("SPROUT_EMBED_MODEL_DIR") {
//!     Some(dir) => Box::new(MiniLm::load(std::path::Path::new(&dir))?),
//!     None => Box::new(HashingEmbedder::default()),
//! };
//! let notes = ["slept badly, woke at 3am", "loved the swimming lesson"];
//! let mut index = VectorIndex::new(embedder.dim());
//! for (i, v) in embedder.embed(&notes)?.iter().enumerate() {
//!     index.insert(i, v)?;
//! }
//! let query = embedder.embed_one("poor sleep")?;
//! for hit in index.search(&query, 1)? {
//!     println!("{} ({:.2})", notes[hit.key], hit.score);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is here
//!
//! - [`Embedder`]: texts in, L2-normalised vectors out; `id()` names the vector space, so stored vectors
//!   are recomputed when it changes.
//! - [`MiniLm`]: a sentence-transformers BERT model read from a directory — all-MiniLM-L6-v2 (6 layers,
//!   384 dimensions, mean pooling) fetched by `scripts/fetch-model.sh`; other BERT sentence models with the
//!   same files (BGE-small, with CLS pooling, …) load too. Nothing is downloaded at run time.
//! - [`HashingEmbedder`]: hashed word unigrams and character trigrams, for when no model is configured —
//!   lexical, deterministic, no files.
//! - [`VectorIndex`]: exact cosine top-k over keyed vectors, meant as one index per child.
//!
//! # Choices
//!
//! **Own BERT forward pass and tokenizer** ([`bert`], [`tokenizer`]) instead of `candle-transformers` and
//! the `tokenizers` crate. The encoder is ~200 lines on `candle-core`/`candle-nn`, which the workspace
//! already builds for `sprout-gemma`; `candle-transformers` would add a large crate of model definitions
//! we would not use, and `tokenizers` (default features) brings in regex engines, `onig`/`esaxx` C++
//! builds, rayon and serde-heavy model machinery — minutes of compile time on the 2-core build machine for
//! what is, for BERT, a normaliser, a punctuation splitter and a greedy vocabulary lookup. Both are checked
//! instead against the reference implementation: `scripts/reference.py` tokenizes with the Hugging Face
//! `tokenizers` library and runs an independent NumPy forward pass; `tests/model.rs` requires identical
//! token ids and cosine > 0.9999 (max abs difference < 1e-4) with its outputs
//! (`tests/data/reference.json`).
//!
//! **Weights** are read with `candle_core::safetensors::load` (the file is read, not memory-mapped: the
//! workspace forbids `unsafe`, and 90 MB is cheap) and computed in f32.
//!
//! **Batches** are sorted by token count and cut into groups of [`minilm::DEFAULT_BATCH_SIZE`], so
//! padding is small; padded positions are masked out of attention (−∞ before the softmax) and out of the
//! pooling, so a text's vector does not depend on what it is batched with.
//!
//! **Threads**: as in `sprout-gemma`, [`MiniLm::load`] sets `CANDLE_NUM_THREADS=1` and
//! `RAYON_NUM_THREADS=1` unless either is already set (candle reads them once per process, and spinning
//! thread pools collapse when the cores are shared with other work). Set them before loading to use more.
#![forbid(unsafe_code)]

pub mod bert;
pub mod error;
pub mod hashing;
pub mod index;
pub mod minilm;
pub mod tokenizer;

pub use bert::BertConfig;
pub use error::{EmbedError, IndexError};
pub use hashing::HashingEmbedder;
pub use index::{Hit, VectorIndex};
pub use minilm::{LoadOptions, MiniLm, Pooling};
pub use tokenizer::{NormalizerOptions, Tokenizer};

/// Turns texts into vectors of one fixed dimension, comparable by cosine similarity.
pub trait Embedder: Send + Sync {
    /// Dimension of every vector.
    fn dim(&self) -> usize;

    /// Names the vector space: vectors from embedders with different ids must not be compared. Store it
    /// beside persisted vectors and recompute them when it changes.
    fn id(&self) -> &str;

    /// One L2-normalised vector per text, in order (a text with nothing to embed may give the zero
    /// vector).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// The vector of one text.
    fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self
            .embed(&[text])?
            .pop()
            .unwrap_or_else(|| vec![0.0; self.dim()]))
    }
}

/// Cosine similarity of two vectors of the same length (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Scales `v` to unit length; leaves the zero vector as it is.
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Sets `CANDLE_NUM_THREADS` and `RAYON_NUM_THREADS` to 1 unless the caller set either. candle reads
/// them once, when its pools are first used, so this must run before any tensor work.
pub(crate) fn default_to_one_thread() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let set = |k: &str| std::env::var_os(k).is_some();
        if !set("CANDLE_NUM_THREADS") && !set("RAYON_NUM_THREADS") {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
            std::env::set_var("RAYON_NUM_THREADS", "1");
        }
    });
}
