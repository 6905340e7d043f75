//! Writers: one trait, implementations chosen by configuration (`--writer`).
//!
//! * `template` — [`crate::template`], deterministic and always available;
//! * `gguf:PATH` — a local GGUF model (Gemma 3) run in-process by `sprout-gemma`, on one
//!   dedicated thread fed from a short queue; a full queue answers "busy" at once. Its
//!   fine-tuned versions ([`AdaptedWriter`]) share that thread and swap their LoRA
//!   adapter in per request. It can only write the facts' numbers: every other number is
//!   masked while it decodes (`GenerateOptions::allowed_numbers`);
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

/// Requests waiting for the local model beyond the one it is writing; more are refused
/// at once rather than left to pile up (one generation takes a few seconds).
const GGUF_QUEUE: usize = 4;
/// Fine-tuned adapters kept loaded on the model thread (an experiment needs two at most;
/// each is about 3 MB).
const ADAPTERS_KEPT: usize = 4;

/// A fine-tuned version of the local model: a LoRA adapter directory written by
/// `sprout-tune`, applied over the base GGUF for the generations of that version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterVersion {
    /// The version's name in the registry, e.g. `gemma-3-270m-q4_k_m-kto-3f2a9c1b`.
    pub version: String,
    /// The adapter's directory (or its `adapter.safetensors` inside it).
    pub path: std::path::PathBuf,
}

struct GgufJob {
    prompt: String,
    /// The only numbers the text may contain ([`Facts::numbers`]).
    numbers: Vec<String>,
    /// Which of them may follow which phrase ([`crate::guardrails::number_anchors`]).
    anchors: Vec<(String, Vec<String>)>,
    adapter: Option<AdapterVersion>,
    reply: tokio::sync::oneshot::Sender<Result<String, String>>,
}

/// A local GGUF model on its own thread. Threads that busy-wait collapse when cores are
/// shared, so the model runs single-threaded and requests queue for it. The base model
/// and its fine-tuned versions share the thread and the weights: each request names its
/// adapter, which is swapped in (a few milliseconds) when it differs from the last one.
pub struct GgufWriter {
    jobs: std::sync::mpsc::SyncSender<GgufJob>,
    version: String,
    load_secs: f64,
}

/// The model thread's side: the weights, the adapter in place, adapters read so far.
struct ModelThread {
    model: sprout_gemma::Model,
    options: sprout_gemma::GenerateOptions,
    applied: Option<AdapterVersion>,
    adapters: Vec<(AdapterVersion, sprout_tune::AdapterFile)>,
}

impl ModelThread {
    fn generate(&mut self, job: &GgufJob) -> Result<String, String> {
        if self.applied != job.adapter {
            self.switch(job.adapter.clone())?;
        }
        let options = sprout_gemma::GenerateOptions {
            allowed_numbers: Some(job.numbers.clone()),
            number_anchors: job.anchors.clone(),
            ..self.options.clone()
        };
        self.model
            .generate(&job.prompt, &options)
            .map(|g| g.text)
            .map_err(|e| e.to_string())
    }

    fn switch(&mut self, adapter: Option<AdapterVersion>) -> Result<(), String> {
        // Whatever happens below, the model must not be left half-adapted.
        self.applied = None;
        sprout_tune::remove(self.model.weights_mut()).map_err(|e| e.to_string())?;
        let Some(wanted) = adapter else { return Ok(()) };
        let position = self.adapters.iter().position(|(v, _)| *v == wanted);
        let file = match position {
            Some(i) => self.adapters.remove(i).1,
            None => {
                let dir = if wanted.path.is_file() {
                    wanted.path.parent().unwrap_or(&wanted.path).to_path_buf()
                } else {
                    wanted.path.clone()
                };
                sprout_tune::AdapterFile::load(&dir)
                    .map_err(|e| format!("cannot load the adapter of {}: {e}", wanted.version))?
            }
        };
        let applied = sprout_tune::apply(self.model.weights_mut(), &file)
            .map_err(|e| format!("cannot apply the adapter of {}: {e}", wanted.version));
        self.adapters.push((wanted.clone(), file));
        if self.adapters.len() > ADAPTERS_KEPT {
            self.adapters.remove(0);
        }
        match applied {
            Ok(()) => {
                self.applied = Some(wanted);
                Ok(())
            }
            Err(e) => {
                let _ = sprout_tune::remove(self.model.weights_mut());
                Err(e)
            }
        }
    }
}

