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
/// another, so a pass that carries two parameter sets side by side costs
/// about as much as a pass with one. Each iteration therefore evaluates the
/// reflected point together with the inside contraction, the step the
/// simplex takes most often next (about six iterations in ten on the
/// stress and activity series); only when it needs the expanded or the
/// outside-contracted point instead is that evaluated in a second pass.
/// Otherwise this is the sequential algorithm: it keeps the same points,
/// counts the same evaluations against `max_evals`, and returns the same
/// result, bit for bit, as evaluating one point at a time.
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
    // Reflected, inside-contracted, and (when needed) expanded or
    // outside-contracted points.
    let mut reflected_p = vec![0.0; dim];
    let mut inside_p = vec![0.0; dim];
    let mut other_p = vec![0.0; dim];
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
        let point = |coef: f64, out: &mut Vec<f64>| {
            for ((o, c), w) in out.iter_mut().zip(&centroid).zip(&simplex[worst]) {
                *o = c + coef * (c - w);
            }
        };
        point(1.0, &mut reflected_p);
        point(-0.5, &mut inside_p);
        let mut pair = [0.0; 2];
        eval(&[&reflected_p, &inside_p], &mut pair);
        let [reflected, inside] = pair;
        evals += 1;
        if reflected < values[best] {
            evals += 1;
            point(2.0, &mut other_p);
            let mut expanded = [0.0];
            eval(&[&other_p], &mut expanded);
            if expanded[0] < reflected {
                simplex[worst].copy_from_slice(&other_p);
                values[worst] = expanded[0];
            } else {
                simplex[worst].copy_from_slice(&reflected_p);
                values[worst] = reflected;
            }
        } else if reflected < values[second] {
            simplex[worst].copy_from_slice(&reflected_p);
            values[worst] = reflected;
        } else {
            evals += 1;
            let (contracted_p, contracted) = if reflected < values[worst] {
                point(0.5, &mut other_p);
                let mut outside = [0.0];
                eval(&[&other_p], &mut outside);
                (&other_p, outside[0])
            } else {
                (&inside_p, inside)
            };
            if contracted < values[worst].min(reflected) {
                simplex[worst].copy_from_slice(contracted_p);
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
