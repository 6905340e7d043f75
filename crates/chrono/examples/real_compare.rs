//! Side-by-side bench on real recordings: Sprout's sleep detection (scoring, episodes,
//! main sleep per night) against pyActigraphy's Roenneberg detection on the same
//! 1-minute counts, for each of Sprout's algorithms (the tested one, Roenneberg, first).
//! Prints, per recording, the nights each side found, the nights paired by overlap,
//! the median |Δonset| and |Δoffset| in minutes, and the median detection time of each
//! side in milliseconds.
//!
//! The data are made by `scripts/pyactigraphy_detection.sh` (outside version control);
//! see the crate README.
//!
//! `cargo run --release -p sprout-chrono --example real_compare -- [DIR] [RUNS]`
//! (DIR defaults to `$SPROUT_PYACTIGRAPHY_DIR`, RUNS to 20).

#[path = "../tests/support/pyactigraphy.rs"]
mod pyactigraphy;

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use pyactigraphy::{compare, load_dir, median, sprout_main_sleeps, ALGORITHM, MAX_MEDIAN_MINUTES};
use sprout_chrono::Algorithm;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args
        .first()
        .cloned()
        .or_else(|| std::env::var("SPROUT_PYACTIGRAPHY_DIR").ok())
    {
        Some(dir) => PathBuf::from(dir),
        None => {
            eprintln!("usage: real_compare DIR [RUNS] (or set SPROUT_PYACTIGRAPHY_DIR)");
            return ExitCode::FAILURE;
        }
    };
    let runs: usize = match args.get(1).map(|r| r.parse()) {
        None => 20,
        Some(Ok(r)) if r > 0 => r,
        _ => {
            eprintln!("RUNS must be a positive integer");
            return ExitCode::FAILURE;
        }
    };
    let recordings = match load_dir(&dir) {
        Ok(r) if !r.is_empty() => r,
        Ok(_) => {
            eprintln!("{}: no *_counts.csv", dir.display());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };

    let others = [Algorithm::Roenneberg, Algorithm::Sadeh, Algorithm::ColeKripke]
        .into_iter()
        .filter(|a| *a != ALGORITHM);
    for algorithm in std::iter::once(ALGORITHM).chain(others) {
        let chosen = if algorithm == ALGORITHM {
            " (the one tested)"
        } else {
            ""
        };
        println!(
            "Sprout {algorithm:?}{chosen} vs pyActigraphy Roenneberg, {runs} timed runs each for Sprout"
        );
        println!(
            "{:<11} {:>7} {:>7} {:>6} {:>9} {:>9} {:>10} {:>13}",
            "recording", "epochs", "nights", "paired", "|Δon| min", "|Δoff| min", "sprout ms", "pyActigr. ms"
        );
        let mut all_onsets = Vec::new();
        let mut all_offsets = Vec::new();
        let mut ok = true;
        for rec in &recordings {
            let mut times = Vec::with_capacity(runs);
            let mut nights = Vec::new();
            for _ in 0..runs {
                let start = Instant::now();
                nights = black_box(sprout_main_sleeps(black_box(&rec.counts), algorithm));
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            let agreement = compare(&nights, &rec.reference);
            ok &= agreement.meets_requirement();
            all_onsets.extend(agreement.deltas.iter().map(|d| d.0.abs()));
            all_offsets.extend(agreement.deltas.iter().map(|d| d.1.abs()));
            let reference_ms = if rec.reference_ms.is_empty() {
                "n/a".to_owned()
            } else {
                format!("{:.1}", median(&rec.reference_ms))
            };
            println!(
                "{:<11} {:>7} {:>3}/{:<3} {:>6} {:>9.1} {:>9.1} {:>10.2} {:>13}",
                rec.name,
                rec.counts.len(),
                agreement.sprout_nights,
                agreement.reference_nights,
                agreement.paired,
                agreement.median_onset_minutes,
                agreement.median_offset_minutes,
                median(&times),
                reference_ms
            );
        }
        println!(
            "{:<11} {:>7} {:>7} {:>6} {:>9.1} {:>9.1}   requirement ≤ {MAX_MEDIAN_MINUTES} min per recording: {}",
            "all",
            "",
            "",
            all_onsets.len(),
            median(&all_onsets),
            median(&all_offsets),
            if ok { "met" } else { "NOT met" }
        );
        println!();
    }
    ExitCode::SUCCESS
}
