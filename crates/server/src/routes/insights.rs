//! What a parent is shown about a child: the forecast, the chronotype and what each
//! intervention does. Computed from the child's stored data on the blocking pool and
//! cached until the child's data changes.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sprout_domain::{Child, Intervention, InterventionKind, Sample, SchoolEvent, SleepEpisode};
use sprout_insights::effects::{intervention_effects, EffectOptions};
use sprout_insights::{chronotype, forecast, ChildData};
use sprout_store::TimeRange;
use std::sync::Arc;

/// History an analysis loads: the forecaster uses ten weeks, effects and chronotype
/// gain little from older days, and loading more only costs time.
const ANALYSIS_HISTORY: chrono::Duration = chrono::Duration::days(90);
/// Upcoming calendar events worth loading: the forecast looks at most two weeks ahead.
const CALENDAR_AHEAD: chrono::Duration = chrono::Duration::days(15);
/// Most rows loaded of one kind; a minute-by-minute device gives 129,600 in 90 days.
const MAX_ROWS: usize = 200_000;
/// Forecast horizons a client may ask for, hours.
const MAX_FORECAST_HOURS: usize = 168;
/// Nights of sleep forecast shown.
const SLEEP_NIGHTS: usize = 3;

/// A child's data, owned, for the blocking analysis.
struct Loaded {
    child: Child,
    samples: Vec<Sample>,
    events: Vec<SchoolEvent>,
    interventions: Vec<Intervention>,
    sleep: Vec<SleepEpisode>,
    now: DateTime<Utc>,
}

impl Loaded {
    fn data(&self) -> ChildData<'_> {
        ChildData {
            tz: self.child.timezone.tz(),
            birth_date: self.child.birth_date,
            samples: &self.samples,
            events: &self.events,
            interventions: &self.interventions,
            sleep_episodes: &self.sleep,
            now: self.now,
        }
    }
}

async fn load(state: &AppState, child: Child) -> ApiResult<Loaded> {
    let now = Utc::now();
    let past = TimeRange {
        from: Some(now - ANALYSIS_HISTORY),
        to: Some(now + chrono::Duration::seconds(1)),
    };
    let calendar = TimeRange {
        from: past.from,
        to: Some(now + CALENDAR_AHEAD),
    };
    let store = &state.store;
    let (samples, events, interventions, sleep) = tokio::try_join!(
        store.samples(child.id, past, None, MAX_ROWS),
        store.events(child.id, calendar, None, MAX_ROWS),
        store.interventions(child.id, past, None, MAX_ROWS),
        store.sleep_episodes(child.id, past, None, MAX_ROWS),
    )?;
    Ok(Loaded {
        child,
        samples,
        events,
        interventions,
        sleep,
        now,
    })
}

/// Serves `key` for the child from the cache, or loads the data, runs `analysis` on the
/// blocking pool and caches the answer.
async fn cached(
    state: &AppState,
    child: Child,
    key: String,
    analysis: impl FnOnce(&Loaded) -> Value + Send + 'static,
) -> ApiResult<Arc<Value>> {
    let id = child.id;
    if let Some(hit) = state.insights.get(id, &key) {
        return Ok(hit);
    }
    let version = state.insights.version(id);
    let loaded = load(state, child).await?;
    let span = tracing::Span::current();
    let value = tokio::task::spawn_blocking(move || span.in_scope(|| Arc::new(analysis(&loaded))))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state.insights.put(id, &key, version, value.clone());
    Ok(value)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Hours ahead, 1 to 168 (default 24).
    pub hours: Option<usize>,
}

fn forecast_value(loaded: &Loaded, hours: usize) -> Value {
    let data = loaded.data();
    let stress = match forecast::stress_forecast(&data, hours) {
        Ok(f) => json!(f),
        Err(e) => json!({ "status": "insufficient_data", "reason": e.to_string() }),
    };
    let sleep = match forecast::sleep_outlook(&data, SLEEP_NIGHTS) {
        Ok((nights, level)) => json!({ "level": level, "nights": nights }),
        Err(e) => json!({ "status": "insufficient_data", "reason": e.to_string() }),
    };
    json!({
        "child_id": loaded.child.id,
        "generated_at": loaded.now,
        "hours": hours,
        "stress": stress,
        "sleep": sleep,
    })
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
) -> ApiResult<Json<Arc<Value>>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let hours = query.hours.unwrap_or(24);
    if !(1..=MAX_FORECAST_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "hours {hours} is outside [1, {MAX_FORECAST_HOURS}]"
        )));
    }
    Ok(Json(
        cached(&state, child, format!("forecast:{hours}"), move |l| {
            forecast_value(l, hours)
        })
        .await?,
    ))
}

fn chronotype_value(loaded: &Loaded) -> Value {
    let report = chronotype::chronotype(&loaded.data());
    let mut value = json!(report);
    value["child_id"] = json!(loaded.child.id);
    value["generated_at"] = json!(loaded.now);
    value
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
    let child = principal.child(&state, &child_id, Access::Read).await?;
    Ok(Json(
        cached(&state, child, "chronotype".into(), chronotype_value).await?,
    ))
}

/// Recomputes the chronotype and records it on the child.
async fn recompute(state: &AppState, child: Child) -> ApiResult<Arc<Value>> {
    let id = child.id;
    state.insights.invalidate(id);
    let report = cached(state, child, "chronotype".into(), chronotype_value).await?;
    let chronotype = report["chronotype"].as_str();
    state.store.set_chronotype(id, chronotype).await?;
    Ok(report)
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
    let child = principal.child(&state, &child_id, Access::Read).await?;
    Ok(Json(recompute(&state, child).await?))
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

fn effects_value(loaded: &Loaded) -> Value {
    let effects = intervention_effects(&loaded.data(), EffectOptions::default(), &|_| None);
    json!({ "child_id": loaded.child.id, "generated_at": loaded.now, "effects": effects })
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
    let child = principal.child(&state, &child_id, Access::Read).await?;
    Ok(Json(cached(&state, child, "causal".into(), effects_value).await?))
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
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let insights = cached(&state, child, "causal".into(), effects_value).await?;
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
