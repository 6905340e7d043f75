//! Background work after new data: the chronotype is recomputed (and a change pushed to
//! the parents) and the child's analyses are warmed, so a parent's next request finds a
//! fresh answer instead of computing one.
//!
//! Work is debounced per child: a device uploading a night in many batches triggers one
//! recompute after the uploads settle, not one per batch. A device that never stops
//! (a batch every second all day) would never let its uploads settle, so a child waits
//! at most [`DEFAULT_INTERVAL`] for its refresh, and is refreshed at most once per
//! interval: streaming children cost one recompute each per interval, not one per batch
//! (the parents' reads compute on demand in between, from the cache's current data).

use crate::analysis::{
    causal_effects, recompute_chronotype, stress_and_sleep_forecast, DEFAULT_FORECAST_HOURS,
};
use crate::App;
use sprout_domain::ChildId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Quiet time after a child's last new data before the work runs.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);
/// Longest a child's refresh waits for the uploads to settle, and least time between
/// two refreshes of one child on one node.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);
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

/// When the refresh work runs: `debounce` after the last new data, but no later than
/// `interval` after the first unrefreshed data, and no sooner than `interval` after
/// the child's previous refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub debounce: Duration,
    pub interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            debounce: DEFAULT_DEBOUNCE,
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// A child's data waiting for its refresh.
struct Pending {
    /// When the oldest unrefreshed data arrived.
    first: Instant,
    due: Instant,
}

/// Per-child schedule: what is pending and when each child was last refreshed.
#[derive(Default)]
struct Schedule {
    pending: HashMap<ChildId, Pending>,
    last_run: HashMap<ChildId, Instant>,
}

impl Schedule {
    fn request(&mut self, child: ChildId, now: Instant, timing: Timing) {
        let first = self.pending.get(&child).map_or(now, |p| p.first);
        let settled = (now + timing.debounce).min(first + timing.interval);
        let due = match self.last_run.get(&child) {
            Some(last) => settled.max(*last + timing.interval),
            None => settled,
        };
        self.pending.insert(child, Pending { first, due });
    }

    fn next(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.due).min()
    }

    /// The children due at `now`, taken off the schedule and marked as refreshed.
    fn take_due(&mut self, now: Instant, timing: Timing) -> Vec<ChildId> {
        let ready: Vec<ChildId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(c, _)| *c)
            .collect();
        for child in &ready {
            self.pending.remove(child);
            self.last_run.insert(*child, now);
        }
        // Past the interval a child's last run no longer delays anything.
        self.last_run
            .retain(|_, at| now.duration_since(*at) < timing.interval);
        ready
    }
}

/// Runs until every [`Refresher`] is gone.
pub async fn run(state: App, mut requests: mpsc::Receiver<ChildId>, timing: Timing) {
    let mut schedule = Schedule::default();
    loop {
        let next = schedule.next();
        tokio::select! {
            request = requests.recv() => match request {
                Some(child) => schedule.request(child, Instant::now(), timing),
                None => return,
            },
            () = async { if let Some(at) = next { tokio::time::sleep_until(at).await } else { std::future::pending().await } } => {
                for child in schedule.take_due(Instant::now(), timing) {
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
pub async fn refresh(state: &App, child_id: ChildId) -> Result<(), std::io::Error> {
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
        tracing::warn!(error = %e, "chronotype refresh failed");
    }
    if let Err(e) = causal_effects(state, child.clone()).await {
        tracing::warn!(error = %e, "insight refresh failed");
    }
    if let Err(e) = stress_and_sleep_forecast(state, child, DEFAULT_FORECAST_HOURS).await {
        tracing::warn!(error = %e, "forecast refresh failed");
    }
    Ok(())
}

/// Runs the refresh where this deployment runs jobs: on the durable queue when there
/// is one, else here.
async fn dispatch(state: &App, child: ChildId) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        debounce: Duration::from_secs(2),
        interval: Duration::from_secs(300),
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_burst_of_uploads_is_refreshed_once_after_it_settles() {
        let (mut schedule, child, t0) = (Schedule::default(), ChildId::new(), Instant::now());
        for s in 0..5 {
            schedule.request(child, t0 + secs(s), TIMING);
        }
        assert_eq!(schedule.next(), Some(t0 + secs(6)));
        assert!(schedule.take_due(t0 + secs(5), TIMING).is_empty());
        assert_eq!(schedule.take_due(t0 + secs(6), TIMING), vec![child]);
        assert_eq!(schedule.next(), None);
    }

    #[test]
    fn a_device_that_never_stops_is_refreshed_once_per_interval() {
        let (mut schedule, child, t0) = (Schedule::default(), ChildId::new(), Instant::now());
        let mut runs = Vec::new();
        // A batch every second for twenty minutes; the schedule is checked every second.
        for s in 0..1_200 {
            let now = t0 + secs(s);
            schedule.request(child, now, TIMING);
            if !schedule.take_due(now, TIMING).is_empty() {
                runs.push(s);
            }
        }
        assert_eq!(runs.len(), 3, "never starved: {runs:?}");
        assert_eq!(runs[0], 300, "the first waits no longer than the interval");
        for pair in runs.windows(2) {
            assert!(
                (300..=302).contains(&(pair[1] - pair[0])),
                "once per interval: {runs:?}"
            );
        }
    }

    #[test]
    fn new_data_soon_after_a_refresh_waits_for_the_interval() {
        let (mut schedule, child, t0) = (Schedule::default(), ChildId::new(), Instant::now());
        schedule.request(child, t0, TIMING);
        assert_eq!(schedule.take_due(t0 + secs(2), TIMING), vec![child]);
        schedule.request(child, t0 + secs(10), TIMING);
        assert_eq!(schedule.next(), Some(t0 + secs(302)));
        // A child first seen after another's refresh is not held back by it.
        let other = ChildId::new();
        schedule.request(other, t0 + secs(10), TIMING);
        assert_eq!(schedule.take_due(t0 + secs(12), TIMING), vec![other]);
    }
}
