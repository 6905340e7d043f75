//! Back-door identification on textbook graphs.

mod common;

use sprout_causal::{
    estimate_effect, identify_backdoor, is_backdoor_set, CausalError, Column, EffectSpec, Graph, Method,
    Options, Table,
};

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn confounder_is_adjusted() {
    let g = Graph::from_edges(&[("x", "t"), ("x", "y"), ("t", "y")]).unwrap();
    let set = identify_backdoor(&g, "t", "y", &["x", "t", "y"]).unwrap();
    assert_eq!(set.adjustment, vec!["x"]);
    assert_eq!(set.minimal, vec!["x"]);
}

#[test]
fn mediator_is_not_adjusted() {
    let g = Graph::from_edges(&[("x", "t"), ("x", "y"), ("t", "m"), ("m", "y")]).unwrap();
    let set = identify_backdoor(&g, "t", "y", &["x", "t", "y", "m"]).unwrap();
    assert_eq!(set.adjustment, vec!["x"]);
    assert!(!is_backdoor_set(&g, "t", "y", &["x", "m"]).unwrap());
}

#[test]
fn collider_is_not_adjusted() {
    let g = Graph::from_edges(&[("t", "y"), ("t", "c"), ("y", "c")]).unwrap();
    let set = identify_backdoor(&g, "t", "y", &["t", "y", "c"]).unwrap();
    assert!(set.adjustment.is_empty());
    assert!(!is_backdoor_set(&g, "t", "y", &["c"]).unwrap());
}

#[test]
fn m_bias_variable_is_not_adjusted() {
    let g = Graph::from_edges(&[("u1", "t"), ("u1", "m"), ("u2", "m"), ("u2", "y"), ("t", "y")]).unwrap();
    let set = identify_backdoor(&g, "t", "y", &["t", "y", "m"]).unwrap();
    assert!(set.adjustment.is_empty(), "{:?}", set.adjustment);
    assert!(!is_backdoor_set(&g, "t", "y", &["m"]).unwrap());
    // With u1 observed too, {u1} or {u1, m} both work; the search keeps m
    // out because it is not an ancestor of t or y.
    let set = identify_backdoor(&g, "t", "y", &["t", "y", "m", "u1"]).unwrap();
    assert!(!set.adjustment.contains(&"m".to_string()));
}

#[test]
fn unobserved_confounder_is_not_identifiable() {
    let g = Graph::from_edges(&[("u", "t"), ("u", "y"), ("t", "y"), ("x", "t")]).unwrap();
    let err = identify_backdoor(&g, "t", "y", &["t", "y", "x"]).unwrap_err();
    match err {
        CausalError::NotIdentifiable(msg) => assert!(msg.contains('u'), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn instrument_only_variable_is_trimmed_and_minimal_set_reported() {
    // z only affects t; w1 -> w2 -> t with w1 -> y: {w1} or {w2} suffice.
    let g = Graph::from_edges(&[
        ("z", "t"),
        ("w1", "w2"),
        ("w2", "t"),
        ("w1", "y"),
        ("p", "y"),
        ("t", "y"),
    ])
    .unwrap();
    let set = identify_backdoor(&g, "t", "y", &["t", "y", "z", "w1", "w2", "p"]).unwrap();
    assert!(!set.adjustment.contains(&"z".to_string()));
    assert!(set.adjustment.contains(&"w1".to_string()));
    assert_eq!(set.minimal.len(), 1);
    let adj: Vec<&str> = set.adjustment.iter().map(String::as_str).collect();
    assert!(is_backdoor_set(&g, "t", "y", &adj).unwrap());
}

#[test]
fn estimate_uses_the_graph_and_refuses_when_unidentifiable() {
    let table = common::confounded(400, 21);
    let g = Graph::from_edges(&[("x", "t"), ("x", "y"), ("t", "y")]).unwrap();
    let spec = EffectSpec {
        treatment: "t".into(),
        outcome: "y".into(),
        graph: Some(g),
        ..EffectSpec::default()
    };
    let est = estimate_effect(&table, &spec, Method::Regression, &Options::default()).unwrap();
    assert_eq!(sorted(est.diagnostics.adjustment_set), vec!["x"]);

    let g = Graph::from_edges(&[("x", "t"), ("x", "y"), ("t", "y"), ("u", "t"), ("u", "y")]).unwrap();
    let spec = EffectSpec {
        graph: Some(g),
        ..spec
    };
    let err = estimate_effect(&table, &spec, Method::Aipw, &Options::default()).unwrap_err();
    assert!(matches!(err, CausalError::NotIdentifiable(_)));
}

#[test]
fn shortcut_with_missing_column_is_a_clear_error() {
    let table = Table::new(vec![
        Column::numeric("t", vec![0.0, 1.0, 0.0, 1.0]),
        Column::numeric("y", vec![0.0, 1.0, 0.0, 1.0]),
    ])
    .unwrap();
    let spec = common::spec("t", "y", &["age"]);
    let err = estimate_effect(&table, &spec, Method::Regression, &Options::default()).unwrap_err();
    assert_eq!(err, CausalError::UnknownColumn("age".into()));
}
