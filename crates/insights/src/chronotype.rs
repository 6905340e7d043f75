//! The child's chronotype from their sleep, with their school calendar.

pub use sprout_chrono::{Chronotype, ChronotypeReport, Status};

use crate::calendar::free_days;
use crate::ChildData;
use chrono::FixedOffset;
use sprout_chrono::{analyze, analyze_states, ChildContext, SleepEpisode, SleepState, StateSample};

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
    if !episodes.is_empty() {
        return analyze(&episodes, &ctx);
    }
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
    analyze_states(&states, &ctx)
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
