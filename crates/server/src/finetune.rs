//! Fine-tuning the local writer on parents' answers, in the background, never in a request.
//!
//! Every `every` answers (default 10), counted over all families (the population's
//! feedback is pooled: one family's ten answers teach a 270M model little), a job trains
//! a LoRA adapter with KTO on the answers of families who consented to training, against
//! the frozen starting model as reference, and registers it as a candidate version with
//! its loss curve, held-out metrics and the snapshot id of its data. The candidate then
//! faces the active version in an A/B experiment (when none is running), and is announced
//! (`model.candidate`).
//!
//! - **Where it runs.** With PostgreSQL the job goes on the durable queue, so any worker
//!   runs it (and a worker that dies mid-training leaves it to another); with the embedded
//!   store it runs on the node. Training itself runs as a separate `sprout learn train`
//!   process at low priority when the binary is known ([`Trainer::Process`]): minutes of
//!   one core and 3–4 GB that are given back when it exits, and a crash there cannot take
//!   the API down. Tests run it in-process ([`Trainer::InProcess`]).
//! - **Exactly once in effect.** A version is named after its data snapshot (the sha256
//!   of the training set), so a job that runs twice, or two nodes that both saw the tenth
//!   answer, register one version; a job that finds the answers already covered does nothing.
//! - **Where it starts.** From the active version's adapter when that is a fine-tuned
//!   version of this base, else from the newest supervised first adapter ([`train_initial`],
//!   `sprout learn sft`), else from zero.

use crate::live::LiveEvent;
use crate::AppState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sprout_domain::{ChildId, ConsentPurpose};
use sprout_store::{Store, StoredModel};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Answers between two training runs unless configured.
pub const DEFAULT_EVERY: u64 = 10;
/// Fewest consented answers worth training on.
const MIN_EXAMPLES: usize = 4;
/// Share of children a new candidate writes for in its experiment.
pub const DEFAULT_CANDIDATE_SHARE: f64 = 0.5;

/// How the adapter is trained (the trainer's defaults otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub epochs: usize,
    /// Stop after this many optimiser steps (a bound on the time one run takes).
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub max_seq_len: usize,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 2,
            max_steps: None,
            batch_size: 4,
            max_seq_len: 256,
            seed: 0,
        }
    }
}

/// Who runs the training.
#[derive(Debug, Clone, PartialEq)]
pub enum Trainer {
    /// On a blocking thread of this process.
    InProcess,
    /// `EXE learn train` as a child process at low priority, given the database URL in its
    /// environment (not on its command line, where other users could read it).
    Process { exe: PathBuf, database: crate::Secret },
}

