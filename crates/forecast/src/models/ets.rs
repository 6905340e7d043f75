//! Exponential smoothing (ETS with additive errors): none, additive or damped
//! trend, optional additive seasonality, fitted by minimising the one-step SSE.
//!
//! With additive Gaussian errors and fixed initial states the likelihood is a
//! monotone function of the sum of squared one-step errors, so minimising SSE
//! is maximum likelihood for the smoothing parameters. Initial states come from
//! a classical decomposition of the first two cycles instead of being
//! optimised: that keeps the search to at most four parameters.

use serde::{Deserialize, Serialize};

use super::optim::{nelder_mead, INITIAL_STEP, MAX_BATCH, MAX_EVALUATIONS};
use super::Run;

/// A refit on slightly changed data (the event-adjusted series) starts from
/// the previous optimum with a small simplex and a reduced budget.
const WARM_STEP: f64 = 0.3;
const WARM_EVALUATIONS: usize = 120;

/// Damping is kept in the range commonly used for ETS: below 0.8 it flattens
/// the trend almost at once, above 0.98 it is indistinguishable from undamped.
const PHI_MIN: f64 = 0.8;
const PHI_MAX: f64 = 0.98;

/// Points used to start the level (and trend) of a non-seasonal model: enough
/// to average out noise, few enough to stay local.
const NONSEASONAL_INIT_POINTS: usize = 6;

/// Trend component of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    /// No trend: level only.
    None,
    /// Additive (linear) trend.
    Additive,
    /// Additive trend damped towards flat.
    Damped,
}

impl Trend {
    fn code(self) -> &'static str {
        match self {
            Trend::None => "N",
            Trend::Additive => "A",
            Trend::Damped => "Ad",
        }
    }
}

/// Structure of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EtsSpec {
    pub trend: Trend,
    /// Seasonal period in steps, or `None` for no seasonality.
    pub period: Option<usize>,
}

impl EtsSpec {
    pub fn name(&self) -> String {
        match self.period {
            Some(m) => format!("ets(A,{},A,{m})", self.trend.code()),
            None => format!("ets(A,{},N)", self.trend.code()),
        }
    }

