//! Protection every route gets by default: security headers on every response, and a
//! lockout after repeated failed logins.
//!
//! Cross-origin requests get no CORS headers, so browsers allow the API only to pages
//! served by Sprout itself (the parent app); the app needs nothing more.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one e-mail within [`LOCKOUT_WINDOW`] that lock it.
pub const MAX_FAILED_LOGINS: usize = 5;
/// How long failures count, and how long a locked e-mail waits.
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Content the parent app needs: its own scripts, styles and images, and API and live
/// connections to its own origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Failed login attempts per e-mail: in this process, or in Redis so that the lockout
/// holds across nodes (a counter per e-mail's hash that expires with the window opened
/// by the first failure). A Redis error never locks anyone out and never lets a locked
/// account through silently: it is logged, and the local count still applies.
#[derive(Default)]
pub struct LoginGuard {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    redis: Option<redis::aio::ConnectionManager>,
}

fn login_key(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = sprout_app::shared::hex(&Sha256::digest(email.as_bytes())[..16]);
    format!("{}:login:{hash}", sprout_app::shared::PREFIX)
}

impl LoginGuard {
    pub fn with_redis(redis: &sprout_app::shared::Redis) -> Self {
        Self {
            failures: Mutex::default(),
            redis: Some(redis.conn()),
        }
    }

    /// How long the e-mail must still wait, if it is locked.
    pub async fn locked_for(&self, email: &str) -> Option<Duration> {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let key = login_key(email);
            let counted: redis::RedisResult<(Option<usize>, i64)> =
                redis::pipe().get(&key).ttl(&key).query_async(&mut redis).await;
            match counted {
                Ok((Some(count), ttl)) if count >= MAX_FAILED_LOGINS => {
                    return Some(Duration::from_secs(u64::try_from(ttl).unwrap_or(1).max(1)));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "Redis login counter unavailable; using this node's"),
            }
        }
        let mut failures = self.failures.lock().ok()?;
        let recent = failures.get_mut(email)?;
        recent.retain(|at| at.elapsed() < LOCKOUT_WINDOW);
        if recent.len() < MAX_FAILED_LOGINS {
            return None;
        }
        let oldest = recent.iter().min()?;
        Some(LOCKOUT_WINDOW.saturating_sub(oldest.elapsed()))
    }

    pub async fn failed(&self, email: &str) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let key = login_key(email);
            let counted: redis::RedisResult<(u64, i64)> = redis::pipe()
                .atomic()
                .incr(&key, 1)
                .cmd("EXPIRE")
                .arg(&key)
                .arg(LOCKOUT_WINDOW.as_secs())
                .arg("NX")
                .query_async(&mut redis)
                .await;
            if let Err(e) = counted {
                tracing::warn!(error = %e, "cannot count a failed login in Redis");
            }
        }
        if let Ok(mut failures) = self.failures.lock() {
            failures.entry(email.to_owned()).or_default().push(Instant::now());
        }
    }

    pub async fn succeeded(&self, email: &str) {
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            if let Err(e) = redis::AsyncCommands::del::<_, u64>(&mut redis, login_key(email)).await {
                tracing::warn!(error = %e, "cannot clear the failed-login counter in Redis");
            }
        }
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(email);
        }
    }
}
