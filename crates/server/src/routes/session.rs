//! Logging in: an e-mail and password for a bearer token.

use crate::auth::{issue_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sprout_domain::Email;
use sprout_store::{NewToken, TokenOwner};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Exchanges a parent's e-mail and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong e-mail or password")))]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let wrong = || ApiError::unauthorized("wrong e-mail or password");
    // A malformed e-mail cannot belong to anyone; the password is still checked so the
    // answer takes as long as for a real account.
    let user = match Email::parse(&body.email) {
        Ok(email) => state.store.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    let verified = verify_password(body.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = user.filter(|_| verified).ok_or_else(wrong)?;
    let token = issue_token();
    let ttl = chrono::Duration::from_std(state.config.token_ttl).unwrap_or(chrono::Duration::days(30));
    let expires_at = Utc::now() + ttl;
    state
        .store
        .insert_token(&NewToken {
            hash: token.hash,
            owner: TokenOwner::Parent {
                user_id: user.id,
                family_id: user.family_id,
            },
            expires_at: Some(expires_at),
        })
        .await?;
    tracing::info!(user_id = %user.id, "parent logged in");
    Ok(Json(LoginResponse {
        token: token.text,
        expires_at,
    }))
}
