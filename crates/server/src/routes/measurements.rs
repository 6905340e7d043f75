//! Wearable samples: batch ingestion and reads, raw or rolled up by hour or day.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::paging::{encode_time_cursor, ListQuery, Page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sprout_app::rollup::{fold, from_hours, merge, Bucket, Resolution};
use sprout_domain::{Sample, SampleBatch, SampleInput};
use sprout_store::TimeRange;

/// Raw samples per page unless the client asks otherwise, and at most.
const RAW_PAGE: (usize, usize) = (1_000, 10_000);
/// Buckets per page: a week of hours by default, a year of days at most.
const BUCKET_PAGE: (usize, usize) = (168, 1_000);
/// Raw rows read per store round trip while rolling up.
const ROLLUP_READ: usize = 10_000;
/// Retired hours read for one page of buckets: the largest page of days, 25 hours each.
const RETIRED_HOURS_READ: usize = (BUCKET_PAGE.1 + 2) * 25;

/// The batch as sent: each row kept raw so a bad row is reported by its index.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch<'a> {
    #[serde(borrow)]
    samples: Vec<&'a RawValue>,
}

/// The request body's shape, for the API document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SampleBatchRequest {
    /// Up to 10,000 samples; all are written or none.
    samples: Vec<SampleInput>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    /// Samples newly stored.
    pub accepted: u64,
    /// Samples already stored for that child and instant (a re-sent batch).
    pub duplicates: u64,
}

/// Stores a batch of samples for a child: all of them, or none when any row is invalid.
#[utoipa::path(post, path = "/api/v1/children/{child_id}/metrics", tag = "metrics",
    request_body = SampleBatchRequest, security(("bearer" = [])), params(("child_id" = String, Path)),
    responses((status = 200, body = IngestResponse), (status = 401), (status = 404),
              (status = 413, description = "too many samples or too large a body"),
              (status = 422, description = "invalid rows, named by index; nothing written")))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn post_metrics(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<IngestResponse>> {
    let child = principal.child(&state, &child_id, Access::Write).await?;
    crate::routes::require(&state, child.id, sprout_domain::ConsentPurpose::DataCollection).await?;
    let raw: RawBatch<'_> = body.decode()?;
    let batch = SampleBatch::parse_raw(raw.samples.iter().map(|r| r.get()), Utc::now())?;
    let outcome = sprout_app::ingest::samples(&state.app, &child, &batch).await?;
    state.telemetry.samples_accepted.inc_by(outcome.accepted);
    state.telemetry.samples_duplicate.inc_by(outcome.duplicates);
    Ok(Json(IngestResponse {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
    }))
}

/// A child's samples in a time range: raw, or hourly/daily summaries in the child's
/// time zone (count, mean, min and max of each measurement).
#[utoipa::path(get, path = "/api/v1/children/{child_id}/metrics", tag = "metrics",
    security(("bearer" = [])), params(("child_id" = String, Path), ListQuery),
    responses((status = 200, description = "`{items, next}`: samples (raw) or buckets (hour, day)",
               body = Page<Sample>), (status = 400), (status = 401), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(child_id = %child_id))]
pub async fn get_metrics(
    principal: Principal,
    State(state): State<AppState>,
    Path(child_id): Path<String>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let child = principal.child(&state, &child_id, Access::Read).await?;
    let range = query.range()?;
    let resolution = match query.resolution.as_deref() {
        None | Some("raw") => None,
        Some("hour") => Some(Resolution::Hour),
        Some("day") => Some(Resolution::Day),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "resolution '{other}' is not one of raw, hour, day"
            )))
        }
    };
    let Some(resolution) = resolution else {
        let limit = query.limit(RAW_PAGE.0, RAW_PAGE.1)?;
        let items = state
            .app
            .store
            .samples(child.id, range, query.time_cursor()?, limit)
            .await?;
        let next = (items.len() == limit)
            .then(|| items.last().map(|s| encode_time_cursor(s.time)))
            .flatten();
        return Ok(Json(Page { items, next }).into_response());
    };
    let limit = query.limit(BUCKET_PAGE.0, BUCKET_PAGE.1)?;
    let mut range = range;
    if let Some(cursor) = query.time_cursor()? {
        range.from = Some(cursor);
    }
    let items = roll_up(&state, child.id, range, child.timezone.tz(), resolution, limit).await?;
    let next = (items.len() > limit).then(|| encode_time_cursor(items[limit].start));
    let items: Vec<Bucket> = items.into_iter().take(limit).collect();
    Ok(Json(Page { items, next }).into_response())
}

/// Reads raw samples page by page until `limit + 1` buckets exist (the extra one says
/// there is a next page) or the range is exhausted.
async fn roll_up(
    state: &AppState,
    child: sprout_domain::ChildId,
    range: TimeRange,
    tz: chrono_tz::Tz,
    resolution: Resolution,
    limit: usize,
) -> ApiResult<Vec<Bucket>> {
    // Hours the retention period has retired come from their aggregates.
    let hours = state
        .app
        .store
        .sample_hours(child, range, RETIRED_HOURS_READ)
        .await?;
    let retired = from_hours(&hours, tz, resolution);
    let mut buckets = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<Sample> = state.app.store.samples(child, range, after, ROLLUP_READ).await?;
        fold(&mut buckets, &page, tz, resolution);
        if page.len() < ROLLUP_READ || buckets.len() > limit + 1 {
            break;
        }
        after = page.last().map(|s| s.time);
    }
    let mut buckets = merge(retired, buckets);
    // The last bucket may be partial when reading stopped early; it belongs to the next page.
    if buckets.len() > limit + 1 {
        buckets.truncate(limit + 1);
    }
    Ok(buckets)
}
