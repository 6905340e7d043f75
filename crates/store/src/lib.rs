//! Sprout's storage: the [`Store`] contract, one trait per aggregate ([`Accounts`],
//! [`Children`], [`Samples`], [`Records`], [`Recommendations`], [`Registry`],
//! [`Privacy`], [`Effects`]), and two real implementations on sqlx.
//!
//! * [`SqliteStore`] — one embedded file in WAL mode; the default, so a single machine
//!   needs nothing else. All writes go through one connection (SQLite has one writer
//!   at a time; queueing them in the pool is cheaper than retrying on `SQLITE_BUSY`),
//!   reads through a small pool of their own.
//! * [`PgStore`] — PostgreSQL for many nodes; `wellness_metrics` becomes a TimescaleDB
//!   hypertable when the extension is available.
//!
//! Both share their queries, one module per aggregate generic over the database (see
//! `sql.rs`): only the schema, the encoding of instants and the bulk sample insert
//! differ. Migrations are embedded in the binary and applied
//! by [`Store::migrate`]. Every query is parameterised.

mod accounts;
mod children;
mod effects;
mod error;
mod migrate;
mod postgres;
mod privacy;
mod recommendations;
mod records;
mod registry;
mod samples;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

pub use error::StoreError;
pub use postgres::PgStore;
/// The registry's lifecycles and a version's metrics, as stored.
pub use sprout_learn::{ExperimentStatus, ModelMetrics, ModelStatus};
pub use sqlite::SqliteStore;
pub use types::{
    ActionFeedback, Aggregate, ArmCounts, AuditEntry, Backend, ChildEffectEstimate, Consent, Consents,
    EffectEstimate, Erasure, Feedback, FeedbackExample, HourAggregate, InsertOutcome, NewRecommendation,
    NewToken, Note, RecordCursor, RememberedRecommendation, StoredExperiment, StoredModel,
    StoredRecommendation, TimeRange, TokenOwner, TokenRecord, UserRecord,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sprout_domain::{
    Child, ChildId, DeviceId, Email, FamilyId, Intervention, InterventionKind, NewChild, NewIntervention,
    NewSchoolEvent, NewSleepEpisode, RecordId, Sample, SampleBatch, SchoolEvent, SleepEpisode, UserId,
};
use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Sprout keeps, aggregate by aggregate. Implementations are interchangeable:
/// the same test suite runs against each. Callers bring the aggregates' methods into
/// scope with `use sprout_store::prelude::*`.
#[async_trait]
pub trait Store:
    Accounts
    + Children
    + Samples
    + Records
    + Recommendations
    + Registry
    + Privacy
    + Effects
    + Send
    + Sync
    + 'static
{
    /// Which database is behind this store.
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations that are not applied yet.
    async fn migrate(&self) -> Result<()>;

    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;
}

/// Families and the people and devices that act for them: sign-up, clock format,
/// logins, bearer tokens, devices, and the family's audit trail.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Creates a family with its first parent. A taken e-mail is [`StoreError::Conflict`].
    async fn create_family(
        &self,
        name: &str,
        email: &Email,
        password_hash: &str,
    ) -> Result<(FamilyId, UserId)>;

    /// How the family reads clock times (12- or 24-hour); `NotFound` for no such family.
    async fn family_clock(&self, family: FamilyId) -> Result<sprout_domain::ClockFormat>;

    /// Sets how the family reads clock times.
    async fn set_family_clock(&self, family: FamilyId, clock: sprout_domain::ClockFormat) -> Result<()>;

    /// The parent who signs in with `email`, if any.
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>>;

    /// Stores a token's digest and owner; a digest stored already is [`StoreError::Conflict`].
    async fn insert_token(&self, token: &NewToken) -> Result<()>;

    /// The token with this digest, whatever its state; the caller checks expiry.
    async fn find_token(&self, token_hash: &[u8; 32]) -> Result<Option<TokenRecord>>;

    /// Revokes one token (logout, device revoke); `false` when it was unknown.
    async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<bool>;

    /// Registers a device for a child together with its token, atomically.
    async fn create_device(&self, child: ChildId, name: &str, token_hash: &[u8; 32]) -> Result<DeviceId>;

    /// Revokes a device and every token it holds; `false` when the device is not the child's.
    async fn revoke_device(&self, child: ChildId, device: DeviceId) -> Result<bool>;

    /// Appends to the audit trail.
    async fn audit(&self, family: FamilyId, entry: &AuditEntry) -> Result<()>;

    /// A family's audit trail, newest first.
    async fn audit_trail(&self, family: FamilyId, limit: usize) -> Result<Vec<AuditEntry>>;
}

/// Children and what the family says about them: profile, chronotype, preferences,
/// notes.
#[async_trait]
pub trait Children: Send + Sync {
    /// Adds a child to a family.
    async fn create_child(&self, family: FamilyId, child: &NewChild) -> Result<Child>;

