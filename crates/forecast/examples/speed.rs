//! Times fit + forecast (including automatic model selection) on 60 days of
//! hourly data, with and without calendar events. Run with `--release`.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_forecast::{forecast, Event, Options, Series};

/// Repetitions per configuration; the median is reported so that one
/// descheduled run on a shared machine does not distort the figure.
const RUNS: usize = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .ok_or("bad start")?;
    let days = 60;
    let events: Vec<Event> = (0..days + 1)
        .filter(|d| d % 7 < 5 && d % 6 == 2)
        .map(|d| Event {
            at: t0 + Span::days(d) + Span::hours(9),
            kind: "math_test".into(),
        })
        .collect();
    let mut noise = 0.0;
    let (mut times, mut values) = (Vec::new(), Vec::new());
    for i in 0..days * 24 {
        let hour = (i % 24) as f64;
        let weekend = (i / 24) % 7 >= 5;
        let daily = 0.35 - 0.2 * (std::f64::consts::TAU * (hour - 4.0) / 24.0).cos();
        let cycle = if weekend { 0.7 * daily } else { daily };
        noise = 0.7 * noise + 0.05 * (rng.random::<f64>() - 0.5);
        times.push(t0 + Span::hours(i));
        values.push((cycle + noise).clamp(0.0, 1.0));
    }
    let series = Series::new(times, values)?;

    for (label, evs) in [("no events", Vec::new()), ("with events", events)] {
        let mut opts = Options::hourly();
        opts.bounds = Some((0.0, 1.0));
        opts.events = evs;
        let mut samples: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut model = String::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let fc = forecast(&series, &opts)?;
            samples.push(start.elapsed());
            model = fc.model;
        }
        samples.sort();
        println!(
            "60 days hourly, {label}: median {:.2} ms, min {:.2} ms, max {:.2} ms over {RUNS} runs (model {model})",
            samples[RUNS / 2].as_secs_f64() * 1e3,
            samples[0].as_secs_f64() * 1e3,
            samples[RUNS - 1].as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
