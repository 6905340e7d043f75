//! Instants from outside: RFC 3339 with an explicit offset, within a sane range.

use crate::ValidationError;
use chrono::{DateTime, Duration, FixedOffset, Utc};

/// Nothing Sprout measures predates 2000-01-01T00:00:00Z (as Unix seconds); an earlier
/// time is a device clock fault.
pub const EARLIEST_ACCEPTED: i64 = 946_684_800;

/// Device clocks drift; a reading a little in the future is accepted, a day ahead is not.
pub const MAX_FUTURE_SKEW: Duration = Duration::hours(24);

/// Parses an instant that must carry its UTC offset (`2026-03-01T07:30:00+01:00`).
///
/// A naive time is ambiguous across devices and time zones, so it is refused here; the
/// command line, which reads files a person prepared, has its own rules.
pub fn parse_instant(
    field: &'static str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, ValidationError> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).map_err(|_| {
        ValidationError::new(
            field,
            format!(
                "'{}' is not an RFC 3339 time with an offset (e.g. 2026-03-01T07:30:00+01:00)",
                clip(text)
            ),
        )
    })?;
    let utc = parsed.with_timezone(&Utc);
    if utc.timestamp() < EARLIEST_ACCEPTED {
        return Err(ValidationError::new(field, "is before the year 2000"));
    }
    if utc > now + MAX_FUTURE_SKEW {
        return Err(ValidationError::new(field, "is more than a day in the future"));
    }
    Ok(parsed)
}

/// Keeps echoed input short, so an error message never carries a whole payload.
pub(crate) fn clip(text: &str) -> String {
    const MAX_ECHO: usize = 40;
    if text.chars().count() <= MAX_ECHO {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_ECHO).collect();
        format!("{head}…")
    }
}

/// How a family reads clock times: "7:30 PM" or "19:30". One format for the card's
/// text, the chart and every label, chosen by the family (their locale's habit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClockFormat {
    /// "7:30 PM"
    #[default]
    #[serde(rename = "12h")]
    TwelveHour,
    /// "19:30"
    #[serde(rename = "24h")]
    TwentyFourHour,
}

impl ClockFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwelveHour => "12h",
            Self::TwentyFourHour => "24h",
        }
    }

    /// A time of day as the family reads it: "7 PM" / "7:30 PM", or "19:00" / "19:30".
    pub fn time(self, time: chrono::NaiveTime) -> String {
        use chrono::Timelike;
        match self {
            Self::TwelveHour => {
                let (pm, hour) = time.hour12();
                let suffix = if pm { "PM" } else { "AM" };
                match time.minute() {
                    0 => format!("{hour} {suffix}"),
                    minute => format!("{hour}:{minute:02} {suffix}"),
                }
            }
            Self::TwentyFourHour => format!("{:02}:{:02}", time.hour(), time.minute()),
        }
    }
}

impl std::str::FromStr for ClockFormat {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "12h" => Ok(Self::TwelveHour),
            "24h" => Ok(Self::TwentyFourHour),
            other => Err(ValidationError::new(
                "clock",
                format!("'{}' is not a clock format; use 12h or 24h", clip(other)),
            )),
        }
    }
}

#[cfg(test)]
mod clock_tests {
    use super::ClockFormat;
    use chrono::NaiveTime;

    #[test]
    fn one_time_in_both_formats() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(ClockFormat::TwelveHour.time(t(19, 0)), "7 PM");
        assert_eq!(ClockFormat::TwelveHour.time(t(7, 30)), "7:30 AM");
        assert_eq!(ClockFormat::TwelveHour.time(t(0, 15)), "12:15 AM");
        assert_eq!(ClockFormat::TwentyFourHour.time(t(19, 0)), "19:00");
        assert_eq!(ClockFormat::TwentyFourHour.time(t(7, 30)), "07:30");
        assert!("25h".parse::<ClockFormat>().is_err());
        assert_eq!("24h".parse::<ClockFormat>().unwrap(), ClockFormat::TwentyFourHour);
    }
}
