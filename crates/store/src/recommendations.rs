//! What the coach suggested, how parents answered, and what happened afterwards, written
//! once for both databases. Every statement runs on the executor it is given (the read
//! pool or the writer); none needs a transaction of its own.

use crate::sql::{details, intervention_kind, limit, range_end, record_id, Columns, Dialect, Params, Query};
use crate::{
    ActionFeedback, Feedback, FeedbackExample, NewRecommendation, RecordCursor, RememberedRecommendation,
    Result, StoredRecommendation, TimeRange,
};
use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, RecordId, UserId};

/// Stores a recommendation as it was written.
pub(crate) async fn insert_recommendation<'e, DB, E>(db: E, r: &NewRecommendation) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query(
        "INSERT INTO recommendations (id, child_id, created_at, text, action_kind, action_slot, \
         model_version, arm, details, experiment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .uuid(r.id.0)
    .uuid(r.child_id.0)
    .time(r.created_at)
    .text(&r.text)
    .text(r.action_kind.as_str())
    .text(&r.action_slot)
    .text(&r.model_version)
    .text(&r.arm)
    .json(&r.details)
    .maybe_uuid(r.experiment_id)
    .execute(db)
    .await?;
    Ok(())
}

/// One recommendation, without any parent's answer.
pub(crate) async fn get_recommendation<'e, DB, E>(db: E, id: RecordId) -> Result<Option<StoredRecommendation>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query(
        "SELECT id, child_id, created_at, text, action_kind, action_slot, model_version, arm, details, \
                followed_by, CAST(NULL AS BOOLEAN) AS was_helpful FROM recommendations WHERE id = $1",
    )
    .uuid(id.0)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A child's recommendations, newest first, older than `before` when given, each with
/// `viewer`'s answer.
pub(crate) async fn recommendations<'e, DB, E>(
    db: E,
    child: ChildId,
    viewer: UserId,
    before: Option<RecordCursor>,
    limit_to: usize,
) -> Result<Vec<StoredRecommendation>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let (cursor_time, cursor_id) = match before {
        Some(c) => (c.time, c.id.0),
        None => (range_end(&TimeRange::default()), uuid::Uuid::max()),
    };
    let rows = sqlx::query(
        "SELECT r.id, r.child_id, r.created_at, r.text, r.action_kind, r.action_slot, r.model_version, \
                r.arm, r.details, r.followed_by, f.was_helpful \
         FROM recommendations r \
         LEFT JOIN recommendation_feedback f ON f.recommendation_id = r.id AND f.user_id = $2 \
         WHERE r.child_id = $1 AND (r.created_at < $3 OR (r.created_at = $3 AND r.id < $4)) \
         ORDER BY r.created_at DESC, r.id DESC LIMIT $5",
    )
    .uuid(child.0)
    .uuid(viewer.0)
    .time(cursor_time)
    .uuid(cursor_id)
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A child's recommendations with every parent's answer, newest first.
pub(crate) async fn remembered_recommendations<'e, DB, E>(
    db: E,
    child: ChildId,
    limit_to: usize,
) -> Result<Vec<RememberedRecommendation>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT r.id, r.created_at, r.text, r.action_kind, f.was_helpful, f.comment \
         FROM (SELECT id, created_at, text, action_kind FROM recommendations WHERE child_id = $1 \
               ORDER BY created_at DESC, id LIMIT $2) r \
         LEFT JOIN recommendation_feedback f ON f.recommendation_id = r.id \
         ORDER BY r.created_at DESC, r.id",
    )
    .uuid(child.0)
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    // One row per answer (or one unanswered row), a recommendation's rows together.
    let mut remembered: Vec<RememberedRecommendation> = Vec::new();
    for r in &rows {
        let id = record_id(r.uuid("id")?);
        if remembered.last().is_none_or(|last| last.id != id) {
            remembered.push(RememberedRecommendation {
                id,
                created_at: r.time("created_at")?,
                text: r.text("text")?,
                action_kind: intervention_kind(r.text("action_kind")?)?,
                answers: Vec::new(),
            });
        }
        if let (Some(helpful), Some(last)) = (r.maybe_boolean("was_helpful")?, remembered.last_mut()) {
            last.answers.push((helpful, r.maybe_text("comment")?));
        }
    }
    Ok(remembered)
}

/// Records a parent's answer, replacing their earlier one to the same recommendation.
pub(crate) async fn upsert_feedback<'e, DB, E>(
    db: E,
    recommendation: RecordId,
    user: UserId,
    child: ChildId,
    was_helpful: bool,
    comment: Option<&str>,
) -> Result<Feedback>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query(
        "INSERT INTO recommendation_feedback (recommendation_id, user_id, child_id, was_helpful, comment, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (recommendation_id, user_id) DO UPDATE SET was_helpful = excluded.was_helpful, \
         comment = excluded.comment, updated_at = excluded.updated_at \
         RETURNING created_at, updated_at",
    )
    .uuid(recommendation.0)
    .uuid(user.0)
    .uuid(child.0)
    .boolean(was_helpful)
    .maybe_text(comment)
    .time(Utc::now())
    .fetch_one(db)
    .await?;
    Ok(Feedback {
        recommendation_id: recommendation,
        user_id: user,
        child_id: child,
        was_helpful,
        comment: comment.map(str::to_owned),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Every answer given about a child's recommendations, oldest first.
pub(crate) async fn child_feedback<'e, DB, E>(db: E, child: ChildId) -> Result<Vec<ActionFeedback>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT r.action_kind, r.action_slot, f.was_helpful, f.updated_at \
         FROM recommendation_feedback f JOIN recommendations r ON r.id = f.recommendation_id \
         WHERE f.child_id = $1 ORDER BY f.updated_at",
    )
    .uuid(child.0)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ActionFeedback {
                action_kind: intervention_kind(r.text("action_kind")?)?,
                action_slot: r.text("action_slot")?,
                was_helpful: r.boolean("was_helpful")?,
                at: r.time("updated_at")?,
            })
        })
        .collect()
}

