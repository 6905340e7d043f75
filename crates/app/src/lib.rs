//! Sprout's use cases: everything a node does between the HTTP edge (`sprout-server`,
//! or the CLI) and the engines, behind one service handle, [`App`].
//!
//! * [`ingest`]: a child's new data stored, and what it sets off ([`App::data_changed`]:
//!   the cached analyses it makes stale go and a refresh is scheduled, debounced, by
//!   [`refresh`], in-process or as a job on the durable [`queue`] that a [`worker`]
//!   runs; the live alert; renewed advice);
//! * [`analysis`] with its [`cache`]: a child's data loaded and run through the engines
//!   on the blocking pool, kept until the data changes;
//! * [`recommend`]: gather the child's situation, choose the writer, write, check and
//!   store the recommendation; experiments between model versions;
//! * [`live`]: the events parents hear about at once, fanned out to every node;
//! * [`finetune`], [`outcomes`], [`memory`], [`population`], [`retention`], [`rollup`].
//!
//! Nothing here speaks HTTP: a use case fails with an [`AppError`], which the edge maps to
//! its error table and a background job logs as its own failure.

pub mod analysis;
pub mod cache;
pub mod config;
pub mod error;
pub mod finetune;
pub mod ingest;
pub mod live;
pub mod memory;
pub mod outcomes;
pub mod population;
pub mod queue;
pub mod recommend;
pub mod refresh;
pub mod retention;
pub mod rollup;
pub mod shared;
pub mod worker;

pub use config::{Config, Secret, WriterSpec};
pub use error::{AppError, AppResult};

use sprout_domain::ChildId;
use sprout_store::Store;
use std::future::Future;
use std::sync::Arc;

/// The service handle: what every use case can reach, built once per node from its
/// configuration. Cheap to clone (shared parts behind `Arc`s).
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// Analyses cached until the child's data changes (shared through Redis).
    pub insights: Arc<cache::InsightCache>,
    pub live: Arc<live::Hub>,
    pub refresher: refresh::Refresher,
    /// The configured writer; a local model's fine-tuned versions come from it
    /// ([`sprout_coach::writer::Writer::adapted`]).
    pub writer: Arc<dyn sprout_coach::writer::Writer>,
    /// One fine-tuning run at a time in this process.
    pub training: finetune::TrainingLock,
    pub population: Arc<population::PopulationRegistry>,
    pub approvals: Arc<population::ApprovalPopulation>,
    pub memory: Arc<memory::Memory>,
    /// The durable job queue, where nodes share PostgreSQL.
    pub queue: Option<queue::JobQueue>,
    /// The Redis the nodes share, when configured (the edge's rate limits use it too).
    pub redis: Option<shared::Redis>,
}

impl App {
    /// Everything a node needs, from its configuration: writer, Redis-backed or local
    /// shared parts, memory, the job queue; and the receiving end of its refresh requests
    /// (for [`App::run_refreshes`]).
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
    ) -> std::io::Result<(Self, tokio::sync::mpsc::Receiver<ChildId>)> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let (refresher, refresh_requests) = refresh::channel();
        let writer: Arc<dyn sprout_coach::writer::Writer> = match &config.writer {
            WriterSpec::Template => Arc::new(sprout_coach::writer::TemplateWriter::default()),
            WriterSpec::Gguf(path) => {
                let path = path.clone();
                let writer = tokio::task::spawn_blocking(move || sprout_writers::GgufWriter::load(&path))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(|e| invalid(e.to_string()))?;
                tracing::info!(
                    version = sprout_coach::writer::Writer::model_version(&writer),
                    load_secs = writer.load_secs(),
                    "local model loaded"
                );
                Arc::new(writer)
            }
            WriterSpec::OpenAi(spec) => {
                Arc::new(sprout_writers::OpenAiWriter::new(spec).map_err(|e| invalid(e.to_string()))?)
            }
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
        let model = config.embed_model.clone();
        let memory = tokio::task::spawn_blocking(move || memory::Memory::load(model.as_deref()))
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| invalid(e.to_string()))?;
        tracing::info!(embedder = memory.embedder_id(), "memory ready");
        let queue = match &config.jobs_database {
            Some(url) => Some(
                queue::JobQueue::connect(url.expose(), &config.jobs_namespace)
                    .await
                    .map_err(|e| std::io::Error::other(format!("cannot open the job queue: {e}")))?,
            ),
            None => None,
        };
        let app = App {
            store,
            config: Arc::new(config),
            insights: Arc::new(insights),
            live: Arc::new(live),
            memory: Arc::new(memory),
            refresher,
            writer,
            training: Arc::default(),
            population: Arc::default(),
            approvals: Arc::default(),
            queue,
            redis,
        };
        Ok((app, refresh_requests))
    }

    /// Runs this node's refreshes as its refresh requests arrive (in-process, or pushed
    /// to the durable queue), until the requests end.
    pub async fn run_refreshes(self, requests: tokio::sync::mpsc::Receiver<ChildId>) {
        let timing = self.config.refresh;
        refresh::run(self, requests, timing).await;
    }

    /// Starts the periodic and queued work of a node that runs jobs (`run_jobs`): the
    /// durable queue's jobs, outcome measurement and raw-sample retention.
    pub fn spawn_jobs(&self) {
        if let Some(queue) = self.queue.clone() {
            tokio::spawn(worker::work(self.clone(), queue, std::future::pending()));
        }
        tokio::spawn(outcomes::run(self.store.clone(), outcomes::DEFAULT_EVERY));
        if let Some(retention) = self.config.raw_retention {
            tokio::spawn(retention::run(
                self.store.clone(),
                self.insights.clone(),
                retention,
                self.config.retention_every,
            ));
        }
    }
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
    let (app, _refresh_requests) = App::new(config, store).await?;
    let periodic = {
        let app = app.clone();
        async move {
            match app.config.raw_retention {
                Some(retention) => {
                    retention::run(
                        app.store.clone(),
                        app.insights.clone(),
                        retention,
                        app.config.retention_every,
                    )
                    .await
                }
                None => std::future::pending().await,
            }
        }
    };
    let queued = {
        let app = app.clone();
        async move {
            match app.queue.clone() {
                Some(queue) => worker::work(app, queue, std::future::pending()).await,
                None => std::future::pending().await,
            }
        }
    };
    tracing::info!(
        queue = app.queue.is_some(),
        retention = app.config.raw_retention.is_some(),
        "worker running"
    );
    let measured = outcomes::run(app.store.clone(), outcomes::DEFAULT_EVERY);
    tokio::select! {
        () = measured => {}
        () = periodic => {}
        () = queued => {}
        () = shutdown => tracing::info!("worker stopped"),
    }
    Ok(())
}
