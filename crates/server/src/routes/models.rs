//! Model versions and the A/B experiments that decide between them.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use sprout_learn::{summarize, ArmStats, Policy};

/// The versions that write (or wrote) recommendations: base, adapter, metrics, status.
#[utoipa::path(get, path = "/api/v1/models", tag = "learning", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{version, base, adapter_path, metrics, status, created_at}]}`"),
              (status = 401), (status = 403)))]
pub async fn list_models(principal: Principal, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    principal.family()?;
    Ok(Json(json!({ "items": state.store.models().await? })))
}

fn arm(counts: &[sprout_store::ArmCounts], name: &str) -> ArmStats {
    counts
        .iter()
        .find(|c| c.arm == name)
        .map(|c| ArmStats {
            recommendations: c.recommendations,
            answered: c.answered,
            helpful: c.helpful,
            ..ArmStats::default()
        })
        .unwrap_or_default()
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
    for experiment in state.store.experiments().await? {
        let counts = state.store.arm_counts(experiment.id).await?;
        let (control, candidate) = (arm(&counts, "control"), arm(&counts, "candidate"));
        let results =
            summarize(&control, &candidate, &Policy::default()).map_err(|e| ApiError::internal(&e))?;
        items.push(json!({ "experiment": experiment, "results": results }));
    }
    Ok(Json(json!({ "items": items })))
}