/// Every parent's answer with the recommendation it answers, oldest first: the feedback
/// a writer is trained on (the caller checks each child's consent).
pub(crate) async fn feedback_examples<'e, DB, E>(db: E) -> Result<Vec<FeedbackExample>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
{
    let rows = sqlx::query(
        "SELECT r.id, r.child_id, r.text, r.action_kind, r.model_version, r.details, f.was_helpful, f.comment, \
         f.updated_at FROM recommendation_feedback f JOIN recommendations r ON r.id = f.recommendation_id \
         ORDER BY f.updated_at, r.id",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FeedbackExample {
                recommendation_id: record_id(r.uuid("id")?),
                child_id: ChildId(r.uuid("child_id")?),
                text: r.text("text")?,
                action_kind: intervention_kind(r.text("action_kind")?)?,
                model_version: r.text("model_version")?,
                details: details(r.text("details")?)?,
                was_helpful: r.boolean("was_helpful")?,
                comment: r.maybe_text("comment")?,
                answered_at: r.time("updated_at")?,
            })
        })
        .collect()
}

/// How many answers parents have given in all, or about `child` (changed minds count
/// once).
pub(crate) async fn feedback_count<'e, DB, E>(db: E, child: Option<ChildId>) -> Result<u64>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let query = match child {
        None => sqlx::query("SELECT COUNT(*) AS n FROM recommendation_feedback"),
        Some(child) => {
            sqlx::query("SELECT COUNT(*) AS n FROM recommendation_feedback WHERE child_id = $1").uuid(child.0)
        }
    };
    query.fetch_one(db).await?.count("n")
}

/// Recommendations created since `since` whose outcome is not measured yet, oldest
/// first, each with its latest answer (from any parent) as `was_helpful`.
pub(crate) async fn awaiting_outcome<'e, DB, E>(
    db: E,
    since: DateTime<Utc>,
    limit_to: usize,
) -> Result<Vec<StoredRecommendation>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT r.id, r.child_id, r.created_at, r.text, r.action_kind, r.action_slot, r.model_version, \
                r.arm, r.details, r.followed_by, (SELECT f.was_helpful FROM recommendation_feedback f \
                WHERE f.recommendation_id = r.id ORDER BY f.updated_at DESC LIMIT 1) AS was_helpful \
         FROM recommendations r WHERE r.outcome IS NULL AND r.created_at >= $1 \
         ORDER BY r.created_at, r.id LIMIT $2",
    )
    .time(since)
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Records what happened after a recommendation and its reward.
pub(crate) async fn set_outcome<'e, DB, E>(
    db: E,
    id: RecordId,
    outcome: &serde_json::Value,
    reward: Option<f64>,
) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query("UPDATE recommendations SET outcome = $1, reward = $2 WHERE id = $3")
        .json(outcome)
        .maybe_real(reward)
        .uuid(id.0)
        .execute(db)
        .await?;
    Ok(())
}

/// Updates a recommendation's reward (after an answer).
pub(crate) async fn set_reward<'e, DB, E>(db: E, id: RecordId, reward: Option<f64>) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query("UPDATE recommendations SET reward = $1 WHERE id = $2")
        .maybe_real(reward)
        .uuid(id.0)
        .execute(db)
        .await?;
    Ok(())
}

/// The measured outcome of a recommendation, once there is one.
pub(crate) async fn outcome<'e, DB, E>(db: E, id: RecordId) -> Result<Option<serde_json::Value>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query("SELECT outcome FROM recommendations WHERE id = $1")
        .uuid(id.0)
        .fetch_optional(db)
        .await?;
    row.map(|r| r.maybe_text("outcome"))
        .transpose()?
        .flatten()
        .map(details)
        .transpose()
}

/// Records that the family's logged `intervention` followed the suggestion `id` (they did
/// what it suggested); `false` when the suggestion is not the child's or already has one.
pub(crate) async fn set_followed_by<'e, DB, E>(
    db: E,
    id: RecordId,
    child: ChildId,
    intervention: RecordId,
) -> Result<bool>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let updated = sqlx::query(
        "UPDATE recommendations SET followed_by = $1 \
         WHERE id = $2 AND child_id = $3 AND followed_by IS NULL",
    )
    .uuid(intervention.0)
    .uuid(id.0)
    .uuid(child.0)
    .execute(db)
    .await?;
    Ok(DB::rows_affected(&updated) == 1)
}

/// A recommendation as every read selects it, `was_helpful` being whichever answer the
/// read chose (or none).
fn from_row(r: &impl Columns) -> Result<StoredRecommendation> {
    Ok(StoredRecommendation {
        id: record_id(r.uuid("id")?),
        child_id: ChildId(r.uuid("child_id")?),
        created_at: r.time("created_at")?,
        text: r.text("text")?,
        action_kind: intervention_kind(r.text("action_kind")?)?,
        action_slot: r.text("action_slot")?,
        model_version: r.text("model_version")?,
        arm: r.text("arm")?,
        details: details(r.text("details")?)?,
        followed_by: r.maybe_uuid("followed_by")?.map(record_id),
        was_helpful: r.maybe_boolean("was_helpful")?,
    })
}
