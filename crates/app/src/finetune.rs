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
//!
//! Which version writes for a child, where a run starts and what has been trained on
//! are the registry's rules (`sprout_learn::registry`).

use crate::live::{Happening, LiveEvent};
use crate::App;
use serde_json::json;
use sha2::{Digest, Sha256};
use sprout_domain::{ChildId, ConsentPurpose};
use sprout_learn::registry::{
    self, ClassFigures, HeldOutFigures, LeftOut, ModelMetrics, Objective, Personal, TrainingFigures,
};
use sprout_learn::ModelStatus;
use sprout_store::{FeedbackExample, Store, StoredExperiment, StoredModel};
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

/// The consented answers as training examples, and where they came from.
pub struct Dataset {
    pub examples: Vec<sprout_tune::KtoExample>,
    /// sha256 of the examples as KTO JSONL: the data snapshot id.
    pub snapshot: String,
    /// The JSONL itself (`prompt`, `completion`, `label`), as TRL's KTO trainer reads it.
    pub jsonl: String,
    /// Answers that could not be trained on, by reason.
    pub left_out: LeftOut,
}

/// Parents' answers that may be trained on: those of families who consented to
/// training, on recommendations whose prompt was kept; only `child`'s when given.
pub async fn dataset(store: &dyn Store, child: Option<ChildId>) -> Result<Dataset, FineTuneError> {
    let mut consents = TrainingConsents::new(store);
    let (mut examples, mut left_out) = (Vec::new(), LeftOut::default());
    let all = store.feedback_examples().await?;
    for answer in all.into_iter().filter(|e| child.is_none_or(|c| e.child_id == c)) {
        if !consents.allow(answer.child_id).await? {
            left_out.without_consent += 1;
            continue;
        }
        match kto_example(&answer) {
            Some(example) => examples.push(example),
            None => left_out.without_prompt += 1,
        }
    }
    let jsonl = jsonl(&examples);
    Ok(Dataset {
        examples,
        snapshot: crate::shared::hex(&Sha256::digest(jsonl.as_bytes())),
        jsonl,
        left_out,
    })
}

/// Each family's consent to training, asked once per child.
struct TrainingConsents<'a> {
    store: &'a dyn Store,
    known: HashMap<ChildId, bool>,
}

impl<'a> TrainingConsents<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            known: HashMap::new(),
        }
    }

    async fn allow(&mut self, child: ChildId) -> Result<bool, FineTuneError> {
        if let Some(allowed) = self.known.get(&child) {
            return Ok(*allowed);
        }
        let allowed = self.store.consents(child).await?.allows(ConsentPurpose::Training);
        self.known.insert(child, allowed);
        Ok(allowed)
    }
}

/// The example an answer teaches; `None` for a recommendation written before prompts
/// were kept.
fn kto_example(answer: &FeedbackExample) -> Option<sprout_tune::KtoExample> {
    let prompt = answer.details.get("prompt")?.as_str()?;
    // The prompt ends at "Recommendation:"; the completion is the text after it, up
    // to the writer's stop, so the model also learns where to end.
    Some(sprout_tune::KtoExample {
        prompt: prompt.to_owned(),
        completion: format!(" {}{}", answer.text, sprout_coach::prompt::STOP),
        desirable: answer.was_helpful,
    })
}

/// The examples as KTO JSONL, one line each, every line ended.
fn jsonl(examples: &[sprout_tune::KtoExample]) -> String {
    examples
        .iter()
        .map(|e| {
            let line = json!({ "prompt": e.prompt, "completion": e.completion, "label": e.desirable });
            format!("{line}\n")
        })
        .collect()
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
    if child.is_some() && registry::personal_lost(&models, &base) {
        return Ok(None);
    }
    let count = store.feedback_count(child).await?;
    let last = registry::trained_through(&models, &base, child);
    Ok((count >= last + config.every).then_some(count))
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
    let models = state.store.models().await?;
    if registry::trained_through(&models, &base_version(&config.base), child) >= through {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let Some(model) = run(state.store.as_ref(), config, child).await? else {
        return Ok(());
    };
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
        metrics: Some(Box::new(model.metrics.clone())),
    }));
    Ok(())
}

