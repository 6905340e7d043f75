//! Sprout's sleep detection next to pyActigraphy's on the same recordings, for
//! `tests/real_data.rs` and `examples/real_compare.rs` (which includes this file by
//! path). The CSVs come from `scripts/pyactigraphy_detection.sh`.
//!
//! Sprout's side is the path the engine offers for activity counts: [`score_activity`]
//! (Roenneberg, Cole–Kripke with Webster rescoring, or Sadeh), [`episodes_from_states`],
//! then the main sleep of each sleep day from [`sleep_days`]. pyActigraphy's side is its
//! Roenneberg (2015) detection reduced to one main sleep per night with the same rule.
//! Nights are paired by overlap.

// Shared by a test and an example; each uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sprout_chrono::msf::sleep_days;
use sprout_chrono::{episodes_from_states, score_activity, ActivityCount, Algorithm};

/// Requirement: median absolute onset and offset difference over paired nights.
pub const MAX_MEDIAN_MINUTES: f64 = 15.0;

/// Sprout's scoring algorithm for the comparison: its default for counts.
pub const ALGORITHM: Algorithm = Algorithm::Roenneberg;

/// One sleep period, onset to offset.
pub type Period = (DateTime<Utc>, DateTime<Utc>);

/// One recording with pyActigraphy's results.
#[derive(Debug, Clone)]
pub struct Recording {
    /// File stem, e.g. `example_01`.
    pub name: String,
    /// 1-minute activity counts.
    pub counts: Vec<ActivityCount>,
    /// pyActigraphy's main sleep per night.
    pub reference: Vec<Period>,
    /// pyActigraphy's detection time per run, milliseconds (may be empty).
    pub reference_ms: Vec<f64>,
}

/// How two sets of nights agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Main sleeps Sprout found.
    pub sprout_nights: usize,
    /// Main sleeps pyActigraphy found.
    pub reference_nights: usize,
    /// Nights paired by overlap.
    pub paired: usize,
    /// Median |Sprout onset − pyActigraphy onset|, minutes.
    pub median_onset_minutes: f64,
    /// Median |Sprout offset − pyActigraphy offset|, minutes.
    pub median_offset_minutes: f64,
    /// Signed differences Sprout − pyActigraphy per paired night (onset, offset), minutes.
    pub deltas: Vec<(f64, f64)>,
}

impl Agreement {
    /// Whether both medians meet [`MAX_MEDIAN_MINUTES`] over at least one paired night.
    pub fn meets_requirement(&self) -> bool {
        self.paired > 0
            && self.median_onset_minutes <= MAX_MEDIAN_MINUTES
            && self.median_offset_minutes <= MAX_MEDIAN_MINUTES
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("timestamp {s:?}: {e}"))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Data rows of a CSV with a header line, split on commas.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(',').collect()))
}

/// Reads `timestamp,activity`.
pub fn parse_counts(text: &str) -> Result<Vec<ActivityCount>, String> {
    rows(text)
        .map(|(line, fields)| match fields.as_slice() {
            [time, count] => Ok(ActivityCount {
                time: parse_time(time)?,
                count: count
                    .trim()
                    .parse()
                    .map_err(|e| format!("line {line}: count {count:?}: {e}"))?,
            }),
            _ => Err(format!("line {line}: expected timestamp,activity")),
        })
        .collect()
}

/// Reads `onset,offset`.
pub fn parse_periods(text: &str) -> Result<Vec<Period>, String> {
    rows(text)
        .map(|(line, fields)| match fields.as_slice() {
            [onset, offset] => Ok((parse_time(onset)?, parse_time(offset)?)),
            _ => Err(format!("line {line}: expected onset,offset")),
        })
        .collect()
}

/// Reads `run,ms`.
pub fn parse_timing(text: &str) -> Result<Vec<f64>, String> {
    rows(text)
        .map(|(line, fields)| match fields.as_slice() {
            [_, ms] => ms
                .trim()
                .parse()
                .map_err(|e| format!("line {line}: ms {ms:?}: {e}")),
            _ => Err(format!("line {line}: expected run,ms")),
        })
        .collect()
}

/// Every recording in `dir`: each `<name>_counts.csv` with its
/// `<name>_pyactigraphy_sleep.csv` (and `<name>_pyactigraphy_timing.csv` if present).
pub fn load_dir(dir: &Path) -> Result<Vec<Recording>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix("_counts.csv")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let file = |name: &str, suffix: &str| -> PathBuf { dir.join(format!("{name}{suffix}")) };
    names
        .into_iter()
        .map(|name| {
            let counts = parse_counts(&read(&file(&name, "_counts.csv"))?)
                .map_err(|e| format!("{name}_counts.csv: {e}"))?;
            let reference = parse_periods(&read(&file(&name, "_pyactigraphy_sleep.csv"))?)
                .map_err(|e| format!("{name}_pyactigraphy_sleep.csv: {e}"))?;
            let timing = file(&name, "_pyactigraphy_timing.csv");
            let reference_ms = if timing.exists() {
                parse_timing(&read(&timing)?).map_err(|e| format!("{name}_pyactigraphy_timing.csv: {e}"))?
            } else {
                Vec::new()
            };
            Ok(Recording {
                name,
                counts,
                reference,
                reference_ms,
            })
        })
        .collect()
}

/// Sprout's main sleep per night from 1-minute counts (clock read as UTC, as written
/// by the extraction script).
pub fn sprout_main_sleeps(counts: &[ActivityCount], algorithm: Algorithm) -> Vec<Period> {
    let episodes = episodes_from_states(&score_activity(counts, algorithm));
    sleep_days(&episodes, chrono_tz::UTC)
        .iter()
        .filter_map(|day| day.main.map(|e| (e.onset, e.offset)))
        .collect()
}

fn overlap_seconds(a: &Period, b: &Period) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).num_seconds()
}

/// Median of `values` (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Pairs each of Sprout's nights with the pyActigraphy night it overlaps most (each
/// used once) and summarises the onset and offset differences.
pub fn compare(sprout: &[Period], reference: &[Period]) -> Agreement {
    let mut used = vec![false; reference.len()];
    let mut deltas = Vec::new();
    for night in sprout {
        let best = reference
            .iter()
            .enumerate()
            .filter(|(i, r)| !used[*i] && overlap_seconds(night, r) > 0)
            .max_by_key(|(_, r)| overlap_seconds(night, r));
        if let Some((i, r)) = best {
            used[i] = true;
            let minutes = |d: chrono::Duration| d.num_seconds() as f64 / 60.0;
            deltas.push((minutes(night.0 - r.0), minutes(night.1 - r.1)));
        }
    }
    let abs_onsets: Vec<f64> = deltas.iter().map(|d| d.0.abs()).collect();
    let abs_offsets: Vec<f64> = deltas.iter().map(|d| d.1.abs()).collect();
    Agreement {
        sprout_nights: sprout.len(),
        reference_nights: reference.len(),
        paired: deltas.len(),
        median_onset_minutes: median(&abs_onsets),
        median_offset_minutes: median(&abs_offsets),
        deltas,
    }
}
