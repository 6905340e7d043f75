//! Owns resampling: row (iid) and moving-block bootstrap draws, and
//! percentile intervals.
//!
//! Time-ordered rows (one child's days) are autocorrelated, and resampling
//! single rows would understate the spread; the moving-block bootstrap
//! (Künsch 1989) resamples runs of consecutive rows instead.

use crate::design::Data;
use crate::error::{CausalError, Result};
use crate::stats::percentile_sorted;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Fewer successful draws than this share of those asked for makes the
/// interval untrustworthy; the caller falls back or reports an error.
const MIN_SUCCESS_SHARE: f64 = 0.5;

/// Indices of one draw of `n` rows.
pub(crate) fn draw(rng: &mut ChaCha8Rng, n: usize, block_len: Option<usize>) -> Vec<usize> {
    match block_len {
        Some(b) if b > 1 && b < n => {
            let mut idx = Vec::with_capacity(n);
            while idx.len() < n {
                let start = rng.random_range(0..=n - b);
                let take = b.min(n - idx.len());
                idx.extend(start..start + take);
            }
            idx
        }
        _ => (0..n).map(|_| rng.random_range(0..n)).collect(),
    }
}

/// Result of a bootstrap run.
pub(crate) struct Bootstrap {
    pub estimates: Vec<f64>,
    pub failures: usize,
}

impl Bootstrap {
    /// Percentile interval at `level`.
    pub fn percentile_ci(&self, level: f64) -> (f64, f64) {
        let mut s = self.estimates.clone();
        s.sort_by(f64::total_cmp);
        let a = (1.0 - level) / 2.0;
        (percentile_sorted(&s, a), percentile_sorted(&s, 1.0 - a))
    }

    /// Standard deviation of the draws.
    pub fn sd(&self) -> f64 {
        crate::stats::variance(&self.estimates).sqrt()
    }
}

/// Re-runs `estimate` on `draws` resamples of `data`. Draws where an arm
/// is too small or the estimator fails are counted, not fatal.
pub(crate) fn run<F>(
    data: &Data,
    draws: usize,
    block_len: Option<usize>,
    rng: &mut ChaCha8Rng,
    estimate: F,
) -> Result<Bootstrap>
where
    F: Fn(&Data) -> Result<f64>,
{
    if let Some(0) = block_len {
        return Err(CausalError::InvalidOption("block_len must be at least 1".into()));
    }
    let n = data.n();
    let mut estimates = Vec::with_capacity(draws);
    let mut failures = 0;
    for _ in 0..draws {
        let idx = draw(rng, n, block_len);
        let sample = data.select(&idx);
        match estimate(&sample) {
            Ok(v) if v.is_finite() => estimates.push(v),
            _ => failures += 1,
        }
    }
    if (estimates.len() as f64) < MIN_SUCCESS_SHARE * draws as f64 || estimates.len() < 2 {
        return Err(CausalError::NumericalFailure(format!(
            "only {} of {draws} bootstrap draws could be estimated",
            estimates.len()
        )));
    }
    Ok(Bootstrap { estimates, failures })
}