/// Starts `model`'s experiment against the active version; `None` when one is running.
async fn start_experiment(
    state: &App,
    model: &StoredModel,
    share: f64,
) -> Result<Option<StoredExperiment>, FineTuneError> {
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
    let (personal, experiment) = match registry::personal_for(&models, &model.base, chrono::Utc::now()) {
        None => (None, None),
        Some(Personal::Registered(existing)) => (Some(existing.version.clone()), None),
        Some(Personal::New(personal)) => {
            match state.store.register_model(&personal).await {
                Ok(_) | Err(sprout_store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let experiment = start_experiment(state, &personal, share).await?;
            (Some(personal.version), experiment)
        }
    };
    if let Some(found) = state.store.get_child(child).await? {
        let happening = Happening::ModelCandidate {
            version: model.version.clone(),
            personal_version: personal,
            experiment_id: experiment.as_ref().map(|e| e.id),
            metrics: Some(Box::new(model.metrics.clone())),
        };
        state
            .live
            .publish(LiveEvent::new(happening, found.family_id, child));
    }
    Ok(())
}

/// Trains with `config`'s trainer: the version registered, or `None` when there is too
/// little to train on.
async fn run(
    store: &dyn Store,
    config: &FineTuneConfig,
    child: Option<ChildId>,
) -> Result<Option<StoredModel>, FineTuneError> {
    match &config.trainer {
        Trainer::InProcess => train(store, config, child).await,
        Trainer::Process { exe, database } => train_in_child(store, exe, database, config, child).await,
    }
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
            without_consent = data.left_out.without_consent,
            "too few consented answers to fine-tune on yet"
        );
        return Ok(None);
    }
    let from = registry::starting_point(&models, &base, child);
    let job = TrainJob::new(config, &version, from.and_then(|m| m.adapter_path.as_deref()));
    let examples = data.examples.clone();
    let outcome = tokio::task::spawn_blocking(move || job.kto(&examples))
        .await
        .map_err(|e| FineTuneError::Other(e.to_string()))??;
    let metrics = ModelMetrics {
        objective: Some(Objective::Kto),
        child,
        trained_through: Some(feedback_count),
        examples: Some(data.examples.len()),
        left_out: Some(data.left_out),
        from_version: from.map(|m| m.version.clone()),
        report: Some(outcome.report),
        ..ModelMetrics::default()
    };
    let model = candidate(version, base, &outcome.dir, &data.snapshot, metrics);
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
    let snapshot = sft_snapshot(&examples);
    let version = format!("{}-sft-{}", model_name(&config.base), &snapshot[..12]);
    if let Some(existing) = store.models().await?.into_iter().find(|m| m.version == version) {
        return Ok(existing);
    }
    let job = TrainJob::new(config, &version, None);
    let outcome = tokio::task::spawn_blocking(move || job.sft(&examples))
        .await
        .map_err(|e| FineTuneError::Other(e.to_string()))??;
    let metrics = ModelMetrics {
        objective: Some(Objective::Sft),
        examples: Some(n),
        report: Some(outcome.report),
        ..ModelMetrics::default()
    };
    let model = candidate(
        version,
        base_version(&config.base),
        &outcome.dir,
        &snapshot,
        metrics,
    );
    store.register_model(&model).await?;
    Ok(model)
}

/// sha256 of the supervised examples, each prompt and completion ended by a zero byte.
fn sft_snapshot(examples: &[sprout_tune::Example]) -> String {
    let mut hasher = Sha256::new();
    for e in examples {
        hasher.update(e.prompt.as_bytes());
        hasher.update([0]);
        hasher.update(e.completion.as_bytes());
        hasher.update([0]);
    }
    crate::shared::hex(&hasher.finalize())
}

/// A newly trained version, registered as a candidate now.
fn candidate(
    version: String,
    base: String,
    adapter: &Path,
    snapshot: &str,
    metrics: ModelMetrics,
) -> StoredModel {
    StoredModel {
        version,
        base,
        adapter_path: Some(adapter.display().to_string()),
        data_snapshot: Some(format!("sha256:{snapshot}")),
        metrics,
        status: ModelStatus::Candidate,
        created_at: chrono::Utc::now(),
    }
}

/// Runs `sprout learn train` and waits for it: the version it registered, if any.
async fn train_in_child(
    store: &dyn Store,
    exe: &Path,
    database: &crate::Secret,
    config: &FineTuneConfig,
    child: Option<ChildId>,
) -> Result<Option<StoredModel>, FineTuneError> {
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
        .args(train_args(config, child))
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
    let Some(version) = reported_version(&output.stdout)? else {
        return Ok(None);
    };
    let model = store.models().await?.into_iter().find(|m| m.version == version);
    model.map(Some).ok_or_else(|| {
        FineTuneError::Other(format!("the trainer reported {version}, which is not registered"))
    })
}

/// The command line of `sprout learn train` for `config` (the database goes in the
/// environment, where other users cannot read it).
fn train_args(config: &FineTuneConfig, child: Option<ChildId>) -> Vec<String> {
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
    args
}

