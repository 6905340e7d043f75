//! What both backends share: the helpers every query uses, the plumbing for code that is
//! generic over the database, and [`impl_store!`], which implements the aggregates'
//! traits for each backend.
//!
//! SQLite and PostgreSQL accept the same SQL for everything here (`$N` parameters,
//! `ON CONFLICT`, `RETURNING`); what differs is how an instant is encoded, which each
//! backend says once by implementing [`Dialect`] for its sqlx database. Each aggregate's
//! queries are plain functions generic over that database in a module of their own
//! (`accounts.rs`, `children.rs`, `records.rs`, `samples.rs`, `recommendations.rs`,
//! `registry.rs`, `privacy.rs`, `effects.rs`); they bind and read values through [`Params`] and
//! [`Columns`], which carry sqlx's trait bounds and the encoding of instants, so a query
//! reads as SQL and a list of values.
//!
//! The trait impls stay a macro, expanded once per backend, because each method must
//! repeat its whole signature for `async_trait`: written by hand that would be every
//! signature twice, and a blanket impl over all databases would have to prove each
//! boxed future `Send` for every `Dialect` through sqlx's higher-ranked executor
//! bounds, where an expansion names the concrete store and so its database. Every
//! method is a one-line call.

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
    fn maybe_real(self, value: Option<f64>) -> Self;
    fn maybe_int(self, value: Option<i64>) -> Self;
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
    Option<f64>: Encode<'q, DB>,
    Option<i64>: Encode<'q, DB>,
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

    fn maybe_real(self, value: Option<f64>) -> Self {
        self.bind(value)
    }

    fn maybe_int(self, value: Option<i64>) -> Self {
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
    fn maybe_boolean(&self, name: &str) -> Result<Option<bool>, StoreError>;

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

    fn maybe_boolean(&self, name: &str) -> Result<Option<bool>, StoreError> {
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

/// Expands to the aggregates' impls for `$store`, all but `Samples` (whose bulk insert is
/// each backend's own), and the benchmark's row-by-row insert as an inherent method (it
/// is no part of the contract). Reads go to `read`, writes and transactions to `write`.
macro_rules! impl_store {
    (store = $store:ty $(,)?) => {
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

            async fn notes(
                &self,
                child: sprout_domain::ChildId,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::Note>> {
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
                $crate::recommendations::insert_recommendation(&self.write, r).await
            }

            async fn get_recommendation(
                &self,
                id: sprout_domain::RecordId,
            ) -> $crate::Result<Option<$crate::StoredRecommendation>> {
                $crate::recommendations::get_recommendation(&self.read, id).await
            }

            async fn recommendations(
                &self,
                child: sprout_domain::ChildId,
                viewer: sprout_domain::UserId,
                before: Option<$crate::RecordCursor>,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::StoredRecommendation>> {
                $crate::recommendations::recommendations(&self.read, child, viewer, before, limit).await
            }

            async fn remembered_recommendations(
                &self,
                child: sprout_domain::ChildId,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::RememberedRecommendation>> {
                $crate::recommendations::remembered_recommendations(&self.read, child, limit).await
            }

            async fn upsert_feedback(
                &self,
                recommendation: sprout_domain::RecordId,
                user: sprout_domain::UserId,
                child: sprout_domain::ChildId,
                was_helpful: bool,
                comment: Option<&str>,
            ) -> $crate::Result<$crate::Feedback> {
                $crate::recommendations::upsert_feedback(
                    &self.write,
                    recommendation,
                    user,
                    child,
                    was_helpful,
                    comment,
                )
                .await
            }

            async fn child_feedback(
                &self,
                child: sprout_domain::ChildId,
            ) -> $crate::Result<Vec<$crate::ActionFeedback>> {
                $crate::recommendations::child_feedback(&self.read, child).await
            }

            async fn feedback_examples(&self) -> $crate::Result<Vec<$crate::FeedbackExample>> {
                $crate::recommendations::feedback_examples(&self.read).await
            }

            async fn feedback_count(&self, child: Option<sprout_domain::ChildId>) -> $crate::Result<u64> {
                $crate::recommendations::feedback_count(&self.read, child).await
            }

            async fn awaiting_outcome(
                &self,
                since: chrono::DateTime<chrono::Utc>,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::StoredRecommendation>> {
                $crate::recommendations::awaiting_outcome(&self.read, since, limit).await
            }

            async fn set_outcome(
                &self,
                id: sprout_domain::RecordId,
                outcome: &serde_json::Value,
                reward: Option<f64>,
            ) -> $crate::Result<()> {
                $crate::recommendations::set_outcome(&self.write, id, outcome, reward).await
            }

            async fn set_reward(
                &self,
                id: sprout_domain::RecordId,
                reward: Option<f64>,
            ) -> $crate::Result<()> {
                $crate::recommendations::set_reward(&self.write, id, reward).await
            }

            async fn outcome(
                &self,
                id: sprout_domain::RecordId,
            ) -> $crate::Result<Option<serde_json::Value>> {
                $crate::recommendations::outcome(&self.read, id).await
            }

            async fn set_followed_by(
                &self,
                id: sprout_domain::RecordId,
                child: sprout_domain::ChildId,
                intervention: sprout_domain::RecordId,
            ) -> $crate::Result<bool> {
                $crate::recommendations::set_followed_by(&self.write, id, child, intervention).await
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

            async fn conclude_experiment(
                &self,
                experiment: uuid::Uuid,
                promoted: bool,
            ) -> $crate::Result<bool> {
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
                $crate::samples::insert_row_by_row(&self.write, child, samples).await
            }
        }
    };
}

pub(crate) use impl_store;
