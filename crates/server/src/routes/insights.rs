//! What a parent is shown about a child: the forecast, the chronotype and what each
//! intervention does. Computed from the child's stored data on the blocking pool and
//! cached until the child's data changes.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sprout_app::analysis::{
    cached, causal_effects, chronotype_value, recompute_chronotype as recompute, stress_and_sleep_forecast,
    DEFAULT_FORECAST_HOURS,
};
use sprout_app::cache::CacheKey;
use sprout_domain::InterventionKind;
use std::sync::Arc;

/// The child, when the caller may read it and the family allows analyses of its data.
async fn analysed_child(
    principal: &Principal,
    state: &AppState,
    child_id: &str,
) -> ApiResult<sprout_domain::Child> {
    let child = principal.child(state, child_id, Access::Read).await?;
    crate::routes::require(state, child.id, sprout_domain::ConsentPurpose::Personalisation).await?;
    Ok(child)
}

/// Forecast horizons a client may ask for, hours.
const MAX_FORECAST_HOURS: usize = 168;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Hours ahead, 1 to 168 (default 24).
    pub hours: Option<usize>,
}

/// The next hours of stress (mean and 80% interval, with the school events taken into
/// account) and the next nights' sleep.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/forecast", tag = "insights",
    security(("bearer" = [])), params(("child_id" = String, Path), ForecastQuery),
    responses((status = 200, description = "`{child_id, generated_at, hours, stress, sleep}`"),
              (status = 400), (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn get_forecast(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiQuery(query): ApiQuery<ForecastQuery>,
) -> ApiResult<Json<Arc<sprout_app::analysis::ForecastReport>>> {
    let child = analysed_child(&principal, &state, &child_id).await?;
    let hours = query.hours.unwrap_or(DEFAULT_FORECAST_HOURS);
    if !(1..=MAX_FORECAST_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "hours {hours} is outside [1, {MAX_FORECAST_HOURS}]"
        )));
    }
    Ok(Json(stress_and_sleep_forecast(&state.app, child, hours).await?))
}

/// The child's chronotype from their sleep: MSFsc, social jet lag, the type with its
/// confidence and best windows, or `insufficient_data`.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/chronotype", tag = "insights",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "chronotype report"), (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn get_chronotype(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Arc<Value>>> {
    let child = analysed_child(&principal, &state, &child_id).await?;
    Ok(Json(
        cached(&state.app, child, CacheKey::Chronotype, chronotype_value).await?,
    ))
}

/// Recomputes the chronotype now and stores it on the child.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/chronotype/recompute", tag = "insights",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "chronotype report"), (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn recompute_chronotype(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Arc<Value>>> {
    let child = analysed_child(&principal, &state, &child_id).await?;
    Ok(Json(recompute(&state.app, child).await?))
}

/// The original design's route: recomputes and answers `{"chronotype": ...}` (with the
/// rest of the report).
#[utoipa::path(get, path = "/api/update_chronotype/{child_id}", tag = "original routes",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{chronotype, ...}`"), (status = 401), (status = 403), (status = 404)))]
pub async fn update_chronotype_original(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Arc<Value>>> {
    recompute_chronotype(principal, State(state), Path(child_id)).await
}

/// What each intervention does to this child's stress: effect with interval, relative
/// effect, days behind it, status and refutations, and one sentence.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/insights/causal", tag = "insights",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{child_id, generated_at, effects: [...]}`"), (status = 401),
              (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn get_causal_insights(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Arc<Value>>> {
    let child = analysed_child(&principal, &state, &child_id).await?;
    Ok(Json(causal_effects(&state.app, child).await?))
}

/// The original design's route: `causal_effect` is the relative effect of the child's
/// most-used intervention (negative = stress reduced), `null` while unknown.
#[utoipa::path(get, path = "/api/causal_insights/{child_id}", tag = "original routes",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{child_id, causal_effect, interpretation, effects}`"),
              (status = 401), (status = 403), (status = 404)))]
pub async fn causal_insights_original(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let child = analysed_child(&principal, &state, &child_id).await?;
    let insights = causal_effects(&state.app, child).await?;
    let effects = insights["effects"].as_array().cloned().unwrap_or_default();
    let most_used = effects
        .iter()
        .filter(|e| e["kind"] != json!(InterventionKind::Other))
        .max_by_key(|e| e["treated_days"].as_u64().unwrap_or(0))
        .filter(|e| e["treated_days"].as_u64().unwrap_or(0) > 0);
    let (causal_effect, interpretation) = match most_used {
        Some(e) => (e["relative_effect"].clone(), e["interpretation"].clone()),
        None => (
            Value::Null,
            json!("No interventions recorded yet: not enough data to say what helps."),
        ),
    };
    Ok(Json(json!({
        "child_id": insights["child_id"],
        "causal_effect": causal_effect,
        "interpretation": interpretation,
        "effects": effects,
    })))
}
