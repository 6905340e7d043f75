//! The PostgreSQL store, for many nodes; TimescaleDB is used when it is available.

use crate::migrate::{migrator, EmbeddedMigration};
use crate::samples::{self, retire_sql};
use crate::sql::{impl_store, Dialect};
use crate::{Backend, HourAggregate, InsertOutcome, Samples, Store, StoreError, TimeRange};
use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, Sample, SampleBatch};
use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult};
use sqlx::Postgres;
use std::time::Duration;

const MIGRATIONS: &[EmbeddedMigration] = crate::migrate::migrations!("postgres");

/// Enough connections for a node's request concurrency without exhausting the server's
/// default of 100 when a few nodes share it.
const MAX_CONNECTIONS: u32 = 16;
/// A node that cannot get a connection this long reports itself not ready.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Instants are `timestamptz`, which sqlx maps to and from `DateTime<Utc>` as it is.
impl Dialect for Postgres {
    type Time = DateTime<Utc>;

    fn to_db(time: DateTime<Utc>) -> DateTime<Utc> {
        time
    }

    fn from_db(time: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        Ok(time)
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Sprout on PostgreSQL. `read` and `write` are the same pool; the names let both
/// backends share their queries.
#[derive(Debug, Clone)]
pub struct PgStore {
    read: PgPool,
    write: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`; a `?options=-c search_path=…`
    /// parameter selects a schema).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
        })
    }

    /// Whether `wellness_metrics` is a TimescaleDB hypertable.
    pub async fn is_hypertable(&self) -> Result<bool, StoreError> {
        let extension: Option<String> =
            sqlx::query_scalar("SELECT extname::text FROM pg_extension WHERE extname = 'timescaledb'")
                .fetch_optional(&self.read)
                .await?;
        if extension.is_none() {
            return Ok(false);
        }
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'wellness_metrics'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(count > 0)
    }

    /// Turns `wellness_metrics` into a hypertable when TimescaleDB can be loaded here;
    /// a plain table with its (child_id, time) key otherwise.
    async fn use_timescale_if_available(&self) -> Result<(), StoreError> {
        let available: Option<String> =
            sqlx::query_scalar("SELECT name::text FROM pg_available_extensions WHERE name = 'timescaledb'")
                .fetch_optional(&self.write)
                .await?;
        if available.is_none() {
            return Ok(());
        }
        sqlx::query("CREATE EXTENSION IF NOT EXISTS timescaledb")
            .execute(&self.write)
            .await?;
        sqlx::query(
            "SELECT create_hypertable('wellness_metrics', 'time', if_not_exists => TRUE, migrate_data => TRUE)",
        )
        .execute(&self.write)
        .await?;
        tracing::info!("wellness_metrics is a TimescaleDB hypertable");
        // Chunks older than a week are compressed, segmented by child (reads are per
        // child). A policy that cannot be set (an older TimescaleDB, the Apache-licensed
        // build without compression) leaves the plain hypertable: logged, not fatal.
        for statement in [
            "ALTER TABLE wellness_metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'child_id', \
             timescaledb.compress_orderby = 'time')",
            "SELECT add_compression_policy('wellness_metrics', INTERVAL '7 days', if_not_exists => TRUE)",
        ] {
            if let Err(e) = sqlx::query(statement).execute(&self.write).await {
                tracing::warn!(error = %e, "TimescaleDB compression is not available; samples stay uncompressed");
                break;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> crate::Result<()> {
        migrator(MIGRATIONS).await?.run(&self.write).await?;
        self.use_timescale_if_available().await
    }

    async fn ping(&self) -> crate::Result<()> {
        crate::sql::ping(&self.read).await
    }
}

#[async_trait::async_trait]
impl Samples for PgStore {
    /// One statement per batch: the columns travel as arrays and UNNEST turns them
    /// back into rows, so a 1,000-sample batch is one round trip.
    async fn insert_samples(&self, child: ChildId, batch: &SampleBatch) -> crate::Result<InsertOutcome> {
        let samples = batch.samples();
        let times: Vec<DateTime<Utc>> = samples.iter().map(|s| s.time).collect();
        let stress: Vec<Option<f64>> = samples.iter().map(|s| s.stress_level).collect();
        let heart: Vec<Option<f64>> = samples.iter().map(|s| s.heart_rate).collect();
        let hrv: Vec<Option<f64>> = samples.iter().map(|s| s.hrv_ms).collect();
        let sleep: Vec<Option<&str>> = samples
            .iter()
            .map(|s| s.sleep_state.map(|st| st.as_str()))
            .collect();
        let steps: Vec<Option<i64>> = samples.iter().map(|s| s.steps).collect();
        let accepted = sqlx::query(
            "INSERT INTO wellness_metrics (child_id, time, stress_level, heart_rate, hrv_ms, sleep_state, steps) \
             SELECT $1, * FROM UNNEST($2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], \
                                      $6::text[], $7::int8[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(child.0)
        .bind(times)
        .bind(stress)
        .bind(heart)
        .bind(hrv)
        .bind(sleep)
        .bind(steps)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(InsertOutcome {
            accepted,
            duplicates: samples.len() as u64 - accepted,
        })
    }

    async fn samples(
        &self,
        child: ChildId,
        range: TimeRange,
        after: Option<DateTime<Utc>>,
        limit: usize,
    ) -> crate::Result<Vec<Sample>> {
        samples::page(&self.read, child, range, after, limit).await
    }

    /// Repeatable read: the delete sees the snapshot the roll-up read, so a sample
    /// committed in between is neither aggregated nor deleted (the next run takes it).
    async fn retire_samples(
        &self,
        child: ChildId,
        before: DateTime<Utc>,
        shift: chrono::Duration,
    ) -> crate::Result<u64> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            retire_sql(
                "to_timestamp(floor((extract(epoch FROM time)::float8 - $3) / 3600.0) * 3600.0 + $3)",
                |a, b| format!("LEAST({a}, {b})"),
                |a, b| format!("GREATEST({a}, {b})"),
            )
        });
        let shift = shift.num_microseconds().unwrap_or_default() as f64 / 1e6;
        let mut tx = self.write.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql)
            .bind(child.0)
            .bind(before)
            .bind(shift)
            .execute(&mut *tx)
            .await?;
        let retired = samples::delete_retired(&mut *tx, child, before).await?;
        tx.commit().await?;
        Ok(retired)
    }

    async fn sample_hours(
        &self,
        child: ChildId,
        range: TimeRange,
        limit: usize,
    ) -> crate::Result<Vec<HourAggregate>> {
        samples::hours(&self.read, child, range, limit).await
    }
}

impl_store! {
    store = PgStore,
}

impl PgStore {
    /// Runs one statement built by Sprout itself (never from input), for test set-up.
    pub async fn execute_admin(&self, statement: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(statement).execute(&self.write).await?;
        Ok(())
    }
}
