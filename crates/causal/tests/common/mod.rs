//! Shared test helpers: seeded data generators and a tiny CSV reader.
#![allow(dead_code)]
// Index loops mirror the matrix formulas.
#![allow(clippy::needless_range_loop)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_causal::{Column, EffectSpec, Table};

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn logistic(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// True effect of the confounded simulation.
pub const TRUE_ATE: f64 = -0.15;

/// X drives both the chance of treatment and the outcome; the true effect
/// of T on Y is `TRUE_ATE` for everyone.
pub fn confounded(n: usize, seed: u64) -> Table {
    let mut r = rng(seed);
    let mut x = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let xi = normal(&mut r);
        let ti = if r.random::<f64>() < logistic(0.8 * xi) {
            1.0
        } else {
            0.0
        };
        let yi = TRUE_ATE * ti + 0.5 * xi + 0.3 * normal(&mut r);
        x.push(xi);
        t.push(ti);
        y.push(yi);
    }
    Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .expect("valid table")
}

pub fn spec(treatment: &str, outcome: &str, causes: &[&str]) -> EffectSpec {
    EffectSpec {
        treatment: treatment.into(),
        outcome: outcome.into(),
        common_causes: causes.iter().map(|s| s.to_string()).collect(),
        ..EffectSpec::default()
    }
}

/// Reads a header-first CSV with plain comma-separated cells into columns
/// inferred as numeric or categorical.
pub fn read_csv(path: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).expect("test data present");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, cell) in line.split(',').enumerate() {
            cols[c].push(cell.trim().to_string());
        }
    }
    header.into_iter().zip(cols).collect()
}

pub fn table_from(cols: Vec<(String, Vec<String>)>) -> Table {
    Table::new(
        cols.into_iter()
            .map(|(name, values)| Column::infer(name, values))
            .collect(),
    )
    .expect("valid table")
}

/// Solves `A x = b` by Gauss–Jordan elimination with partial pivoting.
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .expect("a row to pivot on");
        a.swap(c, p);
        b.swap(c, p);
        for r in 0..n {
            if r != c {
                let f = a[r][c] / a[c][c];
                for k in c..n {
                    a[r][k] -= f * a[c][k];
                }
                b[r] -= f * b[c];
            }
        }
    }
    (0..n).map(|i| b[i] / a[i][i]).collect()
}

pub fn inverse(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let cols: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let e: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i == j))).collect();
            solve(a.to_vec(), e)
        })
        .collect();
    (0..n).map(|i| (0..n).map(|j| cols[j][i]).collect()).collect()
}
