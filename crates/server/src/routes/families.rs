//! Families: created with their first parent (admin token), and the settings a family
//! chooses for itself (parent token).

use crate::auth::{hash_password, Admin};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sprout_domain::{Email, FamilyId, Password, UserId, ValidationError};

/// Longest family name; it labels the family in the app.
const MAX_FAMILY_NAME_CHARS: usize = 80;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFamilyRequest {
    pub name: String,
    pub parent_email: String,
    /// At least 10 characters.
    pub parent_password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewFamilyResponse {
    pub family_id: FamilyId,
    pub parent_id: UserId,
}

/// Creates a family with its first parent.
#[utoipa::path(post, path = "/api/v1/families", tag = "families", request_body = NewFamilyRequest,
    security(("admin" = [])),
    responses((status = 201, body = NewFamilyResponse), (status = 401), (status = 409, description = "e-mail taken"),
              (status = 422, description = "invalid field")))]
#[tracing::instrument(skip_all)]
pub async fn create_family(
    _admin: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewFamilyRequest>,
) -> ApiResult<(StatusCode, Json<NewFamilyResponse>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_FAMILY_NAME_CHARS {
        return Err(
            ValidationError::new("name", format!("must be 1 to {MAX_FAMILY_NAME_CHARS} characters")).into(),
        );
    }
    let email = Email::parse(&body.parent_email).map_err(|e| ValidationError {
        field: "parent_email",
        ..e
    })?;
    let password = Password::parse(&body.parent_password).map_err(|e| ValidationError {
        field: "parent_password",
        ..e
    })?;
    let hash = hash_password(password).await?;
    let (family_id, parent_id) = state
        .app
        .store
        .create_family(name, &email, &hash)
        .await
        .map_err(|e| {
            let api: ApiError = e.into();
            api.with("field", serde_json::json!("parent_email"))
        })?;
    tracing::info!(%family_id, "family created");
    Ok((
        StatusCode::CREATED,
        Json(NewFamilyResponse { family_id, parent_id }),
    ))
}

/// A family's settings, as the app reads and writes them.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilySettings {
    /// How clock times read, in the recommendation's text and in the app: `12h`
    /// ("7:30 PM") or `24h` ("19:30").
    #[schema(value_type = String, example = "24h")]
    pub clock: String,
}

/// The family's settings.
#[utoipa::path(get, path = "/api/v1/family/settings", tag = "families", security(("bearer" = [])),
    responses((status = 200, body = FamilySettings), (status = 401), (status = 403)))]
#[tracing::instrument(skip_all)]
pub async fn get_family_settings(
    principal: crate::auth::Principal,
    State(state): State<AppState>,
) -> ApiResult<Json<FamilySettings>> {
    let family = principal.family()?;
    let clock = state.app.store.family_clock(family).await?;
    Ok(Json(FamilySettings {
        clock: clock.as_str().to_owned(),
    }))
}

/// Changes the family's settings; every child's recommendation is rewritten in the new
/// clock format at once.
#[utoipa::path(put, path = "/api/v1/family/settings", tag = "families", request_body = FamilySettings,
    security(("bearer" = [])),
    responses((status = 200, body = FamilySettings), (status = 401), (status = 403),
              (status = 422, description = "clock is not 12h or 24h")))]
#[tracing::instrument(skip_all)]
pub async fn put_family_settings(
    principal: crate::auth::Principal,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FamilySettings>,
) -> ApiResult<Json<FamilySettings>> {
    let family = principal.family()?;
    let clock: sprout_domain::ClockFormat = body.clock.trim().parse()?;
    state.app.store.set_family_clock(family, clock).await?;
    for child in state.app.store.list_children(family).await? {
        sprout_app::recommend::occasion(&state.app, child).await;
    }
    Ok(Json(FamilySettings {
        clock: clock.as_str().to_owned(),
    }))
}
