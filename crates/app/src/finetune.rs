//! Fine-tuning the local writer on parents' answers, in the background, never in a request.
//!
//! Every `every` answers (default 10), a job trains a LoRA adapter with KTO on the
//! answers of families who consented to training, against the frozen starting model as
//! reference, and registers it as a candidate version with its loss curve, held-out
//! metrics and the snapshot id of its data. The candidate then faces the active version
//! in an A/B experiment (when none is running), and is announced (`model.candidate`).
//!
//! - **Pooled or per child** ([`Scope`]). Pooled (the default) counts and trains on all
//!   families' answers: one family's ten answers teach a 270M model little. Per child,
//!   every `every` answers about one child train that child's own adapter on that child's
//!   answers only, continuing from the child's previous adapter or else from the version
//!   the child is served. A child's own version cannot be A/B-tested alone (one child is
//!   one arm), so the child versions are tested together: the first one registers the
//!   *personal* version `<stem>-personal-<id of the active version>`, which writes for
//!   each child with the child's newest own adapter and for a child without one with the
//!   version that was active when it was made, and which faces that version in an
//!   experiment like any candidate. Promoted, every child is written for by their own
//!   newest adapter from then on; rolled back, the child adapters are not served, and
//!   none are trained until another version is active (the personal version is not
//!   tried again against the same one).
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

use crate::live::{Happening, LiveEvent};
use crate::App;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sprout_domain::{ChildId, ConsentPurpose};
use sprout_learn::ModelStatus;
use sprout_store::{Store, StoredModel};
use sprout_writers::model_name;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the base in the registry: the version its `gguf:` writer reports.
pub use sprout_writers::base_version;

/// Answers between two training runs unless configured.
pub const DEFAULT_EVERY: u64 = 10;
/// Fewest consented answers worth training on.
const MIN_EXAMPLES: usize = 4;
/// Share of children a new candidate writes for in its experiment.
pub const DEFAULT_CANDIDATE_SHARE: f64 = 0.5;
/// `objective` of the personal version (see the module docs).
pub const PERSONAL: &str = "personal";

