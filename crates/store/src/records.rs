//! A child's time-stamped records — school events, interventions, sleep episodes — stored
//! and paged by one protocol, whichever kind and whichever database.
//!
//! Each kind is one table: `id` and `child_id`, the kind's own columns, `created_at`,
//! and a unique key of `child_id` with some of its columns. Storing a record that repeats
//! the key stores nothing and hands back the record already there, so a device that
//! resends is harmless. Pages run by (time, id), so records at the same instant are
//! neither skipped nor repeated across pages.

use crate::sql::{cursor_or_start, event_type, intervention_kind, limit, range_end, range_start};
use crate::sql::{Columns, Dialect, Params, Query};
use crate::{RecordCursor, Result, TimeRange};
use chrono::Utc;
use sprout_domain::{
    ChildId, Intervention, NewIntervention, NewSchoolEvent, NewSleepEpisode, RecordId, SchoolEvent,
    SleepEpisode,
};

/// One kind of a child's time-stamped records, as its table stores it.
pub(crate) trait RecordKind: Sized {
    /// What a caller hands in to be stored.
    type New;
    const TABLE: &'static str;
    /// The kind's own columns, between `child_id` and `created_at`, in the order
    /// [`RecordKind::bind_new`] binds them.
    const COLUMNS: &'static [&'static str];
    /// With `child_id`, the table's unique key, in the order [`RecordKind::bind_key`]
    /// binds them: a record that repeats it is the same record.
    const KEY: &'static [&'static str];
    /// The instant records are ranged and paged by.
    const TIME: &'static str;

    fn bind_new<'q, P: Params<'q>>(new: &'q Self::New, params: P) -> P;
    fn bind_key<'q, P: Params<'q>>(new: &'q Self::New, params: P) -> P;
    fn from_row(row: &impl Columns) -> Result<Self>;
}

impl RecordKind for SchoolEvent {
    type New = NewSchoolEvent;
    const TABLE: &'static str = "school_events";
    const COLUMNS: &'static [&'static str] = &["event_type", "start_time", "end_time"];
    const KEY: &'static [&'static str] = &["start_time", "event_type"];
    const TIME: &'static str = "start_time";

    fn bind_new<'q, P: Params<'q>>(new: &'q NewSchoolEvent, params: P) -> P {
        params
            .text(new.event_type.as_str())
            .time(new.start)
            .maybe_time(new.end)
    }

    fn bind_key<'q, P: Params<'q>>(new: &'q NewSchoolEvent, params: P) -> P {
        params.time(new.start).text(new.event_type.as_str())
    }

    fn from_row(row: &impl Columns) -> Result<Self> {
        Ok(SchoolEvent {
            id: RecordId(row.uuid("id")?),
            child_id: ChildId(row.uuid("child_id")?),
            event_type: event_type(row.text("event_type")?)?,
            start: row.time("start_time")?,
            end: row.maybe_time("end_time")?,
        })
    }
}

impl RecordKind for Intervention {
    type New = NewIntervention;
    const TABLE: &'static str = "interventions";
    const COLUMNS: &'static [&'static str] = &["kind", "time", "duration_min"];
    const KEY: &'static [&'static str] = &["time", "kind"];
    const TIME: &'static str = "time";

    fn bind_new<'q, P: Params<'q>>(new: &'q NewIntervention, params: P) -> P {
        params
            .text(new.kind.as_str())
            .time(new.time)
            .int(new.duration_min)
    }

    fn bind_key<'q, P: Params<'q>>(new: &'q NewIntervention, params: P) -> P {
        params.time(new.time).text(new.kind.as_str())
    }

    fn from_row(row: &impl Columns) -> Result<Self> {
        Ok(Intervention {
            id: RecordId(row.uuid("id")?),
            child_id: ChildId(row.uuid("child_id")?),
            kind: intervention_kind(row.text("kind")?)?,
            time: row.time("time")?,
            duration_min: row.int("duration_min")?,
        })
    }
}

impl RecordKind for SleepEpisode {
    type New = NewSleepEpisode;
    const TABLE: &'static str = "sleep_episodes";
    const COLUMNS: &'static [&'static str] = &["onset", "offset_time", "utc_offset_min"];
    const KEY: &'static [&'static str] = &["onset"];
    const TIME: &'static str = "onset";

    fn bind_new<'q, P: Params<'q>>(new: &'q NewSleepEpisode, params: P) -> P {
        params.time(new.onset).time(new.offset).int32(new.utc_offset_min)
    }

    fn bind_key<'q, P: Params<'q>>(new: &'q NewSleepEpisode, params: P) -> P {
        params.time(new.onset)
    }

    fn from_row(row: &impl Columns) -> Result<Self> {
        Ok(SleepEpisode {
            id: RecordId(row.uuid("id")?),
            child_id: ChildId(row.uuid("child_id")?),
            onset: row.time("onset")?,
            offset: row.time("offset_time")?,
            utc_offset_min: row.int32("utc_offset_min")?,
        })
    }
}

