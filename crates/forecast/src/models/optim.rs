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

/// Most points an objective is asked to evaluate in one call: the
/// speculative step below asks for four, and batched objectives run that
/// many independent recursions in one pass over the data.
pub(crate) const MAX_BATCH: usize = 4;

/// Minimises `f` from `start` with an initial simplex of size `step`;
/// returns the best point and its value.
///
/// `f(points, values)` writes the objective of each point into `values`
/// (at most [`MAX_BATCH`] points per call). The objectives here are
/// recursions over a series whose cost is the latency of one step after
/// another, not arithmetic, so a pass that carries several parameter sets
/// side by side costs little more than a pass with one. Each iteration
/// therefore evaluates the reflected point together with the expanded and
/// both contracted points it may need next, and then follows exactly the
/// sequential algorithm: it keeps the same points, counts the same
/// evaluations against `max_evals`, and returns the same result, bit for
/// bit, as evaluating one point at a time.
pub(crate) fn nelder_mead<F>(mut f: F, start: &[f64], step: f64, max_evals: usize) -> (Vec<f64>, f64)
where
    F: FnMut(&[&[f64]], &mut [f64]),
{
    let dim = start.len();
    // A non-finite objective is treated as the worst possible point.
    let mut eval = |points: &[&[f64]], values: &mut [f64]| {
        for (p, v) in points.chunks(MAX_BATCH).zip(values.chunks_mut(MAX_BATCH)) {
            f(p, v);
        }
        for v in values.iter_mut().filter(|v| !v.is_finite()) {
            *v = f64::MAX;
        }
    };
    if dim == 0 {
        let mut v = [0.0];
        eval(&[start], &mut v);
        return (Vec::new(), v[0]);
    }

    let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(dim + 1);
    simplex.push(start.to_vec());
    for i in 0..dim {
        let mut p = start.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values = vec![0.0; dim + 1];
    {
        let points: Vec<&[f64]> = simplex.iter().map(Vec::as_slice).collect();
        eval(&points, &mut values);
    }
    let mut evals = dim + 1;
    let mut order: Vec<usize> = (0..=dim).collect();
    let mut centroid = vec![0.0; dim];
    // Reflected, expanded, outside- and inside-contracted points.
    let mut trials = [vec![0.0; dim], vec![0.0; dim], vec![0.0; dim], vec![0.0; dim]];
    const COEFFICIENTS: [f64; 4] = [1.0, 2.0, 0.5, -0.5];
    let mut trial_values = [0.0; 4];
    let mut shrink_values = vec![0.0; dim];

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
        for (trial, coef) in trials.iter_mut().zip(COEFFICIENTS) {
            for ((o, c), w) in trial.iter_mut().zip(&centroid).zip(&simplex[worst]) {
                *o = c + coef * (c - w);
            }
        }
        {
            let [a, b, c, d] = &trials;
            eval(&[a, b, c, d], &mut trial_values);
        }
        let [reflected, expanded, outside, inside] = trial_values;
        evals += 1;
        if reflected < values[best] {
            evals += 1;
            let keep = if expanded < reflected { 1 } else { 0 };
            simplex[worst].copy_from_slice(&trials[keep]);
            values[worst] = trial_values[keep];
        } else if reflected < values[second] {
            simplex[worst].copy_from_slice(&trials[0]);
            values[worst] = reflected;
        } else {
            evals += 1;
            let (keep, contracted) = if reflected < values[worst] {
                (2, outside)
            } else {
                (3, inside)
            };
            if contracted < values[worst].min(reflected) {
                simplex[worst].copy_from_slice(&trials[keep]);
                values[worst] = contracted;
            } else {
                // Shrink towards the best point.
                let best_p = simplex[best].clone();
                for &idx in &order[1..] {
                    for (x, b) in simplex[idx].iter_mut().zip(&best_p) {
                        *x = b + 0.5 * (*x - b);
                    }
                }
                let points: Vec<&[f64]> = order[1..].iter().map(|&idx| simplex[idx].as_slice()).collect();
                eval(&points, &mut shrink_values);
                for (&idx, v) in order[1..].iter().zip(&shrink_values) {
                    values[idx] = *v;
                }
                evals += dim;
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
            |points, values| {
                for (p, v) in points.iter().zip(values.iter_mut()) {
                    *v = (p[0] - 1.0).powi(2) + 3.0 * (p[1] + 2.0).powi(2) + 0.5;
                }
            },
            &[0.0, 0.0],
            INITIAL_STEP,
            MAX_EVALUATIONS,
        );
        assert!((x[0] - 1.0).abs() < 1e-2 && (x[1] + 2.0).abs() < 1e-2);
        assert!((v - 0.5).abs() < 1e-4);
    }
}
