//! Regression with the day absorbed (`fixed_effects`) and a CR2 or HC3 error,
//! against the definitions computed the long way: explicit within-day
//! centring of the independent columns, the whole `n x n` hat matrix,
//! `(I - H_gg)^-1/2` from each day's own eigendecomposition, and the
//! Bell–McCaffrey matrix `W'(I - H)W` built whole.

// Index loops mirror the matrix formulas being checked.
#![allow(clippy::needless_range_loop)]

mod common;

use common::{inverse, normal, rng};
use rand::seq::SliceRandom;
use rand::Rng;
use sprout_causal::{
    estimate_effect, point_estimate, CausalError, Column, EffectSpec, Estimate, Method, Options, Table,
};

/// Covariates in the order the specification names them.
const COVARIATES: [&str; 8] = [
    "hour",
    "school_day",
    "latest",
    "hour_again",
    "sleep",
    "version",
    "hour_squared",
    "one_day_only",
];

/// What survives: `school_day` and `sleep` are constant within every day and
/// vanish when centred, `version` is constant, `hour_again` is `hour` moved
/// and stretched. `one_day_only` varies on one day alone, so that day's hat
/// block has an eigenvalue of one (the clamped case).
const INDEPENDENT: [&str; 4] = ["hour", "latest", "hour_squared", "one_day_only"];

/// A child's decision points: days of 2 to 12 rows (some shorter, some
/// longer than the design is wide), starts that follow stress, a day
/// effect, two missing values. With `shuffled` the same rows come in a
/// random order, days interleaved.
fn decision_points(seed: u64, days: usize, shuffled: bool) -> Table {
    let mut r = rng(seed);
    let mut rows: Vec<[f64; 11]> = Vec::new();
    for day in 0..days {
        let school = f64::from(u8::from(day % 7 < 5));
        let sleep = 9.0 + 0.7 * normal(&mut r);
        let day_effect = 0.4 * normal(&mut r);
        let n = r.random_range(2..=12);
        for k in 0..n {
            let hour = 15.0 + k as f64 * 0.5 + 0.2 * normal(&mut r);
            let latest = 0.5 + 0.2 * normal(&mut r) + 0.1 * school;
            let started = f64::from(u8::from(r.random::<f64>() < 0.1 + 0.4 * latest.clamp(0.0, 1.0)));
            let one_day_only = if day == 3 { normal(&mut r) } else { 0.0 };
            let stress = day_effect + 0.6 * latest - 0.15 * started + 0.05 * hour - 0.1 * sleep
                + 0.2 * one_day_only
                + 0.1 * normal(&mut r) * (1.0 + started);
            rows.push([
                day as f64,
                started,
                stress,
                hour,
                school,
                latest,
                2.0 * hour - 3.0,
                sleep,
                1.0,
                hour * hour,
                one_day_only,
            ]);
        }
    }
    rows[5][5] = f64::NAN;
    rows[17][3] = f64::NAN;
    if shuffled {
        rows.shuffle(&mut r);
    }
    let names = ["day", "started", "stress"].into_iter().chain(COVARIATES);
    Table::new(
        names
            .enumerate()
            .map(|(c, name)| Column::numeric(name, rows.iter().map(|row| row[c]).collect()))
            .collect(),
    )
    .expect("valid table")
}

fn spec(clusters: bool) -> EffectSpec {
    EffectSpec {
        treatment: "started".into(),
        outcome: "stress".into(),
        common_causes: COVARIATES.iter().map(|s| s.to_string()).collect(),
        fixed_effects: Some("day".into()),
        clusters: clusters.then(|| "day".to_string()),
        ..EffectSpec::default()
    }
}

/// The within-day estimate and its errors, straight from the definitions.
struct Reference {
    estimate: f64,
    cr2: f64,
    df: f64,
    hc3: f64,
    days: usize,
}

fn column(table: &Table, name: &str) -> Vec<f64> {
    table
        .column(name)
        .and_then(Column::as_numeric)
        .expect("numeric")
        .to_vec()
}

