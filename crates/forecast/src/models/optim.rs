//! Nelder–Mead simplex minimiser used to fit smoothing parameters.
//!
//! The objectives here are smooth, low-dimensional (at most four parameters)
//! and cheap, so a derivative-free simplex is simpler than gradients and
//! converges in a few hundred evaluations.

/// Upper bound on objective evaluations: enough for four parameters, and keeps a fit well under a millisecond.
pub(crate) const MAX_EVALUATIONS: usize = 400;

/// Stop when the simplex's objective spread falls below this fraction of the best value.
const RELATIVE_TOLERANCE: f64 = 1e-7;

/// Size of the initial simplex in the (unconstrained) parameter space for a cold start.
pub(crate) const INITIAL_STEP: f64 = 0.8;

/// Minimises `f` from `start` with an initial simplex of size `step`;
/// returns the best point and its value.
pub(crate) fn nelder_mead<F>(mut f: F, start: &[f64], step: f64, max_evals: usize) -> (Vec<f64>, f64)
where
    F: FnMut(&[f64]) -> f64,
{
    let dim = start.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        // A non-finite objective is treated as the worst possible point.
        if v.is_finite() {
            v
        } else {
            f64::MAX
        }
    };
    if dim == 0 {
        let v = eval(start, &mut evals);
        return (Vec::new(), v);
    }

    let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(dim + 1);
    simplex.push(start.to_vec());
    for i in 0..dim {
        let mut p = start.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values: Vec<f64> = simplex.iter().map(|p| eval(p, &mut evals)).collect();
    let mut order: Vec<usize> = (0..=dim).collect();
    let mut centroid = vec![0.0; dim];
    let mut trial = vec![0.0; dim];
    let mut trial2 = vec![0.0; dim];

    while evals < max_evals {
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let (best, worst, second) = (order[0], order[dim], order[dim - 1]);
        let spread = values[worst] - values[best];
        if spread <= RELATIVE_TOLERANCE * values[best].abs().max(1e-12) {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &idx in &order[..dim] {
            for (c, x) in centroid.iter_mut().zip(&simplex[idx]) {
                *c += x / dim as f64;
            }
        }
        let point = |coef: f64, out: &mut Vec<f64>, worst_p: &[f64]| {
            for ((o, c), w) in out.iter_mut().zip(&centroid).zip(worst_p) {
                *o = c + coef * (c - w);
            }
        };
        point(1.0, &mut trial, &simplex[worst]);
        let reflected = eval(&trial, &mut evals);
        if reflected < values[best] {
            point(2.0, &mut trial2, &simplex[worst]);
            let expanded = eval(&trial2, &mut evals);
            if expanded < reflected {
                simplex[worst].copy_from_slice(&trial2);
                values[worst] = expanded;
            } else {
                simplex[worst].copy_from_slice(&trial);
                values[worst] = reflected;
            }
        } else if reflected < values[second] {
            simplex[worst].copy_from_slice(&trial);
            values[worst] = reflected;
        } else {
            let coef = if reflected < values[worst] { 0.5 } else { -0.5 };
            point(coef, &mut trial2, &simplex[worst]);
            let contracted = eval(&trial2, &mut evals);
            if contracted < values[worst].min(reflected) {
                simplex[worst].copy_from_slice(&trial2);
                values[worst] = contracted;
            } else {
                // Shrink towards the best point.
                let best_p = simplex[best].clone();
                for &idx in &order[1..] {
                    for (x, b) in simplex[idx].iter_mut().zip(&best_p) {
                        *x = b + 0.5 * (*x - b);
                    }
                    values[idx] = eval(&simplex[idx], &mut evals);
                }
            }
        }
    }
    let best = (0..=dim)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    (simplex[best].clone(), values[best])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quadratic_minimum() {
        let (x, v) = nelder_mead(
            |p| (p[0] - 1.0).powi(2) + 3.0 * (p[1] + 2.0).powi(2) + 0.5,
            &[0.0, 0.0],
            INITIAL_STEP,
            MAX_EVALUATIONS,
        );
        assert!((x[0] - 1.0).abs() < 1e-2 && (x[1] + 2.0).abs() < 1e-2);
        assert!((v - 0.5).abs() < 1e-4);
    }
}
