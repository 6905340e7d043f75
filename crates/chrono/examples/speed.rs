//! Times chronotype analysis for one child from 90 days of minute-level sleep states
//! (129,600 samples), episode extraction included. Run with
//! `cargo run --release --example speed`.

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_chrono::{
    analyze_activity, analyze_states, day_type, ActivityCount, Algorithm, ChildContext, DayType, SleepState,
    StateSample,
};

const DAYS: i64 = 90;
const RUNS: usize = 200;

fn samples() -> Vec<StateSample> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let first = NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date");
    let start = Berlin
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("valid local time")
        .with_timezone(&Utc);
    // Asleep intervals in minutes from `start`, one night per wake date, with a brief
    // awakening in each night.
    let mut asleep: Vec<(i64, i64)> = Vec::new();
    for day in 1..=DAYS {
        let wake = first + Duration::days(day);
        let free = day_type(wake, &Default::default()) == DayType::Free;
        let (on, off) = if free { (-2.0, 8.5) } else { (-3.0, 6.75) };
        let jitter = rng.random_range(-30..30);
        let on_min = day * 1440 + (on * 60.0) as i64 + jitter;
        let off_min = day * 1440 + (off * 60.0) as i64 + jitter / 2;
        let wake_at = rng.random_range(on_min + 60..off_min - 60);
        asleep.push((on_min, wake_at));
        asleep.push((wake_at + 6, off_min));
    }
    let mut it = asleep.iter().peekable();
    (0..DAYS * 1440)
        .map(|m| {
            while it.peek().is_some_and(|(_, b)| *b <= m) {
                it.next();
            }
            let sleeping = it.peek().is_some_and(|(a, b)| *a <= m && m < *b);
            StateSample {
                time: start + Duration::minutes(m),
                state: if sleeping {
                    SleepState::Light
                } else {
                    SleepState::Awake
                },
            }
        })
        .collect()
}

/// Median, mean and max of `RUNS` timings of `f`, in milliseconds.
fn time_it(mut f: impl FnMut()) -> (f64, f64, f64, f64) {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    (times[0], times[RUNS / 2], mean, times[RUNS - 1])
}

fn main() {
    let samples = samples();
    let ctx = ChildContext::new(Berlin);
    let report = analyze_states(&samples, &ctx);
    println!(
        "{} samples → {:?}, MSFsc {:?} h, {} nights, confidence {:.2}",
        samples.len(),
        report.chronotype,
        report.msf_sc_hours,
        report.nights_used,
        report.confidence
    );
    let (min, median, mean, max) = time_it(|| {
        std::hint::black_box(analyze_states(std::hint::black_box(&samples), &ctx));
    });
    println!(
        "states → report, {RUNS} runs: min {min:.3} ms, median {median:.3} ms, mean {mean:.3} ms, max {max:.3} ms (target < 10 ms)"
    );

    // The same nights as activity counts (still when asleep), scored first.
    let counts: Vec<ActivityCount> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| ActivityCount {
            time: s.time,
            count: if s.state.is_asleep() {
                0.0
            } else {
                200.0 + (i % 7) as f64 * 50.0
            },
        })
        .collect();
    for algorithm in [Algorithm::Roenneberg, Algorithm::ColeKripke, Algorithm::Sadeh] {
        let report = analyze_activity(&counts, algorithm, &ctx);
        let (min, median, mean, max) = time_it(|| {
            std::hint::black_box(analyze_activity(std::hint::black_box(&counts), algorithm, &ctx));
        });
        println!(
            "counts → {algorithm:?} → report ({:?}, MSFsc {:.2} h), {RUNS} runs: min {min:.3} ms, median {median:.3} ms, mean {mean:.3} ms, max {max:.3} ms",
            report.chronotype,
            report.msf_sc_hours.unwrap_or(f64::NAN),
        );
    }
}
