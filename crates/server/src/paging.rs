//! Ranges, limits and cursors for list endpoints.

use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sprout_domain::RecordId;
use sprout_store::{RecordCursor, TimeRange};

/// Query parameters shared by list endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Inclusive start, RFC 3339 with an offset.
    pub from: Option<String>,
    /// Exclusive end, RFC 3339 with an offset.
    pub to: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// `raw` (default), `hour` or `day`; metrics only.
    pub resolution: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next: Option<String>,
}

impl ListQuery {
    pub fn range(&self) -> ApiResult<TimeRange> {
        let from = self.from.as_deref().map(|t| query_time("from", t)).transpose()?;
        let to = self.to.as_deref().map(|t| query_time("to", t)).transpose()?;
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                return Err(ApiError::bad_request("'from' must be before 'to'"));
            }
        }
        Ok(TimeRange { from, to })
    }

    pub fn limit(&self, default: usize, max: usize) -> ApiResult<usize> {
        match self.limit {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_request(format!("limit {n} is outside [1, {max}]"))),
        }
    }

    /// A cursor that is an instant (metrics pages).
    pub fn time_cursor(&self) -> ApiResult<Option<DateTime<Utc>>> {
        self.cursor.as_deref().map(decode_micros).transpose()
    }

    /// A cursor that is an instant and a record id (events, interventions, sleep).
    pub fn record_cursor(&self) -> ApiResult<Option<RecordCursor>> {
        self.cursor
            .as_deref()
            .map(|c| {
                let (micros, id) = c.split_once('_').ok_or_else(bad_cursor)?;
                let id = id.parse::<RecordId>().map_err(|_| bad_cursor())?;
                Ok(RecordCursor {
                    time: decode_micros(micros)?,
                    id,
                })
            })
            .transpose()
    }
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("invalid cursor: pass the 'next' value of the previous page")
}

fn decode_micros(text: &str) -> ApiResult<DateTime<Utc>> {
    text.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad_cursor)
}

pub fn encode_time_cursor(time: DateTime<Utc>) -> String {
    time.timestamp_micros().to_string()
}

pub fn encode_record_cursor(time: DateTime<Utc>, id: RecordId) -> String {
    format!("{}_{}", time.timestamp_micros(), id.0.simple())
}

/// Parses an instant from a query string. An unescaped `+` in an offset arrives as a
/// space; it is read back as the `+` the client meant.
fn query_time(field: &str, text: &str) -> ApiResult<DateTime<Utc>> {
    let repaired = text.trim().replace(' ', "+");
    DateTime::parse_from_rfc3339(&repaired)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "'{field}' must be an RFC 3339 time with an offset, e.g. 2026-03-01T00:00:00Z"
            ))
        })
}
