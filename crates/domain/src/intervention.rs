//! Interventions: what a family did to help (mindfulness, outdoor play, ...).

use crate::time::{clip, parse_instant};
use crate::{ChildId, RecordId, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest plausible single intervention: a whole afternoon outdoors.
const MAX_DURATION_MIN: i64 = 600;

/// The interventions Sprout measures the effect of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InterventionKind {
    Mindfulness,
    OutdoorPlay,
    ScreenLimit,
    EarlyBedtime,
    Reading,
    Other,
}

impl InterventionKind {
    pub const ALL: [InterventionKind; 6] = [
        Self::Mindfulness,
        Self::OutdoorPlay,
        Self::ScreenLimit,
        Self::EarlyBedtime,
        Self::Reading,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mindfulness => "mindfulness",
            Self::OutdoorPlay => "outdoor_play",
            Self::ScreenLimit => "screen_limit",
            Self::EarlyBedtime => "early_bedtime",
            Self::Reading => "reading",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for InterventionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InterventionKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "kind",
                format!(
                    "'{}' is not one of mindfulness, outdoor_play, screen_limit, early_bedtime, reading, other",
                    clip(s)
                ),
            )
        })
    }
}

/// An intervention as a client sends it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InterventionInput {
    pub kind: String,
    /// When it started; RFC 3339 with an offset.
    pub time: String,
    pub duration_min: i64,
}

/// A validated intervention, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIntervention {
    pub kind: InterventionKind,
    pub time: DateTime<Utc>,
    pub duration_min: i64,
}

impl NewIntervention {
    pub fn parse(input: &InterventionInput, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let kind = InterventionKind::from_str(&input.kind)?;
        let time = parse_instant("time", &input.time, now)?.with_timezone(&Utc);
        if !(1..=MAX_DURATION_MIN).contains(&input.duration_min) {
            return Err(ValidationError::new(
                "duration_min",
                format!("{} is outside [1, {MAX_DURATION_MIN}]", input.duration_min),
            ));
        }
        Ok(Self {
            kind,
            time,
            duration_min: input.duration_min,
        })
    }
}

/// A stored intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intervention {
    pub id: RecordId,
    pub child_id: ChildId,
    pub kind: InterventionKind,
    pub time: DateTime<Utc>,
    pub duration_min: i64,
}
