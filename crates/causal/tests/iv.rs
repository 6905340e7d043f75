//! Instrumental variables with an unobserved confounder.

mod common;

use common::{logistic, normal, rng};
use rand::Rng;
use sprout_causal::{
    estimate_effect, find_instruments, CausalError, Column, EffectSpec, Graph, Method, Options, Table,
};

const TRUE_EFFECT: f64 = 2.0;

/// z -> t, hidden u -> t and u -> y, t -> y; u is not in the table.
fn iv_table(n: usize, seed: u64, binary_z: bool) -> Table {
    let mut r = rng(seed);
    let (mut z, mut t, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let zi = if binary_z {
            f64::from(u8::from(r.random::<f64>() < 0.5))
        } else {
            normal(&mut r)
        };
        let u = normal(&mut r);
        let ti = f64::from(u8::from(r.random::<f64>() < logistic(-0.5 + 2.0 * zi + 1.5 * u)));
        z.push(zi);
        t.push(ti);
        y.push(TRUE_EFFECT * ti + 1.5 * u + normal(&mut r));
    }
    Table::new(vec![
        Column::numeric("z", z),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .expect("equal columns")
}

#[test]
fn two_stage_least_squares_recovers_truth_where_regression_is_biased() {
    for binary in [true, false] {
        let table = iv_table(3000, 4, binary);
        let spec = EffectSpec {
            treatment: "t".into(),
            outcome: "y".into(),
            instruments: vec!["z".into()],
            ..EffectSpec::default()
        };
        let reg = estimate_effect(&table, &spec, Method::Regression, &Options::default()).unwrap();
        assert!(
            reg.ci.0 > TRUE_EFFECT + 0.5,
            "regression should be biased upward: {:?}",
            reg.ci
        );
        let iv = estimate_effect(&table, &spec, Method::Iv, &Options::default()).unwrap();
        assert_eq!(iv.method, "iv");
        assert!(
            iv.ci.0 <= TRUE_EFFECT && TRUE_EFFECT <= iv.ci.1,
            "iv {} {:?}",
            iv.estimate,
            iv.ci
        );
        assert!(iv.diagnostics.first_stage_f.unwrap() > 10.0);
    }
}

#[test]
fn wald_ratio_equals_two_stage_least_squares_for_binary_instrument() {
    let table = iv_table(500, 8, true);
    let col = |name: &str| table.column(name).unwrap().as_numeric().unwrap().to_vec();
    let (z, t, y) = (col("z"), col("t"), col("y"));
    let mean_by = |v: &[f64], level: f64| {
        let sel: Vec<f64> = v
            .iter()
            .zip(&z)
            .filter(|(_, zi)| **zi == level)
            .map(|(x, _)| *x)
            .collect();
        sel.iter().sum::<f64>() / sel.len() as f64
    };
    let wald = (mean_by(&y, 1.0) - mean_by(&y, 0.0)) / (mean_by(&t, 1.0) - mean_by(&t, 0.0));
    let spec = EffectSpec {
        treatment: "t".into(),
        outcome: "y".into(),
        instruments: vec!["z".into()],
        ..EffectSpec::default()
    };
    let iv = estimate_effect(&table, &spec, Method::Iv, &Options::default()).unwrap();
    assert!((iv.estimate - wald).abs() < 1e-9);
}

#[test]
fn instruments_are_found_in_the_graph_and_checked() {
    let table = iv_table(2000, 6, true);
    let g = Graph::from_edges(&[("z", "t"), ("u", "t"), ("u", "y"), ("t", "y")]).unwrap();
    assert_eq!(
        find_instruments(&g, "t", "y", &["z", "t", "y"]).unwrap(),
        vec!["z"]
    );
    let spec = EffectSpec {
        treatment: "t".into(),
        outcome: "y".into(),
        graph: Some(g.clone()),
        ..EffectSpec::default()
    };
    let iv = estimate_effect(&table, &spec, Method::Iv, &Options::default()).unwrap();
    assert_eq!(iv.diagnostics.instruments, vec!["z"]);
    assert!(matches!(
        estimate_effect(&table, &spec, Method::Regression, &Options::default()),
        Err(CausalError::NotIdentifiable(_))
    ));
    // An "instrument" that also drives the outcome is rejected.
    let bad = Graph::from_edges(&[("z", "t"), ("z", "y"), ("u", "t"), ("u", "y"), ("t", "y")]).unwrap();
    let spec = EffectSpec {
        graph: Some(bad),
        instruments: vec!["z".into()],
        ..spec
    };
    assert!(matches!(
        estimate_effect(&table, &spec, Method::Iv, &Options::default()),
        Err(CausalError::InvalidInstrument { .. })
    ));
}

#[test]
fn constant_or_irrelevant_instruments_are_reported() {
    let n = 200;
    let mut r = rng(1);
    let noise: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
    let t: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
    let y: Vec<f64> = t.iter().map(|ti| ti + normal(&mut r)).collect();
    let table = Table::new(vec![
        Column::numeric("flat", vec![3.0; n]),
        Column::numeric("noise", noise),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let spec = EffectSpec {
        treatment: "t".into(),
        outcome: "y".into(),
        instruments: vec!["flat".into()],
        ..EffectSpec::default()
    };
    // A constant instrument is dropped, which leaves none.
    let err = estimate_effect(&table, &spec, Method::Iv, &Options::default()).unwrap_err();
    assert_eq!(err, CausalError::NoInstrument);
    // Pure noise is kept but flagged as weak.
    let spec = EffectSpec {
        instruments: vec!["noise".into()],
        ..spec
    };
    match estimate_effect(&table, &spec, Method::Iv, &Options::default()) {
        Ok(est) => {
            assert!(est.estimate.is_finite());
            assert!(est.warnings.iter().any(|w| w.contains("weak instrument")));
        }
        Err(e) => assert!(matches!(e, CausalError::WeakInstrument { .. })),
    }
}
