//! Population Beta prior for per-child Thompson sampling, fitted by the method of moments.
//!
//! Each child `i` has an unknown 👍 rate `p_i` drawn from a population Beta(α, β), and gives
//! `h_i` 👍 out of `n_i` answers (the Beta-Binomial model). A new child starts from this population prior,
//! so what worked for other families is tried first, and their own answers then move their posterior
//! Beta(α + 👍, β + 👎) away from it.
//!
//! **Fit.** With per-child rates `r_i = h_i / n_i`, their mean `m` and sample variance `s²`, the
//! Beta-Binomial model gives `E[s²] ≈ m(1 − m)·(n̄⁻¹ + (1 − n̄⁻¹)·ρ)`, where `n̄⁻¹` is the mean of `1/n_i`
//! and `ρ = 1/(α + β + 1)` the between-child correlation. Solving for `ρ` removes the binomial noise of
//! children with few answers instead of mistaking it for real differences between children. Then
//! `α + β = 1/ρ − 1`, `α = m(α + β)`, `β = (1 − m)(α + β)`.
//!
//! **Guards.** The strength `α + β` is kept within [`MIN_STRENGTH`, `MAX_STRENGTH`] and, when the
//! dispersion cannot be estimated (one child, or every child with a single answer), set to
//! [`DEFAULT_STRENGTH`]. Finally the fit is shrunk toward the uniform Beta(1, 1) with weight
//! `k / (k + SHRINK_CHILDREN)` for `k` children with answers, so a handful of families cannot fix
//! everyone's starting point.

use serde::{Deserialize, Serialize};

/// Strength used when the between-child dispersion cannot be estimated: as weak as the uniform prior.
pub const DEFAULT_STRENGTH: f64 = 2.0;
/// Weakest fitted prior: as weak as the uniform prior, so strongly polarised populations do not yield a
/// U-shaped prior that pins new children to the extremes.
pub const MIN_STRENGTH: f64 = 2.0;
/// Strongest fitted prior, in pseudo-answers: even a very homogeneous population must not outweigh a
/// child's own first few dozen answers.
pub const MAX_STRENGTH: f64 = 50.0;
/// Number of children at which the fit and the uniform prior weigh equally.
pub const SHRINK_CHILDREN: f64 = 10.0;
/// Population mean is kept this far from 0 and 1 so both Beta parameters stay positive.
const MEAN_MARGIN: f64 = 1e-3;

/// A Beta(α, β) distribution over a 👍 rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BetaPrior {
    /// α: prior pseudo-count of 👍 (> 0).
    pub alpha: f64,
    /// β: prior pseudo-count of 👎 (> 0).
    pub beta: f64,
}

impl Default for BetaPrior {
    /// The uniform Beta(1, 1).
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

impl BetaPrior {
    /// Mean 👍 rate α / (α + β).
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// Strength α + β, in pseudo-answers.
    pub fn strength(&self) -> f64 {
        self.alpha + self.beta
    }

    /// Posterior after a child's own answers; sample from it for Thompson sampling.
    pub fn posterior(&self, helpful: u64, unhelpful: u64) -> BetaPrior {
        BetaPrior {
            alpha: self.alpha + helpful as f64,
            beta: self.beta + unhelpful as f64,
        }
    }
}

/// Fits the population prior from each child's `(helpful, unhelpful)` answer counts (see the module
/// docs). Children without answers are ignored; with none at all the result is Beta(1, 1).
pub fn population_prior(per_child: &[(u64, u64)]) -> BetaPrior {
    let children: Vec<(f64, f64)> = per_child
        .iter()
        .filter_map(|&(h, u)| {
            let n = h.saturating_add(u);
            (n > 0).then(|| (h as f64 / n as f64, n as f64))
        })
        .collect();
    if children.is_empty() {
        return BetaPrior::default();
    }
    let k = children.len() as f64;
    let mean = children.iter().map(|(r, _)| r).sum::<f64>() / k;
    let mean = mean.clamp(MEAN_MARGIN, 1.0 - MEAN_MARGIN);
    let inv_n = children.iter().map(|(_, n)| 1.0 / n).sum::<f64>() / k;

    let strength = if children.len() >= 2 && 1.0 - inv_n > 1e-9 {
        let var = children.iter().map(|(r, _)| (r - mean).powi(2)).sum::<f64>() / (k - 1.0);
        let rho = (var / (mean * (1.0 - mean)) - inv_n) / (1.0 - inv_n);
        // No excess variance over binomial noise means very similar children: the strongest prior.
        let fitted = if rho > 0.0 { 1.0 / rho - 1.0 } else { MAX_STRENGTH };
        fitted.clamp(MIN_STRENGTH, MAX_STRENGTH)
    } else {
        DEFAULT_STRENGTH
    };

    let weight = k / (k + SHRINK_CHILDREN);
    BetaPrior {
        alpha: (1.0 - weight) + weight * mean * strength,
        beta: (1.0 - weight) + weight * (1.0 - mean) * strength,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_children_is_uniform() {
        assert_eq!(population_prior(&[]), BetaPrior::default());
        assert_eq!(population_prior(&[(0, 0), (0, 0)]), BetaPrior::default());
    }

    #[test]
    fn few_children_stay_near_uniform() {
        let p = population_prior(&[(9, 1)]);
        assert!(p.mean() > 0.5 && p.mean() < 0.6, "{p:?}");
        assert!((p.strength() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn extreme_populations_keep_positive_parameters() {
        let all_up = vec![(20u64, 0u64); 500];
        let p = population_prior(&all_up);
        assert!(p.alpha > 0.0 && p.beta > 0.0 && p.alpha > 10.0 * p.beta, "{p:?}");
        assert!(p.strength() <= MAX_STRENGTH + 1e-9);
        let single_answers: Vec<(u64, u64)> = (0..100)
            .map(|i| if i % 3 == 0 { (1, 0) } else { (0, 1) })
            .collect();
        let p = population_prior(&single_answers);
        assert!((p.mean() - 0.34).abs() < 0.05, "{p:?}");
        assert!(p.strength() <= DEFAULT_STRENGTH + 1e-9);
    }

    #[test]
    fn posterior_adds_counts() {
        let p = BetaPrior {
            alpha: 3.0,
            beta: 2.0,
        }
        .posterior(4, 1);
        assert_eq!(
            p,
            BetaPrior {
                alpha: 7.0,
                beta: 3.0
            }
        );
    }
}