/// The version the trainer registered: its last line on standard output is the
/// version's JSON, or null.
fn reported_version(stdout: &[u8]) -> Result<Option<String>, FineTuneError> {
    let stdout = String::from_utf8_lossy(stdout);
    let last = stdout.lines().last().unwrap_or("null");
    let report: serde_json::Value =
        serde_json::from_str(last).map_err(|e| FineTuneError::Other(format!("the trainer's report: {e}")))?;
    Ok(report["version"].as_str().map(str::to_owned))
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
    report: TrainingFigures,
}

impl TrainJob {
    /// `version`'s run over `config`'s base, continuing from the adapter at `from`.
    fn new(config: &FineTuneConfig, version: &str, from: Option<&str>) -> Self {
        Self {
            gguf: config.base.clone(),
            from: from.map(PathBuf::from),
            dir: config.adapters.join(version),
            settings: config.settings.clone(),
        }
    }

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
            report: figures(report),
        })
    }
}

/// What a run did, as kept with the version: the loss curve and the held-out metrics
/// before and after.
fn figures(r: &sprout_tune::TrainReport) -> TrainingFigures {
    TrainingFigures {
        train_examples: r.train_examples,
        held_out_examples: r.held_out_examples,
        losses: r.losses.clone(),
        steps: r.losses.len(),
        mean_step_seconds: r.mean_step_seconds(),
        reference_seconds: r.reference_seconds,
        weights: r.weights,
        held_out_before: held_out(&r.before),
        held_out_after: held_out(&r.after),
        peak_rss_bytes: r.peak_rss_bytes,
    }
}

fn held_out(h: &sprout_tune::HeldOutMetrics) -> HeldOutFigures {
    let class = |c: &Option<sprout_tune::ClassMetrics>| {
        c.map(|c| ClassFigures {
            examples: c.examples,
            logp_per_token: c.logp_per_token,
            reward: c.reward,
        })
    };
    HeldOutFigures {
        desirable: class(&h.desirable),
        undesirable: class(&h.undesirable),
        logp_margin: h.logp_margin(),
        reward_margin: h.reward_margin(),
    }
}

/// Shared so the job and the feedback route agree on one training per process.
pub type TrainingLock = Arc<tokio::sync::Mutex<()>>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_parse() {
        assert_eq!("pooled".parse(), Ok(Scope::Pooled));
        assert_eq!("child".parse(), Ok(Scope::Child));
        assert!("family".parse::<Scope>().is_err());
    }

    #[test]
    fn a_runs_figures_are_kept_under_the_keys_versions_have_always_had() {
        let class = |examples, logp_per_token, reward| sprout_tune::ClassMetrics {
            examples,
            tokens: 40,
            logp_per_token,
            logp_per_sequence: logp_per_token * 20.0,
            reward,
        };
        let held_out = sprout_tune::HeldOutMetrics {
            desirable: Some(class(2, -1.5, Some(0.25))),
            undesirable: Some(class(1, -2.0, None)),
        };
        let report = sprout_tune::TrainReport {
            objective: sprout_tune::Objective::Kto,
            train_examples: 8,
            held_out_examples: 3,
            losses: vec![0.7, 0.6],
            step_seconds: vec![1.0, 2.0],
            step_cpu_seconds: vec![],
            reference_seconds: 0.0,
            reference_cpu_seconds: None,
            weights: Some((1.0, 1.5)),
            before: sprout_tune::HeldOutMetrics::default(),
            after: held_out,
            peak_rss_bytes: Some(3_000_000),
        };
        let metrics = ModelMetrics {
            report: Some(figures(&report)),
            ..ModelMetrics::default()
        };
        // A JSON object's keys are sorted, so the bytes are those the store and the API
        // have always had for these figures.
        let none =
            json!({"desirable": null, "undesirable": null, "logp_margin": null, "reward_margin": null});
        let expected = json!({ "report": {
            "train_examples": 8,
            "held_out_examples": 3,
            "losses": [0.7, 0.6],
            "steps": 2,
            "mean_step_seconds": 1.5,
            "reference_seconds": 0.0,
            "weights": [1.0, 1.5],
            "held_out_before": none,
            "held_out_after": {
                "desirable": {"examples": 2, "logp_per_token": -1.5, "reward": 0.25},
                "undesirable": {"examples": 1, "logp_per_token": -2.0, "reward": null},
                "logp_margin": 0.5,
                "reward_margin": null,
            },
            "peak_rss_bytes": 3_000_000,
        }});
        assert_eq!(
            serde_json::to_string(&metrics).expect("json"),
            expected.to_string()
        );
    }
}
