//! In-process cache of per-child analyses, invalidated by the child's new data.
//!
//! Every write to a child (samples, events, interventions, sleep) bumps the child's
//! data version; a cached result is served only while its version is current and it is
//! younger than [`MAX_AGE`] (some answers depend on the clock: "tonight", "tomorrow").

use serde_json::Value;
use sprout_domain::ChildId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a result is served without recomputing, even with no new data.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

struct Entry {
    version: u64,
    made: Instant,
    value: Arc<Value>,
}

#[derive(Default)]
pub struct InsightCache {
    versions: Mutex<HashMap<ChildId, u64>>,
    entries: Mutex<HashMap<(ChildId, String), Entry>>,
}

impl InsightCache {
    /// The child's current data version.
    pub fn version(&self, child: ChildId) -> u64 {
        self.versions
            .lock()
            .map(|v| v.get(&child).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Marks the child's data as changed, so cached results are recomputed.
    pub fn invalidate(&self, child: ChildId) {
        if let Ok(mut versions) = self.versions.lock() {
            *versions.entry(child).or_insert(0) += 1;
        }
    }

    /// Drops one cached result of the child, leaving the others.
    pub fn forget(&self, child: ChildId, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(child, key.to_owned()));
        }
    }

    pub fn get(&self, child: ChildId, key: &str) -> Option<Arc<Value>> {
        let version = self.version(child);
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(&(child, key.to_owned()))?;
        (entry.version == version && entry.made.elapsed() < MAX_AGE).then(|| entry.value.clone())
    }

    /// Stores a result computed from data at `version`; a result of stale data is dropped.
    pub fn put(&self, child: ChildId, key: &str, version: u64, value: Arc<Value>) {
        if version != self.version(child) {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                (child, key.to_owned()),
                Entry {
                    version,
                    made: Instant::now(),
                    value,
                },
            );
        }
    }
}
