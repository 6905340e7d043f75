//! Sensor gaps: the watch on its charger, a loose strap; stretches with no samples at all.

use crate::time::{local_date, local_instant};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

/// Share of gap time spent charging; the rest is short dropouts.
const CHARGING_SHARE: f64 = 0.75;
/// A charge takes 30-90 minutes.
const CHARGE_MIN: (i64, i64) = (30, 90);
/// Children charge their watch while awake, between 06:00 and 21:00 local.
const CHARGE_START_H: (f64, f64) = (6.0, 21.0);
/// A dropout lasts 1-15 minutes and can happen any time.
const DROPOUT_MIN: (i64, i64) = (1, 15);
const MINUTES_PER_DAY: f64 = 1_440.0;

/// Merged, sorted gaps so that about `share` of `[start, end)` has no samples.
pub(crate) fn draw(
    share: f64,
    tz: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mean = |(lo, hi): (i64, i64)| (lo + hi) as f64 / 2.0;
    let charges_per_day = share * CHARGING_SHARE * MINUTES_PER_DAY / mean(CHARGE_MIN);
    let dropouts_per_day = share * (1.0 - CHARGING_SHARE) * MINUTES_PER_DAY / mean(DROPOUT_MIN);
    let (Ok(charges), Ok(dropouts)) = (Poisson::new(charges_per_day), Poisson::new(dropouts_per_day)) else {
        return Vec::new(); // a zero rate: no gaps
    };
    let mut gaps = Vec::new();
    for date in local_date(tz, start)
        .iter_days()
        .take_while(|d| *d <= local_date(tz, end))
    {
        for _ in 0..charges.sample(rng) as u32 {
            let from = local_instant(tz, date, rng.random_range(CHARGE_START_H.0..CHARGE_START_H.1));
            gaps.push((
                from,
                from + Duration::minutes(rng.random_range(CHARGE_MIN.0..=CHARGE_MIN.1)),
            ));
        }
        for _ in 0..dropouts.sample(rng) as u32 {
            let from = local_instant(tz, date, rng.random_range(0.0..24.0));
            gaps.push((
                from,
                from + Duration::minutes(rng.random_range(DROPOUT_MIN.0..=DROPOUT_MIN.1)),
            ));
        }
    }
    gaps.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(gaps.len());
    for (from, to) in gaps {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Walks merged gaps alongside increasing sample times.
pub(crate) struct GapCursor<'a> {
    gaps: &'a [(DateTime<Utc>, DateTime<Utc>)],
    next: usize,
}

impl<'a> GapCursor<'a> {
    pub fn new(gaps: &'a [(DateTime<Utc>, DateTime<Utc>)]) -> Self {
        Self { gaps, next: 0 }
    }

    /// Whether `t` falls in a gap; calls must come with non-decreasing `t`.
    pub fn contains(&mut self, t: DateTime<Utc>) -> bool {
        while self.gaps.get(self.next).is_some_and(|g| g.1 <= t) {
            self.next += 1;
        }
        self.gaps.get(self.next).is_some_and(|g| g.0 <= t)
    }
}
