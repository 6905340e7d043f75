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
