//! Always-valid test of the difference in 👍 rates: the mixture sequential probability ratio test.
//!
//! Let θ = p_candidate − p_control and θ̂ its estimate after `n_c` control and `n_t` candidate answers,
//! with variance `v = p̃_c(1 − p̃_c)/n_c + p̃_t(1 − p̃_t)/n_t`. By the central limit theorem θ̂ behaves like
//! a Brownian motion observed at "information time" 1/v. Mixing the likelihood ratio of θ against θ₀ = 0
//! over a normal prior θ ~ N(0, τ²) gives, in closed form,
//!
//! ```text
//! Λ = sqrt(v / (v + τ²)) · exp( τ² θ̂² / (2 v (v + τ²)) )
//! ```
//!
//! which for equal arms and `v = σ²/n` is exactly the mSPRT statistic of Johari, Koomen, Pekelis & Walsh
//! (2017), "Peeking at A/B tests: why it matters, and what to do about it". Under θ = 0 the mixture is a
//! nonnegative martingale with mean one (Robbins 1970, "Statistical methods related to the law of the
//! iterated logarithm"), so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α: the always-valid p-value
//! `p = min(1, 1/Λ)` may be checked after every single answer without inflating false positives. The
//! guarantee is exact for Gaussian increments and holds asymptotically for 👍/👎 answers; the simulations
//! in the tests check it at the sample sizes Sprout sees.
//!
//! **Variance.** `p̃ = (👍 + 1)/(answers + 2)` (the posterior mean under Beta(1, 1)) instead of the raw
//! rate, so that an arm with all 👍 or all 👎 early on does not claim zero variance and an infinite
//! statistic. Children, not answers, are what is randomised, and one child's answers are alike: where
//! the counts carry per-child sums the variance is the child-level (cluster-robust) one when that is
//! larger, so checking after every answer keeps its error rate when children answer many times.
//!
//! **Mixing variance.** τ² = 0.01 (τ = 10 percentage points). The mSPRT is most powerful for effects of
//! about the size of τ; model versions that matter to parents move the 👍 rate by a few to ~20 points,
//! and smaller differences are not worth a rollout decision. A larger τ would detect big effects sooner
//! but small ones later, and vice versa.
//!
//! **Confidence sequence.** Inverting the test at every θ₀ gives intervals for θ that cover the true
//! difference at all times simultaneously with probability ≥ 1 − α ([`confidence_sequence`]).

use serde::{Deserialize, Serialize};

use crate::stats::ArmStats;

/// Mixing variance τ² of the normal mixture over the difference in 👍 rates (τ = 0.1, see module docs).
pub const DEFAULT_MIXING_VARIANCE: f64 = 0.01;

/// Result of the mSPRT at the current counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialTest {
    /// Estimated difference θ̂ = candidate 👍 rate − control 👍 rate (0 before both arms have answers).
    pub difference: f64,
    /// Variance of θ̂ (infinite before both arms have answers).
    pub variance: f64,
    /// Natural log of the mixture likelihood ratio Λ.
    pub log_likelihood_ratio: f64,
    /// min(1, 1/Λ): the always-valid p-value at this look (take the running minimum over looks with
    /// [`AlwaysValidP`] for a monotone report).
    pub p_value: f64,
}

/// The rate and its variance contribution of one arm; `None` before any answer. The variance is
/// the binomial `p̃(1 − p̃)/n`, or the child-level one where the counts carry their children's sums
/// and it is larger (see [`crate::ChildSums`]): answers of one child are alike, and counting each
/// as independent makes an experiment look surer than it is.
fn arm_variance(arm: &ArmStats) -> Option<(f64, f64)> {
    if arm.answered == 0 {
        return None;
    }
    let n = arm.answered as f64;
    let rate = arm.helpful.min(arm.answered) as f64 / n;
    let smoothed = (arm.helpful.min(arm.answered) as f64 + 1.0) / (n + 2.0);
    let binomial = smoothed * (1.0 - smoothed) / n;
    let by_child = arm.by_child.rate_variance(rate, arm.answered).unwrap_or(0.0);
    Some((rate, binomial.max(by_child)))
}

/// Log mixture likelihood ratio of the difference against `theta0`.
fn log_lr(difference: f64, variance: f64, theta0: f64, mixing_variance: f64) -> f64 {
    let total = variance + mixing_variance;
    let dev = difference - theta0;
    0.5 * (variance / total).ln() + mixing_variance * dev * dev / (2.0 * variance * total)
}

/// Runs the mSPRT of "no difference in 👍 rates" with mixing variance `mixing_variance` (τ²). A
/// non-positive or non-finite τ² falls back to [`DEFAULT_MIXING_VARIANCE`].
pub fn msprt(control: &ArmStats, candidate: &ArmStats, mixing_variance: f64) -> SequentialTest {
    let tau2 = sanitize_tau2(mixing_variance);
    match (arm_variance(control), arm_variance(candidate)) {
        (Some((rate_c, var_c)), Some((rate_t, var_t))) => {
            let difference = rate_t - rate_c;
            let variance = var_c + var_t;
            let log_likelihood_ratio = log_lr(difference, variance, 0.0, tau2);
            let p_value = (-log_likelihood_ratio).exp().min(1.0);
            SequentialTest {
                difference,
                variance,
                log_likelihood_ratio,
                p_value,
            }
        }
        _ => SequentialTest {
            difference: 0.0,
            variance: f64::INFINITY,
            log_likelihood_ratio: 0.0,
            p_value: 1.0,
        },
    }
}

