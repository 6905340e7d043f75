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
}