fn reference(table: &Table) -> Reference {
    let mut names: Vec<&str> = INDEPENDENT.to_vec();
    names.extend(["started", "stress", "day"]);
    let cols: Vec<Vec<f64>> = names.iter().map(|n| column(table, n)).collect();
    let used: Vec<usize> = (0..table.n_rows())
        .filter(|&i| cols.iter().all(|c| c[i].is_finite()))
        .collect();
    let day: Vec<usize> = used.iter().map(|&i| cols[names.len() - 1][i] as usize).collect();
    let n = used.len();
    let n_days = day.iter().max().expect("rows") + 1;
    // Centred within days: the design (independent covariates, then the treatment) and the outcome.
    let centred = |c: &[f64]| -> Vec<f64> {
        let mut sums = vec![0.0; n_days];
        let mut counts = vec![0.0; n_days];
        for (k, &i) in used.iter().enumerate() {
            sums[day[k]] += c[i];
            counts[day[k]] += 1.0;
        }
        used.iter()
            .enumerate()
            .map(|(k, &i)| c[i] - sums[day[k]] / counts[day[k]])
            .collect()
    };
    let p = INDEPENDENT.len() + 1;
    let x: Vec<Vec<f64>> = cols[..p].iter().map(|c| centred(c)).collect();
    let y = centred(&cols[p]);
    let xtx: Vec<Vec<f64>> = (0..p)
        .map(|a| (0..p).map(|b| (0..n).map(|i| x[a][i] * x[b][i]).sum()).collect())
        .collect();
    let inv = inverse(&xtx);
    // c: the last row of (X'X)^-1 X'; H = X (X'X)^-1 X'.
    let c: Vec<f64> = (0..n)
        .map(|i| (0..p).map(|b| inv[p - 1][b] * x[b][i]).sum())
        .collect();
    let beta: Vec<f64> = (0..p)
        .map(|a| {
            (0..n)
                .map(|i| (0..p).map(|b| inv[a][b] * x[b][i]).sum::<f64>() * y[i])
                .sum()
        })
        .collect();
    let e: Vec<f64> = (0..n)
        .map(|i| y[i] - (0..p).map(|a| beta[a] * x[a][i]).sum::<f64>())
        .collect();
    let h = |i: usize, j: usize| -> f64 {
        (0..p)
            .map(|a| x[a][i] * (0..p).map(|b| inv[a][b] * x[b][j]).sum::<f64>())
            .sum()
    };
    let hat: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| h(i, j)).collect()).collect();

    // CR2: w_g = (I - H_gg)^-1/2 c_g, eigenvalues of I - H_gg held at 1e-8 or more.
    let members: Vec<Vec<usize>> = (0..n_days)
        .map(|g| (0..n).filter(|&k| day[k] == g).collect())
        .collect();
    let mut w = vec![0.0; n];
    let mut var = 0.0;
    for rows in &members {
        let m = rows.len();
        let block: Vec<Vec<f64>> = rows
            .iter()
            .map(|&i| {
                rows.iter()
                    .map(|&j| f64::from(u8::from(i == j)) - hat[i][j])
                    .collect()
            })
            .collect();
        let (values, vectors) = jacobi_eigen(block);
        for (a, &i) in rows.iter().enumerate() {
            w[i] = (0..m)
                .map(|k| {
                    let proj: f64 = (0..m).map(|b| vectors[b][k] * c[rows[b]]).sum();
                    vectors[a][k] * proj / values[k].max(1e-8).sqrt()
                })
                .sum();
        }
        let s: f64 = rows.iter().map(|&i| w[i] * e[i]).sum();
        var += s * s;
    }
    // Bell–McCaffrey: B = W'(I - H)W, df = (tr B)² / tr(B²).
    let b: Vec<Vec<f64>> = members
        .iter()
        .map(|g| {
            members
                .iter()
                .map(|h2| {
                    g.iter()
                        .map(|&i| {
                            h2.iter()
                                .map(|&j| w[i] * (f64::from(u8::from(i == j)) - hat[i][j]) * w[j])
                                .sum::<f64>()
                        })
                        .sum()
                })
                .collect()
        })
        .collect();
    let trace: f64 = (0..n_days).map(|g| b[g][g]).sum();
    let trace_sq: f64 = (0..n_days)
        .flat_map(|g| (0..n_days).map(move |k| (g, k)))
        .map(|(g, k)| b[g][k] * b[k][g])
        .sum();
    let hc3: f64 = (0..n).map(|i| (c[i] * e[i] / (1.0 - hat[i][i])).powi(2)).sum();
    Reference {
        estimate: beta[p - 1],
        cr2: var.sqrt(),
        df: trace * trace / trace_sq,
        hc3: hc3.sqrt(),
        days: n_days,
    }
}

