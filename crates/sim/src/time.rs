//! Local clock time: from a local date and hour to an instant and back, DST-correct.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The instant at `hours` after local midnight of `date` (hours may exceed 24: 30.5 is
/// 06:30 the next day). A time skipped by a spring-forward change is moved an hour later;
/// a repeated one takes its first occurrence.
pub(crate) fn local_instant(tz: Tz, date: NaiveDate, hours: f64) -> DateTime<Utc> {
    let naive = date.and_time(NaiveTime::MIN) + Duration::minutes((hours * 60.0).round() as i64);
    [0, 1, 2]
        .into_iter()
        .find_map(|shift| {
            tz.from_local_datetime(&(naive + Duration::hours(shift)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        // No zone skips more than two hours; reading the time as UTC is a harmless fallback.
        .unwrap_or_else(|| naive.and_utc())
}

/// The local date and the hours since local midnight of sample times, looking the zone's
/// offset up once per UTC quarter hour (every zone changes its offset on a quarter hour).
pub(crate) struct LocalClock {
    tz: Tz,
    quarter: i64,
    offset: Duration,
}

impl LocalClock {
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            quarter: i64::MIN,
            offset: Duration::zero(),
        }
    }

    pub fn date_hours(&mut self, t: DateTime<Utc>) -> (NaiveDate, f64) {
        let quarter = t.timestamp().div_euclid(QUARTER_HOUR_S);
        if quarter != self.quarter {
            self.quarter = quarter;
            self.offset = Duration::seconds(i64::from(utc_offset_min(self.tz, t)) * 60);
        }
        let local = t.naive_utc() + self.offset;
        (
            local.date(),
            f64::from(local.time().num_seconds_from_midnight()) / 3_600.0,
        )
    }
}

/// The local date of `t` and its hours since local midnight.
pub(crate) fn local_date_hours(tz: Tz, t: DateTime<Utc>) -> (NaiveDate, f64) {
    let local = t.with_timezone(&tz).naive_local();
    (
        local.date(),
        f64::from(local.time().num_seconds_from_midnight()) / 3_600.0,
    )
}

/// Seconds in a quarter hour.
const QUARTER_HOUR_S: i64 = 900;

/// The local date of `t`.
pub(crate) fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// Minutes the local clock is ahead of UTC at `t` (60 in Berlin in winter, 120 in summer).
pub(crate) fn utc_offset_min(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_follow_daylight_saving() {
        let tz: Tz = chrono_tz::Europe::Berlin;
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).expect("valid date");
        // 02:30 does not exist on the spring-forward night; it becomes 03:30 CEST.
        assert_eq!(
            local_instant(tz, date, 2.5).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
        assert_eq!(
            local_instant(tz, date, 1.0).to_rfc3339(),
            "2026-03-29T00:00:00+00:00"
        );
        assert_eq!(utc_offset_min(tz, local_instant(tz, date, 12.0)), 120);
        assert_eq!(local_date_hours(tz, local_instant(tz, date, 30.5)).1, 6.5);
        let mut clock = LocalClock::new(tz);
        let mut t = local_instant(tz, date, -3.0);
        while t < local_instant(tz, date, 30.0) {
            assert_eq!(clock.date_hours(t), local_date_hours(tz, t));
            t += Duration::minutes(7);
        }
    }
}
