//! Simulated hourly stress with known structure, shared by the integration tests.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_forecast::{Event, Series};

/// AR(1) coefficient of the hourly noise: stress moods persist for a few hours.
pub const NOISE_AR: f64 = 0.7;
/// Innovation standard deviation of the noise.
pub const NOISE_SD: f64 = 0.04;
/// Peak extra stress just before a test.
pub const TEST_RAMP: f64 = 0.25;
/// Extra stress during the test.
pub const TEST_DURING: f64 = 0.2;
pub const TEST_KIND: &str = "math_test";

pub struct Sim {
    pub times: Vec<DateTime<Utc>>,
    pub values: Vec<f64>,
    /// The same series without noise: the true mean.
    pub truth: Vec<f64>,
    pub events: Vec<Event>,
}

impl Sim {
    pub fn series(&self) -> Series {
        Series::new(self.times.clone(), self.values.clone()).expect("simulated values are finite")
    }

    pub fn prefix(&self, n: usize) -> Series {
        Series::new(self.times[..n].to_vec(), self.values[..n].to_vec()).expect("finite")
    }
}

pub fn start() -> DateTime<Utc> {
    // A Monday.
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Daily shape: low at night, rising through school, peaking after school.
fn daily(hour: usize) -> f64 {
    const SHAPE: [f64; 24] = [
        0.12, 0.10, 0.10, 0.10, 0.11, 0.13, 0.18, 0.28, 0.36, 0.40, 0.42, 0.43, 0.42, 0.44, 0.48, 0.58, 0.64,
        0.62, 0.55, 0.45, 0.36, 0.28, 0.20, 0.15,
    ];
    SHAPE[hour % 24]
}

/// Event ramp: grows linearly over the 24 h before the test, plus a bump during it.
pub fn event_effect(t: DateTime<Utc>, events: &[Event]) -> f64 {
    events
        .iter()
        .map(|e| {
            let lead_h = (e.at - t).num_minutes() as f64 / 60.0;
            if lead_h > 0.0 && lead_h <= 24.0 {
                TEST_RAMP * (1.0 - (lead_h - 1.0) / 24.0)
            } else if lead_h <= 0.0 && lead_h > -2.0 {
                TEST_DURING
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

/// `days` of hourly stress in [0, 1] with daily and weekly cycles, AR(1)
/// noise and a test at 09:00 on roughly every fifth school day.
pub fn simulate(days: usize, seed: u64) -> Sim {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t0 = start();
    let mut events = Vec::new();
    for d in 0..days + 2 {
        let weekday = d % 7;
        if weekday < 5 && rng.random::<f64>() < 0.2 {
            events.push(Event {
                at: t0 + Duration::days(d as i64) + Duration::hours(9),
                kind: TEST_KIND.to_string(),
            });
        }
    }
    let mut noise = 0.0;
    let (mut times, mut values, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..days * 24 {
        let t = t0 + Duration::hours(i as i64);
        let hour = i % 24;
        let weekend = (i / 24) % 7 >= 5;
        // Weekends keep the night level but halve the daytime rise.
        let base = daily(hour);
        let cycle = if weekend { 0.1 + 0.5 * (base - 0.1) } else { base };
        let mean = (cycle + event_effect(t, &events)).clamp(0.0, 1.0);
        let shock: f64 = (0..3).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 2.0;
        noise = NOISE_AR * noise + NOISE_SD * shock;
        times.push(t);
        truth.push(mean);
        values.push((mean + noise).clamp(0.0, 1.0));
    }
    Sim {
        times,
        values,
        truth,
        events,
    }
}
