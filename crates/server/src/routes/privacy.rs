//! A family's control over its children's data: export everything, erase everything,
//! revoke tokens and devices, and read the audit trail of who did what.

use crate::auth::{token_hash, Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};
use sprout_app::analysis::load;
use sprout_app::recommend::view;
use sprout_domain::{DeviceId, FamilyId, SleepEpisode};
use sprout_store::{AuditEntry, TimeRange};

/// Everything of a child fits in one export: years of minute samples are a few million rows.
const EXPORT_ROWS: usize = 10_000_000;
/// Audit entries shown at once.
const AUDIT_PAGE: usize = 500;

/// Records an audit entry; a failure to record is logged, never hidden from the log.
pub async fn audit(state: &AppState, family: FamilyId, entry: AuditEntry) {
    if let Err(e) = state.app.store.audit(family, &entry).await {
        tracing::error!(error = %e, action = entry.action, "could not write the audit trail");
    }
}

pub fn entry(
    actor: String,
    action: &str,
    child: Option<sprout_domain::ChildId>,
    detail: Value,
) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor,
        action: action.to_owned(),
        child_id: child,
        detail,
    }
}

/// Ends the session of the token that makes this call.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "the token no longer works"), (status = 401)))]
pub async fn logout(
    principal: Principal,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = crate::auth::bearer_token(&headers).ok_or_else(|| ApiError::unauthorized("missing token"))?;
    state.app.store.revoke_token(&token_hash(token)).await?;
    if let Principal::Parent { family_id, .. } = principal {
        audit(
            &state,
            family_id,
            entry(
                principal.actor(),
                "token.revoked",
                None,
                json!({"reason": "logout"}),
            ),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a device of a child: its token stops working at once.
#[utoipa::path(delete, path = "/api/v1/children/{child_id}/devices/{device_id}", tag = "privacy",
    security(("bearer" = [])), params(("child_id" = String, Path), ("device_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn revoke_device(
    principal: Principal,
    State(state): State<AppState>,
    Path((child_id, device_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let device: DeviceId = device_id.parse().map_err(|_| ApiError::not_found("device"))?;
    if !state.app.store.revoke_device(child.id, device).await? {
        return Err(ApiError::not_found("device"));
    }
    let detail = json!({ "device_id": device });
    audit(
        &state,
        child.family_id,
        entry(principal.actor(), "token.revoked", Some(child.id), detail),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The family's audit trail: logins and device tokens, revocations, exports, erasures.
#[utoipa::path(get, path = "/api/v1/audit", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{at, actor, action, child_id, detail}]}`"), (status = 401),
              (status = 403)))]
pub async fn audit_trail(principal: Principal, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let family = principal.family()?;
    let items = state.app.store.audit_trail(family, AUDIT_PAGE).await?;
    Ok(Json(json!({ "items": items })))
}

/// Sleep as Open mHealth `sleep-episode` 1.1 data points.
fn open_mhealth(episodes: &[SleepEpisode]) -> Vec<Value> {
    episodes
        .iter()
        .map(|e| {
            json!({
                "header": {
                    "uuid": e.id,
                    "schema_id": { "namespace": "omh", "name": "sleep-episode", "version": "1.1" },
                    "source_creation_date_time": e.offset,
                },
                "body": {
                    "effective_time_frame": { "time_interval": { "start_date_time": e.onset, "end_date_time": e.offset } },
                    "total_sleep_time": { "value": (e.offset - e.onset).num_minutes(), "unit": "min" },
                },
            })
        })
        .collect()
}

/// Sleep duration as FHIR R4 Observations (LOINC 93832-4, "Sleep duration").
fn fhir(episodes: &[SleepEpisode]) -> Vec<Value> {
    episodes
        .iter()
        .map(|e| {
            let hours = (e.offset - e.onset).num_minutes() as f64 / 60.0;
            json!({
                "resourceType": "Observation",
                "id": e.id,
                "status": "final",
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "activity" }] }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": "93832-4", "display": "Sleep duration" }] },
                "effectivePeriod": { "start": e.onset, "end": e.offset },
                "valueQuantity": { "value": (hours * 100.0).round() / 100.0, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h" },
            })
        })
        .collect()
}

/// How an export is packed.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default): one JSON document; `zip`: a zip of CSV files (and the JSON parts
    /// that are not tables).
    pub format: Option<String>,
}

/// All of a child's data as one JSON document, or a zip of CSVs: samples (and the
/// hourly aggregates of retired samples), events, interventions, sleep (also as Open
/// mHealth and FHIR), recommendations and feedback, and the current insights.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/export", tag = "privacy",
    security(("bearer" = [])), params(("child_id" = String, Path), ExportQuery),
    responses((status = 200, description = "the complete export (JSON, or application/zip with format=zip)"),
              (status = 400), (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn export_child(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let zip = match query.format.as_deref() {
        None | Some("json") => false,
        Some("zip") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format '{other}' is not one of json, zip"
            )))
        }
    };
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let Principal::Parent { user_id, .. } = principal else {
        return Err(ApiError::new(ErrorCode::Forbidden, "this needs a parent's token"));
    };
    let all = TimeRange::default();
    let store = &state.app.store;
    let (samples, hours, events, interventions, sleep) = tokio::try_join!(
        store.samples(child.id, all, None, EXPORT_ROWS),
        store.sample_hours(child.id, all, EXPORT_ROWS),
        store.events(child.id, all, None, EXPORT_ROWS),
        store.interventions(child.id, all, None, EXPORT_ROWS),
        store.sleep_episodes(child.id, all, None, EXPORT_ROWS),
    )?;
    let recommendations = store
        .recommendations(child.id, user_id, None, EXPORT_ROWS)
        .await?;
    let feedback = store.child_feedback(child.id).await?;
    let notes = store.notes(child.id, EXPORT_ROWS).await?;
    let loaded = load(&state.app, child.clone()).await?;
    let insights = tokio::task::spawn_blocking(move || {
        json!({
            "chronotype": sprout_insights::chronotype::chronotype(&loaded.data()),
            "causal": sprout_insights::effects::intervention_effects(&loaded.data(), Default::default(), &|_| None),
        })
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let counts = json!({
        "samples": samples.len(), "hourly_aggregates": hours.len(), "events": events.len(), "interventions": interventions.len(),
        "sleep_episodes": sleep.len(), "recommendations": recommendations.len(), "feedback": feedback.len(), "notes": notes.len(),
    });
    audit(
        &state,
        child.family_id,
        entry(
            principal.actor(),
            "child.exported",
            Some(child.id),
            json!({ "format": if zip { "zip" } else { "json" }, "counts": counts }),
        ),
    )
    .await;
    let document = json!({
        "format": "sprout-export-1",
        "exported_at": Utc::now(),
        "counts": counts,
        "child": crate::routes::ChildView::from(child.clone()),
        "samples": samples,
        "hourly_aggregates": hours,
        "events": events,
        "interventions": interventions,
        "sleep_episodes": sleep,
        "sleep_open_mhealth": open_mhealth(&sleep),
        "sleep_fhir_observations": fhir(&sleep),
        "recommendations": recommendations.iter().map(|r| view(r, child.display_name.as_str())).collect::<Vec<_>>(),
        "feedback": feedback.iter().map(|f| json!({
            "action_kind": f.action_kind, "action_slot": f.action_slot, "was_helpful": f.was_helpful, "at": f.at,
        })).collect::<Vec<_>>(),
        "notes": notes,
        "insights": insights,
    });
    if !zip {
        return Ok(Json(document).into_response());
    }
    let bytes = tokio::task::spawn_blocking(move || crate::archive::zip_export(&document))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let name = format!("attachment; filename=\"sprout-export-{}.zip\"", child.id);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&name).map_err(|e| ApiError::internal(&e))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Erases a child and everything recorded about them — on every table, in this node's
/// caches and pooled estimates — and says what was erased.
#[utoipa::path(delete, path = "/api/v1/children/{child_id}", tag = "privacy",
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, description = "`{erased: {samples, events, ...}}`"), (status = 401), (status = 403),
              (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn delete_child(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    principal.family()?;
    let erased = state.app.store.erase_child(child.id).await?;
    state.app.insights.forget_child(child.id).await;
    state.app.population.forget(child.id).await;
    state.app.memory.forget(child.id);
    let detail = json!({ "erased": erased });
    audit(
        &state,
        child.family_id,
        entry(principal.actor(), "child.deleted", Some(child.id), detail.clone()),
    )
    .await;
    tracing::info!("child erased");
    Ok(Json(
        json!({ "child_id": child.id, "erased": erased, "caches_cleared": true }),
    ))
}
