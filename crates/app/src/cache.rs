//! Cache of per-child analyses, invalidated by the child's new data: in-process on one
//! node, in Redis when nodes share one (`--redis`).
//!
//! Every write to a child (samples, events, interventions, sleep) bumps the child's
//! data version; a cached result is served only while its version is current and it is
//! younger than [`MAX_AGE`] (some answers depend on the clock: "tonight", "tomorrow").
//!
//! The forecast reads complete hours only (the current hour is what it forecasts), and
//! its key names the hour it was made in ([`CacheKey::Forecast`]). So it is
//! checked against a second version, of the child's *settled* data, which samples of the
//! current hour leave alone ([`InsightCache::invalidate_recent`]): a device uploading
//! every second does not make every read of that child's forecast a recomputation, and
//! the next hour's key is a new entry. Everything else is checked against the full version.
//! In Redis the version is a counter every node increments and reads, so new data on
//! node A retires node B's cached forecast too; entries expire after [`MAX_AGE`]. A Redis
//! error is a miss (the result is computed), never a failed request.

use crate::shared::{Redis, PREFIX};
use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde_json::Value;
use sprout_domain::{ChildId, RecordId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a result is served without recomputing, even with no new data.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Which result of a child is cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// The chronotype report.
    Chronotype,
    /// The intervention effects.
    Effects,
    /// The forecast `hours` ahead, made in UTC hour `hour` (hours since the epoch, see
    /// [`crate::analysis::hour_of`]): it reads the complete hours before it, so the next
    /// hour needs a new one.
    Forecast { hours: usize, hour: i64 },
    /// Which recommendation is current for the child's data.
    Recommendation,
}

impl CacheKey {
    /// The forecast `hours` ahead made now.
    pub fn forecast(hours: usize, now: DateTime<Utc>) -> Self {
        Self::Forecast {
            hours,
            hour: crate::analysis::hour_of(now),
        }
    }

    /// The key's name in Redis.
    fn name(self) -> String {
        match self {
            Self::Chronotype => "chronotype".into(),
            Self::Effects => "causal".into(),
            Self::Forecast { hours, hour } => format!("forecast:{hours}:{hour}"),
            Self::Recommendation => "recommendation".into(),
        }
    }

    /// The data the result depends on.
    fn scope(self) -> Scope {
        match self {
            Self::Forecast { .. } => Scope::Settled,
            _ => Scope::All,
        }
    }
}

/// A cached result (in Redis as its JSON, `Arc`s serialised through).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Cached {
    /// An analysis as the API answers it.
    Analysis(Arc<Value>),
    /// The forecast, typed: the API answers it and the recommendation reads its stress.
    Forecast(Arc<crate::analysis::ForecastReport>),
    /// The recommendation that is current.
    Recommendation(RecordId),
}

struct Entry {
    version: u64,
    made: Instant,
    value: Cached,
}

/// Which data a cached result depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    /// All of the child's data.
    All,
    /// The child's data up to the start of the current hour.
    Settled,
    /// What the advice is about: the calendar, logged activities, a stress alert. Only
    /// counted ([`InsightCache::mark_occasion`]), never the scope of a cached result.
    Occasion,
}

#[derive(Default)]
struct Local {
    versions: Mutex<HashMap<(ChildId, Scope), u64>>,
    entries: Mutex<HashMap<(ChildId, CacheKey), Entry>>,
}

#[derive(Default)]
pub struct InsightCache {
    local: Local,
    redis: Option<redis::aio::ConnectionManager>,
}

fn version_key(child: ChildId, scope: Scope) -> String {
    match scope {
        Scope::All => format!("{PREFIX}:version:{child}"),
        Scope::Settled => format!("{PREFIX}:settled:{child}"),
        Scope::Occasion => format!("{PREFIX}:occasion:{child}"),
    }
}

fn entry_key(child: ChildId, key: CacheKey) -> String {
    format!("{PREFIX}:cache:{child}:{}", key.name())
}

