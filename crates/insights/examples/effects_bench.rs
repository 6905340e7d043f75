//! Rust side of `bench/effects_vs_dowhy.sh`: one simulated child's per-child effects on
//! the decision-point table (see `sprout_insights::moments` and `effects`), exported for
//! another tool and timed.
//!
//! ```text
//! effects_bench export DIR [--reps 15] [--child auto|N] [--seed 42] [--days 90]
//! effects_bench refresh    [--reps 15] [--child auto|N] [--seed 42] [--days 90]
//! effects_bench breakdown  [--reps 15] [--child auto|N] [--seed 42] [--days 90]
//! ```
//!
//! The child: `sprout-sim` with the given seed, `days` of minute data (`step_minutes` 1)
//! ending 2026-03-01T00:00:00Z, analysed at that instant. `--child auto` (the default)
//! takes, among children 0..[`AUTO_CANDIDATES`], the one whose full refresh estimates the
//! most kinds (the lowest index on a tie); the first JSON line says which.
//!
//! `export` writes `DIR/<kind>.csv` for every kind that has a decision-point table —
//! exactly the table and columns that kind's estimate is made on
//! (`effects::decision_table`): `started`, `stress_after`, `day`, then the covariates —
//! and prints one JSON line per kind with Sprout's estimate on it (`estimate_effect`,
//! regression, the day absorbed, CR2 by day) and the median time of that one call, and
//! of the same call with an HC3 error and of `point_estimate` (no error) for reference.
//!
//! `refresh` times `intervention_effects` with its checks (all kinds, the decision-point
//! design, negative control, time-shift placebo, E-value) and prints the median.
//!
//! `breakdown` times the parts of a refresh that can be reached from outside the crate
//! (building the tables; one estimate with the CR2 error, with HC3, and the point
//! estimate alone on each table), to see where its time goes.
//!
//! Times are wall-clock medians over `--reps` runs (after one untimed run), measured with
//! `Instant` around the library call alone.

use chrono::{DateTime, Utc};
use serde_json::json;
use sprout_causal::{estimate_effect, point_estimate, EffectSpec, Method, Options, Table};
use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::effects::{decision_table, intervention_effects, EffectOptions, InterventionEffect};
use sprout_insights::moments::MomentBuilder;
use sprout_insights::ChildData;
use sprout_sim::{SimConfig, SimulatedChild};
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

/// Children looked at by `--child auto`.
const AUTO_CANDIDATES: usize = 6;
/// The simulated period ends (and the analysis is made) here.
const END: &str = "2026-03-01T00:00:00Z";

/// The options of one child's full refresh, as the server runs it (other options at
/// their defaults).
fn refresh_options() -> EffectOptions {
    EffectOptions {
        bootstrap: None,
        refute: true,
        ..EffectOptions::default()
    }
}

struct Args {
    positional: Vec<String>,
    named: BTreeMap<String, String>,
}

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Res<Args> {
        let mut positional = Vec::new();
        let mut named = BTreeMap::new();
        let mut raw = raw.peekable();
        while let Some(a) = raw.next() {
            if let Some(key) = a.strip_prefix("--") {
                let value = raw.next().ok_or_else(|| format!("--{key} needs a value"))?;
                named.insert(key.to_string(), value);
            } else {
                positional.push(a);
            }
        }
        Ok(Args { positional, named })
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> Res<T> {
        match self.named.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: cannot parse '{v}'").into()),
        }
    }
}

fn end() -> Res<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(END)?.with_timezone(&Utc))
}

fn config(args: &Args) -> Res<SimConfig> {
    Ok(SimConfig {
        seed: args.num("seed", 42)?,
        children: AUTO_CANDIDATES,
        days: args.num("days", 90)?,
        end: end()?,
        step_minutes: 1,
        ..Default::default()
    })
}

/// One simulated child with its stored records, kept together so that `ChildData` can
/// borrow from them.
struct Child {
    index: usize,
    sim: SimulatedChild,
    records: sprout_sim::StoredRecords,
    now: DateTime<Utc>,
}

