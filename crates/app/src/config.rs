//! Server configuration: what `main` wires in from flags and the environment.

use std::net::SocketAddr;
use std::time::Duration;

/// How long a parent's login lasts before they sign in again.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// A full batch of 10,000 samples is about 1.5 MB of JSON; 4 MiB leaves room for
/// verbose clients and still bounds what one request can make us hold.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Requests per minute per token unless configured: far above what a device uploading
/// every few seconds or a parent's app needs, low enough to stop a runaway client.
pub const DEFAULT_RATE_LIMIT: u32 = 6_000;

/// A secret that never prints (tokens, the admin token, URLs with credentials).
pub type Secret = sprout_domain::Sensitive<String>;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// Token for family administration (`SPROUT_ADMIN_TOKEN`); admin routes are closed without it.
    pub admin_token: Option<Secret>,
    pub token_ttl: Duration,
    pub body_limit: usize,
    /// When a child's analyses are refreshed after new data (see [`crate::refresh::Timing`]).
    pub refresh: crate::refresh::Timing,
    /// Who writes recommendations.
    pub writer: WriterSpec,
    /// How long raw samples are kept; older ones are folded into hourly aggregates and
    /// deleted. `None` keeps them for ever.
    pub raw_retention: Option<chrono::Duration>,
    /// How often retention runs (the first run is at start-up).
    pub retention_every: Duration,
    /// Redis shared by the nodes (`--redis URL`): live fan-out, cache, rate limits.
    pub redis: Option<Secret>,
    /// Requests per minute allowed to one token (`None`: no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// A sentence-embedding model's directory for retrieval (`None`: the hashing embedder).
    pub embed_model: Option<std::path::PathBuf>,
    /// Whether this node runs the periodic jobs (retention); off on API nodes whose
    /// deployment has a `sprout worker`.
    pub run_jobs: bool,
    /// The PostgreSQL database holding the durable job queue (`None`: refreshes run
    /// in-process, as they must with the embedded SQLite store).
    pub jobs_database: Option<Secret>,
    /// The job type this deployment's jobs carry in the queue.
    pub jobs_namespace: String,
    /// Fine-tuning of the local writer on parents' answers (`None`: off).
    pub finetune: Option<crate::finetune::FineTuneConfig>,
}

/// The recommendation writer, as `--writer` names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriterSpec {
    /// Deterministic grounded text (the default).
    #[default]
    Template,
    /// An OpenAI-compatible server: `openai:URL#MODEL`.
    OpenAi(String),
    /// A local GGUF model file: `gguf:PATH`.
    Gguf(std::path::PathBuf),
}

impl std::str::FromStr for WriterSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "template" {
            Ok(Self::Template)
        } else if let Some(spec) = text.strip_prefix("openai:") {
            Ok(Self::OpenAi(spec.to_owned()))
        } else if let Some(path) = text.strip_prefix("gguf:") {
            if path.is_empty() {
                return Err("gguf: needs the model file's path, as gguf:PATH".into());
            }
            Ok(Self::Gguf(path.into()))
        } else {
            Err(format!(
                "'{text}' is not a writer (template, gguf:PATH, openai:URL#MODEL)"
            ))
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            body_limit: DEFAULT_BODY_LIMIT,
            refresh: crate::refresh::Timing::default(),
            writer: WriterSpec::Template,
            raw_retention: None,
            retention_every: crate::retention::DEFAULT_EVERY,
            redis: None,
            rate_limit_per_minute: Some(DEFAULT_RATE_LIMIT),
            embed_model: None,
            run_jobs: true,
            jobs_database: None,
            jobs_namespace: "sprout::jobs".into(),
            finetune: None,
        }
    }
}
