//! A writer backed by any OpenAI-compatible `/v1/completions` endpoint (llama.cpp's
//! server, Ollama, vLLM), with a timeout and a retry. The facts leave the node, so it is
//! [`Writer::is_remote`]: a family's text goes to it only with their consent.

use async_trait::async_trait;
use sprout_coach::writer::{Writer, WriterError, MAX_NEW_TOKENS};
use sprout_coach::{prompt, Facts};
use std::time::Duration;

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

    fn is_remote(&self) -> bool {
        true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_server_is_remote_and_has_no_local_versions() {
        let writer = OpenAiWriter::new("http://127.0.0.1:8081/#qwen2.5").expect("an http URL");
        assert_eq!(writer.model_version(), "openai:qwen2.5");
        assert!(writer.is_remote());
        let adapter = sprout_coach::writer::AdapterVersion {
            version: "qwen2.5-kto-1".into(),
            path: "adapters/qwen2.5-kto-1".into(),
        };
        assert!(writer.adapted(adapter).is_none());
    }

    #[test]
    fn only_http_urls_are_model_servers() {
        assert!(OpenAiWriter::new("ftp://models.example#qwen2.5").is_err());
        assert_eq!(
            OpenAiWriter::new("https://models.example")
                .map(|w| w.model_version())
                .ok(),
            Some("openai:default".into())
        );
    }
}
