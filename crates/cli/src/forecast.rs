//! `sprout forecast`: the next steps of a time series from a CSV file, with intervals,
//! optionally knowing scheduled events ahead.

use crate::csv_input::{clip, parse_number, parse_time, parse_tz, CsvFile};
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::Args;
use sprout_forecast::{Event, ModelChoice, Options, Series, Trend};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ForecastArgs {
    /// CSV file with a header row and one observation per row; an empty value is a gap.
    #[arg(long)]
    pub data: PathBuf,
    /// Column holding the observation time.
    #[arg(long, default_value = "time")]
    pub time: String,
    /// Column holding the value.
    #[arg(long, default_value = "value")]
    pub value: String,
    /// Number of steps to forecast.
    #[arg(long, default_value_t = 24)]
    pub horizon: usize,
    /// CSV file of events with columns `start,event_type` (a time or a date per row);
    /// past events teach their effect, events in the horizon apply it.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Nominal coverage of the intervals.
    #[arg(long, default_value_t = 0.8)]
    pub level: f64,
    /// Step length in minutes; the series is averaged onto this grid.
    #[arg(long, default_value_t = 60)]
    pub step_minutes: i64,
    /// Time zone for times without an offset (IANA name).
    #[arg(long, default_value = "UTC")]
    pub tz: String,
    /// auto (chosen by backtest), seasonal_naive, ets, ets_damped, mstl or mean.
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// Range to clamp the forecast to, e.g. `0,1` for stress.
    #[arg(long, value_name = "LO,HI")]
    pub bounds: Option<String>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ForecastArgs) -> anyhow::Result<()> {
    let tz = parse_tz(&args.tz).context("--tz")?;
    let model = match args.model.trim() {
        "auto" => ModelChoice::Auto,
        "seasonal_naive" => ModelChoice::SeasonalNaive,
        "ets" => ModelChoice::Ets(Trend::None),
        "ets_damped" => ModelChoice::Ets(Trend::Damped),
        "mstl" => ModelChoice::Mstl,
        "mean" => ModelChoice::Mean,
        other => bail!(
            "unknown model `{}` (one of auto, seasonal_naive, ets, ets_damped, mstl, mean)",
            clip(other)
        ),
    };
    if !(1..=24 * 60).contains(&args.step_minutes) {
        bail!(
            "--step-minutes must be between 1 and 1440, got {}",
            args.step_minutes
        );
    }
    let bounds = args.bounds.as_deref().map(parse_bounds).transpose()?;
    let series = read_series(&args.data, &args.time, &args.value, tz)?;
    let events = match &args.events {
        Some(path) => read_events(path, tz)?,
        None => Vec::new(),
    };
    let options = Options {
        step_secs: args.step_minutes * 60,
        horizon: args.horizon,
        level: args.level,
        events,
        bounds,
        model,
    };
    let forecast = sprout_forecast::forecast(&series, &options)
        .with_context(|| format!("cannot forecast `{}` from {}", args.value, args.data.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&forecast)?);
    } else {
        println!(
            "{}: {} steps of {} min from {} ({:.0}% intervals)",
            forecast.model,
            forecast.horizon,
            args.step_minutes,
            forecast
                .times
                .first()
                .map_or_else(String::new, |t| t.to_rfc3339()),
            forecast.level * 100.0
        );
        for event in &forecast.events_used {
            println!("event ahead: {} at {}", event.kind, event.at.to_rfc3339());
        }
        for (((t, mean), lower), upper) in forecast
            .times
            .iter()
            .zip(&forecast.mean)
            .zip(&forecast.lower)
            .zip(&forecast.upper)
        {
            println!("{}  {mean:.4}  [{lower:.4}, {upper:.4}]", t.to_rfc3339());
        }
    }
    Ok(())
}

fn parse_bounds(text: &str) -> anyhow::Result<(f64, f64)> {
    let parse = || -> anyhow::Result<(f64, f64)> {
        let (lo, hi) = text.split_once(',').context("expected LO,HI")?;
        let (lo, hi) = (parse_number(lo)?, parse_number(hi)?);
        if lo >= hi {
            bail!("the lower bound must be below the upper one");
        }
        Ok((lo, hi))
    };
    parse().with_context(|| format!("--bounds `{}`", clip(text)))
}

/// The observations: rows with an empty value are gaps and left out.
fn read_series(path: &Path, time: &str, value: &str, tz: Tz) -> anyhow::Result<Series> {
    let file = CsvFile::read(path)?;
    let (time_col, value_col) = (file.column(time)?, file.column(value)?);
    let mut times = Vec::with_capacity(file.rows().len());
    let mut values = Vec::with_capacity(file.rows().len());
    for row in file.rows() {
        let cell = row.get(value_col);
        if cell.is_empty() {
            continue;
        }
        let t =
            instant(row.get(time_col), tz).with_context(|| format!("{}: column `{time}`", file.at(row)))?;
        let v = parse_number(cell).with_context(|| format!("{}: column `{value}`", file.at(row)))?;
        times.push(t);
        values.push(v);
    }
    if values.is_empty() {
        bail!("{} has no values in column `{value}`", file.name());
    }
    Ok(Series::new(times, values)?)
}

/// Events as `start,event_type`; a date alone is the start of that day.
fn read_events(path: &Path, tz: Tz) -> anyhow::Result<Vec<Event>> {
    let file = CsvFile::read(path)?;
    let (start_col, kind_col) = (file.column("start")?, file.column("event_type")?);
    let mut events = Vec::with_capacity(file.rows().len());
    for row in file.rows() {
        let at =
            instant(row.get(start_col), tz).with_context(|| format!("{}: column `start`", file.at(row)))?;
        let kind = row.get(kind_col);
        if kind.is_empty() {
            bail!("{}: column `event_type` is empty", file.at(row));
        }
        events.push(Event {
            at,
            kind: kind.to_owned(),
        });
    }
    Ok(events)
}

fn instant(text: &str, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
    parse_time(text)?.to_utc(tz)
}
