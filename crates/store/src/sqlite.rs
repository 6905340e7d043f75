//! The embedded SQLite store: one file, WAL, one writer connection and a read pool.

use crate::migrate::{migrator, EmbeddedMigration};
use crate::samples::{self, retire_sql};
use crate::sql::{impl_store, Dialect};
use crate::{Backend, HourAggregate, InsertOutcome, Samples, Store, StoreError, TimeRange};
use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, Sample, SampleBatch};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::Sqlite;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

const MIGRATIONS: &[EmbeddedMigration] = crate::migrate::migrations!("sqlite");

/// Readers in WAL mode do not block the writer or each other; a few cover a small server.
const READ_CONNECTIONS: u32 = 4;
/// How long a statement waits for a lock before failing (a long read on a busy file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows per multi-row INSERT: 7 parameters each stays far below SQLite's 32,766-variable
/// limit, and one statement per 500 rows removes nearly all per-statement overhead.
const ROWS_PER_STATEMENT: usize = 500;

/// Instants are stored as microseconds since the Unix epoch: ordered, compact, exact.
impl Dialect for Sqlite {
    type Time = i64;

    fn to_db(time: DateTime<Utc>) -> i64 {
        time.timestamp_micros()
    }

    fn from_db(micros: i64) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| StoreError::corrupt("time", micros))
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Sprout on one embedded SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`. The file holds children's
    /// health data, so it is made readable by its owner only.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a crash of the process (kill -9); only a power
            // loss can drop the last commits. FULL would fsync every batch.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        restrict_permissions(path)?;
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Self { read, write })
    }

    /// Runs one statement built by Sprout itself (never from input), for test set-up.
    pub async fn execute_admin(&self, statement: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(statement).execute(&self.write).await?;
        Ok(())
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn insert_sql(rows: usize) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?)";
    let values = vec![row; rows].join(", ");
    let columns = samples::COLUMNS;
    format!("INSERT INTO wellness_metrics ({columns}) VALUES {values} ON CONFLICT DO NOTHING")
}

fn full_chunk_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_sql(ROWS_PER_STATEMENT))
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> crate::Result<()> {
        migrator(MIGRATIONS).await?.run(&self.write).await?;
        Ok(())
    }

    async fn ping(&self) -> crate::Result<()> {
        crate::sql::ping(&self.read).await
    }
}

#[async_trait::async_trait]
impl Samples for SqliteStore {
    async fn insert_samples(&self, child: ChildId, batch: &SampleBatch) -> crate::Result<InsertOutcome> {
        let samples = batch.samples();
        let mut tx = self.write.begin().await?;
        let mut accepted = 0;
        for chunk in samples.chunks(ROWS_PER_STATEMENT) {
            let partial;
            let sql = if chunk.len() == ROWS_PER_STATEMENT {
                full_chunk_sql()
            } else {
                partial = insert_sql(chunk.len());
                partial.as_str()
            };
            let mut query = sqlx::query(sql);
            for s in chunk {
                query = query
                    .bind(child.0)
                    .bind(Sqlite::to_db(s.time))
                    .bind(s.stress_level)
                    .bind(s.heart_rate)
                    .bind(s.hrv_ms)
                    .bind(s.sleep_state.map(|st| st.as_str()))
                    .bind(s.steps);
            }
            accepted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
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

    /// One writer connection: nothing can land between the roll-up and the delete.
    async fn retire_samples(
        &self,
        child: ChildId,
        before: DateTime<Utc>,
        shift: chrono::Duration,
    ) -> crate::Result<u64> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            retire_sql(
                "((time - $3) / 3600000000) * 3600000000 + $3",
                |a, b| format!("min(coalesce({a}, {b}), coalesce({b}, {a}))"),
                |a, b| format!("max(coalesce({a}, {b}), coalesce({b}, {a}))"),
            )
        });
        let mut tx = self.write.begin().await?;
        sqlx::query(sql)
            .bind(child.0)
            .bind(Sqlite::to_db(before))
            .bind(shift.num_microseconds().unwrap_or_default())
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
    store = SqliteStore,
}
