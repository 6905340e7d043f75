//! School-calendar events: tests, exams, holidays, days without school.

use crate::time::{clip, parse_instant};
use crate::{ChildId, RecordId, ValidationError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// An event lasting longer than a school term is a data-entry mistake.
const MAX_EVENT_SPAN: Duration = Duration::days(120);
const MAX_EVENT_TYPE_LEN: usize = 40;

/// The kind of a school event, as a lower-case slug (`math_test`, `exam`, `holiday`,
/// `no_school`, ...). Schools name their events freely, so any slug is accepted; the
/// engines ask the questions they care about ([`EventType::is_assessment`],
/// [`EventType::is_free_day`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let valid = !text.is_empty()
            && text.len() <= MAX_EVENT_TYPE_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::new(
                "event_type",
                format!(
                    "'{}' is not a lower-case slug of at most {MAX_EVENT_TYPE_LEN} characters (e.g. math_test, exam, holiday, no_school)",
                    clip(text)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A test, exam or quiz: something children are known to get stressed before.
    pub fn is_assessment(&self) -> bool {
        ["test", "exam", "quiz"].iter().any(|word| self.0.contains(word))
    }

    /// A day the child has no school, whatever the weekday.
    pub fn is_free_day(&self) -> bool {
        matches!(self.0.as_str(), "holiday" | "no_school" | "vacation")
    }
}

/// An event as a client sends it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SchoolEventInput {
    pub event_type: String,
    /// RFC 3339 with an offset.
    pub start: String,
    /// RFC 3339 with an offset; after `start`.
    pub end: Option<String>,
}

/// A validated event, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchoolEvent {
    pub event_type: EventType,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

impl NewSchoolEvent {
    pub fn parse(input: &SchoolEventInput, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let event_type = EventType::parse(&input.event_type)?;
        // Calendars are planned ahead, so the future bound is a year, not a day.
        let start = parse_calendar_instant("start", &input.start, now)?;
        let end = input
            .end
            .as_deref()
            .map(|e| parse_calendar_instant("end", e, now))
            .transpose()?;
        if let Some(end) = end {
            if end <= start {
                return Err(ValidationError::new("end", "must be after start"));
            }
            if end - start > MAX_EVENT_SPAN {
                return Err(ValidationError::new("end", "is more than 120 days after start"));
            }
        }
        Ok(Self {
            event_type,
            start,
            end,
        })
    }
}

/// School calendars are written up to a school year ahead.
const CALENDAR_HORIZON: Duration = Duration::days(400);

fn parse_calendar_instant(
    field: &'static str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ValidationError> {
    let horizon = now + CALENDAR_HORIZON - crate::MAX_FUTURE_SKEW;
    Ok(parse_instant(field, text, horizon)?.with_timezone(&Utc))
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchoolEvent {
    pub id: RecordId,
    pub child_id: ChildId,
    pub event_type: EventType,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}
