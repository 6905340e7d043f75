//! `sprout learn`: fine-tuning the local writer (a first supervised adapter, then KTO on
//! parents' answers), the feedback as a dataset for fine-tuning elsewhere, and adapters
//! trained elsewhere brought back as model versions.

use crate::serve::{open_store, DEFAULT_DB};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use sha2::{Digest, Sha256};
use sprout_store::StoredModel;
use sprout_store::{ModelMetrics, ModelStatus};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LearnCommand {
    /// Write parents' answers as KTO JSONL (`prompt`, `completion`, `label`), as TRL's
    /// KTOTrainer reads it; only children whose family consented to training.
    Export(ExportArgs),
    /// Register a LoRA adapter trained elsewhere as a candidate model version.
    ImportAdapter(ImportArgs),
    /// Fine-tune the local GGUF writer with KTO on parents' answers (consented families
    /// only) and register the adapter as a candidate version. What `sprout serve` runs in
    /// the background every N answers; prints the version's JSON (or null) last.
    Train(TrainArgs),
    /// Train the first adapter of the local GGUF writer, supervised, on good
    /// recommendations (the template writer's texts for varied facts), and register it
    /// as a candidate version; KTO on parents' answers continues from it.
    Sft(SftArgs),
}

/// The model, where adapters go, and how to train.
#[derive(Args)]
pub struct TrainingArgs {
    #[arg(long, default_value = DEFAULT_DB, env = "SPROUT_DB")]
    pub db: String,
    /// The GGUF file of the local writer.
    #[arg(long)]
    pub base: PathBuf,
    /// Directory that receives one adapter directory per version.
    #[arg(long, default_value = crate::serve::DEFAULT_ADAPTERS, env = "SPROUT_ADAPTERS")]
    pub adapters: PathBuf,
    #[command(flatten)]
    pub settings: crate::serve::TrainSettingsArgs,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Train this child's own version on the answers about this child only (the
    /// per-child scope); unset trains the pooled version on everyone's.
    #[arg(long)]
    pub child: Option<sprout_domain::ChildId>,
}

#[derive(Args)]
pub struct SftArgs {
    #[command(flatten)]
    pub training: TrainingArgs,
    /// How many good examples to train on.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(4..=100_000))]
    pub examples: u64,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, default_value = DEFAULT_DB, env = "SPROUT_DB")]
    pub db: String,
    /// Where to write the JSONL; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long, default_value = DEFAULT_DB, env = "SPROUT_DB")]
    pub db: String,
    /// The adapter file (safetensors).
    #[arg(long)]
    pub adapter: PathBuf,
    /// The new version's name, e.g. `gemma3-270m-kto-2`.
    #[arg(long)]
    pub version: String,
    /// The model the adapter applies to, e.g. `gemma3-270m-q4_k_m`.
    #[arg(long)]
    pub base: String,
    /// A JSON file of the training metrics, kept with the version.
    #[arg(long)]
    pub metrics: Option<PathBuf>,
}

pub async fn run(command: LearnCommand) -> anyhow::Result<()> {
    match command {
        LearnCommand::Export(args) => export(args).await,
        LearnCommand::ImportAdapter(args) => import_adapter(args).await,
        LearnCommand::Train(args) => train(args).await,
        LearnCommand::Sft(args) => sft(args).await,
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db).await?;
    let data = sprout_app::finetune::dataset(store.as_ref(), None)
        .await
        .context("cannot read the feedback")?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &data.jsonl).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => std::io::stdout().write_all(data.jsonl.as_bytes())?,
    }
    eprintln!(
        "{} examples written (data snapshot {}); left out: {} without the family's consent to \
         training, {} written before prompts were kept",
        data.examples.len(),
        &data.snapshot[..16],
        data.left_out.without_consent,
        data.left_out.without_prompt
    );
    Ok(())
}

async fn import_adapter(args: ImportArgs) -> anyhow::Result<()> {
    if args.version.trim().is_empty() || args.version.len() > 100 {
        bail!("--version must be 1 to 100 characters");
    }
    let bytes =
        std::fs::read(&args.adapter).with_context(|| format!("cannot read {}", args.adapter.display()))?;
    check_safetensors(&bytes)
        .with_context(|| format!("{} is not a safetensors adapter", args.adapter.display()))?;
    let metrics = match &args.metrics {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a JSON object", path.display()))?,
        None => ModelMetrics::default(),
    };
    let adapter = std::fs::canonicalize(&args.adapter)?;
    let store = open_store(&args.db).await?;
    let model = StoredModel {
        version: args.version.clone(),
        base: args.base,
        adapter_path: Some(adapter.display().to_string()),
        data_snapshot: Some(format!("sha256:{}", hex(&Sha256::digest(&bytes)))),
        metrics,
        status: ModelStatus::Candidate,
        created_at: chrono::Utc::now(),
    };
    if !store.register_model(&model).await? {
        bail!("version '{}' exists already", args.version);
    }
    println!(
        "registered {} as a candidate; start an experiment with POST /api/v1/experiments",
        args.version
    );
    Ok(())
}

/// A safetensors file starts with the length of its JSON header, then the header.
fn check_safetensors(bytes: &[u8]) -> anyhow::Result<()> {
    let Some(length) = bytes.get(..8) else {
        bail!("too short")
    };
    let length = u64::from_le_bytes(length.try_into()?) as usize;
    let header = bytes
        .get(8..8usize.saturating_add(length))
        .context("the header is cut short")?;
    let header: serde_json::Value = serde_json::from_slice(header).context("the header is not JSON")?;
    let tensors = header
        .as_object()
        .map_or(0, |h| h.keys().filter(|k| *k != "__metadata__").count());
    if tensors == 0 {
        bail!("no tensors in it");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TrainingArgs {
    fn config(&self) -> anyhow::Result<sprout_app::finetune::FineTuneConfig> {
        if !self.base.is_file() {
            bail!("--base {} is not a file", self.base.display());
        }
        Ok(sprout_app::finetune::FineTuneConfig {
            base: self.base.clone(),
            adapters: self.adapters.clone(),
            every: sprout_app::finetune::DEFAULT_EVERY,
            scope: sprout_app::finetune::Scope::default(),
            settings: self.settings.settings(),
            trainer: sprout_app::finetune::Trainer::InProcess,
            candidate_share: sprout_app::finetune::DEFAULT_CANDIDATE_SHARE,
        })
    }
}

async fn train(args: TrainArgs) -> anyhow::Result<()> {
    let config = args.training.config()?;
    let store = open_store(&args.training.db).await?;
    let model = sprout_app::finetune::train(store.as_ref(), &config, args.child)
        .await
        .context("fine-tuning failed")?;
    match &model {
        Some(m) => eprintln!("registered {} (candidate)", m.version),
        None => eprintln!("too few consented answers to train on yet"),
    }
    println!(
        "{}",
        serde_json::to_string(&model.map(|m| json!({ "version": m.version, "metrics": m.metrics })))?
    );
    Ok(())
}

async fn sft(args: SftArgs) -> anyhow::Result<()> {
    let config = args.training.config()?;
    let store = open_store(&args.training.db).await?;
    let model = sprout_app::finetune::train_initial(store.as_ref(), &config, args.examples as usize)
        .await
        .context("supervised training failed")?;
    eprintln!(
        "registered {} (candidate); start an experiment with POST /api/v1/experiments",
        model.version
    );
    println!(
        "{}",
        serde_json::to_string(&json!({ "version": model.version, "metrics": model.metrics }))?
    );
    Ok(())
}
