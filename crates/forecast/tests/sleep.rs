//! Sleep forecasts against simulated nights with a known free-day effect.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_forecast::{forecast_sleep, ForecastError, Night};

/// 8 weeks of nights: school nights 9.5 h from 21:00 (180 min after 18:00),
/// nights before Saturday and Sunday 10.5 h from 22:00.
fn nights(weeks: usize, seed: u64) -> Vec<Night> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
    (0..weeks * 7)
        .map(|d| {
            let date = first + Duration::days(d as i64);
            let free = matches!(date.weekday(), Weekday::Fri | Weekday::Sat);
            let noise = |sd: f64, rng: &mut ChaCha8Rng| (rng.random::<f64>() - 0.5) * 2.0 * sd;
            Night {
                date,
                duration_h: if free { 10.5 } else { 9.5 } + noise(0.4, &mut rng),
                bedtime_min: if free { 240.0 } else { 180.0 } + noise(20.0, &mut rng),
                free_day: free,
            }
        })
        .collect()
}

#[test]
fn free_day_effect_is_forecast() {
    let history = nights(8, 1);
    let fc = forecast_sleep(&history, &[false, false, true, true, false]).expect("forecast");
    assert_eq!(fc.nights.len(), 5);
    println!(
        "effects: +{:.2} h, +{:.1} min",
        fc.free_day_duration_effect_h, fc.free_day_bedtime_effect_min
    );
    assert!((fc.free_day_duration_effect_h - 1.0).abs() < 0.25);
    assert!((fc.free_day_bedtime_effect_min - 60.0).abs() < 15.0);
    let school = &fc.nights[0];
    let free = &fc.nights[2];
    assert!((school.duration_h.mean - 9.5).abs() < 0.25);
    assert!((free.duration_h.mean - 10.5).abs() < 0.25);
    assert!((free.bedtime_min.mean - 240.0).abs() < 15.0);
    for n in &fc.nights {
        assert!(n.duration_h.lower < n.duration_h.mean && n.duration_h.mean < n.duration_h.upper);
        assert!(n.bedtime_min.upper - n.bedtime_min.lower > 10.0);
    }
}

#[test]
fn sleep_intervals_cover_about_eighty_percent() {
    // Roll through many simulated histories: forecast the next 7 nights from 6 weeks.
    let (mut hit, mut total) = (0usize, 0usize);
    for seed in 0..40 {
        let all = nights(7, seed);
        let (history, future) = all.split_at(42);
        let upcoming: Vec<bool> = future.iter().map(|n| n.free_day).collect();
        let fc = forecast_sleep(history, &upcoming).expect("forecast");
        for (f, actual) in fc.nights.iter().zip(future) {
            for (iv, v) in [
                (f.duration_h, actual.duration_h),
                (f.bedtime_min, actual.bedtime_min),
            ] {
                hit += usize::from(iv.lower <= v && v <= iv.upper);
                total += 1;
            }
        }
    }
    let coverage = hit as f64 / total as f64;
    println!("sleep coverage {coverage:.3} over {total} outcomes");
    assert!((0.72..=0.9).contains(&coverage), "{coverage}");
}

#[test]
fn few_or_bad_nights_are_errors_not_panics() {
    let mut history = nights(1, 2);
    assert!(matches!(
        forecast_sleep(&history[..2], &[false]),
        Err(ForecastError::TooShort { .. })
    ));
    // Three nights, no free-day examples: an answer without an effect.
    let fc = forecast_sleep(&history[..3], &[true]).expect("three nights");
    assert_eq!(fc.free_day_duration_effect_h, 0.0);
    history[1].duration_h = f64::NAN;
    assert!(matches!(
        forecast_sleep(&history, &[false]),
        Err(ForecastError::NonFinite { index: 1, .. })
    ));
}
