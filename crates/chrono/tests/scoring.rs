//! Cole–Kripke and Sadeh scoring of crafted activity series.

use chrono::{Duration, TimeZone, Utc};
use sprout_chrono::{episodes_from_states, score_activity, ActivityCount, Algorithm, SleepState};

/// `active` minutes at `level` counts, `still` minutes at zero, `active` minutes at `level`.
fn series(active: usize, still: usize, level: f64) -> Vec<ActivityCount> {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 10, 20, 0, 0)
        .single()
        .expect("valid");
    (0..active + still + active)
        .map(|i| ActivityCount {
            time: start + Duration::minutes(i as i64),
            count: if i >= active && i < active + still {
                0.0
            } else {
                level
            },
        })
        .collect()
}

fn asleep_indices(states: &[sprout_chrono::StateSample]) -> Vec<usize> {
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.state == SleepState::Asleep)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn cole_kripke_expected_sleep_and_wake() {
    // 30 min at 400 counts, 120 still minutes, 30 min at 400 counts.
    let counts = series(30, 120, 400.0);
    let states = score_activity(&counts, Algorithm::ColeKripke);
    assert_eq!(states.len(), counts.len());
    // Hand computation with counts/100 = 4:
    // epoch 30: D = 0.001·4·(106+54+58+76) = 1.176 ≥ 1 → wake;
    // epoch 31: D = 0.001·4·(106+54+58) = 0.872 → sleep, but Webster rule (c) rescores
    // the 4 sleep minutes after ≥ 15 min wake (31–34) as wake;
    // epoch 149: D = 0.001·74·4 = 0.296 → sleep; epoch 150: D = 1.484 → wake.
    let expected: Vec<usize> = (35..150).collect();
    assert_eq!(asleep_indices(&states), expected);
}

#[test]
fn cole_kripke_short_sleep_inside_long_wake_is_wake() {
    // 60 min active, 5 still minutes, 60 min active: the brief stillness is rescored wake.
    let counts = series(60, 5, 400.0);
    let states = score_activity(&counts, Algorithm::ColeKripke);
    assert!(asleep_indices(&states).is_empty());
}

#[test]
fn sadeh_expected_sleep_and_wake() {
    // 30 min at 250 counts, 120 still minutes, 30 min at 250 counts.
    let counts = series(30, 120, 250.0);
    let states = score_activity(&counts, Algorithm::Sadeh);
    // Hand computation of PS = 7.601 − 0.065·mean11 − 1.08·NAT − 0.056·SD6 − 0.703·ln(a+1):
    // epoch 32: mean 68.2, SD6 136.9 → PS = −4.50 → wake;
    // epoch 33: mean 45.5, SD6 129.1 → PS = −2.58 → sleep;
    // epoch 149: mean 113.6, SD6 0 → PS = 0.22 → sleep;
    // epoch 150: mean 136.4, SD6 102.1, ln 251 → PS = −10.9 → wake.
    let expected: Vec<usize> = (33..150).collect();
    assert_eq!(asleep_indices(&states), expected);
}

#[test]
fn scored_activity_becomes_an_episode() {
    let counts = series(60, 8 * 60, 400.0);
    let states = score_activity(&counts, Algorithm::ColeKripke);
    let episodes = episodes_from_states(&states);
    assert_eq!(episodes.len(), 1);
    let hours = episodes[0].duration_hours();
    assert!((hours - 8.0).abs() < 0.2, "{hours}");
}

#[test]
fn non_finite_counts_are_still() {
    let mut counts = series(30, 120, 400.0);
    counts[80].count = f64::NAN;
    counts[81].count = -5.0;
    let states = score_activity(&counts, Algorithm::ColeKripke);
    assert_eq!(states[80].state, SleepState::Asleep);
    assert_eq!(states[81].state, SleepState::Asleep);
}
