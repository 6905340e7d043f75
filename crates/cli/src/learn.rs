//! `sprout learn`: the feedback as a dataset for fine-tuning elsewhere, and adapters
//! trained elsewhere brought back as model versions.

use crate::serve::{open_store, DEFAULT_DB};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use sha2::{Digest, Sha256};
use sprout_domain::ConsentPurpose;
use sprout_store::StoredModel;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LearnCommand {
    /// Write parents' answers as KTO JSONL (`prompt`, `completion`, `label`), as TRL's
    /// KTOTrainer reads it; only children whose family consented to training.
    Export(ExportArgs),
    /// Register a LoRA adapter trained elsewhere as a candidate model version.
    ImportAdapter(ImportArgs),
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
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db).await?;
    let examples = store
        .feedback_examples()
        .await
        .context("cannot read the feedback")?;
    let mut consented: HashMap<sprout_domain::ChildId, bool> = HashMap::new();
    let mut lines = Vec::new();
    let (mut without_consent, mut without_prompt) = (0usize, 0usize);
    for example in examples {
        let allowed = match consented.get(&example.child_id) {
            Some(allowed) => *allowed,
            None => {
                let consents = store.consents(example.child_id).await?;
                let allowed = consents
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
        // The prompt ends at "Recommendation:"; the completion is the text after it.
        let line = json!({
            "prompt": prompt,
            "completion": format!(" {}", example.text),
            "label": example.was_helpful,
        });
        lines.push(serde_json::to_string(&line)?);
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    let snapshot = hex(&Sha256::digest(text.as_bytes()));
    eprintln!(
        "{} examples written (data snapshot {}); left out: {without_consent} without the family's consent to \
         training, {without_prompt} written before prompts were kept",
        lines.len(),
        &snapshot[..16]
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
        .with_context(|| format!("{} is not JSON", path.display()))?,
        None => json!({}),
    };
    let adapter = std::fs::canonicalize(&args.adapter)?;
    let store = open_store(&args.db).await?;
    let model = StoredModel {
        version: args.version.clone(),
        base: args.base,
        adapter_path: Some(adapter.display().to_string()),
        data_snapshot: Some(format!("sha256:{}", hex(&Sha256::digest(&bytes)))),
        metrics,
        status: "candidate".into(),
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
