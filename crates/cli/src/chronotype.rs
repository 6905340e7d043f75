//! `sprout chronotype`: a child's chronotype, mid-sleep and social jet lag from a CSV of
//! sleep episodes or of epoch-by-epoch sleep states.

use crate::csv_input::{clip, parse_time, parse_tz, ClockTime, CsvFile};
use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::Args;
use sprout_chrono::{
    ChildContext, ChronotypeReport, DayType, SleepEpisode, SleepState, StateSample, Status, MIN_FREE_NIGHTS,
    MIN_NIGHTS,
};
use std::path::{Path, PathBuf};

/// Oldest age accepted: the cut-offs are for children and adolescents, and the
/// adolescent shift stops at 20.
const MAX_AGE_YEARS: f64 = 25.0;

#[derive(Args)]
pub struct ChronotypeArgs {
    /// CSV of sleep episodes (`onset,offset`) or of sleep states (`time,sleep_state`,
    /// states awake, light, deep, rem, asleep); the header tells which.
    #[arg(long)]
    pub data: PathBuf,
    /// The child's age in years; from 12 on the cut-offs move later with age, as in the
    /// app (without it the school-age cut-offs apply).
    #[arg(long, value_name = "YEARS")]
    pub age: Option<f64>,
    /// The child's time zone (IANA name): clock times without an offset are read in it,
    /// and nights are placed on its clock.
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub tz: String,
    /// CSV with columns `date,day_type` (`school` or `free`) overriding the default of
    /// Saturday and Sunday free; a night counts as the day that follows it.
    #[arg(long)]
    pub calendar: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ChronotypeArgs) -> anyhow::Result<()> {
    let tz = parse_tz(&args.tz).context("--tz")?;
    let mut ctx = ChildContext::new(tz);
    if let Some(age) = args.age {
        if !(age.is_finite() && (0.0..=MAX_AGE_YEARS).contains(&age)) {
            bail!("--age must be between 0 and {MAX_AGE_YEARS} years, got {age}");
        }
        ctx.age_years = Some(age);
    }
    if let Some(path) = &args.calendar {
        ctx.calendar = read_calendar(path)?;
    }
    let file = CsvFile::read(&args.data)?;
    let episodes = if file.find("onset").is_some() && file.find("offset").is_some() {
        read_episodes(&file, tz)?
    } else if file.find("time").is_some() && file.find("sleep_state").is_some() {
        read_states(&file, tz)?
    } else {
        bail!(
            "{} needs columns `onset,offset` (sleep episodes) or `time,sleep_state` (sleep states); it has {}",
            file.name(),
            file.headers().join(", ")
        );
    };
    let report = sprout_chrono::analyze(&episodes, &ctx);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// Episodes: an offset given with the onset fixes the clock the night is read on;
/// otherwise the child's zone applies.
fn read_episodes(file: &CsvFile, tz: Tz) -> anyhow::Result<Vec<SleepEpisode>> {
    let (onset_col, offset_col) = (file.column("onset")?, file.column("offset")?);
    let mut episodes = Vec::with_capacity(file.rows().len());
    for row in file.rows() {
        let at = || file.at(row);
        let onset = parse_time(row.get(onset_col)).with_context(|| format!("{}: column `onset`", at()))?;
        let offset = parse_time(row.get(offset_col)).with_context(|| format!("{}: column `offset`", at()))?;
        let episode = match onset {
            ClockTime::Fixed(onset) => {
                let offset = offset
                    .to_fixed(tz)
                    .with_context(|| format!("{}: column `offset`", at()))?;
                SleepEpisode::with_fixed_offset(onset, offset)
            }
            ClockTime::Naive(_) => {
                let onset = onset
                    .to_utc(tz)
                    .with_context(|| format!("{}: column `onset`", at()))?;
                let offset = offset
                    .to_utc(tz)
                    .with_context(|| format!("{}: column `offset`", at()))?;
                SleepEpisode::new(onset, offset)
            }
        };
        episodes.push(episode.with_context(at)?);
    }
    Ok(episodes)
}

/// Sleep states, turned into episodes; an episode whose first sample carried an offset
/// is read on that offset's clock, as posted episodes are.
fn read_states(file: &CsvFile, tz: Tz) -> anyhow::Result<Vec<SleepEpisode>> {
    let (time_col, state_col) = (file.column("time")?, file.column("sleep_state")?);
    let mut samples: Vec<(StateSample, Option<FixedOffset>)> = Vec::with_capacity(file.rows().len());
    for row in file.rows() {
        let cell = row.get(state_col);
        // A row of another metric (heart rate, steps, ...) carries no sleep state.
        if cell.is_empty() {
            continue;
        }
        let state = parse_state(cell).with_context(|| format!("{}: column `sleep_state`", file.at(row)))?;
        let clock =
            parse_time(row.get(time_col)).with_context(|| format!("{}: column `time`", file.at(row)))?;
        let time: DateTime<Utc> = clock
            .to_utc(tz)
            .with_context(|| format!("{}: column `time`", file.at(row)))?;
        let fixed = match clock {
            ClockTime::Fixed(t) => Some(*t.offset()),
            ClockTime::Naive(_) => None,
        };
        samples.push((StateSample { time, state }, fixed));
    }
    samples.sort_by_key(|(sample, _)| sample.time);
    let states: Vec<StateSample> = samples.iter().map(|(sample, _)| *sample).collect();
    let mut episodes = sprout_chrono::episodes_from_states(&states);
    for episode in &mut episodes {
        // Every episode starts at one of the samples.
        let first = samples.partition_point(|(sample, _)| sample.time < episode.onset);
        episode.utc_offset = samples.get(first).and_then(|(_, fixed)| *fixed);
    }
    Ok(episodes)
}

fn parse_state(text: &str) -> anyhow::Result<SleepState> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "awake" => SleepState::Awake,
        "light" => SleepState::Light,
        "deep" => SleepState::Deep,
        "rem" => SleepState::Rem,
        "asleep" => SleepState::Asleep,
        _ => bail!(
            "`{}` is not a sleep state (awake, light, deep, rem, asleep)",
            clip(text)
        ),
    })
}

