//! Raw-sample retention: samples older than the configured period are folded into
//! hourly aggregates and deleted, so a family's history stays readable by the hour and
//! by the day while minute-level data is kept only as long as the family agreed to.
//!
//! Each child's cut-off falls on a boundary of their local hour, so an hour is retired
//! whole; a late sample older than the cut-off is retired on the next run and merged
//! into its hour exactly (the store keeps sums, not means).

use crate::rollup::{bucket_start, Resolution};
use chrono::{DateTime, Duration, Utc};
use sprout_domain::ChildId;
use sprout_store::Store;

/// How often retention runs unless configured; the first run is at start-up.
pub const DEFAULT_EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Retires every child's samples older than `retention` at `now`; returns the children
/// that had some, with how many.
pub async fn retire_all(
    store: &dyn Store,
    retention: Duration,
    now: DateTime<Utc>,
) -> sprout_store::Result<Vec<(ChildId, u64)>> {
    let mut retired = Vec::new();
    for child in store.all_children().await? {
        let cutoff = bucket_start(now - retention, child.timezone.tz(), Resolution::Hour);
        // How far past the UTC hour the child's hours begin (30 min in India, else 0).
        let shift = Duration::seconds(cutoff.timestamp().rem_euclid(3_600));
        let count = store.retire_samples(child.id, cutoff, shift).await?;
        if count > 0 {
            retired.push((child.id, count));
        }
    }
    Ok(retired)
}

/// Runs retention at start-up and then every `every`, for as long as the process runs.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    cache: std::sync::Arc<crate::cache::InsightCache>,
    retention: Duration,
    every: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match retire_all(store.as_ref(), retention, Utc::now()).await {
            Ok(retired) => {
                for (child, count) in retired {
                    // Analyses read raw samples: what they saw has changed.
                    cache.invalidate(child).await;
                    tracing::info!(%child, retired = count, "raw samples folded into hourly aggregates");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "raw-sample retention failed; it runs again at the next tick")
            }
        }
    }
}
