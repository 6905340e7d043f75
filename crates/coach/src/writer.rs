//! Writers: one trait, implementations chosen by configuration (`--writer`).
//!
//! * `template` — [`TemplateWriter`] over [`crate::template`], deterministic and always
//!   available;
//! * `gguf:PATH` — a local GGUF model (Gemma 3) run in-process, whose fine-tuned versions
//!   are adapters over it ([`Writer::adapted`]);
//! * `openai:URL#MODEL` — any OpenAI-compatible completion server ([`Writer::is_remote`]).
//!
//! The model-backed writers live in `sprout-writers`, so that this crate needs neither a
//! model runtime nor an HTTP client. [`compose`] runs a writer, checks its text with the
//! guardrails and falls back to the template (keeping the reason) when the text fails or
//! the writer does.

use crate::guardrails::check;
use crate::{prompt, template, Facts};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

/// Most tokens a writer may produce, as in the original design.
pub const MAX_NEW_TOKENS: u32 = 120;

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("the model server failed: {0}")]
    Remote(String),
    #[error("the local model failed: {0}")]
    Local(String),
    #[error("the writer is busy; try again shortly")]
    Busy,
}

/// A fine-tuned version of a local model: a LoRA adapter directory written by
/// `sprout-tune`, applied over the base model for the generations of that version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterVersion {
    /// The version's name in the registry, e.g. `gemma-3-270m-q4_k_m-kto-3f2a9c1b`.
    pub version: String,
    /// The adapter's directory (or its `adapter.safetensors` inside it).
    pub path: std::path::PathBuf,
}

/// Turns facts (and the prompt built from them) into text.
#[async_trait]
pub trait Writer: Send + Sync {
    /// Names the writer and its model version, e.g. `template-1`, `openai:qwen2.5`.
    fn model_version(&self) -> String;

    /// Whether the facts leave this node to be written (a model server elsewhere): a
    /// family's text goes to one only with its consent.
    fn is_remote(&self) -> bool {
        false
    }

    /// This writer's model with a fine-tuned `adapter` over it; `None` where the writer
    /// has no local model to adapt.
    fn adapted(&self, _adapter: AdapterVersion) -> Option<Arc<dyn Writer>> {
        None
    }

    async fn write(&self, facts: &Facts, prompt: &str, variant: usize) -> Result<String, WriterError>;
}

/// The deterministic writer, in one of its styles.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateWriter {
    pub style: template::Style,
}

#[async_trait]
impl Writer for TemplateWriter {
    fn model_version(&self) -> String {
        self.style.version().into()
    }

    async fn write(&self, facts: &Facts, _prompt: &str, variant: usize) -> Result<String, WriterError> {
        Ok(template::write_styled(facts, variant, self.style))
    }
}

/// The text a parent will see, who wrote it, and why a fallback happened if one did.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub text: String,
    pub model_version: String,
    /// Why the writer's own text was replaced by the template's, if it was.
    pub fallback_reason: Option<String>,
}

/// Writes with `writer`, checks, and falls back to the template when needed. A busy
/// writer is the one error passed on: the caller answers "try again" (429) at once.
pub async fn compose(writer: &dyn Writer, facts: &Facts, variant: usize) -> Result<Written, WriterError> {
    let prompt = prompt::build(facts);
    let reason = match writer.write(facts, &prompt, variant).await {
        Ok(text) => match check(&text, facts) {
            Ok(()) => {
                return Ok(Written {
                    text,
                    model_version: writer.model_version(),
                    fallback_reason: None,
                })
            }
            Err(violation) => violation.to_string(),
        },
        Err(WriterError::Busy) => return Err(WriterError::Busy),
        Err(e) => e.to_string(),
    };
    Ok(Written {
        text: template::write(facts, variant),
        model_version: template::MODEL_VERSION.into(),
        fallback_reason: Some(reason),
    })
}