impl Child {
    fn new(config: &SimConfig, index: usize) -> Res<Child> {
        let sim = sprout_sim::simulate_child(config, index);
        let records = sim.stored_records(ChildId::new());
        Ok(Child {
            index,
            sim,
            records,
            now: end()?,
        })
    }

    fn data(&self) -> ChildData<'_> {
        ChildData {
            tz: self.sim.profile.timezone.tz(),
            birth_date: self.sim.profile.birth_date,
            samples: &self.sim.samples,
            events: &self.records.events,
            interventions: &self.records.interventions,
            sleep_episodes: &self.records.sleep_episodes,
            now: self.now,
        }
    }
}

/// The child to benchmark: `--child N`, or among the first [`AUTO_CANDIDATES`] the one
/// whose refresh estimates the most kinds. Prints a JSON line saying which.
fn pick_child(args: &Args) -> Res<Child> {
    let config = config(args)?;
    let choice = args.named.get("child").map_or("auto", String::as_str);
    let candidates: Vec<usize> = match choice {
        "auto" => (0..AUTO_CANDIDATES).collect(),
        n => vec![n.parse().map_err(|_| format!("--child: cannot parse '{n}'"))?],
    };
    let mut best: Option<(usize, Child)> = None;
    let mut seen = Vec::new();
    for index in candidates {
        let child = Child::new(&config, index)?;
        let estimated = intervention_effects(&child.data(), refresh_options(), &|_| None)
            .iter()
            .filter(|e| e.effect.is_some())
            .count();
        seen.push(json!({"child": index, "kinds_estimated": estimated}));
        if best.as_ref().is_none_or(|(b, _)| estimated > *b) {
            best = Some((estimated, child));
        }
    }
    let (estimated, child) = best.ok_or("no child")?;
    let data = child.data();
    println!(
        "{}",
        json!({
            "kind": "child",
            "seed": config.seed,
            "child": child.index,
            "choice": choice,
            "days": config.days,
            "step_minutes": config.step_minutes,
            "end": END,
            "samples": data.samples.len(),
            "interventions": data.interventions.len(),
            "kinds_estimated": estimated,
            "candidates": seen,
        })
    );
    Ok(child)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `f` once untimed, then `reps` times; returns the median and the fastest wall
/// time in ms and the last result.
fn timed<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut last = f();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        last = std::hint::black_box(f());
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
    (median(times), fastest, last)
}