    /// A family's children, in the order they were added.
    async fn list_children(&self, family: FamilyId) -> Result<Vec<Child>>;

    /// One child, if stored.
    async fn get_child(&self, child: ChildId) -> Result<Option<Child>>;

    /// Every child, for periodic work over all of them (retention).
    async fn all_children(&self) -> Result<Vec<Child>>;

    /// Records the child's current chronotype (`None` while it is not known).
    async fn set_chronotype(&self, child: ChildId, chronotype: Option<&str>) -> Result<()>;

    /// Replaces what the family says the child likes and wants to avoid.
    async fn set_preferences(&self, child: ChildId, preferences: &sprout_domain::Preferences) -> Result<()>;

    /// Stores a parent's note about a child.
    async fn insert_note(&self, note: &Note) -> Result<()>;

    /// A child's notes, newest first.
    async fn notes(&self, child: ChildId, limit: usize) -> Result<Vec<Note>>;
}

/// A child's wearable samples: raw while recent, hourly aggregates once retired.
#[async_trait]
pub trait Samples: Send + Sync {
    /// Writes a whole batch in one transaction: all of it or none. Samples whose
    /// (child, time) is already stored are left as they are and counted as duplicates.
    async fn insert_samples(&self, child: ChildId, batch: &SampleBatch) -> Result<InsertOutcome>;

