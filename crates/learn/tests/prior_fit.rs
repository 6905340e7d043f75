//! Population prior recovers a known Beta from simulated children.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use sprout_learn::population_prior;

fn simulate_children(alpha: f64, beta: f64, children: usize, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let population = Beta::new(alpha, beta).expect("positive parameters");
    (0..children)
        .map(|_| {
            let p = population.sample(&mut rng);
            let n = rng.random_range(3..40u64);
            let h = (0..n).filter(|_| rng.random_bool(p)).count() as u64;
            (h, n - h)
        })
        .collect()
}

#[test]
fn recovers_population_beta() {
    let data = simulate_children(6.0, 4.0, 3_000, 1);
    let prior = population_prior(&data);
    println!(
        "fitted {prior:?}: mean {:.3}, strength {:.2} (truth 0.6, 10)",
        prior.mean(),
        prior.strength()
    );
    assert!((prior.mean() - 0.6).abs() < 0.02);
    assert!(prior.strength() > 7.0 && prior.strength() < 14.0);
}

#[test]
fn shrinks_toward_uniform_with_few_children() {
    let few = population_prior(&simulate_children(6.0, 4.0, 3, 2));
    let many = population_prior(&simulate_children(6.0, 4.0, 3_000, 2));
    // Three children carry little weight: the prior stays close to Beta(1, 1).
    assert!(few.strength() < 4.0, "{few:?}");
    assert!((few.mean() - 0.5).abs() < (many.mean() - 0.5).abs() + 0.05);
}

#[test]
fn heterogeneous_population_gives_weak_prior() {
    let homogeneous = population_prior(&simulate_children(40.0, 40.0, 2_000, 3));
    let polarised = population_prior(&simulate_children(0.7, 0.7, 2_000, 3));
    assert!(homogeneous.strength() > 30.0, "{homogeneous:?}");
    assert!(polarised.strength() < 4.0, "{polarised:?}");
}
