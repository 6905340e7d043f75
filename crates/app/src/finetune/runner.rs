//! Running a training: in this process or as a `sprout learn train` child process, and
//! the version it registers with the figures it measured.

use super::{base_version, dataset, FineTuneConfig, FineTuneError, TrainSettings, Trainer};
use sha2::{Digest, Sha256};
use sprout_domain::ChildId;
use sprout_learn::registry::{self, ClassFigures, HeldOutFigures, ModelMetrics, Objective, TrainingFigures};
use sprout_learn::ModelStatus;
use sprout_store::{Store, StoredModel};
use sprout_writers::model_name;
use std::path::{Path, PathBuf};

/// Fewest consented answers worth training on.
const MIN_EXAMPLES: usize = 4;

/// Trains with `config`'s trainer: the version registered, or `None` when there is too
/// little to train on.
pub(super) async fn run(
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
