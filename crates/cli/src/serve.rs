//! `sprout serve` and `sprout migrate`.

use anyhow::Context;
use clap::Args;
use sprout_server::{Application, Config, Secret};
use sprout_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the embedded database lives unless `--db` says otherwise.
pub const DEFAULT_DB: &str = "sprout-data/sprout.db";
/// Where fine-tuned adapters are written unless `--adapters` says otherwise.
pub const DEFAULT_ADAPTERS: &str = "sprout-data/adapters";

/// How the local writer's adapters are trained.
#[derive(Args, Clone)]
pub struct TrainSettingsArgs {
    /// Passes over the training data.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub train_epochs: u64,
    /// Stop after this many optimiser steps (bounds the time of one run).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub train_max_steps: Option<u64>,
    /// Sequences per optimiser step.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub train_batch_size: u64,
    /// Tokens per sequence; longer prompts lose their start.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(16..=4096))]
    pub train_max_seq_len: u64,
    /// Seed of the adapter's initialisation, the held-out split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub train_seed: u64,
}

impl TrainSettingsArgs {
    pub fn settings(&self) -> sprout_app::finetune::TrainSettings {
        sprout_app::finetune::TrainSettings {
            epochs: self.train_epochs as usize,
            max_steps: self.train_max_steps.map(|s| s as usize),
            batch_size: self.train_batch_size as usize,
            max_seq_len: self.train_max_seq_len as usize,
            seed: self.train_seed,
        }
    }
}

/// Fine-tuning of the local writer on parents' answers, in the background.
#[derive(Args)]
pub struct FineTuneArgs {
    /// Fine-tune the local writer (`--writer gguf:PATH`; a worker: `--finetune-base`)
    /// after every N answers from parents (see `--finetune-scope`); 0 never does.
    #[arg(long, default_value_t = sprout_app::finetune::DEFAULT_EVERY, env = "SPROUT_FINETUNE_EVERY")]
    pub finetune_every: u64,
    /// `pooled`: every N answers over all families train one shared version; `child`:
    /// every N answers about one child train that child's own version (tested together
    /// as the personal version against the active one).
    #[arg(long, default_value = "pooled", env = "SPROUT_FINETUNE_SCOPE")]
    pub finetune_scope: sprout_app::finetune::Scope,
    /// Directory for the adapters (nodes that serve them must see the same one).
    #[arg(long, default_value = DEFAULT_ADAPTERS, env = "SPROUT_ADAPTERS")]
    pub adapters: std::path::PathBuf,
    /// Share of children a fine-tuned candidate writes for in its experiment.
    #[arg(long, default_value_t = sprout_app::finetune::DEFAULT_CANDIDATE_SHARE, value_parser = share)]
    pub candidate_share: f64,
    #[command(flatten)]
    pub settings: TrainSettingsArgs,
}

fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err("must be a number between 0 and 1 (exclusive)".into()),
    }
}

impl FineTuneArgs {
    /// The configuration for a node whose local model is `base` (none: no fine-tuning).
    /// Training runs as this binary's `learn train` in a child process.
    fn config(
        &self,
        base: Option<&std::path::Path>,
        db: &str,
    ) -> anyhow::Result<Option<sprout_app::finetune::FineTuneConfig>> {
        let Some(base) = base.filter(|_| self.finetune_every > 0) else {
            return Ok(None);
        };
        let exe = std::env::current_exe().context("cannot find this program to run the trainer")?;
        Ok(Some(sprout_app::finetune::FineTuneConfig {
            base: base.to_path_buf(),
            adapters: self.adapters.clone(),
            every: self.finetune_every,
            scope: self.finetune_scope,
            settings: self.settings.settings(),
            trainer: sprout_app::finetune::Trainer::Process {
                exe,
                database: Secret::new(db),
            },
            candidate_share: self.candidate_share,
        }))
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten)]
    pub writer: WriterArgs,
    /// Requests per minute allowed to one token; 0 turns the limit off.
    #[arg(long, env = "SPROUT_RATE_LIMIT", default_value_t = sprout_server::config::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// A sentence-embedding model's directory (all-MiniLM-L6-v2 from
    /// `crates/embed/scripts/fetch-model.sh`, or a BGE-style model) for retrieving a
    /// child's notes and past recommendations by meaning; unset uses a lexical fallback.
    #[arg(long, env = "SPROUT_EMBED_MODEL")]
    pub embed_model: Option<std::path::PathBuf>,
    /// Leave the periodic jobs (retention) to a `sprout worker`.
    #[arg(long)]
    pub no_worker: bool,
    #[command(flatten)]
    pub finetune: FineTuneArgs,
}

