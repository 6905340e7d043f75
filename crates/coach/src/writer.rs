//! Writers: one trait, implementations chosen by configuration (`--writer`).
//!
//! * `template` — [`crate::template`], deterministic and always available;
//! * `openai:URL#MODEL` — any OpenAI-compatible completion server (llama.cpp's server,
//!   Ollama, vLLM), with a timeout and a retry.
//!
//! [`compose`] runs a writer, checks its text with the guardrails and falls back to the
//! template (keeping the reason) when the text fails or the writer does.

use crate::guardrails::check;
use crate::{prompt, template, Facts};
use async_trait::async_trait;
use serde::Serialize;
use std::time::Duration;

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

/// Turns facts (and the prompt built from them) into text.
#[async_trait]
pub trait Writer: Send + Sync {
    /// Names the writer and its model version, e.g. `template-1`, `openai:qwen2.5`.
    fn model_version(&self) -> String;

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

/// A writer backed by an OpenAI-compatible `/v1/completions` endpoint.
pub struct OpenAiWriter {
    client: reqwest::Client,
    base: String,
    model: String,
}

/// How long one completion may take before the template answers instead.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(20);
/// One retry covers a dropped connection; more would only delay the parent.
const REMOTE_ATTEMPTS: usize = 2;

impl OpenAiWriter {
    /// From `URL#MODEL` (the model after `#` is optional).
    pub fn new(spec: &str) -> Result<Self, WriterError> {
        let (base, model) = spec.split_once('#').unwrap_or((spec, "default"));
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(WriterError::Remote(format!("'{base}' is not an http(s) URL")));
        }
        let client = reqwest::Client::builder()
            .timeout(REMOTE_TIMEOUT)
            .build()
            .map_err(|e| WriterError::Remote(e.to_string()))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
        })
    }
}

#[async_trait]
impl Writer for OpenAiWriter {
    fn model_version(&self) -> String {
        format!("openai:{}", self.model)
    }

    async fn write(&self, _facts: &Facts, prompt: &str, _variant: usize) -> Result<String, WriterError> {
        let body = serde_json::json!({
            "model": self.model,
            "prompt": prompt,
            "max_tokens": MAX_NEW_TOKENS,
            "temperature": 0.2,
            "stop": [prompt::STOP],
        });
        let url = format!("{}/v1/completions", self.base);
        let mut last = String::new();
        for _ in 0..REMOTE_ATTEMPTS {
            match self.client.post(&url).json(&body).send().await {
                Ok(response) if response.status().is_success() => {
                    let answer: serde_json::Value = response
                        .json()
                        .await
                        .map_err(|e| WriterError::Remote(e.to_string()))?;
                    return answer["choices"][0]["text"]
                        .as_str()
                        .map(|t| t.trim().to_owned())
                        .ok_or_else(|| WriterError::Remote("no text in the answer".into()));
                }
                Ok(response) => last = format!("status {}", response.status()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(WriterError::Remote(last))
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

/// Writes with `writer`, checks, and falls back to the template when needed.
pub async fn compose(writer: &dyn Writer, facts: &Facts, variant: usize) -> Written {
    let prompt = prompt::build(facts);
    let reason = match writer.write(facts, &prompt, variant).await {
        Ok(text) => match check(&text, facts) {
            Ok(()) => {
                return Written {
                    text,
                    model_version: writer.model_version(),
                    fallback_reason: None,
                }
            }
            Err(violation) => violation.to_string(),
        },
        Err(e) => e.to_string(),
    };
    Written {
        text: template::write(facts, variant),
        model_version: template::MODEL_VERSION.into(),
        fallback_reason: Some(reason),
    }
}
