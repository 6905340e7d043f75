//! Episode extraction from minute-level sleep states, and main sleep versus naps.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use sprout_chrono::msf::sleep_days;
use sprout_chrono::{episodes_from_states, SleepEpisode, SleepState, StateSample};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid time")
}

/// One sample a minute from `from` (inclusive) to `to` (exclusive), with `state_at`.
fn minutes(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    state_at: impl Fn(DateTime<Utc>) -> SleepState,
) -> Vec<StateSample> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        out.push(StateSample {
            time: t,
            state: state_at(t),
        });
        t += Duration::minutes(1);
    }
    out
}

fn within(t: DateTime<Utc>, a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    t >= a && t < b
}

#[test]
fn merges_short_awakening_and_drops_fragment() {
    // Sleep 19:00–23:00 UTC, 10 min awake, sleep 23:10–05:30; a 15-minute doze at 12:00.
    let samples = minutes(utc(2026, 5, 4, 17, 0), utc(2026, 5, 5, 14, 0), |t| {
        if within(t, utc(2026, 5, 4, 19, 0), utc(2026, 5, 4, 23, 0)) {
            SleepState::Light
        } else if within(t, utc(2026, 5, 4, 23, 10), utc(2026, 5, 5, 2, 0)) {
            SleepState::Deep
        } else if within(t, utc(2026, 5, 5, 2, 0), utc(2026, 5, 5, 5, 30)) {
            SleepState::Rem
        } else if within(t, utc(2026, 5, 5, 12, 0), utc(2026, 5, 5, 12, 15)) {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    });
    let episodes = episodes_from_states(&samples);
    assert_eq!(episodes.len(), 1, "{episodes:?}");
    assert_eq!(episodes[0].onset, utc(2026, 5, 4, 19, 0));
    assert_eq!(episodes[0].offset, utc(2026, 5, 5, 5, 30));
    assert_eq!(episodes[0].utc_offset, None);
}

#[test]
fn long_awakening_splits_episodes() {
    let samples = minutes(utc(2026, 5, 4, 18, 0), utc(2026, 5, 5, 7, 0), |t| {
        if within(t, utc(2026, 5, 4, 19, 0), utc(2026, 5, 4, 23, 0))
            || within(t, utc(2026, 5, 4, 23, 25), utc(2026, 5, 5, 5, 0))
        {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    });
    let episodes = episodes_from_states(&samples);
    assert_eq!(episodes.len(), 2);
    assert_eq!(episodes[0].offset, utc(2026, 5, 4, 23, 0));
    assert_eq!(episodes[1].onset, utc(2026, 5, 4, 23, 25));
}

#[test]
fn input_order_does_not_matter() {
    let mut samples = minutes(utc(2026, 5, 4, 18, 0), utc(2026, 5, 5, 7, 0), |t| {
        if within(t, utc(2026, 5, 4, 19, 30), utc(2026, 5, 5, 5, 0)) {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    });
    let sorted = episodes_from_states(&samples);
    samples.reverse();
    assert_eq!(episodes_from_states(&samples), sorted);
}

#[test]
fn data_gap_is_not_sleep() {
    // Asleep 20:00–22:00, no data 22:00–02:00, asleep 02:00–05:00: two episodes, the gap
    // is not counted as sleep.
    let mut samples = minutes(utc(2026, 5, 4, 19, 0), utc(2026, 5, 4, 22, 0), |t| {
        if t >= utc(2026, 5, 4, 20, 0) {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    });
    samples.extend(minutes(utc(2026, 5, 5, 2, 0), utc(2026, 5, 5, 6, 0), |t| {
        if t < utc(2026, 5, 5, 5, 0) {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    }));
    let episodes = episodes_from_states(&samples);
    assert_eq!(episodes.len(), 2);
    assert_eq!(episodes[0].offset, utc(2026, 5, 4, 22, 0));
    assert_eq!(episodes[1].onset, utc(2026, 5, 5, 2, 0));
}

#[test]
fn nap_is_not_main_sleep() {
    // Berlin is UTC+2 in May. Night 20:30–06:45 local, nap 14:00–15:30 local next day.
    let samples = minutes(utc(2026, 5, 4, 16, 0), utc(2026, 5, 5, 16, 0), |t| {
        if within(t, utc(2026, 5, 4, 18, 30), utc(2026, 5, 5, 4, 45))
            || within(t, utc(2026, 5, 5, 12, 0), utc(2026, 5, 5, 13, 30))
        {
            SleepState::Asleep
        } else {
            SleepState::Awake
        }
    });
    let episodes = episodes_from_states(&samples);
    assert_eq!(episodes.len(), 2);
    let days = sleep_days(&episodes, Berlin);
    let mains: Vec<SleepEpisode> = days.iter().filter_map(|d| d.main).collect();
    let naps: Vec<SleepEpisode> = days.iter().flat_map(|d| d.naps.clone()).collect();
    assert_eq!(mains.len(), 1);
    assert_eq!(mains[0].onset, utc(2026, 5, 4, 18, 30));
    assert_eq!(naps.len(), 1);
    assert_eq!(naps[0].onset, utc(2026, 5, 5, 12, 0));
    let night_day = days.iter().find(|d| d.main.is_some()).expect("a night");
    assert_eq!(
        night_day.wake_date,
        NaiveDate::from_ymd_opt(2026, 5, 5).expect("date")
    );
}

#[test]
fn longest_night_episode_is_main_even_if_a_nap_is_longer_by_day() {
    // A long afternoon sleep (ill child) must not displace the night's sleep.
    let night = SleepEpisode::new(utc(2026, 5, 4, 19, 0), utc(2026, 5, 5, 4, 0)).expect("night");
    let long_day = SleepEpisode::new(utc(2026, 5, 5, 8, 0), utc(2026, 5, 5, 8, 0) + Duration::hours(5))
        .expect("day sleep");
    let days = sleep_days(&[long_day, night], Berlin);
    let mains: Vec<SleepEpisode> = days.iter().filter_map(|d| d.main).collect();
    assert_eq!(mains, vec![night]);
}

#[test]
fn invalid_episodes_are_refused() {
    assert!(SleepEpisode::new(utc(2026, 5, 5, 4, 0), utc(2026, 5, 4, 19, 0)).is_err());
    assert!(SleepEpisode::new(utc(2026, 5, 4, 0, 0), utc(2026, 5, 5, 4, 0)).is_err());
}
