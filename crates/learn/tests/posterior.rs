//! P(candidate better) from the closed form against known cases and a seeded Monte Carlo.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use sprout_learn::{prob_candidate_better, ArmStats};

const DRAWS: usize = 50_000;

fn arm(answered: u64, helpful: u64) -> ArmStats {
    ArmStats {
        recommendations: answered,
        answered,
        helpful,
        ..Default::default()
    }
}

fn monte_carlo(control: &ArmStats, candidate: &ArmStats, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let post =
        |s: &ArmStats| Beta::new(1.0 + s.helpful as f64, 1.0 + s.unhelpful() as f64).expect("positive");
    let (c, t) = (post(control), post(candidate));
    let wins = (0..DRAWS)
        .filter(|_| t.sample(&mut rng) > c.sample(&mut rng))
        .count();
    wins as f64 / DRAWS as f64
}

#[test]
fn equal_data_is_even() {
    for (n, h) in [(0, 0), (10, 3), (250, 125), (1_000, 700)] {
        let p = prob_candidate_better(&arm(n, h), &arm(n, h));
        assert!((p - 0.5).abs() < 0.01, "n={n} h={h}: {p}");
    }
}

#[test]
fn strongly_better_and_worse() {
    assert!(prob_candidate_better(&arm(200, 80), &arm(200, 140)) > 0.99);
    assert!(prob_candidate_better(&arm(200, 140), &arm(200, 80)) < 0.01);
    // Beta(6, 1) against a uniform: P = E[Beta(6, 1)] = 6/7 exactly.
    assert!((prob_candidate_better(&arm(0, 0), &arm(5, 5)) - 6.0 / 7.0).abs() < 1e-12);
}

#[test]
fn closed_form_matches_monte_carlo() {
    // Monte Carlo standard error with 50,000 draws is at most 0.0023; the tolerance is over 4 of them.
    let cases = [
        (arm(20, 9), arm(22, 13)),
        (arm(100, 45), arm(100, 52)),
        (arm(60, 40), arm(300, 170)),
        (arm(5, 1), arm(7, 6)),
        (arm(500, 260), arm(480, 240)),
    ];
    for (i, (c, t)) in cases.iter().enumerate() {
        let exact = prob_candidate_better(c, t);
        let mc = monte_carlo(c, t, 10 + i as u64);
        println!("case {i}: closed form {exact:.5}, Monte Carlo {mc:.5}");
        assert!((exact - mc).abs() < 0.01, "case {i}: {exact} vs {mc}");
    }
}

#[test]
fn symmetric_and_monotone() {
    let (c, t) = (arm(80, 30), arm(90, 50));
    let forward = prob_candidate_better(&c, &t);
    let backward = prob_candidate_better(&t, &c);
    assert!((forward + backward - 1.0).abs() < 1e-10);
    let mut prev = 0.0;
    for h in 0..=90 {
        let p = prob_candidate_better(&c, &arm(90, h));
        assert!(p >= prev - 1e-12, "not monotone at {h}");
        prev = p;
    }
}
