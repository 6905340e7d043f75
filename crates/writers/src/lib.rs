//! The writers that need a language model, behind `sprout-coach`'s [`Writer`] trait:
//!
//! * [`gguf`] (feature `gguf`) — a local GGUF model (Gemma 3) run in-process by
//!   `sprout-gemma`, and its fine-tuned versions (LoRA adapters from `sprout-tune`);
//! * [`openai`] (feature `openai`) — any OpenAI-compatible completion server, over HTTP.
//!
//! They are a crate of their own so that `sprout-coach` stays a light library: deciding,
//! gathering the facts, the template and the guardrails need neither a model runtime
//! (candle) nor an HTTP client, and whatever uses only those builds without them.
//!
//! [`Writer`]: sprout_coach::writer::Writer

#[cfg(feature = "gguf")]
pub mod gguf;
#[cfg(feature = "openai")]
pub mod openai;

#[cfg(feature = "gguf")]
pub use gguf::{base_version, model_name, AdaptedWriter, GgufWriter};
#[cfg(feature = "openai")]
pub use openai::OpenAiWriter;