/// Confidence sequence for θ = candidate 👍 rate − control 👍 rate at level `1 − alpha`: the set of θ₀
/// whose mSPRT has not rejected, clipped to `[−1, 1]`. `None` before both arms have answers or for an
/// `alpha` outside (0, 1).
pub fn confidence_sequence(
    control: &ArmStats,
    candidate: &ArmStats,
    alpha: f64,
    mixing_variance: f64,
) -> Option<(f64, f64)> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let tau2 = sanitize_tau2(mixing_variance);
    let (rate_c, var_c) = arm_variance(control)?;
    let (rate_t, var_t) = arm_variance(candidate)?;
    let v = var_c + var_t;
    let total = v + tau2;
    // log Λ(θ₀) < ln(1/α)  ⇔  (θ̂ − θ₀)² < 2 v (v + τ²)/τ² · (ln(1/α) + ½ ln((v + τ²)/v)).
    let radius = (2.0 * v * total / tau2 * ((1.0 / alpha).ln() + 0.5 * (total / v).ln())).sqrt();
    let centre = rate_t - rate_c;
    Some(((centre - radius).max(-1.0), (centre + radius).min(1.0)))
}

fn sanitize_tau2(mixing_variance: f64) -> f64 {
    if mixing_variance.is_finite() && mixing_variance > 0.0 {
        mixing_variance
    } else {
        DEFAULT_MIXING_VARIANCE
    }
}

/// Running minimum of the per-look p-values: the always-valid p-value to report on a dashboard, which
/// never goes back up once evidence has been seen (Johari et al. 2017, Section 3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlwaysValidP {
    p_value: f64,
}

impl Default for AlwaysValidP {
    fn default() -> Self {
        Self { p_value: 1.0 }
    }
}

impl AlwaysValidP {
    /// Starts at p = 1 (no evidence).
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in the p-value of one look and returns the running minimum. NaN looks are ignored.
    pub fn observe(&mut self, look: f64) -> f64 {
        if look < self.p_value {
            self.p_value = look.max(0.0);
        }
        self.p_value
    }

    /// The running minimum so far.
    pub fn value(&self) -> f64 {
        self.p_value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(answered: u64, helpful: u64) -> ArmStats {
        ArmStats {
            recommendations: answered,
            answered,
            helpful,
            ..Default::default()
        }
    }

    #[test]
    fn no_data_means_no_evidence() {
        let t = msprt(&ArmStats::default(), &arm(10, 9), DEFAULT_MIXING_VARIANCE);
        assert_eq!(t.p_value, 1.0);
        assert!(confidence_sequence(&ArmStats::default(), &arm(10, 9), 0.05, 0.01).is_none());
    }

    #[test]
    fn matches_johari_formula_for_balanced_arms() {
        // Balanced arms, v = σ²/n with σ² the per-pair variance.
        let (c, t) = (arm(400, 180), arm(400, 230));
        let test = msprt(&c, &t, 0.01);
        let n: f64 = 400.0;
        let sc = (181.0 / 402.0) * (1.0 - 181.0 / 402.0);
        let st = (231.0 / 402.0) * (1.0 - 231.0 / 402.0);
        let sigma2 = sc + st;
        let theta = 50.0 / 400.0;
        let tau2: f64 = 0.01;
        let expected = 0.5 * (sigma2 / (sigma2 + n * tau2)).ln()
            + n * n * tau2 * theta * theta / (2.0 * sigma2 * (sigma2 + n * tau2));
        assert!((test.log_likelihood_ratio - expected).abs() < 1e-10);
    }

    #[test]
    fn confidence_sequence_is_dual_to_the_test() {
        let (c, t) = (arm(300, 140), arm(310, 190));
        let test = msprt(&c, &t, 0.01);
        let (lo, hi) = confidence_sequence(&c, &t, 0.05, 0.01).unwrap();
        assert!(lo < test.difference && test.difference < hi);
        // Zero is excluded exactly when the test rejects at 0.05.
        assert_eq!(lo > 0.0 || hi < 0.0, test.p_value < 0.05);
        let (c2, t2) = (arm(100, 50), arm(100, 55));
        let (lo2, hi2) = confidence_sequence(&c2, &t2, 0.05, 0.01).unwrap();
        assert!(lo2 < 0.0 && hi2 > 0.0);
        assert!(msprt(&c2, &t2, 0.01).p_value >= 0.05);
    }

    #[test]
    fn running_minimum_never_increases() {
        let mut p = AlwaysValidP::new();
        assert_eq!(p.observe(0.4), 0.4);
        assert_eq!(p.observe(0.7), 0.4);
        assert_eq!(p.observe(f64::NAN), 0.4);
        assert_eq!(p.observe(0.01), 0.01);
        assert_eq!(p.value(), 0.01);
    }
}
