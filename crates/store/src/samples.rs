//! A child's wearable samples, the part both backends share: reading raw samples back,
//! the statements that retire them into hourly aggregates, reading those hours, and the
//! benchmark's row-by-row insert. The bulk insert and the retiring transaction around
//! those statements are each backend's own.

use crate::sql::{limit, range_end, range_start, sleep_state, Columns, Dialect, Params, Query};
use crate::{Aggregate, HourAggregate, Result, TimeRange};
use chrono::{DateTime, Duration, Utc};
use sprout_domain::{ChildId, Sample};

/// A child's samples in `range`, oldest first, strictly after `after` when given, at most
/// `limit_to` of them.
pub(crate) async fn page<'e, DB, E>(
    db: E,
    child: ChildId,
    range: TimeRange,
    after: Option<DateTime<Utc>>,
    limit_to: usize,
) -> Result<Vec<Sample>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let before_range = range_start(&range) - Duration::microseconds(1);
    let lower = after.map_or(before_range, |a| a.max(before_range));
    let rows = sqlx::query(
        "SELECT time, stress_level, heart_rate, hrv_ms, sleep_state, steps FROM wellness_metrics \
         WHERE child_id = $1 AND time > $2 AND time < $3 ORDER BY time LIMIT $4",
    )
    .uuid(child.0)
    .time(lower)
    .time(range_end(&range))
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Sample {
                time: r.time("time")?,
                stress_level: r.maybe_real("stress_level")?,
                heart_rate: r.maybe_real("heart_rate")?,
                hrv_ms: r.maybe_real("hrv_ms")?,
                sleep_state: sleep_state(r.maybe_text("sleep_state")?)?,
                steps: r.maybe_int("steps")?,
            })
        })
        .collect()
}

/// A child's retired hours starting in `range`, oldest first, at most `limit_to` of them.
pub(crate) async fn hours<'e, DB, E>(
    db: E,
    child: ChildId,
    range: TimeRange,
    limit_to: usize,
) -> Result<Vec<HourAggregate>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let sql = format!(
        "SELECT {} FROM sample_hours WHERE child_id = $1 AND hour_start >= $2 AND hour_start < $3 \
         ORDER BY hour_start LIMIT $4",
        hour_columns()
    );
    let rows = sqlx::query(&sql)
        .uuid(child.0)
        .time(range_start(&range))
        .time(range_end(&range))
        .int(limit(limit_to))
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HourAggregate {
                start: r.time("hour_start")?,
                samples: r.count("samples")?,
                asleep_samples: r.count("asleep")?,
                stress_level: aggregate(r, "stress")?,
                heart_rate: aggregate(r, "heart")?,
                hrv_ms: aggregate(r, "hrv")?,
                steps: aggregate(r, "steps")?,
            })
        })
        .collect()
}

/// Deletes a child's raw samples older than `before`: the second half of retiring them,
/// in the transaction that folded them into hours. Returns how many were deleted.
pub(crate) async fn delete_retired<'e, DB, E>(db: E, child: ChildId, before: DateTime<Utc>) -> Result<u64>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let deleted = sqlx::query("DELETE FROM wellness_metrics WHERE child_id = $1 AND time < $2")
        .uuid(child.0)
        .time(before)
        .execute(db)
        .await?;
    Ok(DB::rows_affected(&deleted))
}

/// The store's own speed limit, for the ingest benchmark: one prepared single-row insert
/// per sample, all in one transaction. Returns how many were new.
pub(crate) async fn insert_row_by_row<DB>(
    write: &sqlx::Pool<DB>,
    child: ChildId,
    samples: &[Sample],
) -> Result<u64>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let mut tx = write.begin().await?;
    let mut inserted = 0;
    for s in samples {
        let result = sqlx::query(
            "INSERT INTO wellness_metrics (child_id, time, stress_level, heart_rate, hrv_ms, \
             sleep_state, steps) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .uuid(child.0)
        .time(s.time)
        .maybe_real(s.stress_level)
        .maybe_real(s.heart_rate)
        .maybe_real(s.hrv_ms)
        .maybe_text(s.sleep_state.map(|st| st.as_str()))
        .maybe_int(s.steps)
        .execute(&mut *tx)
        .await?;
        inserted += DB::rows_affected(&result);
    }
    tx.commit().await?;
    Ok(inserted)
}