/// Who writes recommendations (`serve` and `demo`).
#[derive(Args)]
pub struct WriterArgs {
    /// Who writes recommendations: `template`, `gguf:PATH` for a local GGUF model, or
    /// `openai:URL#MODEL` for an OpenAI-compatible server.
    #[arg(long, default_value = "template", env = "SPROUT_WRITER")]
    pub writer: sprout_server::WriterSpec,
}

/// What every node of a deployment shares: the database, Redis, the retention period.
#[derive(Args)]
pub struct NodeArgs {
    /// Database: a SQLite file path (`sqlite:PATH` also works) or `postgres://…`.
    #[arg(long, default_value = DEFAULT_DB, env = "SPROUT_DB")]
    pub db: String,
    /// Redis shared by several nodes (`redis://HOST:PORT`): live events reach every
    /// node's parents, the analysis cache and the rate limits are shared. Unset: all
    /// in-process (one node).
    #[arg(long, env = "SPROUT_REDIS")]
    pub redis: Option<String>,
    /// Keep raw samples this many days; older ones are folded into hourly aggregates
    /// (kept) and deleted. Unset keeps raw samples for ever.
    #[arg(long, env = "SPROUT_RETAIN_RAW_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retain_raw_days: Option<u32>,
    /// The job type this deployment's background jobs carry on the PostgreSQL job
    /// queue; deployments sharing one database keep their jobs apart by it.
    #[arg(long, env = "SPROUT_JOBS_NAMESPACE", default_value = "sprout::jobs")]
    pub jobs_namespace: String,
}

impl NodeArgs {
    fn apply(&self, config: Config) -> Config {
        // With PostgreSQL, background jobs go through its durable queue, so any node's
        // worker can run them; the embedded store runs them in-process.
        let postgres = self.db.starts_with("postgres://") || self.db.starts_with("postgresql://");
        Config {
            jobs_database: postgres.then(|| Secret::new(self.db.clone())),
            jobs_namespace: self.jobs_namespace.clone(),
            redis: self.redis.clone().map(Secret::new),
            raw_retention: self
                .retain_raw_days
                .map(|days| chrono::Duration::days(i64::from(days))),
            ..config
        }
    }
}

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// The local writer's GGUF file, to fine-tune it on parents' answers in this worker.
    #[arg(long, env = "SPROUT_FINETUNE_BASE")]
    pub finetune_base: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub finetune: FineTuneArgs,
}

#[derive(Args)]
pub struct MigrateArgs {
    /// Database: a SQLite file path (`sqlite:PATH` also works) or `postgres://…`.
    #[arg(long, default_value = DEFAULT_DB, env = "SPROUT_DB")]
    pub db: String,
}

/// Opens the store and brings its schema up to date.
pub async fn open_store(db: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = sprout_store::connect(db)
        .await
        .with_context(|| format!("cannot open the database {}", redact(db)))?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The server configuration from flags and the environment.
pub fn config(addr: SocketAddr) -> Config {
    let admin_token = std::env::var("SPROUT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    Config {
        addr,
        admin_token,
        ..Config::default()
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = open_store(&args.node.db).await?;
    let base = match &args.writer.writer {
        sprout_server::WriterSpec::Gguf(path) => Some(path.as_path()),
        _ => None,
    };
    let finetune = args.finetune.config(base, &args.node.db)?;
    let config = Config {
        finetune,
        writer: args.writer.writer,
        rate_limit_per_minute: (args.rate_limit > 0).then_some(args.rate_limit),
        embed_model: args.embed_model,
        run_jobs: !args.no_worker,
        ..args.node.apply(config(args.addr))
    };
    let app = Application::build(config, store)
        .await
        .with_context(|| format!("cannot start on {}", args.addr))?;
    println!("Sprout serving at http://{}", app.addr());
    app.run_until_stopped(sprout_server::shutdown_signal())
        .await
        .context("server failed")
}

/// `sprout worker`: the periodic jobs only, for deployments whose API nodes run
/// `--no-worker`.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let store = open_store(&args.node.db).await?;
    let config = Config {
        finetune: args
            .finetune
            .config(args.finetune_base.as_deref(), &args.node.db)?,
        ..args.node.apply(config(SocketAddr::from(([127, 0, 0, 1], 0))))
    };
    println!("Sprout worker running");
    sprout_app::run_worker(config, store, sprout_server::shutdown_signal())
        .await
        .context("worker failed")
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db).await?;
    println!("migrations applied ({})", store.backend().as_str());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://sprout:secret@db:5432/x"),
            "postgres://sprout:***@db:5432/x"
        );
        assert_eq!(
            super::redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(super::redact("sprout-data/sprout.db"), "sprout-data/sprout.db");
    }
}
