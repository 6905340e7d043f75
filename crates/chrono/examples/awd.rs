//! Runs the engine on an Actiwatch `.AWD` file (header of 7 lines, then one activity
//! count per epoch, optionally followed by a marker column): activity scoring, episodes
//! and the chronotype report, printed as JSON lines. A smoke check on real recordings;
//! no data ships with the crate (see `scripts/real_data.sh`).
//!
//! `cargo run --release --example awd -- FILE [IANA_ZONE] [roenneberg|sadeh|cole_kripke]`

use std::process::ExitCode;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sprout_chrono::msf::{nights, sleep_days};
use sprout_chrono::{analyze, episodes_from_states, score_activity, ActivityCount, Algorithm, ChildContext};

/// Lines before the first count in an AWD file.
const HEADER_LINES: usize = 7;

/// Parses an AWD file into 1-minute counts read as local clock time in `tz`.
fn parse_awd(text: &str, tz: Tz) -> Result<Vec<ActivityCount>, String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    if lines.len() <= HEADER_LINES {
        return Err("file shorter than its header".into());
    }
    let date = NaiveDate::parse_from_str(lines[1], "%d-%b-%Y")
        .map_err(|e| format!("start date {:?}: {e}", lines[1]))?;
    let time = NaiveTime::parse_from_str(lines[2], "%H:%M")
        .map_err(|e| format!("start time {:?}: {e}", lines[2]))?;
    // Frequency code 4 is one epoch a minute; the scoring algorithms need 1-minute epochs.
    if lines[3] != "4" {
        return Err(format!("epoch code {:?} is not 1 minute", lines[3]));
    }
    let start = tz
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .ok_or("start time does not exist in that zone")?
        .with_timezone(&Utc);
    lines[HEADER_LINES..]
        .iter()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let first = line.split_whitespace().next().unwrap_or("");
            let count: f64 = first
                .parse()
                .map_err(|e| format!("line {}: {first:?}: {e}", i + HEADER_LINES + 1))?;
            Ok(ActivityCount {
                time: start + Duration::minutes(i as i64),
                count,
            })
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: awd FILE [IANA_ZONE] [roenneberg|sadeh|cole_kripke]");
        return ExitCode::FAILURE;
    };
    let tz: Tz = match args.get(1).map(|z| z.parse::<Tz>()) {
        None => chrono_tz::Europe::Brussels,
        Some(Ok(tz)) => tz,
        Some(Err(e)) => {
            eprintln!("zone: {e}");
            return ExitCode::FAILURE;
        }
    };
    let algorithm = match args.get(2).map(String::as_str) {
        None | Some("roenneberg") => Algorithm::Roenneberg,
        Some("sadeh") => Algorithm::Sadeh,
        Some("cole_kripke") => Algorithm::ColeKripke,
        Some(other) => {
            eprintln!("unknown algorithm {other}");
            return ExitCode::FAILURE;
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let counts = match parse_awd(&text, tz) {
        Ok(counts) => counts,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let states = score_activity(&counts, algorithm);
    let episodes = episodes_from_states(&states);
    let ctx = ChildContext::new(tz);
    for night in nights(&sleep_days(&episodes, tz), tz, &ctx.calendar) {
        println!(
            "night {} {:?}: onset {:+.2} h, offset {:.2} h, mid {:.2} h, {:.2} h asleep",
            night.wake_date,
            night.day_type,
            night.onset_hours,
            night.offset_hours,
            night.mid_hours,
            night.duration_hours
        );
    }
    let report = analyze(&episodes, &ctx);
    match serde_json::to_string(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("json: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