/// A cached result as Redis holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    version: u64,
    value: Cached,
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

    /// The current version of the child's data that `key`'s result depends on.
    pub async fn version(&self, child: ChildId, key: CacheKey) -> u64 {
        self.scoped_version(child, key.scope()).await
    }

    async fn scoped_version(&self, child: ChildId, scope: Scope) -> u64 {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            return match redis.get::<_, Option<u64>>(version_key(child, scope)).await {
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
            .map(|v| v.get(&(child, scope)).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Marks the child's data as changed, so cached results are recomputed.
    pub async fn invalidate(&self, child: ChildId) {
        self.bump(child, &[Scope::All, Scope::Settled]).await;
    }

    /// Marks the child's data of the current hour as changed (new samples, all of this
    /// hour): results that read settled hours only stay current.
    pub async fn invalidate_recent(&self, child: ChildId) {
        self.bump(child, &[Scope::All]).await;
    }

    /// Marks a change the advice must answer at once (a new calendar event, a logged
    /// activity, a stress alert), not only at its next renewal.
    pub async fn mark_occasion(&self, child: ChildId) {
        self.bump(child, &[Scope::Occasion]).await;
    }

    /// How many such changes the child has had (compare with an earlier reading).
    pub async fn occasion(&self, child: ChildId) -> u64 {
        self.scoped_version(child, Scope::Occasion).await
    }

    async fn bump(&self, child: ChildId, scopes: &[Scope]) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let mut pipe = redis::pipe();
            for scope in scopes {
                pipe.incr(version_key(child, *scope), 1).ignore();
            }
            if let Err(e) = pipe.query_async::<()>(&mut redis).await {
                tracing::error!(error = %e, %child, "cannot invalidate the shared cache");
            }
            return;
        }
        if let Ok(mut versions) = self.local.versions.lock() {
            for scope in scopes {
                *versions.entry((child, *scope)).or_insert(0) += 1;
            }
        }
    }

    /// Drops one cached result of the child, leaving the others.
    pub async fn forget(&self, child: ChildId, key: CacheKey) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            if let Err(e) = redis.del::<_, u64>(entry_key(child, key)).await {
                tracing::error!(error = %e, %child, "cannot drop a shared cache entry");
            }
            return;
        }
        if let Ok(mut entries) = self.local.entries.lock() {
            entries.remove(&(child, key));
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
            doomed.push(version_key(child, Scope::All));
            doomed.push(version_key(child, Scope::Settled));
            doomed.push(version_key(child, Scope::Occasion));
            if let Err(e) = redis.del::<_, u64>(doomed).await {
                tracing::error!(error = %e, %child, "cannot erase the child's shared cache entries");
            }
            return;
        }
        if let Ok(mut entries) = self.local.entries.lock() {
            entries.retain(|(c, _), _| *c != child);
        }
        if let Ok(mut versions) = self.local.versions.lock() {
            versions.retain(|(c, _), _| *c != child);
        }
    }

    pub async fn get(&self, child: ChildId, key: CacheKey) -> Option<Cached> {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let (version, stored): (Option<u64>, Option<String>) = match redis
                .mget(&[version_key(child, key.scope()), entry_key(child, key)])
                .await
            {
                Ok(pair) => pair,
                Err(e) => {
                    warn(&e);
                    return None;
                }
            };
            let stored: Stored = serde_json::from_str(&stored?).ok()?;
            return (stored.version == version.unwrap_or(0)).then_some(stored.value);
        }
        let version = self.version(child, key).await;
        let entries = self.local.entries.lock().ok()?;
        let entry = entries.get(&(child, key))?;
        (entry.version == version && entry.made.elapsed() < MAX_AGE).then(|| entry.value.clone())
    }

    /// Stores a result computed from data at `version`; a result of stale data is dropped.
    pub async fn put(&self, child: ChildId, key: CacheKey, version: u64, value: Cached) {
        if version != self.version(child, key).await {
            return;
        }
        if let Some(redis) = &self.redis {
            let stored = Stored { version, value };
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
                (child, key),
                Entry {
                    version,
                    made: Instant::now(),
                    value,
                },
            );
        }
    }
}
