//! The local writer: a GGUF model (Gemma 3) run in-process by `sprout-gemma`, on one
//! dedicated thread fed from a short queue; a full queue answers "busy" at once. Its
//! fine-tuned versions ([`AdaptedWriter`], from [`Writer::adapted`]) share that thread
//! and swap their LoRA adapter in per request. It can only write the facts' numbers:
//! every other number is masked while it decodes (`GenerateOptions::allowed_numbers`).

use async_trait::async_trait;
use sprout_coach::writer::{AdapterVersion, Writer, WriterError, MAX_NEW_TOKENS};
use sprout_coach::Facts;
use std::sync::Arc;

/// Requests waiting for the local model beyond the one it is writing; more are refused
/// at once rather than left to pile up (one generation takes a few seconds).
const GGUF_QUEUE: usize = 4;
/// Fine-tuned adapters kept loaded on the model thread (an experiment needs two at most;
/// each is about 3 MB).
const ADAPTERS_KEPT: usize = 4;

struct GgufJob {
    prompt: String,
    /// The only numbers the text may contain ([`Facts::numbers`]).
    numbers: Vec<String>,
    /// Which of them may follow which phrase ([`sprout_coach::guardrails::number_anchors`]).
    anchors: Vec<(String, Vec<String>)>,
    adapter: Option<AdapterVersion>,
    reply: tokio::sync::oneshot::Sender<Result<String, String>>,
}

/// A local GGUF model on its own thread. Threads that busy-wait collapse when cores are
/// shared, so the model runs single-threaded and requests queue for it. The base model
/// and its fine-tuned versions share the thread and the weights: each request names its
/// adapter, which is swapped in (a few milliseconds) when it differs from the last one.
pub struct GgufWriter {
    queue: ModelQueue,
    version: String,
    load_secs: f64,
}

/// The way to the model thread, shared by the base model and its fine-tuned versions;
/// the thread runs while any of them is left.
#[derive(Clone)]
struct ModelQueue {
    jobs: std::sync::mpsc::SyncSender<GgufJob>,
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
            queue: ModelQueue { jobs },
            version,
            load_secs,
        })
    }

    pub fn load_secs(&self) -> f64 {
        self.load_secs
    }
}

impl ModelQueue {
    /// One generation, with `adapter` over the base model (`None`: the base itself); a
    /// full queue answers `Busy` at once.
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
                anchors: sprout_coach::guardrails::number_anchors(facts),
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

/// The version name of a GGUF file's base model: `gguf:` and its [`model_name`].
pub fn base_version(path: &std::path::Path) -> String {
    format!("gguf:{}", model_name(path))
}

/// The name of a GGUF file's model, which its fine-tuned versions' names start with: the
/// file's stem.
pub fn model_name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

#[async_trait]
impl Writer for GgufWriter {
    fn model_version(&self) -> String {
        self.version.clone()
    }

    fn adapted(&self, adapter: AdapterVersion) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(AdaptedWriter {
            queue: self.queue.clone(),
            adapter,
        }))
    }

    async fn write(&self, facts: &Facts, prompt: &str, _variant: usize) -> Result<String, WriterError> {
        self.queue.generate(facts, prompt, None).await
    }
}

/// A fine-tuned version of the local model: the base writer with an adapter applied.
pub struct AdaptedWriter {
    queue: ModelQueue,
    adapter: AdapterVersion,
}

#[async_trait]
impl Writer for AdaptedWriter {
    fn model_version(&self) -> String {
        self.adapter.version.clone()
    }

    async fn write(&self, facts: &Facts, prompt: &str, _variant: usize) -> Result<String, WriterError> {
        self.queue
            .generate(facts, prompt, Some(self.adapter.clone()))
            .await
    }
}
