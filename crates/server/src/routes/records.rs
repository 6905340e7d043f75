//! Time-stamped records of a child's life: school events, interventions, sleep episodes.
//! Posting the same record twice stores it once (201 the first time, 200 after).

use crate::auth::{Access, Principal};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{encode_record_cursor, ListQuery, Page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use sprout_domain::{
    Intervention, InterventionInput, NewIntervention, NewSchoolEvent, NewSleepEpisode, RecordId, SchoolEvent,
    SchoolEventInput, SleepEpisode, SleepEpisodeBody, SleepEpisodeInput,
};

/// Records per page unless asked otherwise, and at most.
const RECORD_PAGE: (usize, usize) = (100, 1_000);

fn created_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

fn page<T>(items: Vec<T>, limit: usize, key: impl Fn(&T) -> (DateTime<Utc>, RecordId)) -> Page<T> {
    let next = (items.len() == limit)
        .then(|| {
            items.last().map(|last| {
                let (time, id) = key(last);
                encode_record_cursor(time, id)
            })
        })
        .flatten();
    Page { items, next }
}

/// Adds a school event (a test, an exam, a holiday) to a child's calendar.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/events", tag = "records", request_body = SchoolEventInput,
    security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 201, body = SchoolEvent), (status = 200, description = "already stored", body = SchoolEvent),
              (status = 401), (status = 404), (status = 422)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn post_event(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<SchoolEventInput>,
) -> ApiResult<(StatusCode, Json<SchoolEvent>)> {
    let child = principal.child(&state, &child_id, Access::Write).await?;
    crate::routes::require(&state, child.id, sprout_domain::ConsentPurpose::DataCollection).await?;
    let event = NewSchoolEvent::parse(&body, Utc::now())?;
    let (stored, created) = sprout_app::ingest::event(&state.app, child, &event).await?;
    Ok((created_status(created), Json(stored)))
}

/// A child's school events, by start time.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/events", tag = "records",
    security(("bearer" = [])), params(("child_id" = String, Path), ListQuery),
    responses((status = 200, body = Page<SchoolEvent>), (status = 400), (status = 401), (status = 404)))]
pub async fn list_events(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<SchoolEvent>>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let limit = query.limit(RECORD_PAGE.0, RECORD_PAGE.1)?;
    let items = state
        .app
        .store
        .events(child.id, query.range()?, query.record_cursor()?, limit)
        .await?;
    Ok(Json(page(items, limit, |e| (e.start, e.id))))
}

/// Records an intervention (mindfulness, outdoor play, ...) a family did.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/interventions", tag = "records",
    request_body = InterventionInput, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 201, body = Intervention), (status = 200, description = "already stored", body = Intervention),
              (status = 401), (status = 404), (status = 422)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn post_intervention(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiJson(body): ApiJson<InterventionInput>,
) -> ApiResult<(StatusCode, Json<Intervention>)> {
    let child = principal.child(&state, &child_id, Access::Write).await?;
    crate::routes::require(&state, child.id, sprout_domain::ConsentPurpose::DataCollection).await?;
    let intervention = NewIntervention::parse(&body, Utc::now())?;
    let (stored, created) = sprout_app::ingest::intervention(&state.app, child, &intervention).await?;
    Ok((created_status(created), Json(stored)))
}

/// A child's interventions, by time.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/interventions", tag = "records",
    security(("bearer" = [])), params(("child_id" = String, Path), ListQuery),
    responses((status = 200, body = Page<Intervention>), (status = 400), (status = 401), (status = 404)))]
pub async fn list_interventions(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Intervention>>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let limit = query.limit(RECORD_PAGE.0, RECORD_PAGE.1)?;
    let items = state
        .app
        .store
        .interventions(child.id, query.range()?, query.record_cursor()?, limit)
        .await?;
    Ok(Json(page(items, limit, |i| (i.time, i.id))))
}

/// Records one sleep episode (onset to offset); an Open mHealth `sleep-episode` body
/// (or data point) is accepted too.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/sleep-episodes", tag = "records",
    request_body = SleepEpisodeInput, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 201, body = SleepEpisode), (status = 200, description = "already stored", body = SleepEpisode),
              (status = 401), (status = 404), (status = 422)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn post_sleep_episode(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    body: crate::extract::JsonBody,
) -> ApiResult<(StatusCode, Json<SleepEpisode>)> {
    let child = principal.child(&state, &child_id, Access::Write).await?;
    crate::routes::require(&state, child.id, sprout_domain::ConsentPurpose::DataCollection).await?;
    let body = SleepEpisodeBody::parse_json(&body.0).map_err(crate::error::ApiError::bad_request)?;
    let episode = NewSleepEpisode::parse(&body, Utc::now())?;
    let (stored, created) = sprout_app::ingest::sleep_episode(&state.app, &child, &episode).await?;
    Ok((created_status(created), Json(stored)))
}

/// A child's sleep episodes, by onset.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/sleep-episodes", tag = "records",
    security(("bearer" = [])), params(("child_id" = String, Path), ListQuery),
    responses((status = 200, body = Page<SleepEpisode>), (status = 400), (status = 401), (status = 404)))]
pub async fn list_sleep_episodes(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<SleepEpisode>>> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let limit = query.limit(RECORD_PAGE.0, RECORD_PAGE.1)?;
    let items = state
        .app
        .store
        .sleep_episodes(child.id, query.range()?, query.record_cursor()?, limit)
        .await?;
    Ok(Json(page(items, limit, |e| (e.onset, e.id))))
}