/// Stores `new` for `child` unless a record with its key is there already; either way
/// returns the stored record, with `true` when it was stored now. Both statements run on
/// `db` (the writer), so the second sees what the first did.
pub(crate) async fn insert<'e, DB, K, E>(db: E, child: ChildId, new: &K::New) -> Result<(K, bool)>
where
    DB: Dialect,
    K: RecordKind,
    E: sqlx::Executor<'e, Database = DB> + Copy,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let insert = insert_sql::<K>();
    let statement = sqlx::query(&insert).uuid(uuid::Uuid::new_v4()).uuid(child.0);
    let done = K::bind_new(new, statement).time(Utc::now()).execute(db).await?;
    let created = DB::rows_affected(&done) == 1;
    let find = find_sql::<K>();
    let row = K::bind_key(new, sqlx::query(&find).uuid(child.0))
        .fetch_one(db)
        .await?;
    Ok((K::from_row(&row)?, created))
}

/// A child's records with their time in `range`, by (time, id), strictly after `after`
/// when given, at most `limit_to` of them.
pub(crate) async fn page<'e, DB, K, E>(
    db: E,
    child: ChildId,
    range: TimeRange,
    after: Option<RecordCursor>,
    limit_to: usize,
) -> Result<Vec<K>>
where
    DB: Dialect,
    K: RecordKind,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let (cursor_time, cursor_id) = cursor_or_start(after, &range);
    let sql = page_sql::<K>();
    let rows = sqlx::query(&sql)
        .uuid(child.0)
        .time(range_start(&range))
        .time(range_end(&range))
        .time(cursor_time)
        .uuid(cursor_id)
        .int(limit(limit_to))
        .fetch_all(db)
        .await?;
    rows.iter().map(K::from_row).collect()
}

fn select_sql<K: RecordKind>() -> String {
    format!("SELECT id, child_id, {} FROM {}", K::COLUMNS.join(", "), K::TABLE)
}

fn insert_sql<K: RecordKind>() -> String {
    let values: Vec<String> = (1..=K::COLUMNS.len() + 3).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO {} (id, child_id, {}, created_at) VALUES ({}) ON CONFLICT (child_id, {}) DO NOTHING",
        K::TABLE,
        K::COLUMNS.join(", "),
        values.join(", "),
        K::KEY.join(", ")
    )
}

/// The record whose key `bind_key` binds from `$2` on.
fn find_sql<K: RecordKind>() -> String {
    let key: Vec<String> = K::KEY
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", i + 2))
        .collect();
    format!(
        "{} WHERE child_id = $1 AND {}",
        select_sql::<K>(),
        key.join(" AND ")
    )
}

fn page_sql<K: RecordKind>() -> String {
    let time = K::TIME;
    format!(
        "{} WHERE child_id = $1 AND {time} >= $2 AND {time} < $3 \
         AND ({time} > $4 OR ({time} = $4 AND id > $5)) ORDER BY {time}, id LIMIT $6",
        select_sql::<K>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements each kind ran when it had queries of its own, so the protocol
    /// written once says exactly what the three copies said.
    #[test]
    fn each_kind_runs_the_statements_it_always_ran() {
        assert_eq!(
            insert_sql::<SchoolEvent>(),
            "INSERT INTO school_events (id, child_id, event_type, start_time, end_time, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (child_id, start_time, event_type) DO NOTHING"
        );
        assert_eq!(
            find_sql::<SchoolEvent>(),
            "SELECT id, child_id, event_type, start_time, end_time FROM school_events \
             WHERE child_id = $1 AND start_time = $2 AND event_type = $3"
        );
        assert_eq!(
            page_sql::<SchoolEvent>(),
            "SELECT id, child_id, event_type, start_time, end_time FROM school_events \
             WHERE child_id = $1 AND start_time >= $2 AND start_time < $3 \
             AND (start_time > $4 OR (start_time = $4 AND id > $5)) ORDER BY start_time, id LIMIT $6"
        );
        assert_eq!(
            insert_sql::<Intervention>(),
            "INSERT INTO interventions (id, child_id, kind, time, duration_min, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (child_id, time, kind) DO NOTHING"
        );
        assert_eq!(
            find_sql::<Intervention>(),
            "SELECT id, child_id, kind, time, duration_min FROM interventions \
             WHERE child_id = $1 AND time = $2 AND kind = $3"
        );
        assert_eq!(
            page_sql::<Intervention>(),
            "SELECT id, child_id, kind, time, duration_min FROM interventions \
             WHERE child_id = $1 AND time >= $2 AND time < $3 \
             AND (time > $4 OR (time = $4 AND id > $5)) ORDER BY time, id LIMIT $6"
        );
        assert_eq!(
            insert_sql::<SleepEpisode>(),
            "INSERT INTO sleep_episodes (id, child_id, onset, offset_time, utc_offset_min, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (child_id, onset) DO NOTHING"
        );
        assert_eq!(
            find_sql::<SleepEpisode>(),
            "SELECT id, child_id, onset, offset_time, utc_offset_min FROM sleep_episodes \
             WHERE child_id = $1 AND onset = $2"
        );
        assert_eq!(
            page_sql::<SleepEpisode>(),
            "SELECT id, child_id, onset, offset_time, utc_offset_min FROM sleep_episodes \
             WHERE child_id = $1 AND onset >= $2 AND onset < $3 \
             AND (onset > $4 OR (onset = $4 AND id > $5)) ORDER BY onset, id LIMIT $6"
        );
    }
}
