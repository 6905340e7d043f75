//! Model versions and the A/B experiments that decide between them.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use sprout_app::recommend::arm;
use sprout_learn::{summarize, Policy};

/// The versions that write (or wrote) recommendations: base, adapter, metrics, status.
#[utoipa::path(get, path = "/api/v1/models", tag = "learning", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{version, base, adapter_path, metrics, status, created_at}]}`"),
              (status = 401), (status = 403)))]
pub async fn list_models(principal: Principal, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    principal.family()?;
    Ok(Json(json!({ "items": state.app.store.models().await? })))
}

/// Experiments with per-arm results (recommendations, 👍 rate) and the decision
/// statistics: the posterior probability that the candidate is better and an
/// always-valid p-value, with the decision they support.
#[utoipa::path(get, path = "/api/v1/experiments", tag = "learning", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{id, control_version, candidate_version, status, results}]}`"),
              (status = 401), (status = 403)))]
pub async fn list_experiments(principal: Principal, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    principal.family()?;
    let mut items = Vec::new();
    for experiment in state.app.store.experiments().await? {
        let counts = state.app.store.arm_counts(experiment.id).await?;
        let (control, candidate) = (
            arm(&counts, sprout_learn::Arm::Control),
            arm(&counts, sprout_learn::Arm::Candidate),
        );
        let results =
            summarize(&control, &candidate, &Policy::default()).map_err(|e| ApiError::internal(&e))?;
        items.push(json!({ "experiment": experiment, "results": results }));
    }
    Ok(Json(json!({ "items": items })))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExperimentRequest {
    /// The version to test against the active one (e.g. `template-2`).
    pub candidate_version: String,
    /// Share of children assigned to the candidate, in (0, 1).
    pub candidate_share: f64,
}

/// Starts an A/B experiment of a candidate version against the active one (admin).
#[utoipa::path(post, path = "/api/v1/experiments", tag = "learning", request_body = NewExperimentRequest,
    security(("admin" = [])),
    responses((status = 201, description = "the experiment"), (status = 401), (status = 409, description = "one is running"),
              (status = 422)))]
pub async fn start_experiment(
    _admin: crate::auth::Admin,
    State(state): State<AppState>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<NewExperimentRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    if !(body.candidate_share > 0.0 && body.candidate_share < 1.0) {
        return Err(sprout_domain::ValidationError::new("candidate_share", "must be between 0 and 1").into());
    }
    let models = state.app.store.models().await?;
    if !sprout_app::recommend::runnable(&state.app, &models, &body.candidate_version) {
        return Err(sprout_domain::ValidationError::new(
            "candidate_version",
            format!("'{}' cannot be run by this server", body.candidate_version),
        )
        .into());
    }
    let base = body
        .candidate_version
        .split('-')
        .next()
        .unwrap_or("template")
        .to_owned();
    let experiment = state
        .app
        .store
        .start_experiment(&body.candidate_version, &base, body.candidate_share)
        .await?;
    tracing::info!(experiment = %experiment.id, candidate = experiment.candidate_version, "experiment started");
    state.app.live.publish(sprout_app::live::LiveEvent::everyone(
        sprout_app::live::Happening::ModelCandidate {
            version: experiment.candidate_version.clone(),
            personal_version: None,
            experiment_id: Some(experiment.id),
            metrics: None,
        },
    ));
    Ok((axum::http::StatusCode::CREATED, Json(json!(experiment))))
}
