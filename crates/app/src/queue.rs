//! Durable background jobs where nodes share PostgreSQL: apalis with its PostgreSQL
//! storage (`apalis.jobs`, rows locked with `SKIP LOCKED`, workers heartbeating).
//!
//! The transport only: an API node that decided a child's analyses need refreshing (see
//! [`crate::refresh`], which debounces a burst of uploads into one request) pushes a
//! [`Job`]; any worker — a `sprout serve` without `--no-worker`, or a `sprout worker` —
//! takes it and [`crate::worker`] runs it. A job a worker
//! held when it died is put back by apalis when a worker starts (and after the
//! heartbeat goes stale), so nothing pushed is lost; a failed job is retried by apalis
//! up to its attempt limit. Jobs are idempotent (they recompute from the stored data
//! and publish a change only when there is one), so running one twice changes nothing.
//! With the embedded SQLite store there is one node, and the refresh runs in-process.
//!
//! apalis keeps its tables in the `apalis` schema and records its own migrations in
//! `sprout_jobs_meta._sqlx_migrations`, apart from Sprout's, under an advisory lock so
//! concurrent nodes migrate once.

use apalis_core::storage::Storage;
use apalis_sql::postgres::PostgresStorage;
use apalis_sql::sqlx::{
    self,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use serde::{Deserialize, Serialize};
use sprout_domain::ChildId;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;

/// Work a worker does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Recompute a child's chronotype (publishing a change) and warm their analyses.
    Refresh { child_id: ChildId },
    /// Fine-tune the local writer on parents' answers (about `child` only, for the
    /// child's own version) unless a version already covers the first `through` of them,
    /// register the candidate and start its experiment ([`crate::finetune`]).
    FineTune {
        through: u64,
        /// Absent in jobs queued before per-child training existed: pooled.
        #[serde(default)]
        child: Option<ChildId>,
    },
}

/// Where jobs are pushed and taken from.
#[derive(Clone)]
pub struct JobQueue {
    storage: PostgresStorage<Job>,
}

/// An arbitrary, fixed key for the advisory lock that serialises apalis' migrations.
const MIGRATION_LOCK: i64 = 0x5350_524f_5554_4a42;

impl JobQueue {
    /// Connects to the database at `url`, creates apalis' tables if needed, and uses
    /// `namespace` as the job type (deployments or tests sharing a database keep their
    /// jobs apart by it).
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?;
        migrate(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let config = apalis_sql::Config::new(namespace)
            .set_poll_interval(Duration::from_millis(200))
            .set_keep_alive(Duration::from_secs(10))
            .set_reenqueue_orphaned_after(Duration::from_secs(60));
        Ok(Self {
            storage: PostgresStorage::new_with_config(pool, config),
        })
    }

    pub async fn push(&self, job: Job) -> Result<(), sqlx::Error> {
        let mut storage = self.storage.clone();
        storage.push(job).await.map(|_| ())
    }

    /// Where workers take the jobs from.
    pub(crate) fn storage(&self) -> PostgresStorage<Job> {
        self.storage.clone()
    }
}

async fn migrate(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let mut connection = options.clone().connect().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut connection)
        .await?;
    let migrated = async {
        sqlx::query("CREATE SCHEMA IF NOT EXISTS sprout_jobs_meta")
            .execute(&mut connection)
            .await?;
        sqlx::query("SET search_path TO sprout_jobs_meta")
            .execute(&mut connection)
            .await?;
        PostgresStorage::migrations()
            .run(&mut connection)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))
    }
    .await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut connection)
        .await;
    let _ = connection.close().await;
    migrated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_tuning_jobs_queued_before_the_child_scope_stay_pooled() {
        let old: Job = serde_json::from_str(r#"{"job":"fine_tune","through":10}"#).expect("an old job");
        assert!(matches!(
            old,
            Job::FineTune {
                through: 10,
                child: None
            }
        ));
        let child = ChildId::new();
        let text = serde_json::to_string(&Job::FineTune {
            through: 20,
            child: Some(child),
        })
        .expect("JSON");
        let back: Job = serde_json::from_str(&text).expect("round trip");
        assert!(matches!(back, Job::FineTune { through: 20, child: Some(c) } if c == child));
    }
}
