//! The child's chronotype from their sleep, with their school calendar.

pub use sprout_chrono::{Chronotype, ChronotypeReport, Status};

use crate::calendar::free_days;
use crate::ChildData;
use chrono::{FixedOffset, NaiveTime, Timelike};
use sprout_chrono::{
    analyze, analyze_states, ChildContext, ClockWindow, SleepEpisode, SleepState, StateSample,
};

/// Chronotype from posted sleep episodes when there are any, else from the samples'
/// sleep states. An episode keeps the UTC offset the device reported, so nights away
/// from home are read on the local clock there.
pub fn chronotype(data: &ChildData<'_>) -> ChronotypeReport {
    let ctx = ChildContext {
        tz: data.tz,
        age_years: Some(data.age_years()),
        calendar: free_days(data.events, data.tz),
        convention: Default::default(),
    };
    let episodes: Vec<SleepEpisode> = data
        .sleep_episodes
        .iter()
        .filter_map(|e| {
            let offset = FixedOffset::east_opt(e.utc_offset_min * 60)?;
            SleepEpisode::with_fixed_offset(e.onset.with_timezone(&offset), e.offset.with_timezone(&offset))
                .ok()
        })
        .collect();
    let mut report = if episodes.is_empty() {
        from_states(data, &ctx)
    } else {
        analyze(&episodes, &ctx)
    };
    if let Some(windows) = report.best_windows.as_mut() {
        windows.calm = wind_down_before(windows.habitual_sleep_onset);
    }
    report
}

/// The calm window: the wind-down hour before the bedtime Sprout would suggest (a step
/// before the habitual onset: [`crate::days::earlier_bedtime`]), so it never endorses
/// the late end of a night Sprout is trying to bring forward.
fn wind_down_before(habitual_onset: NaiveTime) -> ClockWindow {
    let minutes = f64::from(habitual_onset.num_seconds_from_midnight()) / 60.0;
    // Hours from midnight, evenings negative (as the bedtime rule reads them).
    let hours = if minutes >= 12.0 * 60.0 {
        minutes / 60.0 - 24.0
    } else {
        minutes / 60.0
    };
    let end = crate::days::earlier_bedtime(hours);
    let clock = |h: f64| {
        let m = (h * 60.0).round().rem_euclid(24.0 * 60.0) as u32;
        NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN)
    };
    ClockWindow {
        start: clock(end - CALM_HOURS),
        end: clock(end),
    }
}

/// Length of the calm window, hours.
const CALM_HOURS: f64 = 1.0;

fn from_states(data: &ChildData<'_>, ctx: &ChildContext) -> ChronotypeReport {
    let states: Vec<StateSample> = data
        .samples
        .iter()
        .filter_map(|s| {
            s.sleep_state.map(|state| StateSample {
                time: s.time,
                state: engine_state(state),
            })
        })
        .collect();
    analyze_states(&states, ctx)
}

fn engine_state(state: sprout_domain::SleepState) -> SleepState {
    match state {
        sprout_domain::SleepState::Awake => SleepState::Awake,
        sprout_domain::SleepState::Light => SleepState::Light,
        sprout_domain::SleepState::Deep => SleepState::Deep,
        sprout_domain::SleepState::Rem => SleepState::Rem,
        sprout_domain::SleepState::Asleep => SleepState::Asleep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn the_calm_hour_ends_at_the_bedtime_sprout_would_suggest() {
        // Habitually asleep at 00:36: calm 23:15-00:15, not 23:36-00:36.
        let late = wind_down_before(at(0, 36));
        assert_eq!((late.start, late.end), (at(23, 15), at(0, 15)));
        let usual = wind_down_before(at(21, 10));
        assert_eq!((usual.start, usual.end), (at(19, 45), at(20, 45)));
    }

    /// Four weeks asleep 23:00-07:00 on school nights and 00:30-10:00 on free nights:
    /// MSFsc near 04:50, a night owl by school-age cut-offs.
    fn late_nights(now: chrono::DateTime<chrono::Utc>) -> Vec<sprout_domain::SleepEpisode> {
        use chrono::{Datelike, TimeZone};
        let tz = chrono_tz::Europe::Berlin;
        let child = sprout_domain::ChildId::new();
        (1..=28)
            .map(|back| {
                let wake_day = now.with_timezone(&tz).date_naive() - chrono::Duration::days(back);
                let free = matches!(wake_day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
                let (onset_h, onset_m, wake_h) = if free { (0, 30, 10) } else { (23, 0, 7) };
                let onset_day = if free {
                    wake_day
                } else {
                    wake_day - chrono::Duration::days(1)
                };
                let local = |d: chrono::NaiveDate, h, m| {
                    tz.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
                        .single()
                        .unwrap()
                        .with_timezone(&chrono::Utc)
                };
                sprout_domain::SleepEpisode {
                    id: sprout_domain::RecordId::new(),
                    child_id: child,
                    onset: local(onset_day, onset_h, onset_m),
                    offset: local(wake_day, wake_h, 0),
                    utc_offset_min: 60,
                }
            })
            .collect()
    }

    #[test]
    fn the_app_and_the_cli_judge_a_teenager_by_the_same_age_convention() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let nights = late_nights(now);
        let at_age = |years: i32| {
            let data = ChildData {
                tz: chrono_tz::Europe::Berlin,
                birth_date: now.date_naive().with_year(now.year() - years).unwrap(),
                samples: &[],
                events: &[],
                interventions: &[],
                sleep_episodes: &nights,
                now,
            };
            chronotype(&data)
        };
        let (ten, sixteen) = (at_age(10), at_age(16));
        assert_eq!(ten.status, Status::Ok, "{ten:?}");
        assert_eq!(ten.chronotype, Some(Chronotype::NightOwl), "{ten:?}");
        // At 16 the cut-offs are 0.8 h later: the same nights are intermediate.
        assert_eq!(sixteen.chronotype, Some(Chronotype::Intermediate), "{sixteen:?}");
        // What `sprout chronotype --age 16` computes: the engine's default context.
        let episodes: Vec<SleepEpisode> = nights
            .iter()
            .map(|e| SleepEpisode::new(e.onset, e.offset).unwrap())
            .collect();
        let mut ctx = ChildContext::new(chrono_tz::Europe::Berlin);
        ctx.age_years = Some(16.0);
        assert_eq!(analyze(&episodes, &ctx).chronotype, sixteen.chronotype);
    }
}