impl GgufWriter {
    /// Loads the model (blocking: call it off the async runtime) and starts its thread.
    pub fn load(path: &std::path::Path) -> Result<Self, WriterError> {
        let version = base_version(path);
        let (ready, loaded) = std::sync::mpsc::channel::<Result<f64, String>>();
        let (jobs, queue) = std::sync::mpsc::sync_channel::<GgufJob>(GGUF_QUEUE);
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("gguf-writer".into())
            .spawn(move || {
                let model = match sprout_gemma::Model::load(&path) {
                    Ok(model) => {
                        let _ = ready.send(Ok(model.load_secs()));
                        model
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                let mut thread = ModelThread {
                    model,
                    options: sprout_gemma::GenerateOptions {
                        max_new_tokens: MAX_NEW_TOKENS as usize,
                        // A recommendation is one paragraph: a new line starts something else.
                        stop: vec!["\n".to_owned(), "Facts:".to_owned()],
                        ..Default::default()
                    },
                    applied: None,
                    adapters: Vec::new(),
                };
                for job in queue {
                    let text = thread.generate(&job);
                    let _ = job.reply.send(text);
                }
            })
            .map_err(|e| WriterError::Local(e.to_string()))?;
        let load_secs = loaded
            .recv()
            .map_err(|_| WriterError::Local("the model thread stopped while loading".into()))?
            .map_err(WriterError::Local)?;
        Ok(Self {
            jobs,
            version,
            load_secs,
        })
    }

    pub fn load_secs(&self) -> f64 {
        self.load_secs
    }

    /// A writer for a fine-tuned version of this model, sharing its thread.
    pub fn with_adapter(self: &std::sync::Arc<Self>, adapter: AdapterVersion) -> AdaptedWriter {
        AdaptedWriter {
            base: self.clone(),
            adapter,
        }
    }

    async fn generate(
        &self,
        facts: &Facts,
        prompt: &str,
        adapter: Option<AdapterVersion>,
    ) -> Result<String, WriterError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(GgufJob {
                prompt: prompt.to_owned(),
                numbers: facts.numbers(),
                anchors: crate::guardrails::number_anchors(facts),
                adapter,
                reply,
            })
            .map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(_) => WriterError::Busy,
                std::sync::mpsc::TrySendError::Disconnected(_) => {
                    WriterError::Local("the model thread has stopped".into())
                }
            })?;
        let text = answer
            .await
            .map_err(|_| WriterError::Local("the model thread has stopped".into()))?;
        text.map(|t| t.trim().to_owned()).map_err(WriterError::Local)
    }
}

/// The version name of a GGUF file's base model: `gguf:` and the file's stem.
pub fn base_version(path: &std::path::Path) -> String {
    format!(
        "gguf:{}",
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    )
}

#[async_trait]
impl Writer for GgufWriter {
    fn model_version(&self) -> String {
        self.version.clone()
    }

    async fn write(&self, facts: &Facts, prompt: &str, _variant: usize) -> Result<String, WriterError> {
        self.generate(facts, prompt, None).await
    }
}

/// A fine-tuned version of the local model: the base writer with an adapter applied.
pub struct AdaptedWriter {
    base: std::sync::Arc<GgufWriter>,
    adapter: AdapterVersion,
}

#[async_trait]
impl Writer for AdaptedWriter {
    fn model_version(&self) -> String {
        self.adapter.version.clone()
    }

    async fn write(&self, facts: &Facts, prompt: &str, _variant: usize) -> Result<String, WriterError> {
        self.base
            .generate(facts, prompt, Some(self.adapter.clone()))
            .await
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
