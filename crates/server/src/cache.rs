//! Cache of per-child analyses, invalidated by the child's new data: in-process on one
//! node, in Redis when nodes share one (`--redis`).
//!
//! Every write to a child (samples, events, interventions, sleep) bumps the child's
//! data version; a cached result is served only while its version is current and it is
//! younger than [`MAX_AGE`] (some answers depend on the clock: "tonight", "tomorrow").
//! In Redis the version is a counter every node increments and reads, so new data on
//! node A retires node B's cached forecast too; entries expire after [`MAX_AGE`]. A Redis
//! error is a miss (the result is computed), never a failed request.

use crate::shared::{Redis, PREFIX};
use redis::AsyncCommands;
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
struct Local {
    versions: Mutex<HashMap<ChildId, u64>>,
    entries: Mutex<HashMap<(ChildId, String), Entry>>,
}

#[derive(Default)]
pub struct InsightCache {
    local: Local,
    redis: Option<redis::aio::ConnectionManager>,
}

fn version_key(child: ChildId) -> String {
    format!("{PREFIX}:version:{child}")
}

fn entry_key(child: ChildId, key: &str) -> String {
    format!("{PREFIX}:cache:{child}:{key}")
}

/// A cached result as Redis holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    version: u64,
    value: Value,
}

fn warn(e: &redis::RedisError) {
    tracing::warn!(error = %e, "Redis cache unavailable; computing instead");
}

impl InsightCache {
    pub fn with_redis(redis: &Redis) -> Self {
        Self {
            local: Local::default(),
            redis: Some(redis.conn()),
        }
    }

    /// The child's current data version.
    pub async fn version(&self, child: ChildId) -> u64 {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            return match redis.get::<_, Option<u64>>(version_key(child)).await {
                Ok(version) => version.unwrap_or(0),
                Err(e) => {
                    warn(&e);
                    // Never matches a stored version: nothing stale is served or stored.
                    u64::MAX
                }
            };
        }
        self.local
            .versions
            .lock()
            .map(|v| v.get(&child).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Marks the child's data as changed, so cached results are recomputed.
    pub async fn invalidate(&self, child: ChildId) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            if let Err(e) = redis.incr::<_, _, u64>(version_key(child), 1).await {
                tracing::error!(error = %e, %child, "cannot invalidate the shared cache");
            }
            return;
        }
        if let Ok(mut versions) = self.local.versions.lock() {
            *versions.entry(child).or_insert(0) += 1;
        }
    }

    /// Drops one cached result of the child, leaving the others.
    pub async fn forget(&self, child: ChildId, key: &str) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            if let Err(e) = redis.del::<_, u64>(entry_key(child, key)).await {
                tracing::error!(error = %e, %child, "cannot drop a shared cache entry");
            }
            return;
        }
        if let Ok(mut entries) = self.local.entries.lock() {
            entries.remove(&(child, key.to_owned()));
        }
    }

    /// Drops everything cached of a child, version included (erasure): nothing of theirs
    /// stays in this process or in Redis.
    pub async fn forget_child(&self, child: ChildId) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let pattern = format!("{PREFIX}:cache:{child}:*");
            let mut doomed: Vec<String> = match redis.scan_match::<_, String>(&pattern).await {
                Ok(iter) => {
                    use futures::StreamExt;
                    iter.filter_map(|k| async move { k.ok() }).collect().await
                }
                Err(e) => {
                    tracing::error!(error = %e, %child, "cannot list the child's shared cache entries");
                    Vec::new()
                }
            };
            doomed.push(version_key(child));
            if let Err(e) = redis.del::<_, u64>(doomed).await {
                tracing::error!(error = %e, %child, "cannot erase the child's shared cache entries");
            }
            return;
        }
        if let Ok(mut entries) = self.local.entries.lock() {
            entries.retain(|(c, _), _| *c != child);
        }
        if let Ok(mut versions) = self.local.versions.lock() {
            versions.remove(&child);
        }
    }

    pub async fn get(&self, child: ChildId, key: &str) -> Option<Arc<Value>> {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let (version, stored): (Option<u64>, Option<String>) =
                match redis.mget(&[version_key(child), entry_key(child, key)]).await {
                    Ok(pair) => pair,
                    Err(e) => {
                        warn(&e);
                        return None;
                    }
                };
            let stored: Stored = serde_json::from_str(&stored?).ok()?;
            return (stored.version == version.unwrap_or(0)).then(|| Arc::new(stored.value));
        }
        let version = self.version(child).await;
        let entries = self.local.entries.lock().ok()?;
        let entry = entries.get(&(child, key.to_owned()))?;
        (entry.version == version && entry.made.elapsed() < MAX_AGE).then(|| entry.value.clone())
    }

    /// Stores a result computed from data at `version`; a result of stale data is dropped.
    pub async fn put(&self, child: ChildId, key: &str, version: u64, value: Arc<Value>) {
        if version != self.version(child).await {
            return;
        }
        if let Some(redis) = &self.redis {
            let stored = Stored {
                version,
                value: value.as_ref().clone(),
            };
            let Ok(text) = serde_json::to_string(&stored) else {
                return;
            };
            let mut redis = redis.clone();
            if let Err(e) = redis
                .set_ex::<_, _, ()>(entry_key(child, key), text, MAX_AGE.as_secs())
                .await
            {
                warn(&e);
            }
            return;
        }
        if let Ok(mut entries) = self.local.entries.lock() {
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
