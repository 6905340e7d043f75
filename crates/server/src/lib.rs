//! Sprout's HTTP API: the only crate that speaks HTTP.
//!
//! [`Application::build`] binds the listener (port 0 in tests) and wires the routes to
//! a [`Store`]; [`Application::run_until_stopped`] serves until the shutdown future
//! resolves, then lets in-flight requests finish. Every input is validated at the edge
//! by the domain's parsers, and every error leaves as `{"error":{"code","message"}}`.

mod analysis;
mod archive;
pub mod auth;
mod cache;
pub mod config;
pub mod error;
mod extract;
pub mod finetune;
mod jobs;
pub mod live;
mod memory;
mod openapi;
pub mod outcomes;
mod paging;
mod population;
mod queue;
mod ratelimit;
mod recommend;
pub mod retention;
mod rollup;
mod routes;
mod security;
pub mod shared;
pub mod telemetry;
mod webapp;

pub use config::{Config, Secret, WriterSpec};
pub use finetune::{FineTuneConfig, TrainSettings, Trainer};
pub use jobs::Timing as RefreshTiming;
pub use openapi::openapi_json;

use sprout_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use telemetry::Telemetry;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub telemetry: Arc<Telemetry>,
    pub(crate) insights: Arc<cache::InsightCache>,
    pub live: Arc<live::Hub>,
    pub(crate) refresher: jobs::Refresher,
    /// The configured writer; a local model's fine-tuned versions come from it
    /// ([`sprout_coach::writer::Writer::adapted`]).
    pub(crate) writer: Arc<dyn sprout_coach::writer::Writer>,
    /// One fine-tuning run at a time in this process.
    pub(crate) training: finetune::TrainingLock,
    pub(crate) population: Arc<population::PopulationRegistry>,
    pub(crate) approvals: Arc<population::ApprovalPopulation>,
    pub(crate) logins: Arc<security::LoginGuard>,
    pub(crate) rate_limiter: Arc<ratelimit::RateLimiter>,
    pub(crate) memory: Arc<memory::Memory>,
    /// The durable job queue, where nodes share PostgreSQL.
    pub(crate) queue: Option<queue::JobQueue>,
}

/// Runs jobs only (`sprout worker`), until `shutdown` completes: the durable queue's
/// jobs (where nodes share PostgreSQL) and raw-sample retention, with the shared cache
/// and live events through Redis when configured. API nodes started with
/// `run_jobs: false` leave this work to it.
pub async fn run_worker(
    config: Config,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (state, _refresh_requests) = AppState::new(config, store).await?;
    let periodic = {
        let state = state.clone();
        async move {
            match state.config.raw_retention {
                Some(retention) => {
                    retention::run(
                        state.store.clone(),
                        state.insights.clone(),
                        retention,
                        state.config.retention_every,
                    )
                    .await
                }
                None => std::future::pending().await,
            }
        }
    };
    let queued = {
        let state = state.clone();
        async move {
            match state.queue.clone() {
                Some(queue) => queue::work(state, queue, std::future::pending()).await,
                None => std::future::pending().await,
            }
        }
    };
    tracing::info!(
        queue = state.queue.is_some(),
        retention = state.config.raw_retention.is_some(),
        "worker running"
    );
    let measured = outcomes::run(state.store.clone(), outcomes::DEFAULT_EVERY);
    tokio::select! {
        () = measured => {}
        () = periodic => {}
        () = queued => {}
        () = shutdown => tracing::info!("worker stopped"),
    }
    Ok(())
}

impl AppState {
    /// Everything a node needs, from its configuration: writer, Redis-backed or local
    /// shared parts, memory, the job queue; and the receiving end of its refresh requests.
    async fn new(
        config: Config,
        store: Arc<dyn Store>,
    ) -> std::io::Result<(Self, tokio::sync::mpsc::Receiver<sprout_domain::ChildId>)> {
        let (refresher, refresh_requests) = jobs::channel();
        let writer: Arc<dyn sprout_coach::writer::Writer> = match &config.writer {
            WriterSpec::Template => Arc::new(sprout_coach::writer::TemplateWriter::default()),
            WriterSpec::Gguf(path) => {
                let path = path.clone();
                let writer = tokio::task::spawn_blocking(move || sprout_writers::GgufWriter::load(&path))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
                tracing::info!(
                    version = sprout_coach::writer::Writer::model_version(&writer),
                    load_secs = writer.load_secs(),
                    "local model loaded"
                );
                Arc::new(writer)
            }
            WriterSpec::OpenAi(spec) => Arc::new(
                sprout_writers::OpenAiWriter::new(spec)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?,
            ),
        };
        let redis = match &config.redis {
            Some(url) => Some(shared::Redis::connect(url.expose()).await.map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    format!("cannot reach Redis: {e}"),
                )
            })?),
            None => None,
        };
        let (insights, live) = match &redis {
            Some(redis) => (
                cache::InsightCache::with_redis(redis),
                live::Hub::with_redis(redis),
            ),
            None => (cache::InsightCache::default(), live::Hub::default()),
        };
        let rate_limiter = ratelimit::RateLimiter::new(config.rate_limit_per_minute, redis.as_ref());
        let logins = match &redis {
            Some(redis) => security::LoginGuard::with_redis(redis),
            None => security::LoginGuard::default(),
        };
        let model = config.embed_model.clone();
        let memory = tokio::task::spawn_blocking(move || memory::Memory::load(model.as_deref()))
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        tracing::info!(embedder = memory.embedder_id(), "memory ready");
        let queue = match &config.jobs_database {
            Some(url) => Some(
                queue::JobQueue::connect(url.expose(), &config.jobs_namespace)
                    .await
                    .map_err(|e| std::io::Error::other(format!("cannot open the job queue: {e}")))?,
            ),
            None => None,
        };
        let state = AppState {
            store,
            config: Arc::new(config),
            telemetry: Arc::new(Telemetry::new()),
            insights: Arc::new(insights),
            live: Arc::new(live),
            rate_limiter: Arc::new(rate_limiter),
            memory: Arc::new(memory),
            refresher,
            writer,
            training: Arc::default(),
            population: Arc::default(),
            approvals: Arc::default(),
            logins: Arc::new(logins),
            queue,
        };
        Ok((state, refresh_requests))
    }
}

/// A bound, ready-to-serve Sprout server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
}

impl Application {
    pub async fn build(config: Config, store: Arc<dyn Store>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (state, refresh_requests) = AppState::new(config, store).await?;
        tokio::spawn(jobs::run(state.clone(), refresh_requests, state.config.refresh));
        if state.config.run_jobs {
            if let Some(queue) = state.queue.clone() {
                tokio::spawn(queue::work(state.clone(), queue, std::future::pending()));
            }
            tokio::spawn(outcomes::run(state.store.clone(), outcomes::DEFAULT_EVERY));
            if let Some(retention) = state.config.raw_retention {
                tokio::spawn(retention::run(
                    state.store.clone(),
                    state.insights.clone(),
                    retention,
                    state.config.retention_every,
                ));
            }
        }
        Ok(Self {
            listener,
            router: routes::router(state),
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves; requests already running are completed, so
    /// nothing the server acknowledged is lost.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