/// Full-precision CSV: Rust's `Display` for `f64` is the shortest text that reads back
/// as the same number.
fn write_csv(path: &std::path::Path, table: &Table) -> Res<()> {
    let columns: Vec<&[f64]> = table
        .columns()
        .iter()
        .map(|c| {
            c.as_numeric()
                .ok_or_else(|| format!("column {} is not numeric", c.name()))
        })
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    let names: Vec<&str> = table.columns().iter().map(|c| c.name()).collect();
    out.push_str(&names.join(","));
    out.push('\n');
    for i in 0..table.n_rows() {
        for (j, col) in columns.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let v = col[i];
            if v.is_finite() {
                write!(out, "{v}")?;
            } else {
                out.push_str("nan");
            }
        }
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn distinct(values: impl Iterator<Item = f64>) -> usize {
    let mut v: Vec<u64> = values.map(f64::to_bits).collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn effect_json(e: &InterventionEffect) -> serde_json::Value {
    json!({
        "status": e.status,
        "evidence": e.evidence,
        "effect": e.effect,
        "std_error": e.std_error,
        "treated_days": e.treated_days,
        "control_days": e.control_days,
        "decision_points": e.design.as_ref().map(|d| d.decision_points),
        "checks": e.refutations.iter().map(|r| json!({"name": r.name, "passed": r.passed})).collect::<Vec<_>>(),
    })
}

fn cmd_export(args: &Args) -> Res<()> {
    let dir = std::path::PathBuf::from(args.positional.get(1).ok_or("export needs a directory")?);
    std::fs::create_dir_all(&dir)?;
    let reps: usize = args.num("reps", 15)?;
    let child = pick_child(args)?;
    let data = child.data();
    // The refresh's own point estimates, to show the exported table is the one used.
    let refreshed = intervention_effects(&data, refresh_options(), &|_| None);
    for kind in InterventionKind::ALL {
        let Some((table, spec)) = decision_table(&data, kind) else {
            continue;
        };
        let path = dir.join(format!("{}.csv", kind.as_str()));
        write_csv(&path, &table)?;
        let opts = Options::default();
        let (ms, min_ms, est) = timed(reps, || estimate_effect(&table, &spec, Method::Regression, &opts));
        // The same call with an HC3 error instead of CR2 (same point estimate): what the
        // cluster-robust error costs.
        let hc3 = EffectSpec {
            clusters: None,
            ..spec.clone()
        };
        let (hc3_ms, _, _) = timed(reps, || estimate_effect(&table, &hc3, Method::Regression, &opts));
        // The point estimate alone (no standard error), as DoWhy's call computes it.
        let (point_ms, _, point) = timed(reps, || point_estimate(&table, &spec, Method::Regression, &opts));
        let column = |name: &str| table.column(name).and_then(|c| c.as_numeric()).unwrap_or(&[]);
        let started = column(&spec.treatment);
        // An early bedtime's table has one row per evening (no `day` column): each row a day.
        let row_index: Vec<f64> = (0..table.n_rows()).map(|i| i as f64).collect();
        let days = if table.has_column("day") {
            column("day")
        } else {
            &row_index
        };
        let in_refresh = refreshed.iter().find(|e| e.kind == kind);
        let mut line = json!({
            "kind": "estimate",
            "intervention": kind.as_str(),
            "csv": path.display().to_string(),
            "rows": table.n_rows(),
            "started": started.iter().filter(|v| **v > 0.5).count(),
            "days": distinct(days.iter().copied()),
            "days_with_start": distinct(days.iter().zip(started).filter(|(_, s)| **s > 0.5).map(|(d, _)| *d)),
            "treatment": spec.treatment,
            "outcome": spec.outcome,
            "common_causes": spec.common_causes,
            "fixed_effects": spec.fixed_effects,
            "clusters": spec.clusters,
            "median_ms": ms,
            "min_ms": min_ms,
            "median_ms_hc3": hc3_ms,
            "median_ms_point": point_ms,
            "point_estimate": point.ok(),
            "reps": reps,
            "refresh": in_refresh.map(effect_json),
        });
        match est {
            Ok(e) => {
                line["estimate"] = json!(e.estimate);
                line["std_error"] = json!(e.std_error);
                line["ci"] = json!([e.ci.0, e.ci.1]);
                line["ci_method"] = json!(e.diagnostics.ci_method);
                line["degrees_of_freedom"] = json!(e.diagnostics.degrees_of_freedom);
                line["n_clusters"] = json!(e.diagnostics.clusters);
                line["covariates_used"] = json!(e.diagnostics.covariates);
                line["warnings"] = json!(e.warnings);
            }
            Err(e) => line["error"] = json!(e.to_string()),
        }
        println!("{line}");
    }
    Ok(())
}

fn cmd_refresh(args: &Args) -> Res<()> {
    let reps: usize = args.num("reps", 15)?;
    let child = pick_child(args)?;
    let data = child.data();
    let (ms, min_ms, effects) = timed(reps, || intervention_effects(&data, refresh_options(), &|_| None));
    let builder = MomentBuilder::new(&data);
    let per_kind: Vec<serde_json::Value> = effects
        .iter()
        .map(|e| {
            let mut v = effect_json(e);
            v["intervention"] = json!(e.kind.as_str());
            v["table_rows"] = json!(builder.table(e.kind).len());
            v
        })
        .collect();
    println!(
        "{}",
        json!({
            "kind": "refresh",
            "median_ms": ms,
            "min_ms": min_ms,
            "reps": reps,
            "kinds": effects.len(),
            "kinds_estimated": effects.iter().filter(|e| e.effect.is_some()).count(),
            "decision_points": per_kind.iter().map(|v| v["table_rows"].as_u64().unwrap_or(0)).sum::<u64>(),
            "per_kind": per_kind,
        })
    );
    Ok(())
}

/// The parts of a refresh reachable from outside the crate, each timed alone, and a
/// model of the refresh from them: the tables, then for each kind with enough starts
/// three estimates with the CR2 error (the estimate, the negative control, the
/// time-shift placebo) and three point estimates (two later-start rounds, the echo
/// widening), on tables of about the same size.
fn cmd_breakdown(args: &Args) -> Res<()> {
    let reps: usize = args.num("reps", 15)?;
    let child = pick_child(args)?;
    let data = child.data();
    let part = |name: &str, ms: f64| println!("{}", json!({"kind": "part", "part": name, "median_ms": ms}));
    let (refresh_ms, _, effects) = timed(reps, || intervention_effects(&data, refresh_options(), &|_| None));
    part("refresh, with checks", refresh_ms);
    let no_checks = EffectOptions {
        bootstrap: None,
        refute: false,
        ..EffectOptions::default()
    };
    let (ms, _, _) = timed(reps, || intervention_effects(&data, no_checks, &|_| None));
    part("refresh, no checks", ms);
    let (new_ms, _, _) = timed(reps, || {
        MomentBuilder::new(&data)
            .hours_of(InterventionKind::Reading)
            .is_some()
    });
    part("MomentBuilder::new", new_ms);
    let builder = MomentBuilder::new(&data);
    let (per_kind_ms, _, _) = timed(reps, || {
        InterventionKind::ALL
            .into_iter()
            .map(|k| builder.table(k).len())
            .sum::<usize>()
    });
    part(
        "tables, one builder.table(kind) per kind (as intervention_effects builds them)",
        per_kind_ms,
    );
    let (shared_ms, _, _) = timed(reps, || {
        builder
            .tables(InterventionKind::ALL)
            .iter()
            .map(Vec::len)
            .sum::<usize>()
    });
    part("tables, builder.tables(ALL) (one shared grid)", shared_ms);
    let mut model = new_ms + per_kind_ms;
    let opts = Options::default();
    for kind in InterventionKind::ALL {
        let Some((table, spec)) = decision_table(&data, kind) else {
            continue;
        };
        let estimated = effects.iter().any(|e| e.kind == kind && e.effect.is_some());
        let name = format!(
            "{} ({} rows{})",
            kind.as_str(),
            table.n_rows(),
            if estimated { "" } else { ", not estimated" }
        );
        let (cr2, _, _) = timed(reps, || estimate_effect(&table, &spec, Method::Regression, &opts));
        part(&format!("estimate_effect, FE + CR2, {name}"), cr2);
        let hc3 = EffectSpec {
            clusters: None,
            ..spec.clone()
        };
        let (hc3_ms, _, _) = timed(reps, || estimate_effect(&table, &hc3, Method::Regression, &opts));
        part(&format!("estimate_effect, FE + HC3, {name}"), hc3_ms);
        let (point, _, _) = timed(reps, || point_estimate(&table, &spec, Method::Regression, &opts));
        part(&format!("point_estimate, FE, {name}"), point);
        if estimated {
            model += 3.0 * cr2 + 3.0 * point;
        }
    }
    part(
        "model: new + per-kind tables + 3 CR2 + 3 point estimates per estimated kind",
        model,
    );
    Ok(())
}

fn main() {
    let result = Args::parse(std::env::args().skip(1)).and_then(|args| {
        match args.positional.first().map(String::as_str) {
            Some("export") => cmd_export(&args),
            Some("refresh") => cmd_refresh(&args),
            Some("breakdown") => cmd_breakdown(&args),
            _ => Err(
                "usage: effects_bench export DIR | refresh | breakdown [--reps R] [--child auto|N]".into(),
            ),
        }
    });
    if let Err(e) = result {
        eprintln!("effects_bench: {e}");
        std::process::exit(1);
    }
}