/// Day types per local date: `date,day_type` with `school` or `free`.
fn read_calendar(path: &Path) -> anyhow::Result<sprout_chrono::Calendar> {
    let file = CsvFile::read(path)?;
    let (date_col, kind_col) = (file.column("date")?, file.column("day_type")?);
    let mut calendar = sprout_chrono::Calendar::new();
    for row in file.rows() {
        let text = row.get(date_col);
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
            format!(
                "{}: column `date`: `{}` is not a YYYY-MM-DD date",
                file.at(row),
                clip(text)
            )
        })?;
        let kind = match row.get(kind_col).to_ascii_lowercase().as_str() {
            "school" => DayType::School,
            "free" => DayType::Free,
            other => bail!(
                "{}: column `day_type`: `{}` is neither school nor free",
                file.at(row),
                clip(other)
            ),
        };
        calendar.insert(date, kind);
    }
    Ok(calendar)
}

/// Hours relative to local midnight as a clock time (`-1.0` is 23:00).
fn clock(hours: f64) -> String {
    let minutes = (hours * 60.0).round().rem_euclid(24.0 * 60.0) as i64;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn print_summary(report: &ChronotypeReport) {
    let type_name = |t: sprout_chrono::Chronotype| match t {
        sprout_chrono::Chronotype::EarlyBird => "early bird",
        sprout_chrono::Chronotype::Intermediate => "intermediate",
        sprout_chrono::Chronotype::NightOwl => "night owl",
    };
    match (report.status, report.chronotype, report.msf_sc_hours) {
        (Status::Ok, Some(chronotype), Some(msf_sc)) => println!(
            "{} (confidence {:.2}): MSFsc {}",
            type_name(chronotype),
            report.confidence,
            clock(msf_sc)
        ),
        _ => println!(
            "insufficient data: a chronotype needs at least {MIN_NIGHTS} nights with {MIN_FREE_NIGHTS} free ones"
        ),
    }
    println!(
        "nights used: {} ({} free, {} school, {} excluded), naps: {}",
        report.nights_used, report.free_nights, report.school_nights, report.nights_excluded, report.naps
    );
    if let Some(msf) = report.msf_hours {
        println!("mid-sleep on free days: {}", clock(msf));
    }
    if let Some(msw) = report.msw_hours {
        println!("mid-sleep on school days: {}", clock(msw));
    }
    if let Some(sjl) = report.social_jetlag_hours {
        println!("social jet lag: {sjl:.2} h");
    }
}
