//! What both backends share: the helpers every query uses, the plumbing for code that is
//! generic over the database, and [`impl_store!`], which implements the aggregates'
//! traits for each backend.
//!
//! SQLite and PostgreSQL accept the same SQL for everything here (`$N` parameters,
//! `ON CONFLICT`, `RETURNING`); what differs is how an instant is encoded, which each
//! backend says once by implementing [`Dialect`] for its sqlx database. Each aggregate's
//! queries are plain functions generic over that database in a module of their own
//! (`accounts.rs`, `children.rs`, `records.rs`, `samples.rs`, `registry.rs`,
//! `privacy.rs`, `effects.rs`); they bind and read values through [`Params`] and
//! [`Columns`], which carry sqlx's trait bounds and the encoding of instants, so a query
//! reads as SQL and a list of values.
//!
//! The trait impls stay a macro, expanded once per backend, because each method must
//! repeat its whole signature for `async_trait`: written by hand that would be every
//! signature twice, and a blanket impl over all databases would have to prove each
//! boxed future `Send` for every `Dialect` through sqlx's higher-ranked executor
//! bounds, where an expansion names the concrete database. Most methods are one-line
//! calls; the recommendations' queries are still written in the macro, with each
//! backend's module-level `to_db`/`from_db`.

use crate::{RecordCursor, StoreError, TimeRange};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sprout_domain::{InterventionKind, RecordId};
use sqlx::{Decode, Encode, Type};
use std::str::FromStr;

/// How a database stores an instant and reports a statement's effect: what the shared
/// queries cannot say once. Its bounds are sqlx's that every generic query needs
/// (statements take their arguments, rows read back through [`Columns`]), stated here
/// once: generic code asks for `DB: Dialect`, for `Query<'q, DB>: Params<'q>` when it
/// binds values, and for `&mut DB::Connection: Executor` when it runs statements in a
/// transaction (bounds Rust cannot carry on the trait).
pub(crate) trait Dialect:
    for<'q> sqlx::Database<Arguments<'q>: sqlx::IntoArguments<'q, Self>, Row: Columns>
{
    type Time: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + Sync + 'static;

    fn to_db(time: DateTime<Utc>) -> Self::Time;

    fn from_db(time: Self::Time) -> Result<DateTime<Utc>, StoreError>;

    /// How many rows a statement changed (each backend reports it in its own type).
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// `time` as it reads back once stored (SQLite keeps microseconds), for a record
    /// returned without reading it back.
    fn as_stored(time: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        Self::from_db(Self::to_db(time))
    }
}

