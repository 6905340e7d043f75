//! Numerical edge cases: clear errors or warnings, never NaN, never a panic.

mod common;

use common::{normal, rng, spec};
use sprout_causal::{
    estimate_effect, refute, CausalError, Column, EffectSpec, Estimand, Graph, Method, Options, Table, Value,
};

const ESTIMATING: [Method; 6] = [
    Method::Naive,
    Method::Regression,
    Method::PsStratification,
    Method::PsMatching,
    Method::Ipw,
    Method::Aipw,
];

/// Runs every method and estimand; each must give a finite answer or a
/// typed error. Returns the successful estimates' warnings.
fn all_methods_are_safe(table: &Table, s: &EffectSpec) -> Vec<(Method, Vec<String>)> {
    let mut out = Vec::new();
    for method in ESTIMATING {
        for estimand in [Estimand::Ate, Estimand::Att, Estimand::Atc] {
            let opts = Options {
                estimand,
                bootstrap: Some(30),
                ..Options::default()
            };
            if let Ok(est) = estimate_effect(table, s, method, &opts) {
                assert!(est.estimate.is_finite(), "{method:?}");
                assert!(est.ci.0.is_finite() && est.ci.1.is_finite(), "{method:?}");
                assert!(est.std_error.is_none_or(f64::is_finite));
                out.push((method, est.warnings));
            }
            if estimand == Estimand::Ate {
                if let Ok(refs) = refute(table, s, method, &opts) {
                    assert!(refs.iter().all(|r| r.new_effect.is_finite()));
                }
            }
        }
    }
    out
}

fn base(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut r = rng(seed);
    let x: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
    let t: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, xi)| f64::from(u8::from(xi + 0.5 * ((i % 7) as f64 - 3.0) > 0.0)))
        .collect();
    let y: Vec<f64> = x
        .iter()
        .zip(&t)
        .map(|(xi, ti)| xi + ti + 0.5 * normal(&mut r))
        .collect();
    (x, t, y)
}

#[test]
fn constant_column_is_dropped_with_a_warning() {
    let (x, t, y) = base(80, 1);
    let table = Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("c", vec![2.5; 80]),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let s = spec("t", "y", &["x", "c"]);
    let est = estimate_effect(&table, &s, Method::Regression, &Options::default()).unwrap();
    assert!(est
        .warnings
        .iter()
        .any(|w| w.contains("`c`") && w.contains("constant")));
    assert_eq!(est.diagnostics.covariates, vec!["x"]);
    assert!(!all_methods_are_safe(&table, &s).is_empty());
}

#[test]
fn collinear_column_is_dropped_and_does_not_change_the_answer() {
    let (x, t, y) = base(80, 2);
    let x2: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
    let table = Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("x2", x2),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let both = estimate_effect(
        &table,
        &spec("t", "y", &["x", "x2"]),
        Method::Regression,
        &Options::default(),
    )
    .unwrap();
    let one = estimate_effect(
        &table,
        &spec("t", "y", &["x"]),
        Method::Regression,
        &Options::default(),
    )
    .unwrap();
    assert!((both.estimate - one.estimate).abs() < 1e-9);
    assert!(both
        .warnings
        .iter()
        .any(|w| w.contains("`x2`") && w.contains("linear combination")));
    all_methods_are_safe(&table, &spec("t", "y", &["x", "x2"]));
}

#[test]
fn perfect_separation_is_detected_and_never_yields_nan() {
    let n = 60;
    let mut r = rng(3);
    let x: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
    let t: Vec<f64> = x.iter().map(|v| f64::from(u8::from(*v > 0.0))).collect();
    let y: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + b + normal(&mut r)).collect();
    let table = Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let s = spec("t", "y", &["x"]);
    let est = estimate_effect(&table, &s, Method::Ipw, &Options::default()).unwrap();
    assert!(est.diagnostics.propensity.as_ref().unwrap().separation);
    assert!(est.warnings.iter().any(|w| w.contains("perfectly predict")));
    let results = all_methods_are_safe(&table, &s);
    assert!(results.len() >= 10);
}

#[test]
fn one_treatment_level_is_a_typed_error() {
    let table = Table::new(vec![
        Column::numeric("t", vec![1.0; 10]),
        Column::numeric("y", (0..10).map(f64::from).collect()),
    ])
    .unwrap();
    for method in ESTIMATING {
        let err = estimate_effect(&table, &spec("t", "y", &[]), method, &Options::default()).unwrap_err();
        assert!(matches!(err, CausalError::OneTreatmentLevel { .. }), "{err}");
    }
}

#[test]
fn three_rows_is_too_few() {
    let table = Table::new(vec![
        Column::numeric("x", vec![0.1, 0.5, 0.9]),
        Column::numeric("t", vec![0.0, 1.0, 1.0]),
        Column::numeric("y", vec![1.0, 2.0, 3.0]),
    ])
    .unwrap();
    for method in ESTIMATING {
        let err = estimate_effect(&table, &spec("t", "y", &["x"]), method, &Options::default()).unwrap_err();
        assert!(matches!(err, CausalError::TooFewRows { .. }), "{err}");
    }
    let refs = refute(
        &table,
        &spec("t", "y", &["x"]),
        Method::Naive,
        &Options::default(),
    );
    assert!(refs.is_err());
}