/// Whose answers count towards a training run and are trained on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every family's: one shared adapter.
    #[default]
    Pooled,
    /// One child's: an adapter per child.
    Child,
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pooled" => Ok(Self::Pooled),
            "child" => Ok(Self::Child),
            _ => Err(format!("'{text}' is not a fine-tuning scope (pooled, child)")),
        }
    }
}

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
    /// Whose answers count and train.
    pub scope: Scope,
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
/// training, on recommendations whose prompt was kept; only `child`'s when given.
pub async fn dataset(store: &dyn Store, child: Option<ChildId>) -> Result<Dataset, FineTuneError> {
    let mut consented: HashMap<ChildId, bool> = HashMap::new();
    let (mut examples, mut lines) = (Vec::new(), Vec::new());
    let (mut without_consent, mut without_prompt) = (0, 0);
    let all = store.feedback_examples().await?;
    for example in all.into_iter().filter(|e| child.is_none_or(|c| e.child_id == c)) {
        let allowed = match consented.get(&example.child_id) {
            Some(allowed) => *allowed,
            None => {
                let allowed = store
                    .consents(example.child_id)
                    .await?
                    .allows(ConsentPurpose::Training);
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

/// The child a version was trained for, if it is a child's own.
pub fn child_of(model: &StoredModel) -> Option<ChildId> {
    model.metrics["child_id"].as_str()?.parse().ok()
}

/// Answers already trained on by the newest KTO version of `base` (0 if none): the
/// pooled versions', or `child`'s own versions'.
fn trained_through(models: &[StoredModel], base: &str, child: Option<ChildId>) -> u64 {
    models
        .iter()
        .filter(|m| m.base == base && m.metrics["objective"] == "kto" && child_of(m) == child)
        .filter_map(|m| m.metrics["feedback_count"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The number of answers so far (about `child` in the child scope) when enough new ones
/// arrived since the last training run; `None` otherwise.
async fn due(
    store: &dyn Store,
    config: &FineTuneConfig,
    child: Option<ChildId>,
) -> Result<Option<u64>, FineTuneError> {
    if config.every == 0 {
        return Ok(None);
    }
    let (models, base) = (store.models().await?, base_version(&config.base));
    if child.is_some() && personal_lost(&models, &base) {
        return Ok(None);
    }
    let count = store.feedback_count(child).await?;
    let last = trained_through(&models, &base, child);
    Ok((count >= last + config.every).then_some(count))
}

/// Whether the personal version lost its experiment against the active version: child
/// versions would not be served, so none are trained until the active version changes.
fn personal_lost(models: &[StoredModel], base: &str) -> bool {
    let Some(active) = models.iter().find(|m| m.status == ModelStatus::Active) else {
        return false;
    };
    let personal = personal_version(base, &active.version);
    models
        .iter()
        .any(|m| m.version == personal && m.status == ModelStatus::Retired)
}

/// After an answer about `child` is stored: schedules a training run when one is due.
/// Never fails the answer; a run that cannot be scheduled now is scheduled by a later
/// answer.
pub async fn after_feedback(state: &App, child: ChildId) {
    let Some(config) = &state.config.finetune else {
        return;
    };
    let child = (config.scope == Scope::Child).then_some(child);
    let through = match due(state.store.as_ref(), config, child).await {
        Ok(Some(count)) => count,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether fine-tuning is due");
            return;
        }
    };
    if let Some(queue) = &state.queue {
        match queue.push(crate::queue::Job::FineTune { through, child }).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot queue fine-tuning; running it here"),
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run_job(&state, through, child).await {
            tracing::warn!(error = %e, "fine-tuning failed; the next answers schedule another run");
        }
    });
}

/// The job: trains unless a version already covers the first `through` answers (about
/// `child`, in the child scope; one run at a time per process), then announces the
/// candidate and starts its experiment. The node that saw the answers decided the run
/// was due; the worker only avoids repeating it.
pub async fn run_job(state: &App, through: u64, child: Option<ChildId>) -> Result<(), FineTuneError> {
    let Some(config) = &state.config.finetune else {
        return Err(FineTuneError::Other(
            "this node has no local model to fine-tune (start it with --writer gguf:PATH)".into(),
        ));
    };
    let _one_at_a_time = state.training.lock().await;
    if trained_through(&state.store.models().await?, &base_version(&config.base), child) >= through {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let trained = match &config.trainer {
        Trainer::InProcess => train(state.store.as_ref(), config, child).await?,
        Trainer::Process { exe, database } => {
            train_in_child(state.store.as_ref(), exe, database, config, child).await?
        }
    };
    let Some(model) = trained else { return Ok(()) };
    tracing::info!(
        version = model.version,
        seconds = started.elapsed().as_secs_f64(),
        "fine-tuned candidate registered"
    );
    match child {
        None => announce(state, &model, config.candidate_share).await,
        Some(child) => announce_personal(state, &model, child, config.candidate_share).await,
    }
}

/// Publishes `model.candidate` and starts the candidate's experiment against the active
/// version, unless one is running (the candidate then waits for an administrator).
async fn announce(state: &App, model: &StoredModel, share: f64) -> Result<(), FineTuneError> {
    let experiment = start_experiment(state, model, share).await?;
    state.live.publish(LiveEvent::everyone(Happening::ModelCandidate {
        version: model.version.clone(),
        personal_version: None,
        experiment_id: experiment.as_ref().map(|e| e.id),
        metrics: Some(model.metrics.clone()),
    }));
    Ok(())
}

/// Starts `model`'s experiment against the active version; `None` when one is running.
async fn start_experiment(
    state: &App,
    model: &StoredModel,
    share: f64,
) -> Result<Option<sprout_store::StoredExperiment>, FineTuneError> {
    match state
        .store
        .start_experiment(&model.version, &model.base, share)
        .await
    {
        Ok(experiment) => Ok(Some(experiment)),
        Err(sprout_store::StoreError::Conflict { .. }) => {
            tracing::info!(
                version = model.version,
                "an experiment is running; the candidate waits"
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A child's own new version: announced to the child's family, and tested through the
/// personal version (made, and its experiment started, when there is none yet for the
/// active version).
async fn announce_personal(
    state: &App,
    model: &StoredModel,
    child: ChildId,
    share: f64,
) -> Result<(), FineTuneError> {
    let models = state.store.models().await?;
    let active = models.iter().find(|m| m.status == ModelStatus::Active);
    let mut experiment = None;
    let personal = match active {
        // Personal versions already serve: the child's new adapter writes from now on.
        Some(active) if active.metrics["objective"] == PERSONAL => Some(active.version.clone()),
        Some(active) => {
            let version = personal_version(&model.base, &active.version);
            match models.iter().find(|m| m.version == version) {
                // Waiting or in its experiment; rolled back stays rolled back.
                Some(existing) => Some(existing.version.clone()),
                None => {
                    let personal = StoredModel {
                        version: version.clone(),
                        base: model.base.clone(),
                        adapter_path: None,
                        data_snapshot: None,
                        metrics: json!({ "objective": PERSONAL, "fallback_version": active.version }),
                        status: ModelStatus::Candidate,
                        created_at: chrono::Utc::now(),
                    };
                    match state.store.register_model(&personal).await {
                        Ok(_) | Err(sprout_store::StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                    experiment = start_experiment(state, &personal, share).await?;
                    Some(version)
                }
            }
        }
        None => None,
    };
    if let Some(found) = state.store.get_child(child).await? {
        let happening = Happening::ModelCandidate {
            version: model.version.clone(),
            personal_version: personal,
            experiment_id: experiment.as_ref().map(|e| e.id),
            metrics: Some(model.metrics.clone()),
        };
        state
            .live
            .publish(LiveEvent::new(happening, found.family_id, child));
    }
    Ok(())
}

/// The personal version of `base` tested against (or falling back to) `active`.
fn personal_version(base: &str, active: &str) -> String {
    let stem = base.strip_prefix("gguf:").unwrap_or(base);
    let id = crate::shared::hex(&Sha256::digest(active.as_bytes()));
    format!("{stem}-personal-{}", &id[..12])
}

/// The name of the version that writes when `version` is asked to write for `child`
/// ([`resolve`]; `version` itself when it is not registered).
pub fn writing_version<'a>(models: &'a [StoredModel], version: &'a str, child: Option<ChildId>) -> &'a str {
    resolve(models, version, child).map_or(version, |m| m.version.as_str())
}

/// The registered version that writes when `version` is asked to write for `child`: the
/// version itself, or for a personal version the child's newest own version, else (no
/// child, or none of theirs) its fallback's.
pub fn resolve<'a>(
    models: &'a [StoredModel],
    version: &str,
    child: Option<ChildId>,
) -> Option<&'a StoredModel> {
    let model = models.iter().find(|m| m.version == version)?;
    if model.metrics["objective"] != PERSONAL {
        return Some(model);
    }
    let own = child.and_then(|child| {
        models
            .iter()
            .filter(|m| m.base == model.base && m.adapter_path.is_some() && child_of(m) == Some(child))
            .max_by_key(|m| m.created_at)
    });
    own.or_else(|| {
        let fallback = model.metrics["fallback_version"].as_str()?;
        // A fallback is never itself personal (it was the active version then).
        models
            .iter()
            .find(|m| m.version == fallback && m.metrics["objective"] != PERSONAL)
    })
}

/// Runs `sprout learn train` and waits for it.
async fn train_in_child(
    store: &dyn Store,
    exe: &Path,
    database: &crate::Secret,
    config: &FineTuneConfig,
    child: Option<ChildId>,
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
    if let Some(child) = child {
        args.extend(["--child".into(), child.to_string()]);
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

/// The version that training continues from: the adapter that writes for `child` (or
/// for everyone, pooled) under the active version when it is a fine-tuned version of
/// `base`, else the newest supervised first adapter of `base`.
fn starting_point<'a>(
    models: &'a [StoredModel],
    base: &str,
    child: Option<ChildId>,
) -> Option<&'a StoredModel> {
    let adapted = |m: &&StoredModel| m.base == base && m.adapter_path.is_some();
    let own = child.and_then(|child| {
        models
            .iter()
            .filter(adapted)
            .filter(|m| child_of(m) == Some(child))
            .max_by_key(|m| m.created_at)
    });
    own.or_else(|| {
        let active = models.iter().find(|m| m.status == ModelStatus::Active)?;
        resolve(models, &active.version, child).filter(adapted)
    })
    .or_else(|| {
        models
            .iter()
            .filter(adapted)
            .find(|m| m.metrics["objective"] == "sft")
    })
}

/// Trains a KTO candidate on the consented answers (about `child` only, when given: the
/// child's own version) and registers it; `None` when there is too little to train on.
/// Idempotent: the same data registers the same version once.
pub async fn train(
    store: &dyn Store,
    config: &FineTuneConfig,
    child: Option<ChildId>,
) -> Result<Option<StoredModel>, FineTuneError> {
    let feedback_count = store.feedback_count(child).await?;
    let data = dataset(store, child).await?;
    let base = base_version(&config.base);
    let version = format!("{}-kto-{}", model_name(&config.base), &data.snapshot[..12]);
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
    let from = starting_point(&models, &base, child).cloned();
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
            "child_id": child,
            "feedback_count": feedback_count,
            "examples": data.examples.len(),
            "left_out": { "without_consent": data.without_consent, "without_prompt": data.without_prompt },
            "from_version": from.map(|m| m.version),
            "report": outcome.report,
        }),
        status: ModelStatus::Candidate,
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
    let version = format!("{}-sft-{}", model_name(&config.base), &snapshot[..12]);
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
        status: ModelStatus::Candidate,
        created_at: chrono::Utc::now(),
    };
    store.register_model(&model).await?;
    Ok(model)
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "gguf:gemma";

    fn version(name: &str, status: &str, minutes: i64, metrics: Value, adapter: bool) -> StoredModel {
        StoredModel {
            version: name.into(),
            base: BASE.into(),
            adapter_path: adapter.then(|| format!("/adapters/{name}")),
            data_snapshot: None,
            metrics,
            status: status.parse().expect("a model status"),
            created_at: chrono::DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes),
        }
    }

    /// The template (active), a pooled adapter, two own versions of one child and one of
    /// another, and the personal version over the template.
    fn registry(ada: ChildId, ben: ChildId) -> Vec<StoredModel> {
        vec![
            version("template-1", "active", 0, json!({}), false),
            version("sft", "candidate", 1, json!({"objective": "sft"}), true),
            version(
                "ada-1",
                "candidate",
                2,
                json!({"objective": "kto", "child_id": ada, "feedback_count": 10}),
                true,
            ),
            version(
                "ada-2",
                "candidate",
                3,
                json!({"objective": "kto", "child_id": ada, "feedback_count": 20}),
                true,
            ),
            version(
                "ben-1",
                "candidate",
                4,
                json!({"objective": "kto", "child_id": ben, "feedback_count": 10}),
                true,
            ),
            version(
                "personal",
                "candidate",
                5,
                json!({"objective": PERSONAL, "fallback_version": "template-1"}),
                false,
            ),
        ]
    }

    #[test]
    fn the_personal_version_writes_with_each_childs_newest_adapter_or_its_fallback() {
        let (ada, ben, cleo) = (ChildId::new(), ChildId::new(), ChildId::new());
        let models = registry(ada, ben);
        let writes = |child| resolve(&models, "personal", child).map(|m| m.version.as_str());
        assert_eq!(writes(Some(ada)), Some("ada-2"));
        assert_eq!(writes(Some(ben)), Some("ben-1"));
        assert_eq!(writes(Some(cleo)), Some("template-1"));
        assert_eq!(writes(None), Some("template-1"));
        // Any other version writes as itself, whoever it writes for.
        assert_eq!(
            resolve(&models, "ada-1", Some(ben)).map(|m| m.version.as_str()),
            Some("ada-1")
        );
        assert!(resolve(&models, "unknown", Some(ada)).is_none());
    }

    #[test]
    fn training_counts_and_continues_per_child_or_pooled() {
        let (ada, ben, cleo) = (ChildId::new(), ChildId::new(), ChildId::new());
        let mut models = registry(ada, ben);
        assert_eq!(trained_through(&models, BASE, Some(ada)), 20);
        assert_eq!(trained_through(&models, BASE, Some(cleo)), 0);
        assert_eq!(
            trained_through(&models, BASE, None),
            0,
            "child versions are not pooled ones"
        );
        let from =
            |models: &[StoredModel], child| starting_point(models, BASE, child).map(|m| m.version.clone());
        assert_eq!(
            from(&models, Some(ada)).as_deref(),
            Some("ada-2"),
            "a child continues from their own"
        );
        assert_eq!(from(&models, Some(cleo)).as_deref(), Some("sft"));
        assert_eq!(from(&models, None).as_deref(), Some("sft"));
        // Once the personal version is active, a child without their own version starts
        // from what writes for them (its fallback, here a pooled adapter).
        models[0].status = ModelStatus::Retired;
        models.push(version("pooled", "retired", 6, json!({"objective": "kto"}), true));
        models[5].status = ModelStatus::Active;
        models[5].metrics["fallback_version"] = json!("pooled");
        assert_eq!(from(&models, Some(cleo)).as_deref(), Some("pooled"));
        assert_eq!(from(&models, Some(ben)).as_deref(), Some("ben-1"));
    }

    #[test]
    fn no_child_versions_are_trained_while_the_personal_version_has_lost() {
        let mut models = registry(ChildId::new(), ChildId::new());
        models[5].version = personal_version(BASE, "template-1");
        assert!(!personal_lost(&models, BASE), "in its experiment");
        models[5].status = ModelStatus::Retired;
        assert!(personal_lost(&models, BASE));
        // A new active version gets its own chance.
        models[0].status = ModelStatus::Retired;
        models[1].status = ModelStatus::Active;
        assert!(!personal_lost(&models, BASE));
    }

    #[test]
    fn the_personal_version_is_named_after_the_version_it_replaces() {
        let a = personal_version(BASE, "template-1");
        assert!(a.starts_with("gemma-personal-"), "{a}");
        assert_eq!(a, personal_version(BASE, "template-1"));
        assert_ne!(a, personal_version(BASE, "gemma-kto-0123"));
    }

    #[test]
    fn scopes_parse() {
        assert_eq!("pooled".parse(), Ok(Scope::Pooled));
        assert_eq!("child".parse(), Ok(Scope::Child));
        assert!("family".parse::<Scope>().is_err());
    }
}
