//! Parents' notes about a child ("sleeps better after reading"): kept, shown back, and
//! remembered by meaning when recommendations are written (see `sprout_app::memory`).

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use sprout_domain::{RecordId, ValidationError};
use sprout_store::Note;

/// Longest note, in characters: a few paragraphs.
const MAX_NOTE_CHARS: usize = 2_000;
/// Notes listed at once.
const NOTES_PAGE: usize = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// The note, 1 to 2,000 characters.
    pub text: String,
}

/// Adds a parent's note about the child.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/notes", tag = "notes",
    request_body = NoteInput, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 201, description = "the stored note `{id, child_id, author, created_at, text}`"),
              (status = 400), (status = 401), (status = 403), (status = 404), (status = 415), (status = 422)))]
pub async fn post_note(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<NoteInput>,
) -> ApiResult<(StatusCode, Json<Note>)> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let Principal::Parent { user_id, .. } = principal else {
        return Err(ApiError::new(ErrorCode::Forbidden, "this needs a parent's token"));
    };
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ValidationError::new("text", "the note is empty").into());
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(
            ValidationError::new("text", format!("a note has at most {MAX_NOTE_CHARS} characters")).into(),
        );
    }
    let note = Note {
        id: RecordId::new(),
        child_id: child.id,
        author: user_id,
        created_at: Utc::now(),
        text: text.to_owned(),
    };
    state.app.store.insert_note(&note).await?;
    // The next recommendation may draw on it.
    state
        .app
        .insights
        .forget(child.id, sprout_app::cache::CacheKey::Recommendation)
        .await;
    Ok((StatusCode::CREATED, Json(note)))
}

/// The child's notes, newest first.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/notes", tag = "notes",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{items: [{id, child_id, author, created_at, text}]}`"),
              (status = 401), (status = 403), (status = 404)))]
pub async fn get_notes(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    principal.family()?;
    Ok(Json(
        json!({ "items": state.app.store.notes(child.id, NOTES_PAGE).await? }),
    ))
}