/// Fine-tuning of the local GGUF writer.
#[derive(Debug, Clone)]
pub struct FineTuneConfig {
    /// The GGUF file adapters are trained for (the `gguf:` writer's).
    pub base: PathBuf,
    /// Where adapters are written, one directory per version. Nodes that serve them must
    /// see the same directory (a shared volume).
    pub adapters: PathBuf,
    /// Answers between training runs (0: never).
    pub every: u64,
    pub settings: TrainSettings,
    pub trainer: Trainer,
    /// Share of children the candidate writes for in its experiment.
    pub candidate_share: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FineTuneError {
    #[error("the store failed: {0}")]
    Store(#[from] sprout_store::StoreError),
    #[error("training failed: {0}")]
    Train(#[from] sprout_tune::TuneError),
    #[error("{0}")]
    Other(String),
}

/// The name of the base in the registry: the version its `gguf:` writer reports.
pub fn base_version(gguf: &Path) -> String {
    sprout_coach::writer::base_version(gguf)
}

/// One training example and where it came from.
pub struct Dataset {
    pub examples: Vec<sprout_tune::KtoExample>,
    /// sha256 of the examples as KTO JSONL: the data snapshot id.
    pub snapshot: String,
    /// The JSONL itself (`prompt`, `completion`, `label`), as TRL's KTO trainer reads it.
    pub jsonl: String,
    pub without_consent: usize,
    pub without_prompt: usize,
}

/// Parents' answers that may be trained on: those of families who consented to
/// training, on recommendations whose prompt was kept.
pub async fn dataset(store: &dyn Store) -> Result<Dataset, FineTuneError> {
    let mut consented: HashMap<ChildId, bool> = HashMap::new();
    let (mut examples, mut lines) = (Vec::new(), Vec::new());
    let (mut without_consent, mut without_prompt) = (0, 0);
    for example in store.feedback_examples().await? {
        let allowed = match consented.get(&example.child_id) {
            Some(allowed) => *allowed,
            None => {
                let allowed = store
                    .consents(example.child_id)
                    .await?
                    .iter()
                    .find(|c| c.purpose == ConsentPurpose::Training)
                    .map_or(ConsentPurpose::Training.default_granted(), |c| c.granted);
                consented.insert(example.child_id, allowed);
                allowed
            }
        };
        if !allowed {
            without_consent += 1;
            continue;
        }
        let Some(prompt) = example.details.get("prompt").and_then(|p| p.as_str()) else {
            without_prompt += 1;
            continue;
        };
        // The prompt ends at "Recommendation:"; the completion is the text after it, up
        // to the writer's stop, so the model also learns where to end.
        let completion = format!(" {}{}", example.text, sprout_coach::prompt::STOP);
        lines.push(
            json!({ "prompt": prompt, "completion": completion, "label": example.was_helpful }).to_string(),
        );
        examples.push(sprout_tune::KtoExample {
            prompt: prompt.to_owned(),
            completion,
            desirable: example.was_helpful,
        });
    }
    let mut jsonl = lines.join("\n");
    if !jsonl.is_empty() {
        jsonl.push('\n');
    }
    Ok(Dataset {
        examples,
        snapshot: crate::shared::hex(&Sha256::digest(jsonl.as_bytes())),
        jsonl,
        without_consent,
        without_prompt,
    })
}

/// Answers already trained on by the newest KTO version of `base` (0 if none).
fn trained_through(models: &[StoredModel], base: &str) -> u64 {
    models
        .iter()
        .filter(|m| m.base == base && m.metrics["objective"] == "kto")
        .filter_map(|m| m.metrics["feedback_count"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The number of answers so far when enough new ones arrived since the last training
/// run; `None` otherwise.
async fn due(store: &dyn Store, config: &FineTuneConfig) -> Result<Option<u64>, FineTuneError> {
    if config.every == 0 {
        return Ok(None);
    }
    let count = store.feedback_count().await?;
    let last = trained_through(&store.models().await?, &base_version(&config.base));
    Ok((count >= last + config.every).then_some(count))
}

/// After an answer is stored: schedules a training run when one is due. Never fails the
/// answer; a run that cannot be scheduled now is scheduled by a later answer.
pub async fn after_feedback(state: &AppState) {
    let Some(config) = &state.config.finetune else {
        return;
    };
    let through = match due(state.store.as_ref(), config).await {
        Ok(Some(count)) => count,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether fine-tuning is due");
            return;
        }
    };
    if let Some(queue) = &state.queue {
        match queue.push(crate::queue::Job::FineTune { through }).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot queue fine-tuning; running it here"),
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run_job(&state, through).await {
            tracing::warn!(error = %e, "fine-tuning failed; the next answers schedule another run");
        }
    });
}

/// The job: trains unless a version already covers the first `through` answers (one run
/// at a time per process), then announces the candidate and starts its experiment. The
/// node that saw the answers decided the run was due; the worker only avoids repeating it.
pub async fn run_job(state: &AppState, through: u64) -> Result<(), FineTuneError> {
    let Some(config) = &state.config.finetune else {
        return Err(FineTuneError::Other(
            "this node has no local model to fine-tune (start it with --writer gguf:PATH)".into(),
        ));
    };
    let _one_at_a_time = state.training.lock().await;
    if trained_through(&state.store.models().await?, &base_version(&config.base)) >= through {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let trained = match &config.trainer {
        Trainer::InProcess => train(state.store.as_ref(), config).await?,
        Trainer::Process { exe, database } => {
            train_in_child(state.store.as_ref(), exe, database, config).await?
        }
    };
    let Some(model) = trained else { return Ok(()) };
    tracing::info!(
        version = model.version,
        seconds = started.elapsed().as_secs_f64(),
        "fine-tuned candidate registered"
    );
    announce(state, &model, config.candidate_share).await
}

/// Publishes `model.candidate` and starts the candidate's experiment against the active
/// version, unless one is running (the candidate then waits for an administrator).
async fn announce(state: &AppState, model: &StoredModel, share: f64) -> Result<(), FineTuneError> {
    let experiment = match state
        .store
        .start_experiment(&model.version, &model.base, share)
        .await
    {
        Ok(experiment) => Some(experiment),
        Err(sprout_store::StoreError::Conflict { .. }) => {
            tracing::info!(
                version = model.version,
                "an experiment is running; the candidate waits"
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    state.live.publish(LiveEvent::everyone(
        "model.candidate",
        json!({
            "version": model.version,
            "experiment_id": experiment.as_ref().map(|e| e.id),
            "metrics": model.metrics,
        }),
    ));
    Ok(())
}

/// Runs `sprout learn train` and waits for it.
async fn train_in_child(
    store: &dyn Store,
    exe: &Path,
    database: &crate::Secret,
    config: &FineTuneConfig,
) -> Result<Option<StoredModel>, FineTuneError> {
    let s = &config.settings;
    let mut args: Vec<String> = vec![
        "learn".into(),
        "train".into(),
        "--base".into(),
        config.base.display().to_string(),
        "--adapters".into(),
        config.adapters.display().to_string(),
        "--train-epochs".into(),
        s.epochs.to_string(),
        "--train-batch-size".into(),
        s.batch_size.to_string(),
        "--train-max-seq-len".into(),
        s.max_seq_len.to_string(),
        "--train-seed".into(),
        s.seed.to_string(),
    ];
    if let Some(steps) = s.max_steps {
        args.extend(["--train-max-steps".into(), steps.to_string()]);
    }
    // Low priority: the API's requests come first on shared cores.
    let nice = Path::new("/usr/bin/nice");
    let mut command = if nice.exists() {
        let mut c = tokio::process::Command::new(nice);
        c.arg("-n").arg("10").arg(exe);
        c
    } else {
        tokio::process::Command::new(exe)
    };
    let output = command
        .args(&args)
        .env("SPROUT_DB", database.expose())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| FineTuneError::Other(format!("cannot start the trainer: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").to_owned();
        return Err(FineTuneError::Other(format!(
            "the trainer exited with {}: {last}",
            output.status
        )));
    }
    // Its last line on standard output is the registered version's JSON, or null.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or("null");
    let report: Value =
        serde_json::from_str(last).map_err(|e| FineTuneError::Other(format!("the trainer's report: {e}")))?;
    let Some(version) = report["version"].as_str() else {
        return Ok(None);
    };
    let model = store.models().await?.into_iter().find(|m| m.version == version);
    model.map(Some).ok_or_else(|| {
        FineTuneError::Other(format!("the trainer reported {version}, which is not registered"))
    })
}

/// The version that training continues from: the active version when it is a
/// fine-tuned version of `base`, else the newest supervised first adapter of `base`.
fn starting_point<'a>(models: &'a [StoredModel], base: &str) -> Option<&'a StoredModel> {
    let adapted = |m: &&StoredModel| m.base == base && m.adapter_path.is_some();
    models
        .iter()
        .filter(adapted)
        .find(|m| m.status == "active")
        .or_else(|| {
            models
                .iter()
                .filter(adapted)
                .find(|m| m.metrics["objective"] == "sft")
        })
}

/// Trains a KTO candidate on the consented answers and registers it; `None` when there is
/// too little to train on. Idempotent: the same data registers the same version once.
pub async fn train(store: &dyn Store, config: &FineTuneConfig) -> Result<Option<StoredModel>, FineTuneError> {
    let feedback_count = store.feedback_count().await?;
    let data = dataset(store).await?;
    let base = base_version(&config.base);
    let version = format!("{}-kto-{}", stem(&config.base), &data.snapshot[..12]);
    let models = store.models().await?;
    if let Some(existing) = models.iter().find(|m| m.version == version) {
        return Ok(Some(existing.clone()));
    }
    if data.examples.len() < MIN_EXAMPLES {
        tracing::info!(
            examples = data.examples.len(),
            without_consent = data.without_consent,
            "too few consented answers to fine-tune on yet"
        );
        return Ok(None);
    }
    let from = starting_point(&models, &base).cloned();
    let job = TrainJob {
        gguf: config.base.clone(),
        from: from
            .as_ref()
            .and_then(|m| m.adapter_path.clone())
            .map(PathBuf::from),
        dir: config.adapters.join(&version),
        settings: config.settings.clone(),
    };
    let examples = data.examples.clone();
    let outcome = tokio::task::spawn_blocking(move || job.kto(&examples))
        .await
        .map_err(|e| FineTuneError::Other(e.to_string()))??;
    let model = StoredModel {
        version,
        base,
        adapter_path: Some(outcome.dir.display().to_string()),
        data_snapshot: Some(format!("sha256:{}", data.snapshot)),
        metrics: json!({
            "objective": "kto",
            "feedback_count": feedback_count,
            "examples": data.examples.len(),
            "left_out": { "without_consent": data.without_consent, "without_prompt": data.without_prompt },
            "from_version": from.map(|m| m.version),
            "report": outcome.report,
        }),
        status: "candidate".into(),
        created_at: chrono::Utc::now(),
    };
    store.register_model(&model).await?;
    Ok(Some(model))
}

/// The supervised first adapter: trained on `n` good recommendations (the template
/// writer's texts for varied facts) so the base model writes its own text instead of
/// copying the prompt's example. Registered as a candidate; KTO continues from it.
pub async fn train_initial(
    store: &dyn Store,
    config: &FineTuneConfig,
    n: usize,
) -> Result<StoredModel, FineTuneError> {
    let examples: Vec<sprout_tune::Example> = sprout_coach::examples::good_examples(n)
        .into_iter()
        .map(|e| sprout_tune::Example {
            prompt: e.prompt,
            completion: e.completion,
        })
        .collect();
    let snapshot = {
        let mut hasher = Sha256::new();
        for e in &examples {
            hasher.update(e.prompt.as_bytes());
            hasher.update([0]);
            hasher.update(e.completion.as_bytes());
            hasher.update([0]);
        }
        crate::shared::hex(&hasher.finalize())
    };
    let version = format!("{}-sft-{}", stem(&config.base), &snapshot[..12]);
    if let Some(existing) = store.models().await?.into_iter().find(|m| m.version == version) {
        return Ok(existing);
    }
    let job = TrainJob {
        gguf: config.base.clone(),
        from: None,
        dir: config.adapters.join(&version),
        settings: config.settings.clone(),
    };
    let outcome = tokio::task::spawn_blocking(move || job.sft(&examples))
        .await
        .map_err(|e| FineTuneError::Other(e.to_string()))??;
    let model = StoredModel {
        version,
        base: base_version(&config.base),
        adapter_path: Some(outcome.dir.display().to_string()),
        data_snapshot: Some(format!("sha256:{snapshot}")),
        metrics: json!({ "objective": "sft", "examples": n, "report": outcome.report }),
        status: "candidate".into(),
        created_at: chrono::Utc::now(),
    };
    store.register_model(&model).await?;
    Ok(model)
}

fn stem(gguf: &Path) -> String {
    gguf.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// The CPU part of a run: load, train, save.
struct TrainJob {
    gguf: PathBuf,
    from: Option<PathBuf>,
    dir: PathBuf,
    settings: TrainSettings,
}

struct Outcome {
    dir: PathBuf,
    report: Value,
}

impl TrainJob {
    fn options(&self) -> sprout_tune::TrainOptions {
        sprout_tune::TrainOptions {
            epochs: self.settings.epochs,
            max_steps: self.settings.max_steps,
            batch_size: self.settings.batch_size,
            max_seq_len: self.settings.max_seq_len,
            seed: self.settings.seed,
            ..sprout_tune::TrainOptions::default()
        }
    }

    fn load(&self) -> Result<sprout_tune::TrainModel, FineTuneError> {
        let mut model = sprout_tune::TrainModel::load(
            &self.gguf,
            sprout_tune::LoraConfig::default(),
            self.settings.seed,
        )?;
        if let Some(from) = &self.from {
            let file = sprout_tune::AdapterFile::load(from)?;
            model.set_lora(file.to_lora(model.dtype())?)?;
        }
        Ok(model)
    }

    fn kto(self, examples: &[sprout_tune::KtoExample]) -> Result<Outcome, FineTuneError> {
        let mut model = self.load()?;
        let options = sprout_tune::KtoOptions {
            train: sprout_tune::TrainOptions {
                learning_rate: sprout_tune::KtoOptions::default().train.learning_rate,
                ..self.options()
            },
            ..sprout_tune::KtoOptions::default()
        };
        let report = sprout_tune::kto(&mut model, examples, sprout_tune::Reference::Initial, &options)?;
        self.save(&model, &report, "kto on parents' answers")
    }

    fn sft(self, examples: &[sprout_tune::Example]) -> Result<Outcome, FineTuneError> {
        let mut model = self.load()?;
        let report = sprout_tune::sft(&mut model, examples, &self.options())?;
        self.save(&model, &report, "sft on the template writer's texts")
    }

    fn save(
        self,
        model: &sprout_tune::TrainModel,
        report: &sprout_tune::TrainReport,
        notes: &str,
    ) -> Result<Outcome, FineTuneError> {
        let file = sprout_tune::AdapterFile::from_lora(model.lora(), model.base().clone(), notes)?;
        file.save(&self.dir)?;
        Ok(Outcome {
            dir: self.dir,
            report: report_json(report),
        })
    }
}

/// What a run did, as kept with the version: the loss curve and the held-out metrics
/// before and after.
fn report_json(r: &sprout_tune::TrainReport) -> Value {
    let class = |c: &Option<sprout_tune::ClassMetrics>| {
        c.map(|c| {
            json!({
                "examples": c.examples,
                "logp_per_token": c.logp_per_token,
                "reward": c.reward,
            })
        })
    };
    let held_out = |h: &sprout_tune::HeldOutMetrics| {
        json!({
            "desirable": class(&h.desirable),
            "undesirable": class(&h.undesirable),
            "logp_margin": h.logp_margin(),
            "reward_margin": h.reward_margin(),
        })
    };
    json!({
        "train_examples": r.train_examples,
        "held_out_examples": r.held_out_examples,
        "losses": r.losses,
        "steps": r.losses.len(),
        "mean_step_seconds": r.mean_step_seconds(),
        "reference_seconds": r.reference_seconds,
        "weights": r.weights,
        "held_out_before": held_out(&r.before),
        "held_out_after": held_out(&r.after),
        "peak_rss_bytes": r.peak_rss_bytes,
    })
}

/// Shared so the job and the feedback route agree on one training per process.
pub type TrainingLock = Arc<tokio::sync::Mutex<()>>;
