//! Children of a family, and the devices that write their data.

use crate::auth::{issue_token, Access, Principal};
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sprout_domain::{Child, ChildId, DeviceId, InterventionKind, NewChild, Preferences, ValidationError};

/// Longest device label ("Mia's watch").
const MAX_DEVICE_NAME_CHARS: usize = 60;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChildRequest {
    pub display_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
}

/// A child as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChildView {
    pub id: ChildId,
    pub display_name: String,
    pub birth_date: NaiveDate,
    pub timezone: String,
    /// `early_bird`, `intermediate` or `night_owl`; `null` until known.
    pub chronotype: Option<String>,
    /// Kinds the family says the child likes (preferred when they work).
    pub preferred_interventions: Vec<InterventionKind>,
    /// Kinds the family says the child should not be offered (never suggested).
    pub avoided_interventions: Vec<InterventionKind>,
    pub created_at: DateTime<Utc>,
}

impl From<Child> for ChildView {
    fn from(child: Child) -> Self {
        Self {
            id: child.id,
            display_name: child.display_name.as_str().to_owned(),
            birth_date: child.birth_date,
            timezone: child.timezone.name().to_owned(),
            chronotype: child.chronotype,
            preferred_interventions: child.preferred_interventions,
            avoided_interventions: child.avoided_interventions,
            created_at: child.created_at,
        }
    }
}

/// Adds a child to the caller's family.
#[utoipa::path(post, path = "/api/v1/children", tag = "children", request_body = NewChildRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ChildView), (status = 401), (status = 403, description = "not a parent"),
              (status = 422, description = "invalid field")))]
#[tracing::instrument(skip_all)]
pub async fn create_child(
    principal: Principal,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewChildRequest>,
) -> ApiResult<(StatusCode, Json<ChildView>)> {
    let family = principal.family()?;
    let child = NewChild::parse(&body.display_name, &body.birth_date, &body.timezone, Utc::now())?;
    let child = state.app.store.create_child(family, &child).await?;
    tracing::info!(child_id = %child.id, "child created");
    Ok((StatusCode::CREATED, Json(child.into())))
}

/// The children of the caller's family.
#[utoipa::path(get, path = "/api/v1/children", tag = "children", security(("bearer" = [])),
    responses((status = 200, body = [ChildView]), (status = 401), (status = 403)))]
pub async fn list_children(
    principal: Principal,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ChildView>>> {
    let family = principal.family()?;
    let children = state.app.store.list_children(family).await?;
    Ok(Json(children.into_iter().map(ChildView::from).collect()))
}

/// One child of the caller's family.
#[utoipa::path(get, path = "/api/v1/children/{child_id}", tag = "children", security(("bearer" = [])),
    params(("child_id" = String, Path)),
    responses((status = 200, body = ChildView), (status = 401), (status = 404)))]
pub async fn get_child(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<ChildView>> {
    Ok(Json(
        principal.child(&state, &child_id, Access::Read).await?.into(),
    ))
}

/// What the family says about kinds of activity for this child.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    /// Kinds the child likes: `mindfulness`, `outdoor_play`, `screen_limit`,
    /// `early_bedtime`, `reading`, `other`.
    #[serde(default)]
    pub liked: Vec<String>,
    /// Kinds never to suggest.
    #[serde(default)]
    pub avoided: Vec<String>,
}

/// Replaces what the family likes and wants to avoid for this child: an avoided kind is
/// never suggested; a liked one is preferred where it helps. The current
/// recommendation is renewed at once.
#[utoipa::path(put, path = "/api/v1/children/{child_id}/preferences", tag = "children",
    request_body = PreferencesRequest, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, body = ChildView), (status = 401), (status = 403), (status = 404),
              (status = 422, description = "unknown kind, or a kind both liked and avoided")))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn put_preferences(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<PreferencesRequest>,
) -> ApiResult<Json<ChildView>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    // What the child is offered is the parents' call, not a device's.
    principal.family()?;
    let preferences = Preferences::parse(&body.liked, &body.avoided)?;
    state.app.store.set_preferences(child.id, &preferences).await?;
    let child = Child {
        preferred_interventions: preferences.liked,
        avoided_interventions: preferences.avoided,
        ..child
    };
    sprout_app::recommend::occasion(&state.app, child.clone()).await;
    Ok(Json(child.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceRequest {
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewDeviceResponse {
    pub device_id: DeviceId,
    /// Shown once: store it on the device. It writes only this child's data.
    pub token: String,
}

/// Registers a device for a child and returns its token, once.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/devices", tag = "children", request_body = NewDeviceRequest,
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 201, body = NewDeviceResponse), (status = 401), (status = 403), (status = 404),
              (status = 422, description = "invalid name")))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn create_device(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<NewDeviceRequest>,
) -> ApiResult<(StatusCode, Json<NewDeviceResponse>)> {
    // Reading access: a parent of the family; a device gets 403 on its own child and
    // 404 on any other, like every child route.
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            format!("must be 1 to {MAX_DEVICE_NAME_CHARS} printable characters"),
        )
        .into());
    }
    let token = issue_token();
    let device_id = state.app.store.create_device(child.id, name, &token.hash).await?;
    tracing::info!(%device_id, "device registered");
    let detail = serde_json::json!({ "kind": "device", "device_id": device_id });
    crate::routes::audit(
        &state,
        child.family_id,
        crate::routes::entry(principal.actor(), "token.created", Some(child.id), detail),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(NewDeviceResponse {
            device_id,
            token: token.text,
        }),
    ))
}
