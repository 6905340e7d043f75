//! The route table: every path, its method and its handler, in one place.

mod children;
mod consents;
mod families;
mod insights;
mod measurements;
pub(crate) mod models;
mod notes;
mod ops;
mod privacy;
mod recommendations;
mod records;
mod session;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

pub(crate) use children::*;
pub(crate) use consents::*;
pub(crate) use families::*;
pub(crate) use insights::*;
pub(crate) use measurements::*;
pub(crate) use models::*;
pub(crate) use notes::*;
pub(crate) use ops::*;
pub(crate) use privacy::*;
pub(crate) use recommendations::*;
pub(crate) use records::*;
pub(crate) use session::*;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/families", post(create_family))
        .route("/auth/login", post(login))
        .route(
            "/family/settings",
            get(get_family_settings).put(put_family_settings),
        )
        .route("/children", post(create_child).get(list_children))
        .route("/children/{child_id}", get(get_child).delete(delete_child))
        .route(
            "/children/{child_id}/preferences",
            axum::routing::put(put_preferences),
        )
        .route("/children/{child_id}/export", get(export_child))
        .route("/children/{child_id}/notes", get(get_notes).post(post_note))
        .route(
            "/children/{child_id}/consents",
            get(get_consents).put(put_consents),
        )
        .route(
            "/children/{child_id}/devices/{device_id}",
            axum::routing::delete(revoke_device),
        )
        .route("/auth/logout", post(logout))
        .route("/audit", get(audit_trail))
        .route("/models", get(list_models))
        .route("/experiments", get(list_experiments).post(start_experiment))
        .route("/children/{child_id}/devices", post(create_device))
        .route(
            "/children/{child_id}/metrics",
            post(post_metrics).get(get_metrics),
        )
        .route("/children/{child_id}/events", post(post_event).get(list_events))
        .route(
            "/children/{child_id}/interventions",
            post(post_intervention).get(list_interventions),
        )
        .route(
            "/children/{child_id}/sleep-episodes",
            post(post_sleep_episode).get(list_sleep_episodes),
        )
        .route("/children/{child_id}/forecast", get(get_forecast))
        .route("/children/{child_id}/chronotype", get(get_chronotype))
        .route(
            "/children/{child_id}/chronotype/recompute",
            post(recompute_chronotype),
        )
        .route("/children/{child_id}/insights/causal", get(get_causal_insights))
        .route("/children/{child_id}/recommendation", get(get_recommendation))
        .route("/children/{child_id}/recommendations", get(list_recommendations))
        .route("/feedback", post(post_feedback))
        .route("/ws", get(crate::live::connect))
        .route("/openapi.json", get(openapi_document))
        .fallback(api_not_found);

    // The original design's routes, kept for existing clients.
    let original = Router::new()
        .route("/causal_insights/{child_id}", get(causal_insights_original))
        .route("/update_chronotype/{child_id}", get(update_chronotype_original))
        .route("/recommendation/{child_id}", get(recommendation_original))
        .route("/feedback", post(feedback_original))
        .route("/alerts", get(crate::live::connect));

    Router::new()
        .route("/", get(home))
        .route("/assets/{*path}", get(crate::webapp::asset))
        .route("/icons/{*path}", get(crate::webapp::icon))
        .route("/manifest.webmanifest", get(crate::webapp::manifest))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
        .nest("/api/v1", api)
        .nest("/api", original)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::limit,
        ))
        .layer(axum::middleware::from_fn(crate::security::headers))
        .layer(axum::middleware::from_fn_with_state(
            state.telemetry.clone(),
            crate::telemetry::track,
        ))
        .layer(
            // Spans carry the route template, never the raw URI: paths hold child ids
            // and query strings may hold tokens.
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let route = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .layer(DefaultBodyLimit::max(state.app.config.body_limit))
        .with_state(state)
}
