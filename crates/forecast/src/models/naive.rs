//! Benchmarks that need no fitting: seasonal naive (repeat the last cycle) and the historical mean.

/// Seasonal naive forecasts at each origin, `h` values per origin one after
/// another: the value one period earlier. Origins must be at least `period`
/// so a full cycle is known.
pub(crate) fn seasonal_naive(y: &[f64], period: usize, origins: &[usize], h: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(origins.len() * h);
    for &o in origins {
        // Within one period of the origin the forecast is the last cycle
        // itself: copy it.
        if h <= period && o >= period && o - period + h <= y.len() {
            out.extend_from_slice(&y[o - period..o - period + h]);
            continue;
        }
        // The last known value in the same phase as step o + j.
        out.extend((0..h).map(|j| {
            (o + j % period)
                .checked_sub(period)
                .and_then(|idx| y.get(idx).copied())
                .unwrap_or(f64::NAN)
        }));
    }
    out
}

/// One-step in-sample residuals of the seasonal naive method (`y[t] - y[t - period]`),
/// zero for the first cycle where no lagged value exists.
pub(crate) fn seasonal_naive_residuals(y: &[f64], period: usize) -> Vec<f64> {
    (0..y.len())
        .map(|t| if t >= period { y[t] - y[t - period] } else { 0.0 })
        .collect()
}

/// In-sample mean absolute error of the seasonal naive method: the MASE scale.
/// `None` when there is no full lag or the series repeats exactly.
pub(crate) fn seasonal_naive_mae(y: &[f64], period: usize) -> Option<f64> {
    if y.len() <= period {
        return None;
    }
    let n = y.len() - period;
    let mae = (period..y.len())
        .map(|t| (y[t] - y[t - period]).abs())
        .sum::<f64>()
        / n as f64;
    (mae > f64::EPSILON).then_some(mae)
}

/// Arithmetic mean; callers guarantee a non-empty slice.
pub(crate) fn mean(y: &[f64]) -> f64 {
    y.iter().sum::<f64>() / y.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_last_cycle() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let fc = seasonal_naive(&y, 3, &[6], 5);
        assert_eq!(fc, vec![4.0, 5.0, 6.0, 4.0, 5.0]);
        assert_eq!(seasonal_naive_mae(&y, 3), Some(3.0));
    }
}
