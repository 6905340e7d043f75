//! Per-token rate limits: at most N requests per minute for each bearer token, counted
//! in fixed one-minute windows — in-process on one node, in Redis across nodes (one
//! counter per token and window, so two nodes together still allow N).
//!
//! The admin token is not limited. Requests without a token are not counted here: they can only log in (which has its
//! own lockout) or read public pages. When Redis is unreachable the limit fails open
//! (the request is served and the error logged): a cache outage must not lock every
//! family out.

use crate::auth::token_hash;
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sprout_app::shared::{hex, Redis, PREFIX};
use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_SECS: u64 = 60;

pub enum RateLimiter {
    Off,
    Local {
        per_minute: u32,
        /// Requests per (token hash, window); windows before the current one are dropped.
        counts: Mutex<HashMap<[u8; 32], (u64, u32)>>,
    },
    Redis {
        per_minute: u32,
        redis: redis::aio::ConnectionManager,
    },
}

impl RateLimiter {
    pub fn new(per_minute: Option<u32>, redis: Option<&Redis>) -> Self {
        match (per_minute, redis) {
            (None, _) => Self::Off,
            (Some(per_minute), None) => Self::Local {
                per_minute,
                counts: Mutex::default(),
            },
            (Some(per_minute), Some(redis)) => Self::Redis {
                per_minute,
                redis: redis.conn(),
            },
        }
    }

    /// Counts one request of `token`; `Err(seconds until the window ends)` over the limit.
    async fn admit(&self, token: &str) -> Result<(), u64> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let window = now / WINDOW_SECS;
        let retry_after = WINDOW_SECS - now % WINDOW_SECS;
        let hash = token_hash(token);
        let (count, per_minute) = match self {
            Self::Off => return Ok(()),
            Self::Local { per_minute, counts } => {
                let Ok(mut counts) = counts.lock() else {
                    return Ok(());
                };
                if counts.len() > 100_000 {
                    counts.retain(|_, (w, _)| *w == window);
                }
                let entry = counts.entry(hash).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                (u64::from(entry.1), *per_minute)
            }
            Self::Redis { per_minute, redis } => {
                let key = format!("{PREFIX}:rate:{}:{window}", hex(&hash[..16]));
                let mut redis = redis.clone();
                let counted: redis::RedisResult<(u64, i64)> = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, (2 * WINDOW_SECS) as i64)
                    .query_async(&mut redis)
                    .await;
                match counted {
                    Ok((count, _)) => (count, *per_minute),
                    Err(e) => {
                        tracing::warn!(error = %e, "Redis rate limit unavailable; admitting the request");
                        return Ok(());
                    }
                }
            }
        };
        if count > u64::from(per_minute) {
            Err(retry_after)
        } else {
            Ok(())
        }
    }
}

/// The bearer token of a request: the Authorization header, or `?token=` (WebSockets).
fn bearer(request: &Request) -> Option<String> {
    let from_header = crate::auth::bearer_token(request.headers()).map(str::to_owned);
    from_header.or_else(|| {
        request.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .map(str::to_owned)
        })
    })
}

/// Middleware: 429 with `Retry-After` once a token has used its minute.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = bearer(&request).filter(|t| !t.is_empty()) {
        // The operators' admin token is not limited: their tooling may need bursts.
        let admin = state.app.config.admin_token.as_ref().is_some_and(|admin| {
            use subtle::ConstantTimeEq;
            bool::from(admin.expose().as_bytes().ct_eq(token.as_bytes()))
        });
        if admin {
            return next.run(request).await;
        }
        if let Err(retry_after) = state.rate_limiter.admit(&token).await {
            let mut response = ApiError::new(
                ErrorCode::RateLimited,
                format!("too many requests for this token; try again in {retry_after} s"),
            )
            .into_response();
            if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    next.run(request).await
}
