//! Sleep episodes: one stretch of sleep from onset to offset.

use crate::time::parse_instant;
use crate::{ChildId, RecordId, ValidationError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// No child sleeps a whole day in one episode; longer is a device left off the wrist.
const MAX_EPISODE: Duration = Duration::hours(20);
/// Shorter than this is not an episode but a blip in the sensor.
const MIN_EPISODE: Duration = Duration::minutes(5);

/// An episode as a client sends it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SleepEpisodeInput {
    /// Falling asleep; RFC 3339 with an offset.
    pub onset: String,
    /// Waking up; RFC 3339 with an offset.
    pub offset: String,
}

/// An Open mHealth `sleep-episode` 1.1 body (or a data point wrapping one), so existing
/// exporters can post their episodes as they are. Only the time interval is used.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenMHealthSleepEpisode {
    pub effective_time_frame: OmhTimeFrame,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OmhTimeFrame {
    pub time_interval: OmhTimeInterval,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OmhTimeInterval {
    pub start_date_time: String,
    pub end_date_time: String,
}

/// The body of a posted sleep episode: Sprout's own shape, an Open mHealth body, or an
/// Open mHealth data point (`{"header": ..., "body": ...}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SleepEpisodeBody {
    Plain(SleepEpisodeInput),
    OpenMHealth(OpenMHealthSleepEpisode),
    DataPoint { body: OpenMHealthSleepEpisode },
}

impl SleepEpisodeBody {
    /// Reads a JSON body in any of the accepted shapes.
    pub fn parse_json(bytes: &[u8]) -> Result<SleepEpisodeInput, String> {
        let body: SleepEpisodeBody = serde_json::from_slice(bytes).map_err(|_| {
            "expected {\"onset\", \"offset\"} or an Open mHealth sleep-episode with \
             effective_time_frame.time_interval.{start_date_time, end_date_time}"
                .to_owned()
        })?;
        Ok(match body {
            Self::Plain(input) => input,
            Self::OpenMHealth(omh) | Self::DataPoint { body: omh } => SleepEpisodeInput {
                onset: omh.effective_time_frame.time_interval.start_date_time,
                offset: omh.effective_time_frame.time_interval.end_date_time,
            },
        })
    }
}

/// A validated episode, not yet stored. The UTC offset the device reported at onset is
/// kept: it is the child's local clock when travelling, which chronotype needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSleepEpisode {
    pub onset: DateTime<Utc>,
    pub offset: DateTime<Utc>,
    pub utc_offset_min: i32,
}

impl NewSleepEpisode {
    pub fn parse(input: &SleepEpisodeInput, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let onset_local = parse_instant("onset", &input.onset, now)?;
        let offset = parse_instant("offset", &input.offset, now)?.with_timezone(&Utc);
        let onset = onset_local.with_timezone(&Utc);
        if offset <= onset {
            return Err(ValidationError::new("offset", "must be after onset"));
        }
        let length = offset - onset;
        if length < MIN_EPISODE {
            return Err(ValidationError::new(
                "offset",
                "episode is shorter than 5 minutes",
            ));
        }
        if length > MAX_EPISODE {
            return Err(ValidationError::new("offset", "episode is longer than 20 hours"));
        }
        Ok(Self {
            onset,
            offset,
            utc_offset_min: onset_local.offset().local_minus_utc() / 60,
        })
    }
}

/// A stored episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SleepEpisode {
    pub id: RecordId,
    pub child_id: ChildId,
    pub onset: DateTime<Utc>,
    pub offset: DateTime<Utc>,
    pub utc_offset_min: i32,
}