/// Raw sample columns and the `sample_hours` prefix of their aggregates.
const AGGREGATED: [(&str, &str); 4] = [
    ("stress_level", "stress"),
    ("heart_rate", "heart"),
    ("hrv_ms", "hrv"),
    ("steps", "steps"),
];

/// The statement that folds a child's samples (`$1`) older than `$2` into `sample_hours`,
/// merging into hours already there; the caller deletes the same samples in the same
/// transaction. `bucket` is the backend's expression for the start of a sample's hour
/// (`$3` is the child's offset past the UTC hour); `least`/`greatest` build its
/// NULL-ignoring two-argument minimum and maximum.
pub(crate) fn retire_sql(
    bucket: &str,
    least: fn(&str, &str) -> String,
    greatest: fn(&str, &str) -> String,
) -> String {
    let mut columns = vec![
        "child_id".to_owned(),
        "hour_start".to_owned(),
        "samples".to_owned(),
    ];
    let mut selected = vec![
        "child_id".to_owned(),
        format!("{bucket} AS h"),
        "count(*)".to_owned(),
    ];
    let mut merged = vec!["samples = sample_hours.samples + excluded.samples".to_owned()];
    for (raw, prefix) in AGGREGATED {
        columns.extend(["n", "sum", "min", "max"].map(|part| format!("{prefix}_{part}")));
        selected.extend([
            format!("count({raw})"),
            format!("coalesce(sum({raw}), 0)"),
            format!("min({raw})"),
            format!("max({raw})"),
        ]);
        let (old, new) = (format!("sample_hours.{prefix}"), format!("excluded.{prefix}"));
        merged.extend([
            format!("{prefix}_n = {old}_n + {new}_n"),
            format!("{prefix}_sum = {old}_sum + {new}_sum"),
            format!(
                "{prefix}_min = {}",
                least(&format!("{old}_min"), &format!("{new}_min"))
            ),
            format!(
                "{prefix}_max = {}",
                greatest(&format!("{old}_max"), &format!("{new}_max"))
            ),
        ]);
    }
    columns.push("asleep".to_owned());
    selected.push(
        "sum(CASE WHEN sleep_state IS NOT NULL AND sleep_state <> 'awake' THEN 1 ELSE 0 END)".to_owned(),
    );
    merged.push("asleep = sample_hours.asleep + excluded.asleep".to_owned());
    format!(
        "INSERT INTO sample_hours ({}) SELECT {} FROM wellness_metrics WHERE child_id = $1 AND time < $2 \
         GROUP BY child_id, h ON CONFLICT (child_id, hour_start) DO UPDATE SET {}",
        columns.join(", "),
        selected.join(", "),
        merged.join(", ")
    )
}

/// The columns `sample_hours` is read back with.
fn hour_columns() -> String {
    let mut columns = vec!["hour_start".to_owned(), "samples".to_owned(), "asleep".to_owned()];
    for (_, prefix) in AGGREGATED {
        columns.extend(["n", "sum", "min", "max"].map(|part| format!("{prefix}_{part}")));
    }
    columns.join(", ")
}

/// Reads one measurement's aggregate from a `sample_hours` row.
fn aggregate(row: &impl Columns, prefix: &str) -> Result<Aggregate> {
    Ok(Aggregate {
        count: row.count(&format!("{prefix}_n"))?,
        sum: row.real(&format!("{prefix}_sum"))?,
        min: row.maybe_real(&format!("{prefix}_min"))?,
        max: row.maybe_real(&format!("{prefix}_max"))?,
    })
}

/// The columns of `wellness_metrics`, in the order the bulk inserts bind them.
pub(crate) const COLUMNS: &str = "child_id, time, stress_level, heart_rate, hrv_ms, sleep_state, steps";
