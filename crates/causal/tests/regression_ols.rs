//! Regression adjustment against the closed-form OLS answer.

// Index loops mirror the matrix formulas being checked.
#![allow(clippy::needless_range_loop)]

mod common;

use common::{inverse, solve};

use sprout_causal::{estimate_effect, Column, EffectSpec, Method, Options, Table};

#[test]
fn regression_matches_normal_equations() {
    let x1 = vec![
        0.3, -1.2, 2.2, 0.7, -0.4, 1.9, -2.1, 0.05, 1.1, -0.8, 0.6, -1.5, 2.8, 0.2,
    ];
    let x2 = vec![
        5.0, 3.0, 4.5, 6.1, 2.2, 3.3, 4.8, 5.5, 1.9, 2.7, 3.9, 4.1, 6.6, 5.2,
    ];
    let t = vec![
        1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0,
    ];
    let y = vec![
        2.1, -0.5, 3.9, 2.2, 0.4, 3.1, -1.8, 0.9, 2.4, -0.2, 1.7, -0.9, 5.0, 1.3,
    ];
    let n = y.len();
    let rows: Vec<Vec<f64>> = (0..n).map(|i| vec![1.0, t[i], x1[i], x2[i]]).collect();
    let mut xtx = vec![vec![0.0; 4]; 4];
    let mut xty = vec![0.0; 4];
    for (r, yi) in rows.iter().zip(&y) {
        for a in 0..4 {
            xty[a] += r[a] * yi;
            for b in 0..4 {
                xtx[a][b] += r[a] * r[b];
            }
        }
    }
    let beta = solve(xtx.clone(), xty);
    // HC3 by its definition.
    let inv = inverse(&xtx);
    let mut meat = vec![vec![0.0; 4]; 4];
    for (r, yi) in rows.iter().zip(&y) {
        let e = yi - (0..4).map(|a| r[a] * beta[a]).sum::<f64>();
        let h: f64 = (0..4)
            .map(|a| (0..4).map(|b| r[a] * inv[a][b] * r[b]).sum::<f64>())
            .sum();
        let w = e * e / ((1.0 - h) * (1.0 - h));
        for a in 0..4 {
            for b in 0..4 {
                meat[a][b] += w * r[a] * r[b];
            }
        }
    }
    let mut var_t = 0.0;
    for a in 0..4 {
        for b in 0..4 {
            var_t += inv[1][a] * meat[a][b] * inv[b][1];
        }
    }

    let table = Table::new(vec![
        Column::numeric("x1", x1),
        Column::numeric("x2", x2),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let spec = EffectSpec {
        treatment: "t".into(),
        outcome: "y".into(),
        common_causes: vec!["x1".into(), "x2".into()],
        ..EffectSpec::default()
    };
    let est = estimate_effect(&table, &spec, Method::Regression, &Options::default()).unwrap();
    assert!(
        (est.estimate - beta[1]).abs() < 1e-9,
        "{} vs {}",
        est.estimate,
        beta[1]
    );
    let se = est.std_error.unwrap();
    assert!((se - var_t.sqrt()).abs() < 1e-9, "{se} vs {}", var_t.sqrt());
    assert_eq!(est.method, "regression");
    assert_eq!((est.n, est.n_treated, est.n_control), (14, 7, 7));
}
