//! Rust side of `bench/forecast_vs_statsforecast.sh`: writes a simulated
//! child's hourly stress series, and runs Sprout's forecaster over a
//! rolling-origin protocol on an hourly CSV, printing each origin's forecast
//! and its time as one JSON object per line, so a driver can score it with
//! exactly the code it uses for another library.
//!
//! ```text
//! compare sim-series OUT.csv [--days 60] [--seed 42] [--child 0]
//! compare backtest CSV [--origins 10] [--horizon 24] [--stride 24] [--level 0.8]
//!         [--lower L] [--upper U] [--models auto,seasonal_naive] [--reps 5]
//! compare speed CSV [--days 60] [--runs 50] [--lower L] [--upper U]
//! ```
//!
//! The CSV has the columns `timestamp,value,filled` (RFC 3339 times on a
//! regular hourly grid; `filled` = 1 marks a step with no data, whose value
//! was filled in). Filled steps are not given to Sprout: it fills gaps
//! itself. Times are medians over `--reps` runs of one `forecast` call (fit,
//! model choice and forecast), measured with `Instant`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sprout_forecast::{forecast, resample, ModelChoice, Options, Series};
use sprout_sim::{simulate_child, SimConfig};
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

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

    fn get(&self, key: &str) -> Option<&str> {
        self.named.get(key).map(String::as_str)
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> Res<T> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: cannot parse '{v}'").into()),
        }
    }

    fn path(&self) -> Res<&str> {
        self.positional
            .get(1)
            .map(String::as_str)
            .ok_or_else(|| "a CSV path is required".into())
    }

    fn bounds(&self) -> Res<Option<(f64, f64)>> {
        match (self.get("lower"), self.get("upper")) {
            (None, None) => Ok(None),
            _ => Ok(Some((self.num("lower", f64::MIN)?, self.num("upper", f64::MAX)?))),
        }
    }
}

/// One step of the hourly grid.
struct Row {
    time: DateTime<Utc>,
    value: f64,
    filled: bool,
}

fn read_rows(path: &str) -> Res<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = || format!("{path}: bad row {}", i + 1);
        let time = DateTime::parse_from_rfc3339(cells.first().ok_or_else(bad)?)
            .map_err(|_| bad())?
            .with_timezone(&Utc);
        let value: f64 = cells.get(1).ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let filled = cells.get(2).is_some_and(|c| *c == "1");
        rows.push(Row { time, value, filled });
    }
    Ok(rows)
}

/// The observed (not filled) steps before `end`, as a series.
fn series_before(rows: &[Row], end: usize) -> Res<Series> {
    Ok(Series::from_pairs(
        rows[..end]
            .iter()
            .filter(|r| !r.filled)
            .map(|r| (r.time, r.value)),
    )?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn model_choice(name: &str) -> Res<ModelChoice> {
    match name {
        "auto" => Ok(ModelChoice::Auto),
        "seasonal_naive" => Ok(ModelChoice::SeasonalNaive),
        "mstl" => Ok(ModelChoice::Mstl),
        other => Err(format!("unknown model '{other}'").into()),
    }
}

fn cmd_backtest(args: &Args) -> Res<()> {
    let rows = read_rows(args.path()?)?;
    let origins: usize = args.num("origins", 10)?;
    let horizon: usize = args.num("horizon", 24)?;
    let stride: usize = args.num("stride", 24)?;
    let reps: usize = args.num("reps", 5)?.max(1);
    let n = rows.len();
    let span = (origins.max(1) - 1) * stride + horizon;
    if n <= span {
        return Err(format!("{n} steps are too few for {origins} origins").into());
    }
    let first = n - span;
    let models = args.get("models").unwrap_or("auto,seasonal_naive");
    for name in models.split(',') {
        let choice = model_choice(name)?;
        for k in 0..origins {
            let o = first + k * stride;
            let series = series_before(&rows, o)?;
            let last_time = series.times().iter().max().copied().ok_or("empty history")?;
            // Trailing filled steps shift the forecast start back; forecast
            // that many steps further so the scored window is covered.
            let lag = rows[..o].iter().rev().take_while(|r| r.time > last_time).count();
            let opts = Options {
                horizon: horizon + lag,
                level: args.num("level", 0.8)?,
                bounds: args.bounds()?,
                model: choice,
                ..Options::hourly()
            };
            let mut times = Vec::with_capacity(reps);
            let mut last = None;
            for _ in 0..reps {
                let start = Instant::now();
                let fc = forecast(&series, &opts)?;
                times.push(start.elapsed().as_secs_f64() * 1e3);
                last = Some(fc);
            }
            let fc = last.ok_or("no run")?;
            let window = lag..lag + horizon;
            println!(
                "{}",
                json!({
                    "kind": "origin",
                    "model": name,
                    "origin": o,
                    "origin_time": rows[o].time.to_rfc3339(),
                    "chosen": fc.model,
                    "mean": &fc.mean[window.clone()],
                    "lower": &fc.lower[window.clone()],
                    "upper": &fc.upper[window],
                    "median_ms": median(times),
                    "reps": reps,
                })
            );
        }
    }
    Ok(())
}

fn cmd_speed(args: &Args) -> Res<()> {
    let rows = read_rows(args.path()?)?;
    let days: usize = args.num("days", 60)?;
    let runs: usize = args.num("runs", 50)?.max(1);
    let keep = (days * 24).min(rows.len());
    let series = series_before(&rows[rows.len() - keep..], keep)?;
    let opts = Options {
        bounds: args.bounds()?,
        ..Options::hourly()
    };
    let mut times = Vec::with_capacity(runs);
    let mut model = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let fc = forecast(&series, &opts)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        model = fc.model;
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{}",
        json!({
            "kind": "speed", "steps": keep, "observed": series.len(), "runs": runs,
            "median_ms": median(times), "min_ms": min, "model": model,
        })
    );
    Ok(())
}

/// Writes a simulated child's hourly mean stress (Sprout's own resampling:
/// hours without a sample are filled and flagged).
fn cmd_sim_series(args: &Args) -> Res<()> {
    let out = args.path()?;
    let config = SimConfig {
        seed: args.num("seed", 42)?,
        days: args.num("days", 60)?,
        children: 1,
        ..SimConfig::default()
    };
    let child = simulate_child(&config, args.num("child", 0)?);
    let series = Series::from_pairs(
        child
            .samples
            .iter()
            .filter_map(|s| s.stress_level.map(|v| (s.time, v))),
    )?;
    let grid = resample(&series, 3600)?;
    let mut csv = String::from("timestamp,value,filled\n");
    for ((t, v), f) in grid.times.iter().zip(&grid.values).zip(&grid.filled) {
        let _ = writeln!(csv, "{},{v:.6},{}", t.format("%Y-%m-%dT%H:%M:%SZ"), u8::from(*f));
    }
    std::fs::write(out, csv).map_err(|e| format!("{out}: {e}"))?;
    println!(
        "{}",
        json!({
            "kind": "sim_series", "path": out, "steps": grid.values.len(),
            "filled": grid.filled.iter().filter(|f| **f).count(), "samples": series.len(),
        })
    );
    Ok(())
}

fn main() -> Res<()> {
    let args = Args::parse(std::env::args().skip(1))?;
    match args.positional.first().map(String::as_str) {
        Some("backtest") => cmd_backtest(&args),
        Some("speed") => cmd_speed(&args),
        Some("sim-series") => cmd_sim_series(&args),
        _ => Err("usage: compare (backtest|speed|sim-series) PATH [--option value ...]".into()),
    }
}
