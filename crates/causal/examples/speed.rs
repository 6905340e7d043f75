//! Times each estimator on a child-sized table (about 90 daily rows) with a
//! 500-draw bootstrap, then one full refresh: five intervention kinds, each
//! estimated by AIPW with bootstrap 500. Run with
//! `cargo run --release --example speed`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_causal::{estimate_effect, refute, Column, EffectSpec, Method, Options, Table};
use std::time::Instant;

const ROWS: usize = 90;
const KINDS: usize = 5;
const REPEATS: usize = 5;

fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = r.random::<f64>().max(1e-300);
    let u2: f64 = r.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// One child's days: sleep, screen time and weekday drive both whether an
/// intervention happened and the wellness score.
fn child_table(seed: u64) -> Table {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); 4 + KINDS];
    let mut weekday = Vec::new();
    for day in 0..ROWS {
        let sleep = 9.0 + 0.8 * normal(&mut r);
        let screen = (2.0 + normal(&mut r)).max(0.0);
        let wd = day % 7;
        let mut score = 50.0 + 3.0 * (sleep - 9.0) - 2.0 * screen + normal(&mut r) * 4.0;
        for k in 0..KINDS {
            let p = 1.0 / (1.0 + (-(0.5 * (sleep - 9.0) - 0.3 * (screen - 2.0))).exp());
            let t = f64::from(u8::from(r.random::<f64>() < p));
            score += t * (k as f64 - 2.0);
            cols[4 + k].push(t);
        }
        cols[0].push(sleep);
        cols[1].push(screen);
        cols[2].push(score);
        cols[3].push(day as f64);
        weekday.push(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][wd].to_string());
    }
    let mut columns = vec![
        Column::numeric("sleep", cols[0].clone()),
        Column::numeric("screen", cols[1].clone()),
        Column::numeric("score", cols[2].clone()),
        Column::categorical("weekday", weekday),
    ];
    for k in 0..KINDS {
        columns.push(Column::numeric(format!("kind{k}"), cols[4 + k].clone()));
    }
    Table::new(columns).expect("valid table")
}

fn spec(kind: usize) -> EffectSpec {
    EffectSpec {
        treatment: format!("kind{kind}"),
        outcome: "score".into(),
        common_causes: vec!["sleep".into(), "screen".into(), "weekday".into()],
        ..EffectSpec::default()
    }
}

fn best_ms(mut f: impl FnMut()) -> f64 {
    (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let table = child_table(1);
    let opts = Options {
        bootstrap: Some(500),
        seed: 7,
        ..Options::default()
    };
    println!("{ROWS} rows, 3 covariates (one categorical, 7 levels), bootstrap 500, best of {REPEATS}");
    for method in [
        Method::Naive,
        Method::Regression,
        Method::PsStratification,
        Method::PsMatching,
        Method::Ipw,
        Method::Aipw,
    ] {
        let mut last = None;
        let ms = best_ms(|| last = estimate_effect(&table, &spec(0), method, &opts).ok());
        let est = last.map_or(f64::NAN, |e| e.estimate);
        println!("{:>18}: {ms:8.2} ms   (estimate {est:.2})", method.as_str());
    }
    let ms = best_ms(|| {
        for k in 0..KINDS {
            let _ = estimate_effect(&table, &spec(k), Method::Aipw, &opts);
        }
    });
    println!("full refresh ({KINDS} kinds x AIPW, bootstrap 500): {ms:.2} ms");
    let plain = Options {
        seed: 7,
        ..Options::default()
    };
    let ms = best_ms(|| {
        let _ = refute(&table, &spec(0), Method::Aipw, &plain);
    });
    println!("all refuters for one AIPW estimate: {ms:.2} ms");
}
