//! Partial pooling: what worked for other children informs a child with few days.
//!
//! The population effect is a random-effects mean over children (DerSimonian & Laird
//! 1986): each child's estimate is weighted by 1 / (its variance + the between-child
//! variance τ²). A child's estimate is then shrunk toward it by the normal-normal
//! posterior (empirical Bayes): a precise child estimate barely moves, a vague one moves
//! most of the way, and its interval narrows only as far as the population justifies.

use serde::Serialize;

/// z for a two-sided 95% normal interval.
const Z95: f64 = 1.959_963_984_540_054;

/// One estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub effect: f64,
    pub std_error: f64,
}

impl Estimate {
    pub fn ci95(&self) -> [f64; 2] {
        [
            self.effect - Z95 * self.std_error,
            self.effect + Z95 * self.std_error,
        ]
    }
}

/// The population effect across children.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Population {
    pub mean: Estimate,
    /// Between-child variance of the true effects.
    pub tau2: f64,
    pub children: usize,
}

/// Random-effects pooling of per-child estimates; `None` with fewer than two usable ones.
pub fn pool(estimates: &[Estimate]) -> Option<Population> {
    let usable: Vec<&Estimate> = estimates
        .iter()
        .filter(|e| e.effect.is_finite() && e.std_error.is_finite() && e.std_error > 0.0)
        .collect();
    if usable.len() < 2 {
        return None;
    }
    let weights: Vec<f64> = usable.iter().map(|e| 1.0 / (e.std_error * e.std_error)).collect();
    let sum_w: f64 = weights.iter().sum();
    let fixed = usable
        .iter()
        .zip(&weights)
        .map(|(e, w)| w * e.effect)
        .sum::<f64>()
        / sum_w;
    let q: f64 = usable
        .iter()
        .zip(&weights)
        .map(|(e, w)| w * (e.effect - fixed).powi(2))
        .sum();
    let c = sum_w - weights.iter().map(|w| w * w).sum::<f64>() / sum_w;
    let df = (usable.len() - 1) as f64;
    let tau2 = if c > 0.0 { ((q - df) / c).max(0.0) } else { 0.0 };
    let random: Vec<f64> = usable
        .iter()
        .map(|e| 1.0 / (e.std_error * e.std_error + tau2))
        .collect();
    let sum_r: f64 = random.iter().sum();
    let mean = usable.iter().zip(&random).map(|(e, w)| w * e.effect).sum::<f64>() / sum_r;
    Some(Population {
        mean: Estimate {
            effect: mean,
            std_error: (1.0 / sum_r).sqrt(),
        },
        tau2,
        children: usable.len(),
    })
}

/// A child's estimate shrunk toward the population (normal-normal posterior).
pub fn shrink(child: Estimate, population: &Population) -> Estimate {
    // Prior: the population mean with the between-child spread plus the uncertainty of
    // the mean itself.
    let prior_var = population.tau2 + population.mean.std_error.powi(2);
    let child_var = child.std_error.powi(2);
    if prior_var <= 0.0 {
        return population.mean;
    }
    let precision = 1.0 / prior_var + 1.0 / child_var;
    let effect = (population.mean.effect / prior_var + child.effect / child_var) / precision;
    Estimate {
        effect,
        std_error: (1.0 / precision).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_children_pool_to_their_common_effect_with_no_spread() {
        let all = vec![
            Estimate {
                effect: -0.1,
                std_error: 0.02
            };
            5
        ];
        let population = pool(&all).expect("pooled");
        assert!((population.mean.effect + 0.1).abs() < 1e-12);
        assert_eq!(population.tau2, 0.0);
        assert!((population.mean.std_error - 0.02 / 5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn vague_children_move_further_toward_the_population() {
        let population = Population {
            mean: Estimate {
                effect: -0.08,
                std_error: 0.01,
            },
            tau2: 0.0004,
            children: 8,
        };
        let precise = shrink(
            Estimate {
                effect: 0.0,
                std_error: 0.005,
            },
            &population,
        );
        let vague = shrink(
            Estimate {
                effect: 0.0,
                std_error: 0.1,
            },
            &population,
        );
        assert!(precise.effect > -0.02, "{precise:?}");
        assert!(vague.effect < -0.07, "{vague:?}");
        assert!(vague.std_error < 0.1);
    }

    #[test]
    fn too_few_children_do_not_pool() {
        assert!(pool(&[Estimate {
            effect: 1.0,
            std_error: 1.0
        }])
        .is_none());
        assert!(pool(&[
            Estimate {
                effect: f64::NAN,
                std_error: 1.0
            },
            Estimate {
                effect: 1.0,
                std_error: 0.0
            }
        ])
        .is_none());
    }
}
