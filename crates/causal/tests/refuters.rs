//! Refuters on data with a real effect.

mod common;

use common::{confounded, spec};
use sprout_causal::{estimate_effect, refute, Method, Options};
use std::time::Instant;

#[test]
fn refuters_pass_on_a_real_effect() {
    let table = confounded(500, 17);
    let s = spec("t", "y", &["x"]);
    let opts = Options {
        seed: 3,
        ..Options::default()
    };
    let base = estimate_effect(&table, &s, Method::Aipw, &opts).unwrap();
    let start = Instant::now();
    let refs = refute(&table, &s, Method::Aipw, &opts).unwrap();
    let elapsed = start.elapsed();
    let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "placebo_treatment",
            "random_common_cause",
            "data_subset",
            "unobserved_confounder_e_value"
        ]
    );
    let placebo = &refs[0];
    assert!(placebo.passed, "{placebo:?}");
    assert!(placebo.new_effect.abs() < 0.05, "{placebo:?}");
    assert!(placebo.p_value.unwrap() < 0.1);
    let rcc = &refs[1];
    assert!(rcc.passed, "{rcc:?}");
    assert!(base.ci.0 <= rcc.new_effect && rcc.new_effect <= base.ci.1);
    assert!(refs[2].passed, "{:?}", refs[2]);
    for r in &refs {
        assert!(r.new_effect.is_finite());
        assert!(r.explanation.ends_with('.') && !r.explanation.contains('\n'));
    }
    // Debug builds are far slower than release; this only guards against
    // an accidental blow-up (release figures are in examples/speed.rs).
    assert!(elapsed.as_secs_f64() < 5.0, "refuters took {elapsed:?}");
}

#[test]
fn refuters_run_for_every_method() {
    let table = confounded(200, 2);
    let s = spec("t", "y", &["x"]);
    for method in [
        Method::Naive,
        Method::Regression,
        Method::PsStratification,
        Method::PsMatching,
        Method::Ipw,
    ] {
        let opts = Options {
            bootstrap: Some(50),
            ..Options::default()
        };
        let refs = refute(&table, &s, method, &opts).unwrap();
        assert_eq!(refs.len(), 4);
        assert!(refs[0].passed, "{method:?}: {:?}", refs[0]);
    }
}

#[test]
fn placebo_flags_no_effect_as_not_standing_out() {
    // With no true effect the estimate does not stand out from the
    // placebo distribution, and the E-value calls it fragile.
    let n = 400;
    let mut r = common::rng(5);
    let t: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
    let y: Vec<f64> = (0..n).map(|_| common::normal(&mut r)).collect();
    let table = sprout_causal::Table::new(vec![
        sprout_causal::Column::numeric("t", t),
        sprout_causal::Column::numeric("y", y),
    ])
    .unwrap();
    let refs = refute(
        &table,
        &spec("t", "y", &[]),
        Method::Regression,
        &Options::default(),
    )
    .unwrap();
    assert!(refs[0].p_value.unwrap() > 0.05, "{:?}", refs[0]);
    assert!(!refs[3].passed, "a null effect is fragile: {:?}", refs[3]);
}