    /// Samples in `range`, oldest first, strictly after `after` when given.
    async fn samples(
        &self,
        child: ChildId,
        range: TimeRange,
        after: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Sample>>;

    /// Retires a child's raw samples older than `before`: in one transaction they are
    /// folded into hourly aggregates (merging into hours retired earlier) and deleted.
    /// Hours start `shift` past the UTC hour — the child's zone, for zones whose offset
    /// is not whole hours. Returns how many samples were retired.
    async fn retire_samples(
        &self,
        child: ChildId,
        before: DateTime<Utc>,
        shift: chrono::Duration,
    ) -> Result<u64>;

    /// A child's retired hours in `range` (by hour start), oldest first.
    async fn sample_hours(
        &self,
        child: ChildId,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<HourAggregate>>;
}

/// What happened in a child's day, as families and devices report it: school events,
/// interventions and sleep episodes. Each kind is stored once per identity (an identical
/// report returns the stored record) and paged by (time, id).
#[async_trait]
pub trait Records: Send + Sync {
    /// Stores an event; an identical one (same type and start) is returned as it is,
    /// with `false` for "not newly created".
    async fn insert_event(&self, child: ChildId, event: &NewSchoolEvent) -> Result<(SchoolEvent, bool)>;

    /// A child's events starting in `range`, by (start, id), after `after` when given.
    async fn events(
        &self,
        child: ChildId,
        range: TimeRange,
        after: Option<RecordCursor>,
        limit: usize,
    ) -> Result<Vec<SchoolEvent>>;

    /// Stores an intervention; an identical one (same kind and time) is returned as it is,
    /// with `false` for "not newly created".
    async fn insert_intervention(
        &self,
        child: ChildId,
        intervention: &NewIntervention,
    ) -> Result<(Intervention, bool)>;

    /// A child's interventions in `range`, by (time, id), after `after` when given.
    async fn interventions(
        &self,
        child: ChildId,
        range: TimeRange,
        after: Option<RecordCursor>,
        limit: usize,
    ) -> Result<Vec<Intervention>>;

    /// Stores a sleep episode; one with the same onset is returned as it is, with `false`
    /// for "not newly created".
    async fn insert_sleep_episode(
        &self,
        child: ChildId,
        episode: &NewSleepEpisode,
    ) -> Result<(SleepEpisode, bool)>;

    /// A child's sleep episodes with their onset in `range`, by (onset, id), after `after`
    /// when given.
    async fn sleep_episodes(
        &self,
        child: ChildId,
        range: TimeRange,
        after: Option<RecordCursor>,
        limit: usize,
    ) -> Result<Vec<SleepEpisode>>;
}

/// What the coach suggested, how parents answered, and what happened afterwards.
#[async_trait]
pub trait Recommendations: Send + Sync {
    /// Stores a recommendation as it was written.
    async fn insert_recommendation(&self, recommendation: &NewRecommendation) -> Result<()>;

    /// One recommendation, without any parent's answer.
    async fn get_recommendation(&self, id: RecordId) -> Result<Option<StoredRecommendation>>;

    /// A child's recommendations, newest first, older than `before` when given, each with
    /// `viewer`'s answer.
    async fn recommendations(
        &self,
        child: ChildId,
        viewer: UserId,
        before: Option<RecordCursor>,
        limit: usize,
    ) -> Result<Vec<StoredRecommendation>>;

    /// A child's recommendations with every parent's answer, newest first.
    async fn remembered_recommendations(
        &self,
        child: ChildId,
        limit: usize,
    ) -> Result<Vec<RememberedRecommendation>>;

    /// Records a parent's answer, replacing their earlier one to the same recommendation.
    async fn upsert_feedback(
        &self,
        recommendation: RecordId,
        user: UserId,
        child: ChildId,
        was_helpful: bool,
        comment: Option<&str>,
    ) -> Result<Feedback>;

    /// Every answer given about a child's recommendations, oldest first.
    async fn child_feedback(&self, child: ChildId) -> Result<Vec<ActionFeedback>>;

    /// Every parent's answer with the recommendation it answers, oldest first: the
    /// feedback a writer is trained on (the caller checks each child's consent).
    async fn feedback_examples(&self) -> Result<Vec<FeedbackExample>>;

    /// How many answers parents have given in all, or about `child` (changed minds count
    /// once).
    async fn feedback_count(&self, child: Option<ChildId>) -> Result<u64>;

    /// Recommendations created since `since` whose outcome is not measured yet, oldest
    /// first, each with its latest answer (from any parent) as `was_helpful`.
    async fn awaiting_outcome(&self, since: DateTime<Utc>, limit: usize)
        -> Result<Vec<StoredRecommendation>>;

    /// Records what happened after a recommendation and its reward.
    async fn set_outcome(&self, id: RecordId, outcome: &serde_json::Value, reward: Option<f64>)
        -> Result<()>;

    /// Updates a recommendation's reward (after an answer).
    async fn set_reward(&self, id: RecordId, reward: Option<f64>) -> Result<()>;

    /// The measured outcome of a recommendation, once there is one.
    async fn outcome(&self, id: RecordId) -> Result<Option<serde_json::Value>>;

    /// Records that the family's logged `intervention` followed the suggestion `id` (they
    /// did what it suggested); `false` when the suggestion is not the child's or already has
    /// one.
    async fn set_followed_by(&self, id: RecordId, child: ChildId, intervention: RecordId) -> Result<bool>;
}

/// The writer's model versions and the experiments that promote or retire them.
#[async_trait]
pub trait Registry: Send + Sync {
    /// Model versions, newest first.
    async fn models(&self) -> Result<Vec<StoredModel>>;

    /// Registers a model version (e.g. an adapter trained elsewhere); `false` if the
    /// version exists already, and nothing is changed.
    async fn register_model(&self, model: &StoredModel) -> Result<bool>;

    /// Experiments, newest first.
    async fn experiments(&self) -> Result<Vec<StoredExperiment>>;

    /// Recommendations and answers per arm of an experiment.
    async fn arm_counts(&self, experiment: uuid::Uuid) -> Result<Vec<ArmCounts>>;

    /// Starts an experiment of `candidate` (registered as a candidate version if new)
    /// against the active version. Only one runs at a time: [`StoreError::Conflict`].
    async fn start_experiment(&self, candidate: &str, base: &str, share: f64) -> Result<StoredExperiment>;

    /// The experiment running now, if any.
    async fn running_experiment(&self) -> Result<Option<StoredExperiment>>;

    /// Ends an experiment: the candidate becomes active (and the control retired) when
    /// `promoted`, else the candidate is retired. `false` if it was no longer running.
    async fn conclude_experiment(&self, experiment: uuid::Uuid, promoted: bool) -> Result<bool>;
}

/// What a family allows done with a child's data, and erasing it all.
#[async_trait]
pub trait Privacy: Send + Sync {
    /// The child's consent for every purpose (defaults where the family has not decided).
    async fn consents(&self, child: ChildId) -> Result<Consents>;

    /// Records a family's decision on one purpose.
    async fn set_consent(
        &self,
        child: ChildId,
        purpose: sprout_domain::ConsentPurpose,
        granted: bool,
        by: UserId,
    ) -> Result<()>;

    /// Erases a child and everything recorded about them, in one transaction.
    async fn erase_child(&self, child: ChildId) -> Result<Erasure>;
}

/// Per-child effect estimates of each intervention kind, pooled across children.
#[async_trait]
pub trait Effects: Send + Sync {
    /// Replaces a child's latest effect estimates with `estimates` (computed at
    /// `computed_at`) in one transaction, so a reader sees the old set or the new one,
    /// never a mix. [`StoreError::NotFound`] when the child is gone (erased meanwhile).
    async fn replace_effect_estimates(
        &self,
        child: ChildId,
        computed_at: DateTime<Utc>,
        estimates: &[EffectEstimate],
    ) -> Result<()>;

    /// Every child's latest effect estimates, or only those of `kind`.
    async fn effect_estimates(&self, kind: Option<InterventionKind>) -> Result<Vec<ChildEffectEstimate>>;
}

/// The store's traits, for callers that use its methods: `use sprout_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Accounts, Children, Effects, Privacy, Recommendations, Records, Registry, Samples, Store,
    };
}

/// Opens the store a URL names: `postgres://…` is PostgreSQL, `sqlite:PATH` or a plain
/// file path is SQLite. Does not migrate.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Ok(Arc::new(SqliteStore::open(std::path::Path::new(path)).await?))
    }
}
