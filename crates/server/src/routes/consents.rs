//! Consent per child and purpose, decided by the family.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use sprout_domain::{ChildId, ConsentPurpose};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Whether the family allows `purpose` for the child.
pub async fn allowed(state: &AppState, child: ChildId, purpose: ConsentPurpose) -> ApiResult<bool> {
    Ok(state.app.store.consents(child).await?.allows(purpose))
}

/// Refuses with 403 when the family has not allowed `purpose` for the child.
pub async fn require(state: &AppState, child: ChildId, purpose: ConsentPurpose) -> ApiResult<()> {
    if allowed(state, child, purpose).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "the family has not consented to {} for this child",
                purpose.as_str().replace('_', " ")
            ),
        ))
    }
}

/// The child's consent for each purpose: granted or not, by whom, when.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/consents", tag = "privacy",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{items: [{purpose, granted, by_user, at}]}`"), (status = 401),
              (status = 403), (status = 404)))]
pub async fn get_consents(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    Ok(Json(
        json!({ "items": state.app.store.consents(child.id).await? }),
    ))
}

/// Records the family's decisions, e.g. `{"experiments": true, "remote_model": false}`.
#[utoipa::path(put, path = "/api/v1/children/{child_id}/consents", tag = "privacy",
    request_body = BTreeMap<String, bool>, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "the child's consents after the change"), (status = 401),
              (status = 403), (status = 404), (status = 422)))]
pub async fn put_consents(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<BTreeMap<String, bool>>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let Principal::Parent { user_id, .. } = principal else {
        return Err(ApiError::new(ErrorCode::Forbidden, "this needs a parent's token"));
    };
    // All purposes are checked before any is written: a bad one changes nothing.
    let decisions: Vec<(ConsentPurpose, bool)> = body
        .iter()
        .map(|(purpose, granted)| ConsentPurpose::from_str(purpose).map(|p| (p, *granted)))
        .collect::<Result<_, _>>()?;
    if decisions.is_empty() {
        return Err(sprout_domain::ValidationError::new("purpose", "give at least one purpose").into());
    }
    for (purpose, granted) in &decisions {
        state
            .app
            .store
            .set_consent(child.id, *purpose, *granted, user_id)
            .await?;
    }
    let detail = json!(decisions
        .iter()
        .map(|(p, g)| (p.as_str(), *g))
        .collect::<BTreeMap<_, _>>());
    crate::routes::audit(
        &state,
        child.family_id,
        crate::routes::entry(principal.actor(), "consent.changed", Some(child.id), detail),
    )
    .await;
    state
        .app
        .insights
        .forget(child.id, sprout_app::cache::CacheKey::Recommendation)
        .await;
    Ok(Json(
        json!({ "items": state.app.store.consents(child.id).await? }),
    ))
}
