//! Cole–Kripke, Sadeh and Roenneberg scoring of crafted activity series.

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

/// Three days from 12:00: active at 300 counts from 07:00 to `bed` (minutes after
/// midnight), then `reading` minutes still but for a 1-minute movement of 300 counts
/// every 10 minutes, then still until 07:00 (active again from 07:00 if the reading
/// lasts that long). Returns the counts and the index of the
/// first minute of each night's uninterrupted stillness.
fn evenings(bed: usize, reading: usize) -> (Vec<ActivityCount>, Vec<usize>) {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
        .single()
        .expect("valid");
    let wake = 7 * 60;
    let counts = (0..3 * 24 * 60)
        .map(|i| {
            let minute = (12 * 60 + i) % (24 * 60);
            let since_bed = (minute + 24 * 60 - bed) % (24 * 60);
            let count = if since_bed < reading {
                if since_bed % 10 == 9 {
                    300.0
                } else {
                    0.0
                }
            } else if (wake..bed).contains(&minute) {
                300.0
            } else {
                0.0
            };
            ActivityCount {
                time: start + Duration::minutes(i as i64),
                count,
            }
        })
        .collect();
    let still_from = bed + reading - 12 * 60;
    (counts, (0..3).map(|d| d * 24 * 60 + still_from).collect())
}

/// (first, last) index of each run of sleep.
fn sleep_runs(states: &[sprout_chrono::StateSample]) -> Vec<(usize, usize)> {
    let asleep = asleep_indices(states);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for i in asleep {
        match runs.last_mut() {
            Some(run) if run.1 + 1 == i => run.1 = i,
            _ => runs.push((i, i)),
        }
    }
    runs
}

#[test]
fn roenneberg_rest_starts_where_the_counts_drop_for_thirty_minutes() {
    // In bed at 21:00, an hour of reading with a movement every 10 minutes, then still
    // from 22:00 to 07:00: the rest bout is exactly 22:00–07:00 each night.
    let (counts, still_from) = evenings(21 * 60, 60);
    let states = score_activity(&counts, Algorithm::Roenneberg);
    let expected: Vec<(usize, usize)> = still_from.iter().map(|&s| (s, s + 9 * 60 - 1)).collect();
    assert_eq!(sleep_runs(&states), expected);
    // Sadeh calls the quiet reading hour sleep: its episode starts about an hour early.
    let sadeh = episodes_from_states(&score_activity(&counts, Algorithm::Sadeh));
    let roenneberg = episodes_from_states(&states);
    assert_eq!(sadeh.len(), 3);
    assert_eq!(roenneberg.len(), 3);
    for ((s, r), &still) in sadeh.iter().zip(&roenneberg).zip(&still_from) {
        assert_eq!(r.onset, counts[still].time);
        assert_eq!(r.offset, counts[still].time + Duration::hours(9));
        let early = (r.onset - s.onset).num_minutes();
        assert!((50..=60).contains(&early), "Sadeh {early} min earlier");
        assert!((r.offset - s.offset).num_minutes().abs() <= 10);
    }
}

#[test]
fn roenneberg_needs_thirty_uninterrupted_minutes() {
    // Stillness broken every 10 minutes never starts a bout, however long it lasts.
    let (counts, _) = evenings(21 * 60, 10 * 60);
    let states = score_activity(&counts, Algorithm::Roenneberg);
    assert!(asleep_indices(&states).is_empty());
    // 29 still minutes in the afternoon are not rest; 30 are.
    let mut counts = series(600, 29, 300.0);
    counts.extend(series(600, 30, 300.0).into_iter().map(|mut c| {
        c.time += Duration::minutes(1229);
        c
    }));
    let states = score_activity(&counts, Algorithm::Roenneberg);
    assert_eq!(sleep_runs(&states), vec![(1229 + 600, 1229 + 629)]);
}

#[test]
fn roenneberg_is_relative_to_the_activity_level() {
    // Scaling every count by a constant (another device's count unit) changes nothing.
    let (counts, _) = evenings(21 * 60 + 30, 45);
    let states = score_activity(&counts, Algorithm::Roenneberg);
    for factor in [0.05, 3.0, 40.0] {
        let scaled: Vec<ActivityCount> = counts
            .iter()
            .map(|c| ActivityCount {
                time: c.time,
                count: c.count * factor,
            })
            .collect();
        assert_eq!(
            score_activity(&scaled, Algorithm::Roenneberg),
            states,
            "×{factor}"
        );
    }
}

#[test]
fn roenneberg_finds_nothing_without_twelve_hours_of_trend() {
    // 11 hours of data: no 24-hour trend can be formed (at least 12 hours are needed).
    let counts = series(60, 9 * 60, 400.0);
    assert!(asleep_indices(&score_activity(&counts, Algorithm::Roenneberg)).is_empty());
}
