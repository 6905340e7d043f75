//! AR(1) with a constant mean, fitted by conditional least squares: the
//! simple ARIMA model for a seasonally adjusted series whose deviations decay.
//!
//! Stress fluctuations persist for hours and then revert; AR(1) forecasts
//! exactly that (the deviation shrinks by `phi` per step), where ETS(A,N,N)
//! would carry the latest deviation flat across the whole horizon.

/// The AR coefficient is kept inside the stationary region with a margin, so
/// forecasts always revert rather than drift.
const PHI_LIMIT: f64 = 0.99;

/// Fewest observations for a meaningful fit.
const MIN_LEN: usize = 8;

/// A fitted AR(1) model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArFit {
    mean: f64,
    phi: f64,
}

/// Fits `y[t] - mean = phi * (y[t-1] - mean) + e[t]`.
pub(crate) fn fit(y: &[f64]) -> Option<ArFit> {
    if y.len() < MIN_LEN {
        return None;
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for w in y.windows(2) {
        let (prev, cur) = (w[0] - mean, w[1] - mean);
        num += prev * cur;
        den += prev * prev;
    }
    let phi = if den > 0.0 {
        (num / den).clamp(-PHI_LIMIT, PHI_LIMIT)
    } else {
        0.0
    };
    Some(ArFit { mean, phi })
}

impl ArFit {
    pub fn name(&self) -> String {
        "ar(1)".to_string()
    }

    /// Same contract as the ETS `run`: forecasts from each origin, one-step residuals.
    pub fn run(&self, y: &[f64], origins: &[usize], h: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let forecasts = origins
            .iter()
            .map(|&o| {
                let mut dev = o
                    .checked_sub(1)
                    .and_then(|i| y.get(i))
                    .map_or(0.0, |v| v - self.mean);
                (0..h)
                    .map(|_| {
                        dev *= self.phi;
                        self.mean + dev
                    })
                    .collect()
            })
            .collect();
        let residuals = (0..y.len())
            .map(|t| {
                let prev = if t > 0 { y[t - 1] - self.mean } else { 0.0 };
                y[t] - self.mean - self.phi * prev
            })
            .collect();
        (forecasts, residuals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverts_to_mean() {
        let y: Vec<f64> = (0..50).map(|t| 1.0 + 0.8f64.powi(t % 10)).collect();
        let fit = fit(&y).expect("long enough");
        let (fc, _) = fit.run(&y, &[50], 200);
        assert!((fc[0][199] - fit.mean).abs() < 1e-6);
        assert!(fit.phi > 0.0 && fit.phi < PHI_LIMIT);
    }
}