#[test]
fn small_but_valid_regression_reports_too_few_rows() {
    // Two per arm but four model columns: regression needs more rows.
    let table = Table::new(vec![
        Column::numeric("a", vec![0.1, 0.5, 0.9, 0.3]),
        Column::numeric("b", vec![1.1, 0.2, 0.4, 0.8]),
        Column::numeric("t", vec![0.0, 1.0, 1.0, 0.0]),
        Column::numeric("y", vec![1.0, 2.0, 3.0, 1.5]),
    ])
    .unwrap();
    let err = estimate_effect(
        &table,
        &spec("t", "y", &["a", "b"]),
        Method::Regression,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CausalError::TooFewRows { .. }));
}

#[test]
fn treatment_identical_to_a_covariate_is_collinear() {
    let (_, t, y) = base(40, 4);
    let table = Table::new(vec![
        Column::numeric("copy", t.clone()),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let s = spec("t", "y", &["copy"]);
    let err = estimate_effect(&table, &s, Method::Regression, &Options::default()).unwrap_err();
    assert_eq!(err, CausalError::CollinearTreatment);
    all_methods_are_safe(&table, &s);
}

#[test]
fn categorical_covariates_and_multi_valued_text_treatment() {
    let n = 120;
    let mut r = rng(9);
    let mut region = Vec::new();
    let mut dose = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let reg = ["north", "south", "west"][i % 3];
        let level = ["none", "low", "high"][(i / 3 + i % 2) % 3];
        let shift = match reg {
            "north" => 0.0,
            "south" => 1.0,
            _ => -1.0,
        };
        let effect = match level {
            "high" => 2.0,
            "low" => 1.0,
            _ => 0.0,
        };
        region.push(reg.to_string());
        dose.push(level.to_string());
        y.push(format!("{}", shift + effect + 0.1 * normal(&mut r)));
    }
    let table = Table::new(vec![
        Column::infer("region", region),
        Column::infer("dose", dose),
        Column::infer("y", y),
    ])
    .unwrap();
    assert!(matches!(table.column("y"), Some(Column::Numeric { .. })));
    let s = EffectSpec {
        treated_value: Some(Value::from("high")),
        control_value: Some(Value::from("none")),
        ..spec("dose", "y", &["region"])
    };
    let est = estimate_effect(&table, &s, Method::Regression, &Options::default()).unwrap();
    assert!((est.estimate - 2.0).abs() < 0.1, "{}", est.estimate);
    assert_eq!(est.diagnostics.covariates, vec!["region=south", "region=west"]);
    assert_eq!(est.n, 80);
    assert!(est.warnings.iter().any(|w| w.contains("neither high nor none")));
    all_methods_are_safe(&table, &s);

    let missing = EffectSpec {
        treated_value: None,
        control_value: None,
        ..s.clone()
    };
    assert!(matches!(
        estimate_effect(&table, &missing, Method::Naive, &Options::default()),
        Err(CausalError::MissingTreatmentValues(_))
    ));
    let absent = EffectSpec {
        treated_value: Some(Value::from("max")),
        control_value: Some(Value::from("min")),
        ..s
    };
    assert!(matches!(
        estimate_effect(&table, &absent, Method::Naive, &Options::default()),
        Err(CausalError::TreatmentValueNotFound { .. })
    ));
}

#[test]
fn missing_values_drop_rows_with_a_warning() {
    let (mut x, t, mut y) = base(50, 5);
    x[3] = f64::NAN;
    y[7] = f64::INFINITY;
    let table = Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("t", t),
        Column::numeric("y", y),
    ])
    .unwrap();
    let est = estimate_effect(&table, &spec("t", "y", &["x"]), Method::Aipw, &Options::default()).unwrap();
    assert_eq!(est.n, 48);
    assert_eq!(est.diagnostics.rows_missing, 2);
    assert!(est.estimate.is_finite());
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (x, t, _) = base(20, 6);
    let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    let table = Table::new(vec![
        Column::numeric("x", x),
        Column::numeric("t", t),
        Column::categorical("y", words),
    ])
    .unwrap();
    assert_eq!(
        estimate_effect(&table, &spec("t", "y", &[]), Method::Naive, &Options::default()).unwrap_err(),
        CausalError::NonNumericColumn("y".into())
    );
    let opts = Options {
        level: 1.5,
        ..Options::default()
    };
    assert!(matches!(
        estimate_effect(&table, &spec("t", "x", &[]), Method::Naive, &opts),
        Err(CausalError::InvalidOption(_))
    ));
    assert!(matches!(
        Graph::from_edges(&[("a", "b"), ("b", "a")]),
        Err(CausalError::CyclicGraph(_))
    ));
    assert!(matches!(
        Table::new(vec![]).map(|t| estimate_effect(
            &t,
            &spec("t", "y", &[]),
            Method::Naive,
            &Options::default()
        )),
        Ok(Err(CausalError::UnknownColumn(_)))
    ));
}