    /// Fewest observations the initialisation needs.
    pub fn min_len(&self) -> usize {
        match self.period {
            Some(m) => 2 * m,
            None => 2 * NONSEASONAL_INIT_POINTS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct State {
    level: f64,
    slope: f64,
    /// Seasonal effects indexed by phase (time index modulo the period).
    season: Vec<f64>,
}

/// A fitted ETS model: parameters plus the initial state at time index 0.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EtsFit {
    spec: EtsSpec,
    params: Params,
    /// Optimiser coordinates of `params`, kept for warm-started refits.
    coords: Vec<f64>,
    init: State,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl EtsSpec {
    /// Maps unconstrained optimiser coordinates into the admissible region
    /// 0 < beta < alpha < 1, 0 < gamma < 1 - alpha, PHI_MIN <= phi <= PHI_MAX.
    fn params(&self, x: &[f64]) -> Params {
        let mut it = x.iter().copied();
        let alpha = sigmoid(it.next().unwrap_or(0.0));
        let (beta, phi) = match self.trend {
            Trend::None => (0.0, 1.0),
            Trend::Additive => (alpha * sigmoid(it.next().unwrap_or(0.0)), 1.0),
            Trend::Damped => {
                let beta = alpha * sigmoid(it.next().unwrap_or(0.0));
                let phi = PHI_MIN + (PHI_MAX - PHI_MIN) * sigmoid(it.next().unwrap_or(0.0));
                (beta, phi)
            }
        };
        let gamma = if self.period.is_some() {
            (1.0 - alpha) * sigmoid(it.next().unwrap_or(0.0))
        } else {
            0.0
        };
        Params {
            alpha,
            beta,
            gamma,
            phi,
        }
    }

    /// Starting point: moderate level smoothing, slow trend and season.
    fn start(&self) -> Vec<f64> {
        let mut x = vec![-1.0];
        match self.trend {
            Trend::None => {}
            Trend::Additive => x.push(-2.0),
            Trend::Damped => x.extend([-2.0, 0.0]),
        }
        if self.period.is_some() {
            x.push(-2.0);
        }
        x
    }

    fn init_state(&self, y: &[f64]) -> State {
        match self.period {
            Some(m) => {
                let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
                let (c1, c2) = (mean(&y[..m]), mean(&y[m..2 * m]));
                let mut season: Vec<f64> = (0..m).map(|i| 0.5 * ((y[i] - c1) + (y[m + i] - c2))).collect();
                let s_mean = mean(&season);
                season.iter_mut().for_each(|s| *s -= s_mean);
                let slope = if self.trend == Trend::None {
                    0.0
                } else {
                    (c2 - c1) / m as f64
                };
                // c1 is the level at the middle of the first cycle; step back to time 0.
                let level = c1 - slope * (m as f64 - 1.0) / 2.0;
                State { level, slope, season }
            }
            None => {
                let k = NONSEASONAL_INIT_POINTS.min(y.len() / 2).max(1);
                let first = y[..k].iter().sum::<f64>() / k as f64;
                let slope = if self.trend == Trend::None || y.len() < 2 * k {
                    0.0
                } else {
                    let second = y[k..2 * k].iter().sum::<f64>() / k as f64;
                    (second - first) / k as f64
                };
                State {
                    level: first - slope * (k as f64 - 1.0) / 2.0,
                    slope,
                    season: vec![0.0],
                }
            }
        }
    }

    /// Fits on `y` (which must hold at least [`EtsSpec::min_len`] values).
    pub fn fit(&self, y: &[f64]) -> Option<EtsFit> {
        self.fit_from(y, &self.start(), INITIAL_STEP, MAX_EVALUATIONS)
    }

    fn fit_from(&self, y: &[f64], start: &[f64], step: f64, budget: usize) -> Option<EtsFit> {
        if y.len() < self.min_len() {
            return None;
        }
        let init = self.init_state(y);
        let objective = |points: &[&[f64]], values: &mut [f64]| {
            let params: Vec<Params> = points.iter().map(|x| self.params(x)).collect();
            sse_batch(self, &params, &init, y, values);
        };
        let (best, _) = nelder_mead(objective, start, step, budget);
        Some(EtsFit {
            spec: *self,
            params: self.params(&best),
            coords: best,
            init,
        })
    }
}

/// Sums of squared one-step errors of each parameter set in `params` (at
/// most [`MAX_BATCH`]) into `values`.
fn sse_batch(spec: &EtsSpec, params: &[Params], init: &State, y: &[f64], values: &mut [f64]) {
    match params.len() {
        1 => values[0] = sse_lanes::<1>(spec, params, init, y)[0],
        2 => values[..2].copy_from_slice(&sse_lanes::<2>(spec, params, init, y)),
        3 => values[..3].copy_from_slice(&sse_lanes::<3>(spec, params, init, y)),
        _ => {
            for (p, v) in params.chunks(MAX_BATCH).zip(values.chunks_mut(MAX_BATCH)) {
                match p.len() {
                    MAX_BATCH => v.copy_from_slice(&sse_lanes::<MAX_BATCH>(spec, p, init, y)),
                    _ => sse_batch(spec, p, init, y, v),
                }
            }
        }
    }
}

/// The SSE of `L` parameter sets in one pass: the lanes are independent, so
/// the processor overlaps their step-to-step latency.
///
/// Without a trend (the model the automatic choice fits) the slope terms, a
/// zero slope times one, are left out, and the level update
/// `level + alpha * err` is written `(1 - alpha) * level + alpha * (v - s)`:
/// the same filter, with two dependent operations per step instead of four.
/// The sum then differs from the plain recursion only in rounding, far
/// below any difference between the points the simplex compares; the fitted
/// parameters, and with them the forecasts, come out the same. (`run`, which
/// produces the forecasts, keeps the plain recursion.)
fn sse_lanes<const L: usize>(spec: &EtsSpec, params: &[Params], init: &State, y: &[f64]) -> [f64; L] {
    let lane = |f: fn(&Params) -> f64| -> [f64; L] { std::array::from_fn(|l| f(&params[l])) };
    let (alpha, beta, gamma, phi) = (
        lane(|p| p.alpha),
        lane(|p| p.beta),
        lane(|p| p.gamma),
        lane(|p| p.phi),
    );
    let keep: [f64; L] = std::array::from_fn(|l| 1.0 - alpha[l]);
    let mut level = [init.level; L];
    let mut slope = [init.slope; L];
    let mut total = [0.0; L];
    match spec.period {
        Some(m) => {
            let mut season: Vec<[f64; L]> = init.season.iter().map(|&s| [s; L]).collect();
            for cycle in y.chunks(m) {
                for (s, &v) in season.iter_mut().zip(cycle) {
                    if spec.trend == Trend::None {
                        for l in 0..L {
                            let d = v - s[l];
                            let err = d - level[l];
                            total[l] += err * err;
                            level[l] = keep[l] * level[l] + alpha[l] * d;
                            s[l] += gamma[l] * err;
                        }
                    } else {
                        for l in 0..L {
                            let damped = phi[l] * slope[l];
                            let err = v - (level[l] + damped + s[l]);
                            total[l] += err * err;
                            level[l] += damped + alpha[l] * err;
                            slope[l] = damped + beta[l] * err;
                            s[l] += gamma[l] * err;
                        }
                    }
                }
            }
        }
        None => {
            for &v in y {
                for l in 0..L {
                    let damped = phi[l] * slope[l];
                    let err = v - (level[l] + damped);
                    total[l] += err * err;
                    level[l] += damped + alpha[l] * err;
                    slope[l] = damped + beta[l] * err;
                }
            }
        }
    }
    total
}

impl EtsFit {
    /// Human-readable model name.
    pub fn name(&self) -> String {
        self.spec.name()
    }

    /// Refits to `y`, starting the search at the current parameters.
    pub fn refit(&self, y: &[f64]) -> Option<EtsFit> {
        self.spec.fit_from(y, &self.coords, WARM_STEP, WARM_EVALUATIONS)
    }

    /// Runs the filter over `y` with the fitted parameters. At each origin `o`
    /// (ascending, at most `y.len()`) it records the `h`-step forecast made
    /// with `y[..o]` known; with `residuals`, also the one-step residuals for all of `y`.
    pub fn run(&self, y: &[f64], origins: &[usize], h: usize, residuals: bool) -> Run {
        let p = &self.params;
        let m = self.spec.period.unwrap_or(1);
        let mut level = self.init.level;
        let mut slope = self.init.slope;
        let mut season = self.init.season.clone();
        let mut forecasts = Vec::with_capacity(origins.len() * h);
        let mut res = Vec::with_capacity(if residuals { y.len() } else { 0 });
        let mut next_origin = origins.iter().copied().peekable();
        for t in 0..=y.len() {
            while next_origin.peek() == Some(&t) {
                next_origin.next();
                let mut damp_sum = 0.0;
                let mut damp = 1.0;
                for j in 0..h {
                    damp *= p.phi;
                    damp_sum += damp;
                    forecasts.push(level + damp_sum * slope + season[(t + j) % m]);
                }
            }
            let Some(&v) = y.get(t) else { break };
            let damped = p.phi * slope;
            let phase = t % m;
            let err = v - (level + damped + season[phase]);
            if residuals {
                res.push(err);
            }
            level += damped + p.alpha * err;
            slope = damped + p.beta * err;
            if self.spec.period.is_some() {
                season[phase] += p.gamma * err;
            }
        }
        Run {
            forecasts,
            residuals: res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_pure_seasonal_pattern() {
        let pattern: Vec<f64> = (0..24)
            .map(|i| (i as f64 / 24.0 * std::f64::consts::TAU).sin())
            .collect();
        let y: Vec<f64> = (0..24 * 10).map(|t| 2.0 + pattern[t % 24]).collect();
        let spec = EtsSpec {
            trend: Trend::None,
            period: Some(24),
        };
        let fit = spec.fit(&y).expect("long enough");
        let fc = fit.run(&y, &[y.len()], 24, false).forecasts;
        for (j, v) in fc.iter().enumerate() {
            assert!((v - (2.0 + pattern[j])).abs() < 1e-6, "lead {j}: {v}");
        }
    }

    #[test]
    fn follows_linear_trend() {
        let y: Vec<f64> = (0..100).map(|t| 1.0 + 0.5 * t as f64).collect();
        let spec = EtsSpec {
            trend: Trend::Additive,
            period: None,
        };
        let fit = spec.fit(&y).expect("long enough");
        let fc = fit.run(&y, &[100], 3, false).forecasts;
        assert!((fc[2] - (1.0 + 0.5 * 102.0)).abs() < 0.05, "{:?}", fc);
    }
}