/// Eigenvalues and eigenvectors (as columns) of a small symmetric matrix,
/// by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-32 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta == 0.0 {
                    1.0
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k][p], v[k][q]);
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-10 * want.abs(),
        "{what}: {got} vs {want} (relative {:e})",
        (got - want).abs() / want.abs()
    );
}

/// The estimate with its CR2 error and degrees of freedom, checked against `want`.
fn estimate_matches_cr2(table: &Table, want: &Reference) -> Estimate {
    let est = estimate_effect(table, &spec(true), Method::Regression, &Options::default()).expect("estimate");
    close(est.estimate, want.estimate, "estimate");
    close(est.std_error.expect("se"), want.cr2, "CR2 standard error");
    close(
        est.diagnostics.degrees_of_freedom.expect("df"),
        want.df,
        "degrees of freedom",
    );
    est
}

#[test]
fn day_absorbed_cr2_matches_the_definitions() {
    for (seed, days) in [(1, 30), (2, 45), (3, 12)] {
        let table = decision_points(seed, days, false);
        let want = reference(&table);
        let est = estimate_matches_cr2(&table, &want);
        assert_eq!(est.diagnostics.clusters, Some(want.days));
        assert_eq!(est.diagnostics.ci_method, "analytic (CR2, Bell–McCaffrey t)");
        let point =
            point_estimate(&table, &spec(true), Method::Regression, &Options::default()).expect("point");
        close(point, want.estimate, "point estimate");
        // Day-level columns vanish silently; only the constant one is reported.
        assert_eq!(est.n, table.n_rows() - 2);
        assert!(
            est.warnings
                .iter()
                .any(|w| w.contains("`version`: it is constant")),
            "{:?}",
            est.warnings
        );
        assert_eq!(est.diagnostics.covariates.len(), COVARIATES.len() - 1);
    }
}

#[test]
fn day_absorbed_hc3_matches_the_definition() {
    let table = decision_points(4, 30, false);
    let want = reference(&table);
    let est =
        estimate_effect(&table, &spec(false), Method::Regression, &Options::default()).expect("estimate");
    close(est.estimate, want.estimate, "estimate");
    close(est.std_error.expect("se"), want.hc3, "HC3 standard error");
}

#[test]
fn row_order_does_not_matter() {
    let sorted = decision_points(5, 40, false);
    let shuffled = decision_points(5, 40, true);
    let want = reference(&sorted);
    estimate_matches_cr2(&shuffled, &want);
}

#[test]
fn a_treatment_constant_within_days_is_an_error() {
    let table = decision_points(6, 20, false);
    let day = column(&table, "day");
    let by_day: Vec<f64> = day
        .iter()
        .map(|d| f64::from(u8::from((*d as usize).is_multiple_of(3))))
        .collect();
    let mut cols: Vec<Column> = table
        .columns()
        .iter()
        .filter(|c| c.name() != "started")
        .cloned()
        .collect();
    cols.push(Column::numeric("started", by_day));
    let table = Table::new(cols).expect("valid table");
    for clusters in [true, false] {
        let got = estimate_effect(&table, &spec(clusters), Method::Regression, &Options::default());
        assert!(matches!(got, Err(CausalError::CollinearTreatment)), "{got:?}");
        let got = point_estimate(&table, &spec(clusters), Method::Regression, &Options::default());
        assert!(matches!(got, Err(CausalError::CollinearTreatment)), "{got:?}");
    }
}

#[test]
fn bad_cluster_or_group_columns_are_errors() {
    let table = decision_points(7, 10, false);
    let mut missing = spec(true);
    missing.clusters = Some("no_such_column".into());
    assert!(estimate_effect(&table, &missing, Method::Regression, &Options::default()).is_err());
    // One day: no spread between clusters to estimate from, and every covariate vanishes.
    let one_day: Vec<Column> = table
        .columns()
        .iter()
        .map(|c| match c.name() {
            "day" => Column::numeric("day", vec![0.0; table.n_rows()]),
            _ => c.clone(),
        })
        .collect();
    let table = Table::new(one_day).expect("valid table");
    assert!(estimate_effect(&table, &spec(true), Method::Regression, &Options::default()).is_err());
}
