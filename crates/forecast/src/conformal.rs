//! Split-conformal prediction intervals: per-lead quantiles of absolute backtest errors.
//!
//! For errors at one lead time from `m` calibration origins, the
//! `ceil((m + 1) * level)`-th smallest absolute error bounds a new error with
//! probability at least `level` when errors are exchangeable. Lead times are
//! treated separately because uncertainty grows (and varies) with the lead.

/// Errors from this many neighbouring lead times on each side are pooled with
/// each lead's own: adjacent leads have near-identical spread, and pooling
/// triples the sample behind each quantile.
pub const LEAD_POOL_RADIUS: usize = 1;

/// Conformal quantile of absolute values of `errors` (NaN entries ignored);
/// the largest error when there are too few to reach `level`, 0 when none.
pub fn conformal_quantile(errors: impl IntoIterator<Item = f64>, level: f64) -> f64 {
    let mut abs: Vec<u64> = errors
        .into_iter()
        .filter(|e| e.is_finite())
        .map(|e| e.abs().to_bits())
        .collect();
    quantile_of_abs_bits(&mut abs, level)
}

/// The conformal quantile of absolute errors given as their bit patterns:
/// for non-negative finite floats the bits order as the values do, so the
/// selection compares plain integers.
fn quantile_of_abs_bits(abs: &mut [u64], level: f64) -> f64 {
    if abs.is_empty() {
        return 0.0;
    }
    let m = abs.len();
    let rank = ((m as f64 + 1.0) * level).ceil() as usize;
    // Selection, not a full sort: this runs for every lead of every forecast.
    let (_, kth, _) = abs.select_nth_unstable(rank.clamp(1, m) - 1);
    f64::from_bits(*kth)
}

/// Interval half-width per lead from a matrix of errors (`errors[origin][lead]`).
pub fn half_widths(errors: &[Vec<f64>], horizon: usize, level: f64) -> Vec<f64> {
    half_widths_of(errors.iter().map(Vec::as_slice), horizon, level)
}

/// [`half_widths`] of errors stored `horizon` per origin in one slice.
pub(crate) fn half_widths_flat(errors: &[f64], horizon: usize, level: f64) -> Vec<f64> {
    half_widths_of(errors.chunks_exact(horizon.max(1)), horizon, level)
}

/// [`half_widths`] over any set of rows, gathering each lead's pooled
/// errors into one reused buffer.
fn half_widths_of<'a>(rows: impl Iterator<Item = &'a [f64]> + Clone, horizon: usize, level: f64) -> Vec<f64> {
    let mut pooled: Vec<u64> = Vec::with_capacity(rows.clone().count() * (2 * LEAD_POOL_RADIUS + 1));
    (0..horizon)
        .map(|lead| {
            let lo = lead.saturating_sub(LEAD_POOL_RADIUS);
            let hi = (lead + LEAD_POOL_RADIUS).min(horizon.saturating_sub(1));
            pooled.clear();
            for row in rows.clone() {
                let errors = row.get(lo..=hi).unwrap_or(&[]);
                pooled.extend(errors.iter().filter(|e| e.is_finite()).map(|e| e.abs().to_bits()));
            }
            quantile_of_abs_bits(&mut pooled, level)
        })
        .collect()
}

/// Honest coverage estimate: widths calibrated on even-numbered origins are
/// checked on odd-numbered ones and vice versa, so no error judges its own interval.
pub fn cross_coverage(errors: &[Vec<f64>], horizon: usize, level: f64) -> Option<f64> {
    cross_coverage_of(errors.iter().map(Vec::as_slice), horizon, level)
}

/// [`cross_coverage`] of errors stored `horizon` per origin in one slice.
pub(crate) fn cross_coverage_flat(errors: &[f64], horizon: usize, level: f64) -> Option<f64> {
    cross_coverage_of(errors.chunks_exact(horizon.max(1)), horizon, level)
}

fn cross_coverage_of<'a>(
    rows: impl Iterator<Item = &'a [f64]> + Clone,
    horizon: usize,
    level: f64,
) -> Option<f64> {
    let half = |parity: usize| rows.clone().skip(parity).step_by(2);
    // Both halves need at least one origin.
    half(1).next()?;
    let (w_even, w_odd) = (
        half_widths_of(half(0), horizon, level),
        half_widths_of(half(1), horizon, level),
    );
    let (mut hit, mut total) = (0usize, 0usize);
    for (parity, widths) in [(1, &w_even), (0, &w_odd)] {
        for row in half(parity) {
            for (e, w) in row.iter().zip(widths) {
                if e.is_finite() {
                    total += 1;
                    hit += usize::from(e.abs() <= *w);
                }
            }
        }
    }
    (total > 0).then(|| hit as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_uses_finite_sample_rank() {
        // m = 9, level 0.8: rank ceil(10 * 0.8) = 8.
        let e: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_quantile(e, 0.8), 8.0);
        assert_eq!(conformal_quantile(vec![-3.0, 1.0], 0.9), 3.0);
        assert_eq!(conformal_quantile(Vec::new(), 0.8), 0.0);
    }
}