/// A statement built with `sqlx::query` on `DB`.
pub(crate) type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// Binds the column types Sprout's records use, instants in the database's encoding.
pub(crate) trait Params<'q>: Sized {
    fn uuid(self, value: uuid::Uuid) -> Self;
    fn text(self, value: &'q str) -> Self;
    fn time(self, value: DateTime<Utc>) -> Self;
    fn maybe_time(self, value: Option<DateTime<Utc>>) -> Self;
    fn int(self, value: i64) -> Self;
    fn int32(self, value: i32) -> Self;
    fn real(self, value: f64) -> Self;
    fn boolean(self, value: bool) -> Self;
    fn bytes(self, value: &'q [u8]) -> Self;
    fn date(self, value: NaiveDate) -> Self;
    fn maybe_text(self, value: Option<&'q str>) -> Self;
    fn maybe_uuid(self, value: Option<uuid::Uuid>) -> Self;
    /// A JSON document, stored as its text.
    fn json(self, value: &serde_json::Value) -> Self;
}

impl<'q, DB> Params<'q> for Query<'q, DB>
where
    DB: Dialect,
    uuid::Uuid: Encode<'q, DB> + Type<DB>,
    Option<DB::Time>: Encode<'q, DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    i32: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    NaiveDate: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB>,
    Option<uuid::Uuid>: Encode<'q, DB>,
    String: Encode<'q, DB> + Type<DB>,
{
    fn uuid(self, value: uuid::Uuid) -> Self {
        self.bind(value)
    }

    fn text(self, value: &'q str) -> Self {
        self.bind(value)
    }

    fn time(self, value: DateTime<Utc>) -> Self {
        self.bind(DB::to_db(value))
    }

    fn maybe_time(self, value: Option<DateTime<Utc>>) -> Self {
        self.bind(value.map(DB::to_db))
    }

    fn int(self, value: i64) -> Self {
        self.bind(value)
    }

    fn int32(self, value: i32) -> Self {
        self.bind(value)
    }

    fn real(self, value: f64) -> Self {
        self.bind(value)
    }

    fn boolean(self, value: bool) -> Self {
        self.bind(value)
    }

    fn bytes(self, value: &'q [u8]) -> Self {
        self.bind(value)
    }

    fn date(self, value: NaiveDate) -> Self {
        self.bind(value)
    }

    fn maybe_text(self, value: Option<&'q str>) -> Self {
        self.bind(value)
    }

    fn maybe_uuid(self, value: Option<uuid::Uuid>) -> Self {
        self.bind(value)
    }

    fn json(self, value: &serde_json::Value) -> Self {
        self.bind(value.to_string())
    }
}

/// Reads the column types Sprout's records use from a row, by column name.
pub(crate) trait Columns {
    fn uuid(&self, name: &str) -> Result<uuid::Uuid, StoreError>;
    fn text(&self, name: &str) -> Result<String, StoreError>;
    fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError>;
    fn maybe_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn int(&self, name: &str) -> Result<i64, StoreError>;
    fn int32(&self, name: &str) -> Result<i32, StoreError>;
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, StoreError>;
    fn real(&self, name: &str) -> Result<f64, StoreError>;
    fn maybe_real(&self, name: &str) -> Result<Option<f64>, StoreError>;
    fn maybe_text(&self, name: &str) -> Result<Option<String>, StoreError>;
    fn maybe_uuid(&self, name: &str) -> Result<Option<uuid::Uuid>, StoreError>;
    fn date(&self, name: &str) -> Result<NaiveDate, StoreError>;
    fn boolean(&self, name: &str) -> Result<bool, StoreError>;

    /// A stored count; SQL counts are signed, and a negative one reads as none.
    fn count(&self, name: &str) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.int(name)?).unwrap_or_default())
    }
}

impl<R> Columns for R
where
    R: sqlx::Row,
    R::Database: Dialect,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    uuid::Uuid: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i32: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    f64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    NaiveDate: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    bool: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn uuid(&self, name: &str) -> Result<uuid::Uuid, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn text(&self, name: &str) -> Result<String, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        <R::Database as Dialect>::from_db(self.try_get(name)?)
    }

    fn maybe_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.try_get::<Option<<R::Database as Dialect>::Time>, _>(name)?
            .map(<R::Database as Dialect>::from_db)
            .transpose()
    }

    fn int(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn int32(&self, name: &str) -> Result<i32, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn maybe_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn real(&self, name: &str) -> Result<f64, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn maybe_real(&self, name: &str) -> Result<Option<f64>, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn maybe_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn maybe_uuid(&self, name: &str) -> Result<Option<uuid::Uuid>, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn date(&self, name: &str) -> Result<NaiveDate, StoreError> {
        Ok(self.try_get(name)?)
    }

    fn boolean(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(name)?)
    }
}

/// Lower bound standing in for "no lower bound"; nothing stored predates 2000.
pub(crate) fn range_start(range: &TimeRange) -> DateTime<Utc> {
    range
        .from
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
}

/// Upper bound standing in for "no upper bound" (the year 3000, within every backend's range).
pub(crate) fn range_end(range: &TimeRange) -> DateTime<Utc> {
    const YEAR_3000: i64 = 32_503_680_000;
    range
        .to
        .unwrap_or_else(|| Utc.timestamp_opt(YEAR_3000, 0).single().unwrap_or_default())
}

/// A keyset cursor, or one that sorts before every record in `range`.
pub(crate) fn cursor_or_start(after: Option<RecordCursor>, range: &TimeRange) -> (DateTime<Utc>, uuid::Uuid) {
    match after {
        Some(c) => (c.time, c.id.0),
        None => (
            range_start(range) - chrono::Duration::microseconds(1),
            uuid::Uuid::nil(),
        ),
    }
}

pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn intervention_kind(text: String) -> Result<InterventionKind, StoreError> {
    InterventionKind::from_str(&text).map_err(|e| StoreError::corrupt("intervention kind", e))
}

pub(crate) fn event_type(text: String) -> Result<sprout_domain::EventType, StoreError> {
    sprout_domain::EventType::parse(&text).map_err(|e| StoreError::corrupt("event type", e))
}

