//! Recommendations and parents' answers to them.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{encode_record_cursor, ListQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sprout_app::cache::CacheKey;
use sprout_app::recommend::{current, view};
use sprout_domain::{ChildId, RecordId};

/// Longest comment kept with an answer.
const MAX_COMMENT_CHARS: usize = 1_000;
/// History entries per page unless asked otherwise, and at most.
const HISTORY_PAGE: (usize, usize) = (20, 100);

fn parent(principal: &Principal) -> ApiResult<sprout_domain::UserId> {
    match *principal {
        Principal::Parent { user_id, .. } => Ok(user_id),
        Principal::Device { .. } => Err(ApiError::new(ErrorCode::Forbidden, "this needs a parent's token")),
    }
}

/// The child's current recommendation: the action chosen for them, the text, the
/// forecast and evidence behind it, and the asking parent's answer so far.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/recommendation", tag = "recommendations",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{id, forecast {stress, sleep}, recommendation, causal_insight, personalization {chronotype, preferred_time}, model_version, arm, action, feedback}`"),
              (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn get_recommendation(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let viewer = parent(&principal)?;
    Ok(Json(current(&state.app, child, viewer).await?))
}

/// The original design's route for the current recommendation.
#[utoipa::path(get, path = "/api/recommendation/{child_id}", tag = "original routes",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "as /api/v1/children/{child_id}/recommendation"), (status = 401),
              (status = 403), (status = 404)))]
pub async fn recommendation_original(
    principal: Principal,
    state: State<AppState>,
    child_id: Path<String>,
) -> ApiResult<Json<Value>> {
    get_recommendation(principal, state, child_id).await
}

/// Past recommendations, newest first, with the asking parent's answers.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/recommendations", tag = "recommendations",
    security(("bearer" = [])), params(("child_id" = String, Path), ListQuery),
    responses((status = 200, description = "`{items, next}`"), (status = 400), (status = 401), (status = 403),
              (status = 404)))]
pub async fn list_recommendations(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let viewer = parent(&principal)?;
    let limit = query.limit(HISTORY_PAGE.0, HISTORY_PAGE.1)?;
    let items = state
        .app
        .store
        .recommendations(child.id, viewer, query.record_cursor()?, limit)
        .await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|r| encode_record_cursor(r.created_at, r.id)))
        .flatten();
    Ok(Json(
        json!({ "items": items.iter().map(|r| view(r, child.display_name.as_str())).collect::<Vec<_>>(), "next": next }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub recommendation_id: String,
    pub child_id: String,
    /// 👍 (`true`) or 👎 (`false`).
    pub was_helpful: bool,
    pub comment: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedbackResponse {
    pub recommendation_id: RecordId,
    pub child_id: ChildId,
    pub was_helpful: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A parent's 👍/👎 on a recommendation of their child; answering again changes it.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "recommendations", request_body = FeedbackRequest,
    security(("bearer" = [])),
    responses((status = 200, body = FeedbackResponse), (status = 401), (status = 403),
              (status = 404, description = "no such recommendation of this child in your family"), (status = 422)))]
#[tracing::instrument(skip_all)]
pub async fn post_feedback(
    principal: Principal,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> ApiResult<Json<FeedbackResponse>> {
    let user = parent(&principal)?;
    let child = principal.child(&state, &body.child_id, Access::Read).await?;
    let not_found = || ApiError::not_found("recommendation");
    let id: RecordId = body.recommendation_id.parse().map_err(|_| not_found())?;
    let recommendation = state
        .app
        .store
        .get_recommendation(id)
        .await?
        .ok_or_else(not_found)?;
    if recommendation.child_id != child.id {
        return Err(not_found());
    }
    let comment = body.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(sprout_domain::ValidationError::new(
            "comment",
            format!("is longer than {MAX_COMMENT_CHARS} characters"),
        )
        .into());
    }
    let saved = state
        .app
        .store
        .upsert_feedback(id, user, child.id, body.was_helpful, comment)
        .await?;
    // The next recommendation should learn from this answer, and so should a running
    // experiment (after the reply: the parent does not wait for it).
    state
        .app
        .insights
        .forget(child.id, CacheKey::Recommendation)
        .await;
    let background = state.clone();
    let helpful = saved.was_helpful;
    let child_id = child.id;
    tokio::spawn(async move {
        if let Err(e) = sprout_app::outcomes::after_answer(&background.app, id, helpful).await {
            tracing::warn!(error = %e, "cannot update the recommendation's reward");
        }
        if let Err(e) = sprout_app::recommend::evaluate_experiment(&background.app).await {
            tracing::warn!(error = %e, "experiment evaluation failed");
        }
        sprout_app::finetune::after_feedback(&background.app, child_id).await;
    });
    tracing::info!(recommendation_id = %id, was_helpful = saved.was_helpful, "feedback saved");
    Ok(Json(FeedbackResponse {
        recommendation_id: id,
        child_id: child.id,
        was_helpful: saved.was_helpful,
        created_at: saved.created_at,
        updated_at: saved.updated_at,
    }))
}

/// The original design's route for feedback.
#[utoipa::path(post, path = "/api/feedback", tag = "original routes", request_body = FeedbackRequest,
    security(("bearer" = [])), responses((status = 200, body = FeedbackResponse), (status = 401), (status = 404)))]
pub async fn feedback_original(
    principal: Principal,
    state: State<AppState>,
    body: ApiJson<FeedbackRequest>,
) -> ApiResult<Json<FeedbackResponse>> {
    post_feedback(principal, state, body).await
}
