//! Who is calling: bearer tokens (parents and devices), the admin token, passwords.
//!
//! Tokens are 32 random bytes, handed out once and stored only as SHA-256 digests, so a
//! copy of the database grants nothing. Lookup is by digest through the store's index;
//! the admin token is compared in constant time. Password hashing (argon2id) is slow on
//! purpose and runs on the blocking pool, never on the async workers.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use chrono::Utc;
use sha2::{Digest, Sha256};
use sprout_domain::{Child, ChildId, FamilyId, Password, UserId};
use sprout_store::TokenOwner;
use subtle::ConstantTimeEq;

/// Prefix of every token Sprout issues, so a leaked one is recognisable in a scan.
const TOKEN_PREFIX: &str = "spr_";

/// A freshly minted token: the text goes to the client once, the digest to the store.
pub struct IssuedToken {
    pub text: String,
    pub hash: [u8; 32],
}

pub fn issue_token() -> IssuedToken {
    let mut bytes = [0u8; 32];
    argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut bytes);
    let text = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = token_hash(&text);
    IssuedToken { text, hash }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Password hashes computed at once: one per core. Each argon2id hash takes 19 MiB, so
/// a burst of logins must not run hundreds at once; the others wait their turn.
static HASHING: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();

async fn hashing_permit() -> ApiResult<tokio::sync::SemaphorePermit<'static>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    HASHING
        .get_or_init(|| tokio::sync::Semaphore::new(cores))
        .acquire()
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: Password) -> ApiResult<String> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&PasswordHashError(e.to_string())))
}

/// Checks a password against a stored hash on the blocking pool. With no stored hash
/// (unknown e-mail) a fixed hash is checked instead, so both cases take the same time.
pub async fn verify_password(password: String, stored: Option<String>) -> ApiResult<bool> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let hash = stored.unwrap_or_else(|| UNKNOWN_USER_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| ApiError::internal(&e))
}

/// The argon2id hash of a random string nobody knows, checked for unknown e-mails.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3Byb3V0LXVua25vd24$1rBzA/4i3jh9W9m0yD0cG0Bq0Sh0gUu2QzpzpZ2zC1E";

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
struct PasswordHashError(String);

/// A caller with a valid bearer token.
#[derive(Debug, Clone, Copy)]
pub enum Principal {
    Parent { family_id: FamilyId, user_id: UserId },
    Device { child_id: ChildId },
}

/// What a route does with a child's data, which decides who may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading: parents of the child's family.
    Read,
    /// Writing measurements: the family's parents and the child's own devices.
    Write,
}

impl Principal {
    /// The child, if this caller may touch it this way. Someone else's child is a 404
    /// (never a 403), so the answer does not even confirm that the child exists.
    pub async fn child(&self, state: &AppState, id: &str, access: Access) -> ApiResult<Child> {
        let not_found = || ApiError::not_found("child");
        let id: ChildId = id.parse().map_err(|_| not_found())?;
        match *self {
            Principal::Parent { family_id, .. } => {
                let child = state.app.store.get_child(id).await?.ok_or_else(not_found)?;
                if child.family_id == family_id {
                    Ok(child)
                } else {
                    Err(not_found())
                }
            }
            Principal::Device { child_id } => {
                if child_id != id {
                    return Err(not_found());
                }
                if access == Access::Read {
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        "device tokens can only write their child's data",
                    ));
                }
                state.app.store.get_child(id).await?.ok_or_else(not_found)
            }
        }
    }

    /// Who acted, for the audit trail (ids only, never names).
    pub fn actor(&self) -> String {
        match *self {
            Principal::Parent { user_id, .. } => format!("parent:{user_id}"),
            Principal::Device { child_id } => format!("device-of:{child_id}"),
        }
    }

    /// The family of a parent; devices are refused.
    pub fn family(&self) -> ApiResult<FamilyId> {
        match *self {
            Principal::Parent { family_id, .. } => Ok(family_id),
            Principal::Device { .. } => {
                Err(ApiError::new(ErrorCode::Forbidden, "this needs a parent's token"))
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is a well-formed one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn bearer(parts: &Parts) -> ApiResult<&str> {
    if !parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Err(ApiError::unauthorized("missing Authorization: Bearer token"));
    }
    bearer_token(&parts.headers)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be 'Bearer <token>'"))
}

/// Who a bearer token speaks for, if it is still valid.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Principal> {
    let record = state
        .app
        .store
        .find_token(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
    if record.revoked {
        return Err(ApiError::unauthorized("this token was revoked"));
    }
    if record.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::unauthorized("this token has expired; log in again"));
    }
    Ok(match record.owner {
        TokenOwner::Parent { family_id, user_id } => Principal::Parent { family_id, user_id },
        TokenOwner::Device { child_id, .. } => Principal::Device { child_id },
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(state, bearer(parts)?).await
    }
}

/// A caller holding the admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let expected = state.app.config.admin_token.as_ref().ok_or_else(|| {
            ApiError::unauthorized("administration is disabled (SPROUT_ADMIN_TOKEN is not set)")
        })?;
        // Compare digests so the comparison's length is fixed, in constant time.
        let matches: bool = token_hash(token).ct_eq(&token_hash(expected.expose())).into();
        if matches {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized("invalid admin token"))
        }
    }
}