pub(crate) fn sleep_state(text: Option<String>) -> Result<Option<sprout_domain::SleepState>, StoreError> {
    text.map(|t| sprout_domain::SleepState::from_str(&t).map_err(|e| StoreError::corrupt("sleep state", e)))
        .transpose()
}

pub(crate) fn details(json: String) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(&json).map_err(|e| StoreError::corrupt("recommendation details", e))
}

/// A row naming a child that is no longer there (erased meanwhile) is
/// [`StoreError::NotFound`]; anything else stays a database error.
pub(crate) fn child_gone(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound { what: "child" },
        _ => StoreError::Database(err),
    }
}

pub(crate) fn record_id(id: uuid::Uuid) -> RecordId {
    RecordId(id)
}

/// A round trip that touches no table, for readiness checks.
pub(crate) async fn ping<'e, DB, E>(db: E) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

/// Expands to the aggregates' impls for `$store` on `$db`, all but `Samples` (whose bulk
/// insert is each backend's own), and the benchmark's row-by-row insert as an inherent
/// method (it is no part of the contract). Reads go to `read`, writes and transactions
/// to `write`.
macro_rules! impl_store {
    (store = $store:ty, db = $db:ty $(,)?) => {
        /// How the shared queries below encode instants: the backend's `Dialect`.
        type DbTime = <$db as $crate::sql::Dialect>::Time;

        fn to_db(time: chrono::DateTime<chrono::Utc>) -> DbTime {
            <$db as $crate::sql::Dialect>::to_db(time)
        }

        fn from_db(time: DbTime) -> $crate::Result<chrono::DateTime<chrono::Utc>> {
            <$db as $crate::sql::Dialect>::from_db(time)
        }

        #[async_trait::async_trait]
        impl $crate::Accounts for $store {
            async fn create_family(
                &self,
                name: &str,
                email: &sprout_domain::Email,
                password_hash: &str,
            ) -> $crate::Result<(sprout_domain::FamilyId, sprout_domain::UserId)> {
                $crate::accounts::create_family(&self.write, name, email, password_hash).await
            }

            async fn family_clock(
                &self,
                family: sprout_domain::FamilyId,
            ) -> $crate::Result<sprout_domain::ClockFormat> {
                $crate::accounts::family_clock(&self.read, family).await
            }

            async fn set_family_clock(
                &self,
                family: sprout_domain::FamilyId,
                clock: sprout_domain::ClockFormat,
            ) -> $crate::Result<()> {
                $crate::accounts::set_family_clock(&self.write, family, clock).await
            }

            async fn find_user_by_email(
                &self,
                email: &sprout_domain::Email,
            ) -> $crate::Result<Option<$crate::UserRecord>> {
                $crate::accounts::find_user_by_email(&self.read, email).await
            }

            async fn insert_token(&self, token: &$crate::NewToken) -> $crate::Result<()> {
                $crate::accounts::insert_token(&self.write, token).await
            }

            async fn find_token(&self, token_hash: &[u8; 32]) -> $crate::Result<Option<$crate::TokenRecord>> {
                $crate::accounts::find_token(&self.read, token_hash).await
            }

            async fn revoke_token(&self, token_hash: &[u8; 32]) -> $crate::Result<bool> {
                $crate::accounts::revoke_token(&self.write, token_hash).await
            }

            async fn create_device(
                &self,
                child: sprout_domain::ChildId,
                name: &str,
                token_hash: &[u8; 32],
            ) -> $crate::Result<sprout_domain::DeviceId> {
                $crate::accounts::create_device(&self.write, child, name, token_hash).await
            }

            async fn revoke_device(
                &self,
                child: sprout_domain::ChildId,
                device: sprout_domain::DeviceId,
            ) -> $crate::Result<bool> {
                $crate::accounts::revoke_device(&self.write, child, device).await
            }

            async fn audit(
                &self,
                family: sprout_domain::FamilyId,
                entry: &$crate::AuditEntry,
            ) -> $crate::Result<()> {
                $crate::accounts::audit(&self.write, family, entry).await
            }

            async fn audit_trail(
                &self,
                family: sprout_domain::FamilyId,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::AuditEntry>> {
                $crate::accounts::audit_trail(&self.read, family, limit).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Children for $store {
            async fn create_child(
                &self,
                family: sprout_domain::FamilyId,
                child: &sprout_domain::NewChild,
            ) -> $crate::Result<sprout_domain::Child> {
                $crate::children::create_child(&self.write, family, child).await
            }

            async fn list_children(
                &self,
                family: sprout_domain::FamilyId,
            ) -> $crate::Result<Vec<sprout_domain::Child>> {
                $crate::children::list_children(&self.read, family).await
            }

            async fn get_child(
                &self,
                child: sprout_domain::ChildId,
            ) -> $crate::Result<Option<sprout_domain::Child>> {
                $crate::children::get_child(&self.read, child).await
            }

            async fn all_children(&self) -> $crate::Result<Vec<sprout_domain::Child>> {
                $crate::children::all_children(&self.read).await
            }

            async fn set_chronotype(
                &self,
                child: sprout_domain::ChildId,
                chronotype: Option<&str>,
            ) -> $crate::Result<()> {
                $crate::children::set_chronotype(&self.write, child, chronotype).await
            }

            async fn set_preferences(
                &self,
                child: sprout_domain::ChildId,
                preferences: &sprout_domain::Preferences,
            ) -> $crate::Result<()> {
                $crate::children::set_preferences(&self.write, child, preferences).await
            }

            async fn insert_note(&self, note: &$crate::Note) -> $crate::Result<()> {
                $crate::children::insert_note(&self.write, note).await
            }

            async fn notes(&self, child: sprout_domain::ChildId, limit: usize) -> $crate::Result<Vec<$crate::Note>> {
                $crate::children::notes(&self.read, child, limit).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Records for $store {
            async fn insert_event(
                &self,
                child: sprout_domain::ChildId,
                event: &sprout_domain::NewSchoolEvent,
            ) -> $crate::Result<(sprout_domain::SchoolEvent, bool)> {
                $crate::records::insert(&self.write, child, event).await
            }

            async fn events(
                &self,
                child: sprout_domain::ChildId,
                range: $crate::TimeRange,
                after: Option<$crate::RecordCursor>,
                limit: usize,
            ) -> $crate::Result<Vec<sprout_domain::SchoolEvent>> {
                $crate::records::page(&self.read, child, range, after, limit).await
            }

            async fn insert_intervention(
                &self,
                child: sprout_domain::ChildId,
                intervention: &sprout_domain::NewIntervention,
            ) -> $crate::Result<(sprout_domain::Intervention, bool)> {
                $crate::records::insert(&self.write, child, intervention).await
            }

            async fn interventions(
                &self,
                child: sprout_domain::ChildId,
                range: $crate::TimeRange,
                after: Option<$crate::RecordCursor>,
                limit: usize,
            ) -> $crate::Result<Vec<sprout_domain::Intervention>> {
                $crate::records::page(&self.read, child, range, after, limit).await
            }

            async fn insert_sleep_episode(
                &self,
                child: sprout_domain::ChildId,
                episode: &sprout_domain::NewSleepEpisode,
            ) -> $crate::Result<(sprout_domain::SleepEpisode, bool)> {
                $crate::records::insert(&self.write, child, episode).await
            }

            async fn sleep_episodes(
                &self,
                child: sprout_domain::ChildId,
                range: $crate::TimeRange,
                after: Option<$crate::RecordCursor>,
                limit: usize,
            ) -> $crate::Result<Vec<sprout_domain::SleepEpisode>> {
                $crate::records::page(&self.read, child, range, after, limit).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Recommendations for $store {
            async fn insert_recommendation(&self, r: &$crate::NewRecommendation) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO recommendations (id, child_id, created_at, text, action_kind, action_slot, \
                     model_version, arm, details, experiment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(r.id.0)
                .bind(r.child_id.0)
                .bind(to_db(r.created_at))
                .bind(&r.text)
                .bind(r.action_kind.as_str())
                .bind(&r.action_slot)
                .bind(&r.model_version)
                .bind(&r.arm)
                .bind(r.details.to_string())
                .bind(r.experiment_id)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn get_recommendation(
                &self,
                id: sprout_domain::RecordId,
            ) -> $crate::Result<Option<$crate::StoredRecommendation>> {
                let row = sqlx::query(
                    "SELECT id, child_id, created_at, text, action_kind, action_slot, model_version, arm, details, \
                            followed_by, CAST(NULL AS BOOLEAN) AS was_helpful FROM recommendations WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(&self.read)
                .await?;
                row.as_ref().map(recommendation_from_row).transpose()
            }

            async fn recommendations(
                &self,
                child: sprout_domain::ChildId,
                viewer: sprout_domain::UserId,
                before: Option<$crate::RecordCursor>,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::StoredRecommendation>> {
                let range = $crate::TimeRange::default();
                let (cursor_time, cursor_id) = match before {
                    Some(c) => (c.time, c.id.0),
                    None => ($crate::sql::range_end(&range), uuid::Uuid::max()),
                };
                let rows = sqlx::query(
                    "SELECT r.id, r.child_id, r.created_at, r.text, r.action_kind, r.action_slot, r.model_version, \
                            r.arm, r.details, r.followed_by, f.was_helpful \
                     FROM recommendations r \
                     LEFT JOIN recommendation_feedback f ON f.recommendation_id = r.id AND f.user_id = $2 \
                     WHERE r.child_id = $1 AND (r.created_at < $3 OR (r.created_at = $3 AND r.id < $4)) \
                     ORDER BY r.created_at DESC, r.id DESC LIMIT $5",
                )
                .bind(child.0)
                .bind(viewer.0)
                .bind(to_db(cursor_time))
                .bind(cursor_id)
                .bind($crate::sql::limit(limit))
                .fetch_all(&self.read)
                .await?;
                rows.iter().map(recommendation_from_row).collect()
            }

            async fn remembered_recommendations(
                &self,
                child: sprout_domain::ChildId,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::RememberedRecommendation>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT r.id, r.created_at, r.text, r.action_kind, f.was_helpful, f.comment \
                     FROM (SELECT id, created_at, text, action_kind FROM recommendations WHERE child_id = $1 \
                           ORDER BY created_at DESC, id LIMIT $2) r \
                     LEFT JOIN recommendation_feedback f ON f.recommendation_id = r.id \
                     ORDER BY r.created_at DESC, r.id",
                )
                .bind(child.0)
                .bind($crate::sql::limit(limit))
                .fetch_all(&self.read)
                .await?;
                let mut remembered: Vec<$crate::RememberedRecommendation> = Vec::new();
                for r in &rows {
                    let id = $crate::sql::record_id(r.try_get("id")?);
                    if remembered.last().is_none_or(|last| last.id != id) {
                        remembered.push($crate::RememberedRecommendation {
                            id,
                            created_at: from_db(r.try_get("created_at")?)?,
                            text: r.try_get("text")?,
                            action_kind: $crate::sql::intervention_kind(r.try_get("action_kind")?)?,
                            answers: Vec::new(),
                        });
                    }
                    let helpful: Option<bool> = r.try_get("was_helpful")?;
                    if let (Some(helpful), Some(last)) = (helpful, remembered.last_mut()) {
                        last.answers.push((helpful, r.try_get("comment")?));
                    }
                }
                Ok(remembered)
            }

            async fn upsert_feedback(
                &self,
                recommendation: sprout_domain::RecordId,
                user: sprout_domain::UserId,
                child: sprout_domain::ChildId,
                was_helpful: bool,
                comment: Option<&str>,
            ) -> $crate::Result<$crate::Feedback> {
                use sqlx::Row;
                let now = to_db(chrono::Utc::now());
                let row = sqlx::query(
                    "INSERT INTO recommendation_feedback (recommendation_id, user_id, child_id, was_helpful, comment, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (recommendation_id, user_id) DO UPDATE SET was_helpful = excluded.was_helpful, \
                     comment = excluded.comment, updated_at = excluded.updated_at \
                     RETURNING created_at, updated_at",
                )
                .bind(recommendation.0)
                .bind(user.0)
                .bind(child.0)
                .bind(was_helpful)
                .bind(comment)
                .bind(now)
                .fetch_one(&self.write)
                .await?;
                Ok($crate::Feedback {
                    recommendation_id: recommendation,
                    user_id: user,
                    child_id: child,
                    was_helpful,
                    comment: comment.map(str::to_owned),
                    created_at: from_db(row.try_get("created_at")?)?,
                    updated_at: from_db(row.try_get("updated_at")?)?,
                })
            }

            async fn child_feedback(
                &self,
                child: sprout_domain::ChildId,
            ) -> $crate::Result<Vec<$crate::ActionFeedback>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT r.action_kind, r.action_slot, f.was_helpful, f.updated_at \
                     FROM recommendation_feedback f JOIN recommendations r ON r.id = f.recommendation_id \
                     WHERE f.child_id = $1 ORDER BY f.updated_at",
                )
                .bind(child.0)
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::ActionFeedback {
                            action_kind: $crate::sql::intervention_kind(r.try_get("action_kind")?)?,
                            action_slot: r.try_get("action_slot")?,
                            was_helpful: r.try_get("was_helpful")?,
                            at: from_db(r.try_get("updated_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn feedback_examples(&self) -> $crate::Result<Vec<$crate::FeedbackExample>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT r.id, r.child_id, r.text, r.action_kind, r.model_version, r.details, f.was_helpful, f.comment, \
                     f.updated_at FROM recommendation_feedback f JOIN recommendations r ON r.id = f.recommendation_id \
                     ORDER BY f.updated_at, r.id",
                )
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::FeedbackExample {
                            recommendation_id: $crate::sql::record_id(r.try_get("id")?),
                            child_id: sprout_domain::ChildId(r.try_get("child_id")?),
                            text: r.try_get("text")?,
                            action_kind: $crate::sql::intervention_kind(r.try_get("action_kind")?)?,
                            model_version: r.try_get("model_version")?,
                            details: $crate::sql::details(r.try_get("details")?)?,
                            was_helpful: r.try_get("was_helpful")?,
                            comment: r.try_get("comment")?,
                            answered_at: from_db(r.try_get("updated_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn feedback_count(&self, child: Option<sprout_domain::ChildId>) -> $crate::Result<u64> {
                use sqlx::Row;
                let query = match child {
                    None => sqlx::query("SELECT COUNT(*) AS n FROM recommendation_feedback"),
                    Some(child) => {
                        sqlx::query("SELECT COUNT(*) AS n FROM recommendation_feedback WHERE child_id = $1")
                            .bind(child.0)
                    }
                };
                let n: i64 = query.fetch_one(&self.read).await?.try_get("n")?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn awaiting_outcome(
                &self,
                since: chrono::DateTime<chrono::Utc>,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::StoredRecommendation>> {
                let rows = sqlx::query(
                    "SELECT r.id, r.child_id, r.created_at, r.text, r.action_kind, r.action_slot, r.model_version, \
                            r.arm, r.details, r.followed_by, (SELECT f.was_helpful FROM recommendation_feedback f \
                            WHERE f.recommendation_id = r.id ORDER BY f.updated_at DESC LIMIT 1) AS was_helpful \
                     FROM recommendations r WHERE r.outcome IS NULL AND r.created_at >= $1 \
                     ORDER BY r.created_at, r.id LIMIT $2",
                )
                .bind(to_db(since))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.read)
                .await?;
                rows.iter().map(recommendation_from_row).collect()
            }

            async fn set_outcome(
                &self,
                id: sprout_domain::RecordId,
                outcome: &serde_json::Value,
                reward: Option<f64>,
            ) -> $crate::Result<()> {
                sqlx::query("UPDATE recommendations SET outcome = $1, reward = $2 WHERE id = $3")
                    .bind(outcome.to_string())
                    .bind(reward)
                    .bind(id.0)
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn set_reward(&self, id: sprout_domain::RecordId, reward: Option<f64>) -> $crate::Result<()> {
                sqlx::query("UPDATE recommendations SET reward = $1 WHERE id = $2")
                    .bind(reward)
                    .bind(id.0)
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn outcome(&self, id: sprout_domain::RecordId) -> $crate::Result<Option<serde_json::Value>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT outcome FROM recommendations WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.read)
                    .await?;
                match row.map(|r| r.try_get::<Option<String>, _>("outcome")).transpose()?.flatten() {
                    Some(text) => Ok(Some($crate::sql::details(text)?)),
                    None => Ok(None),
                }
            }

            async fn set_followed_by(
                &self,
                id: sprout_domain::RecordId,
                child: sprout_domain::ChildId,
                intervention: sprout_domain::RecordId,
            ) -> $crate::Result<bool> {
                let updated = sqlx::query(
                    "UPDATE recommendations SET followed_by = $1 \
                     WHERE id = $2 AND child_id = $3 AND followed_by IS NULL",
                )
                .bind(intervention.0)
                .bind(id.0)
                .bind(child.0)
                .execute(&self.write)
                .await?
                .rows_affected();
                Ok(updated == 1)
            }
        }

        #[async_trait::async_trait]
        impl $crate::Registry for $store {
            async fn models(&self) -> $crate::Result<Vec<$crate::StoredModel>> {
                $crate::registry::models(&self.read).await
            }

            async fn register_model(&self, model: &$crate::StoredModel) -> $crate::Result<bool> {
                $crate::registry::register_model(&self.write, model).await
            }

            async fn experiments(&self) -> $crate::Result<Vec<$crate::StoredExperiment>> {
                $crate::registry::experiments(&self.read).await
            }

            async fn arm_counts(&self, experiment: uuid::Uuid) -> $crate::Result<Vec<$crate::ArmCounts>> {
                $crate::registry::arm_counts(&self.read, experiment).await
            }

            async fn start_experiment(
                &self,
                candidate: &str,
                base: &str,
                share: f64,
            ) -> $crate::Result<$crate::StoredExperiment> {
                $crate::registry::start_experiment(&self.write, candidate, base, share).await
            }

            async fn running_experiment(&self) -> $crate::Result<Option<$crate::StoredExperiment>> {
                $crate::registry::running_experiment(&self.read).await
            }

            async fn conclude_experiment(&self, experiment: uuid::Uuid, promoted: bool) -> $crate::Result<bool> {
                $crate::registry::conclude_experiment(&self.write, experiment, promoted).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Privacy for $store {
            async fn consents(&self, child: sprout_domain::ChildId) -> $crate::Result<$crate::Consents> {
                $crate::privacy::consents(&self.read, child).await
            }

            async fn set_consent(
                &self,
                child: sprout_domain::ChildId,
                purpose: sprout_domain::ConsentPurpose,
                granted: bool,
                by: sprout_domain::UserId,
            ) -> $crate::Result<()> {
                $crate::privacy::set_consent(&self.write, child, purpose, granted, by).await
            }

            async fn erase_child(&self, child: sprout_domain::ChildId) -> $crate::Result<$crate::Erasure> {
                $crate::privacy::erase_child(&self.write, child).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Effects for $store {
            async fn replace_effect_estimates(
                &self,
                child: sprout_domain::ChildId,
                computed_at: chrono::DateTime<chrono::Utc>,
                estimates: &[$crate::EffectEstimate],
            ) -> $crate::Result<()> {
                $crate::effects::replace_effect_estimates(&self.write, child, computed_at, estimates).await
            }

            async fn effect_estimates(
                &self,
                kind: Option<sprout_domain::InterventionKind>,
            ) -> $crate::Result<Vec<$crate::ChildEffectEstimate>> {
                $crate::effects::effect_estimates(&self.read, kind).await
            }
        }

        impl $store {
            /// The store's own speed limit, for the ingest benchmark: one prepared
            /// single-row insert per sample, all in one transaction.
            pub async fn insert_samples_row_by_row(
                &self,
                child: sprout_domain::ChildId,
                samples: &[sprout_domain::Sample],
            ) -> $crate::Result<u64> {
                let mut tx = self.write.begin().await?;
                let mut inserted = 0;
                for s in samples {
                    inserted += sqlx::query(
                        "INSERT INTO wellness_metrics (child_id, time, stress_level, heart_rate, hrv_ms, \
                         sleep_state, steps) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(child.0)
                    .bind(to_db(s.time))
                    .bind(s.stress_level)
                    .bind(s.heart_rate)
                    .bind(s.hrv_ms)
                    .bind(s.sleep_state.map(|st| st.as_str()))
                    .bind(s.steps)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(inserted)
            }
        }

        fn recommendation_from_row(
            r: &<$db as sqlx::Database>::Row,
        ) -> $crate::Result<$crate::StoredRecommendation> {
            use sqlx::Row;
            Ok($crate::StoredRecommendation {
                id: $crate::sql::record_id(r.try_get("id")?),
                child_id: sprout_domain::ChildId(r.try_get("child_id")?),
                created_at: from_db(r.try_get("created_at")?)?,
                text: r.try_get("text")?,
                action_kind: $crate::sql::intervention_kind(r.try_get("action_kind")?)?,
                action_slot: r.try_get("action_slot")?,
                model_version: r.try_get("model_version")?,
                arm: r.try_get("arm")?,
                details: $crate::sql::details(r.try_get("details")?)?,
                followed_by: r
                    .try_get::<Option<uuid::Uuid>, _>("followed_by")?
                    .map($crate::sql::record_id),
                was_helpful: r.try_get("was_helpful")?,
            })
        }
    };
}

pub(crate) use impl_store;
