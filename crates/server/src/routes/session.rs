//! Logging in: an e-mail and password for a bearer token.

use crate::auth::{issue_token, verify_password};
use crate::error::{ApiError, ApiResult, ErrorCode};
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
        Ok(email) => state.app.store.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    // Repeated failures lock the e-mail for a while, whether or not it has an account.
    let key = body.email.trim().to_lowercase();
    if let Some(wait) = state.logins.locked_for(&key).await {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many failed logins; try again in {} minutes",
                wait.as_secs().div_ceil(60)
            ),
        ));
    }
    let verified = verify_password(body.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| verified) else {
        state.logins.failed(&key).await;
        return Err(wrong());
    };
    state.logins.succeeded(&key).await;
    let token = issue_token();
    let ttl = chrono::Duration::from_std(state.app.config.token_ttl).unwrap_or(chrono::Duration::days(30));
    let expires_at = Utc::now() + ttl;
    state
        .app
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
    let detail = serde_json::json!({ "kind": "parent", "expires_at": expires_at });
    crate::routes::audit(
        &state,
        user.family_id,
        crate::routes::entry(format!("parent:{}", user.id), "token.created", None, detail),
    )
    .await;
    Ok(Json(LoginResponse {
        token: token.text,
        expires_at,
    }))
}
