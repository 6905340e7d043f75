//! A worker: takes jobs from the durable [`crate::queue`] and runs each with the use case
//! it names (a child's refresh, a fine-tuning run).

use crate::queue::{Job, JobQueue};
use crate::App;
use apalis_core::builder::{WorkerBuilder, WorkerFactoryFn};
use apalis_core::layers::extensions::Data;
use apalis_core::monitor::Monitor;
use std::future::Future;

/// Runs jobs until `shutdown` completes.
pub async fn work(app: App, queue: JobQueue, shutdown: impl Future<Output = ()> + Send + 'static) {
    let name = format!("sprout-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let worker = WorkerBuilder::new(name)
        .data(app)
        .backend(queue.storage())
        .build_fn(dispatch);
    let signal = async move {
        shutdown.await;
        Ok(())
    };
    if let Err(e) = Monitor::new().register(worker).run_with_signal(signal).await {
        tracing::error!(error = %e, "the job worker stopped");
    }
}

/// Runs one job; a failure goes back to the queue, which retries it.
async fn dispatch(job: Job, app: Data<App>) -> Result<(), apalis_core::error::Error> {
    match job {
        Job::Refresh { child_id } => crate::refresh::refresh(&app, child_id).await,
        Job::FineTune { through, child } => crate::finetune::run_job(&app, through, child)
            .await
            .map_err(|e| std::io::Error::other(e.to_string())),
    }
    .map_err(|e| apalis_core::error::Error::Failed(std::sync::Arc::new(Box::new(e))))
}
