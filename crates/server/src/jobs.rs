//! Background work after new data: the chronotype is recomputed (and a change pushed to
//! the parents) and the child's analyses are warmed, so a parent's next request finds a
//! fresh answer instead of computing one.
//!
//! Work is debounced per child: a device uploading a night in many batches triggers one
//! recompute after the uploads settle, not one per batch.

use crate::analysis::{
    causal_effects, recompute_chronotype, stress_and_sleep_forecast, DEFAULT_FORECAST_HOURS,
};
use crate::AppState;
use sprout_domain::ChildId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Quiet time after a child's last new data before the work runs.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);
/// Children waiting for work; beyond this new requests are dropped (the next upload
/// schedules them again).
const QUEUE: usize = 4_096;

/// Asks for a child's analyses to be refreshed.
#[derive(Clone)]
pub struct Refresher {
    sender: mpsc::Sender<ChildId>,
}

impl Refresher {
    pub fn schedule(&self, child: ChildId) {
        if self.sender.try_send(child).is_err() {
            tracing::warn!(%child, "refresh queue full; the child will be refreshed on its next upload");
        }
    }
}

/// The refresher and the receiving end its worker runs on.
pub fn channel() -> (Refresher, mpsc::Receiver<ChildId>) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    (Refresher { sender }, receiver)
}

/// Runs until every [`Refresher`] is gone.
pub async fn run(state: AppState, mut requests: mpsc::Receiver<ChildId>, debounce: Duration) {
    let mut due: HashMap<ChildId, Instant> = HashMap::new();
    loop {
        let next = due.values().min().copied();
        tokio::select! {
            request = requests.recv() => match request {
                Some(child) => {
                    due.insert(child, Instant::now() + debounce);
                }
                None => return,
            },
            () = async { if let Some(at) = next { tokio::time::sleep_until(at).await } else { std::future::pending().await } } => {
                let now = Instant::now();
                let ready: Vec<ChildId> = due.iter().filter(|(_, at)| **at <= now).map(|(c, _)| *c).collect();
                for child in ready {
                    due.remove(&child);
                    dispatch(&state, child).await;
                }
            }
        }
    }
}

/// Refreshes one child's analyses: the chronotype (a change is recorded and pushed),
/// the effects and the forecast (warmed into the cache). An error is one the job may
/// succeed on when retried (the store was unreachable); an analysis that cannot be
/// made from the data is logged, not retried.
#[tracing::instrument(skip(state))]
pub async fn refresh(state: &AppState, child_id: ChildId) -> Result<(), std::io::Error> {
    let child = match state.store.get_child(child_id).await {
        Ok(Some(child)) => child,
        // Erased since: nothing to do.
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(std::io::Error::other(format!(
                "cannot load the child for a refresh: {e}"
            )))
        }
    };
    if let Err(e) = recompute_chronotype(state, child.clone()).await {
        tracing::warn!(error = %e.message, "chronotype refresh failed");
    }
    if let Err(e) = causal_effects(state, child.clone()).await {
        tracing::warn!(error = %e.message, "insight refresh failed");
    }
    if let Err(e) = stress_and_sleep_forecast(state, child, DEFAULT_FORECAST_HOURS).await {
        tracing::warn!(error = %e.message, "forecast refresh failed");
    }
    Ok(())
}

/// Runs the refresh where this deployment runs jobs: on the durable queue when there
/// is one, else here.
async fn dispatch(state: &AppState, child: ChildId) {
    if let Some(queue) = &state.queue {
        match queue.push(crate::queue::Job::Refresh { child_id: child }).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, %child, "cannot queue a refresh; running it here"),
        }
    }
    if let Err(e) = refresh(state, child).await {
        tracing::warn!(error = %e, %child, "refresh failed; the next upload schedules another");
    }
}
