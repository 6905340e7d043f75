//! Records the store hands back and takes in, beyond the domain's own types.

use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, DeviceId, FamilyId, InterventionKind, RecordId, UserId};

/// Which database is behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A half-open time range `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Where a page of time-ordered records left off: the last record's time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCursor {
    pub time: DateTime<Utc>,
    pub id: RecordId,
}

/// How a batch of samples landed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Newly stored samples.
    pub accepted: u64,
    /// Samples whose (child, time) was already stored, or repeated within the batch.
    pub duplicates: u64,
}

/// A parent's login record.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub family_id: FamilyId,
    pub password_hash: String,
}

/// Whom a bearer token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    Parent { user_id: UserId, family_id: FamilyId },
    Device { device_id: DeviceId, child_id: ChildId },
}

/// A token to store: only its SHA-256 digest is kept.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: [u8; 32],
    pub owner: TokenOwner,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored token with what the caller needs to decide whether it still holds.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub owner: TokenOwner,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// A recommendation to store.
#[derive(Debug, Clone)]
pub struct NewRecommendation {
    pub id: RecordId,
    pub child_id: ChildId,
    pub created_at: DateTime<Utc>,
    pub text: String,
    pub action_kind: InterventionKind,
    /// Which time slot the action is for (`this_evening`, `tomorrow_morning`, ...).
    pub action_slot: String,
    pub model_version: String,
    pub arm: String,
    /// The experiment the recommendation was written in, if any.
    pub experiment_id: Option<uuid::Uuid>,
    /// Everything else the answer carries (forecast, reasons, personalisation), as JSON.
    pub details: serde_json::Value,
}

/// A stored recommendation, with one parent's answer to it when asked for.
#[derive(Debug, Clone)]
pub struct StoredRecommendation {
    pub id: RecordId,
    pub child_id: ChildId,
    pub created_at: DateTime<Utc>,
    pub text: String,
    pub action_kind: InterventionKind,
    pub action_slot: String,
    pub model_version: String,
    pub arm: String,
    pub details: serde_json::Value,
    /// The activity the family logged that followed this suggestion, if any.
    pub followed_by: Option<RecordId>,
    /// The asking parent's 👍 (`true`) or 👎 (`false`).
    pub was_helpful: Option<bool>,
}

/// A parent's answer to a recommendation.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub recommendation_id: RecordId,
    pub user_id: UserId,
    pub child_id: ChildId,
    pub was_helpful: bool,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An answer together with what was recommended, for learning which actions help.
#[derive(Debug, Clone)]
pub struct ActionFeedback {
    pub action_kind: InterventionKind,
    pub action_slot: String,
    pub was_helpful: bool,
    pub at: DateTime<Utc>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who acted: `parent:<user id>`, `device:<device id>`, `admin`, `system`.
    pub actor: String,
    /// What was done: `token.created`, `token.revoked`, `child.exported`, `child.deleted`, ...
    pub action: String,
    pub child_id: Option<ChildId>,
    pub detail: serde_json::Value,
}

/// What erasing a child removed, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    pub samples: u64,
    /// Hourly aggregates of samples the retention period had retired.
    pub hourly_aggregates: u64,
    pub notes: u64,
    pub events: u64,
    pub interventions: u64,
    pub sleep_episodes: u64,
    pub recommendations: u64,
    pub feedback: u64,
    pub devices: u64,
    pub device_tokens: u64,
    /// The child's latest effect estimates, pooled for other children.
    pub effect_estimates: u64,
    pub child: u64,
}

/// A model version as stored: the registry's own record (its rules live in `sprout-learn`).
pub type StoredModel = sprout_learn::ModelVersion;

/// An experiment as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredExperiment {
    pub id: uuid::Uuid,
    pub control_version: String,
    pub candidate_version: String,
    pub candidate_share: f64,
    pub status: sprout_learn::ExperimentStatus,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Per-arm counts of an experiment: recommendations written, answered, found helpful.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ArmCounts {
    pub arm: String,
    pub recommendations: u64,
    /// Recommendations answered, each once (its latest answer, whichever parent gave it)...
    pub answered: u64,
    /// ...and those whose latest answer was 👍.
    pub helpful: u64,
    /// Recommendations with a reward, and the sum of their rewards.
    pub rewarded: u64,
    pub reward_sum: f64,
    /// The same answers summed by child: the experiment's unit (see [`sprout_learn::ChildSums`]).
    pub by_child: sprout_learn::ChildSums,
}

/// A family's decision on one use of a child's data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Consent {
    pub purpose: sprout_domain::ConsentPurpose,
    pub granted: bool,
    /// Who decided; `None` while the default holds.
    pub by_user: Option<UserId>,
    pub at: Option<DateTime<Utc>>,
}

/// One child's consents, a decision or the default for every purpose: the one place
/// that says whether a use of the child's data is allowed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Consents(pub Vec<Consent>);

impl Consents {
    /// Whether the family allows `purpose`: its decision, else the purpose's default
    /// ([`sprout_domain::ConsentPurpose::default_granted`]).
    pub fn allows(&self, purpose: sprout_domain::ConsentPurpose) -> bool {
        self.0
            .iter()
            .find(|c| c.purpose == purpose)
            .map_or(purpose.default_granted(), |c| c.granted)
    }
}

impl std::ops::Deref for Consents {
    type Target = [Consent];

    fn deref(&self) -> &[Consent] {
        &self.0
    }
}

/// Count, sum and range of one measurement over a retired hour. Sums, not means, so
/// hours merge exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Aggregate {
    pub count: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One hour of a child's samples after the raw samples were retired.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourAggregate {
    /// Start of the child's local hour.
    pub start: DateTime<Utc>,
    pub samples: u64,
    pub stress_level: Aggregate,
    pub heart_rate: Aggregate,
    pub hrv_ms: Aggregate,
    pub steps: Aggregate,
    /// Samples whose sleep state was one of the asleep stages.
    pub asleep_samples: u64,
}

/// A parent's note about a child.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Note {
    pub id: RecordId,
    pub child_id: ChildId,
    pub author: UserId,
    pub created_at: DateTime<Utc>,
    pub text: String,
}

/// A past recommendation with every parent's answer to it, as retrieval remembers it.
#[derive(Debug, Clone, PartialEq)]
pub struct RememberedRecommendation {
    pub id: RecordId,
    pub created_at: DateTime<Utc>,
    pub text: String,
    pub action_kind: InterventionKind,
    /// Each answer: 👍 (`true`) or 👎, and the comment if any.
    pub answers: Vec<(bool, Option<String>)>,
}

/// One parent's answer to a recommendation, with what was recommended and how it was
/// written (`details` holds the prompt the writer got).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackExample {
    pub recommendation_id: RecordId,
    pub child_id: ChildId,
    pub text: String,
    pub action_kind: InterventionKind,
    pub model_version: String,
    pub details: serde_json::Value,
    pub was_helpful: bool,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
}

/// One intervention kind's effect on one child, as estimated from the child's data: what
/// is pooled across children into the population a child with few days leans on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectEstimate {
    pub kind: InterventionKind,
    /// Change in mean awake stress after the kind (negative = calmer).
    pub effect: f64,
    pub std_error: f64,
}

/// A child's stored [`EffectEstimate`], with when the child's effects were computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildEffectEstimate {
    pub child_id: ChildId,
    pub computed_at: DateTime<Utc>,
    pub estimate: EffectEstimate,
}
