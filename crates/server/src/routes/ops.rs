//! Operations endpoints: liveness, readiness, Prometheus metrics, the home page, OpenAPI.

use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde_json::json;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The store answers; a node that cannot reach it should get no traffic.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "store unreachable")))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.app.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(ErrorCode::Unavailable, "the store is not reachable")
    })?;
    Ok(Json(
        json!({ "status": "ready", "store": state.app.store.backend().as_str() }),
    ))
}

pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.telemetry.render(),
    )
}

pub async fn openapi_document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi_json(),
    )
}

pub async fn api_not_found() -> ApiError {
    ApiError::not_found("route")
}

/// The parent web app; a plain page saying what is running if the build is missing.
pub async fn home(State(state): State<AppState>) -> axum::response::Response {
    if crate::webapp::present() {
        return crate::webapp::index().await;
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sprout</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; line-height: 1.5\">\
         <h1>Sprout is running</h1>\
         <p>Sprout {version} is serving its API on this address, backed by {backend}.</p>\
         <ul><li><a href=\"/api/v1/openapi.json\">API document (OpenAPI)</a></li>\
         <li><a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a> · <a href=\"/metrics\">/metrics</a></li></ul>\
         <p>Log in with <code>POST /api/v1/auth/login</code> to get a token.</p></body></html>",
        version = env!("CARGO_PKG_VERSION"),
        backend = state.app.store.backend().as_str(),
    ))
    .into_response()
}
