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

/// Failed login attempts per e-mail, in this process.
#[derive(Default)]
pub struct LoginGuard {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginGuard {
    /// How long the e-mail must still wait, if it is locked.
    pub fn locked_for(&self, email: &str) -> Option<Duration> {
        let mut failures = self.failures.lock().ok()?;
        let recent = failures.get_mut(email)?;
        recent.retain(|at| at.elapsed() < LOCKOUT_WINDOW);
        if recent.len() < MAX_FAILED_LOGINS {
            return None;
        }
        let oldest = recent.iter().min()?;
        Some(LOCKOUT_WINDOW.saturating_sub(oldest.elapsed()))
    }

    pub fn failed(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.entry(email.to_owned()).or_default().push(Instant::now());
        }
    }

    pub fn succeeded(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(email);
        }
    }
}
