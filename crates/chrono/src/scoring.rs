//! Sleep/wake scoring of minute-by-minute activity counts with published actigraphy
//! algorithms, for devices that report movement but no sleep states.
//!
//! * Roenneberg, Keller, Fischer, Matera, Vetter & Winnebeck 2015, "Human activity and
//!   rest in situ", Methods Enzymol 552:257–283: consolidated rest relative to the
//!   person's own 24-hour activity trend, as implemented by pyActigraphy
//!   ([`crate::roenneberg`]). The default.
//! * Cole, Kripke, Gruen, Mullaney & Gillin 1992, "Automatic sleep/wake identification
//!   from wrist activity", Sleep 15(5):461–469: the 1-minute-epoch equation, followed by
//!   the Webster rescoring rules given in the same paper.
//! * Sadeh, Sharkey & Carskadon 1994, "Activity-based sleep-wake identification: an
//!   empirical test of methodological issues", Sleep 17(3):201–207; developed on
//!   children, adolescents and young adults.
//!
//! The Cole–Kripke and Sadeh equations are applied to counts as done by ActiGraph's
//! ActiLife for its 60-second count epochs (Cole–Kripke: counts divided by 100 and
//! capped at 300; Sadeh: counts capped at 300, sleep when the index exceeds −4), so
//! their result depends on the device's count unit; Roenneberg's does not. Input must be
//! consecutive 1-minute epochs; windows are taken by position, and for Cole–Kripke and
//! Sadeh epochs beyond either end count as zero activity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::episodes::{SleepState, StateSample};
use crate::roenneberg;

/// Activity count of the 1-minute epoch starting at `time`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActivityCount {
    /// Start of the epoch.
    pub time: DateTime<Utc>,
    /// Movement count in the epoch (device counts per minute).
    pub count: f64,
}

/// Which published scoring algorithm to use.
///
/// Roenneberg is the default. Cole–Kripke and Sadeh score every epoch with little
/// movement as sleep (an absolute threshold on the count scale of ActiGraph devices), so
/// quiet wake in bed in the evening starts their sleep early; Roenneberg only calls
/// rest what stays below 15 % of the person's own 24-hour activity trend for 30
/// uninterrupted minutes, which makes it independent of the device's count unit. On
/// the five example Actiwatch recordings shipped with pyActigraphy, Sadeh's sleep
/// onsets differ from Roenneberg's by a median 31–180 minutes per recording while the
/// offsets agree within 0–5 minutes, and multiplying the counts by three moves Sadeh's
/// onsets by a median 1–64 minutes and Roenneberg's by none. Roenneberg needs at
/// least 12 hours of counts (its trend is undefined otherwise) and finds no bout in rest
/// that lasts to within about half an hour of the end of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Cole–Kripke 1992, 1-minute epochs, with Webster rescoring.
    ColeKripke,
    /// Sadeh 1994, 1-minute epochs; developed on children, adolescents and young adults.
    Sadeh,
    /// Roenneberg et al. 2015, 1-minute epochs: consolidated rest below 15 % of the
    /// 24-hour activity trend, offset by template matching ([`crate::roenneberg`]).
    #[default]
    Roenneberg,
}

/// Cole–Kripke scale factor P of the 1-minute equation (Cole et al. 1992).
pub const COLE_KRIPKE_P: f64 = 0.001;
/// Cole–Kripke weights for epochs −4 … +2 around the scored epoch (Cole et al. 1992).
pub const COLE_KRIPKE_WEIGHTS: [f64; 7] = [106.0, 54.0, 58.0, 76.0, 230.0, 74.0, 67.0];
/// Epochs before the scored epoch in the Cole–Kripke window.
const COLE_KRIPKE_BEFORE: usize = 4;
/// Cole–Kripke: counts are divided by this before weighting (ActiLife convention).
pub const COLE_KRIPKE_COUNT_DIVISOR: f64 = 100.0;
/// Cap on scaled counts, both algorithms (ActiLife convention), so that one violent
/// movement cannot dominate the window.
pub const COUNT_CAP: f64 = 300.0;
/// Cole–Kripke: an epoch is sleep when the weighted sum D is below this (Cole et al. 1992).
pub const COLE_KRIPKE_THRESHOLD: f64 = 1.0;

/// Sadeh intercept (Sadeh et al. 1994).
pub const SADEH_INTERCEPT: f64 = 7.601;
/// Sadeh weight of the 11-epoch mean activity.
pub const SADEH_MEAN_WEIGHT: f64 = 0.065;
/// Sadeh weight of the number of epochs with 50 ≤ count < 100 in the 11-epoch window.
pub const SADEH_NAT_WEIGHT: f64 = 1.08;
/// Sadeh weight of the standard deviation of the current and 5 previous epochs.
pub const SADEH_SD_WEIGHT: f64 = 0.056;
/// Sadeh weight of ln(count + 1) of the scored epoch.
pub const SADEH_LOG_WEIGHT: f64 = 0.703;
/// Sadeh: sleep when the index is above this (ActiLife threshold for its count scale).
pub const SADEH_THRESHOLD: f64 = -4.0;
/// Sadeh NAT band lower bound (inclusive).
const SADEH_NAT_LOW: f64 = 50.0;
/// Sadeh NAT band upper bound (exclusive).
const SADEH_NAT_HIGH: f64 = 100.0;
/// Half-width of the Sadeh mean/NAT window (5 before, 5 after).
const SADEH_HALF_WINDOW: usize = 5;
/// Epochs in the Sadeh SD window (current and 5 previous).
const SADEH_SD_WINDOW: usize = 6;

/// Scores each epoch as [`SleepState::Asleep`] or [`SleepState::Awake`]; with
/// [`Algorithm::Roenneberg`], asleep means inside a consolidated rest bout.
///
/// Non-finite or negative counts are treated as zero movement. The output has one
/// sample per input epoch, at the same times and in the same order.
pub fn score_activity(counts: &[ActivityCount], algorithm: Algorithm) -> Vec<StateSample> {
    let clean: Vec<f64> = counts
        .iter()
        .map(|c| {
            if c.count.is_finite() && c.count > 0.0 {
                c.count
            } else {
                0.0
            }
        })
        .collect();
    let asleep = match algorithm {
        Algorithm::ColeKripke => webster_rescore(cole_kripke(&clean)),
        Algorithm::Sadeh => sadeh(&clean),
        Algorithm::Roenneberg => {
            let mut rest = vec![false; clean.len()];
            for bout in roenneberg::rest_bouts(&clean) {
                rest[bout].fill(true);
            }
            rest
        }
    };
    counts
        .iter()
        .zip(asleep)
        .map(|(c, sleep)| StateSample {
            time: c.time,
            state: if sleep {
                SleepState::Asleep
            } else {
                SleepState::Awake
            },
        })
        .collect()
}

/// Raw Cole–Kripke sleep (true) / wake (false) per epoch.
fn cole_kripke(counts: &[f64]) -> Vec<bool> {
    let scaled: Vec<f64> = counts
        .iter()
        .map(|c| (c / COLE_KRIPKE_COUNT_DIVISOR).min(COUNT_CAP))
        .collect();
    let n = scaled.len();
    (0..n)
        .map(|i| {
            let d: f64 = COLE_KRIPKE_WEIGHTS
                .iter()
                .enumerate()
                .filter_map(|(k, w)| {
                    let j = (i + k).checked_sub(COLE_KRIPKE_BEFORE)?;
                    scaled.get(j).map(|a| w * a)
                })
                .sum();
            COLE_KRIPKE_P * d < COLE_KRIPKE_THRESHOLD
        })
        .collect()
}

/// Webster rescoring rules (Cole et al. 1992): sleep right after a long wake bout, and
/// short sleep bouts inside long wake, are rescored as wake.
fn webster_rescore(mut sleep: Vec<bool>) -> Vec<bool> {
    // Rules a–c: after ≥ 4 / ≥ 10 / ≥ 15 min of wake, the next 1 / 3 / 4 min of sleep
    // become wake.
    const AFTER_WAKE: [(usize, usize); 3] = [(15, 4), (10, 3), (4, 1)];
    let n = sleep.len();
    let original = sleep.clone();
    let mut i = 0;
    while i < n {
        if original[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !original[i] {
            i += 1;
        }
        let wake_len = i - start;
        if let Some(&(_, rescore)) = AFTER_WAKE.iter().find(|(min, _)| wake_len >= *min) {
            for flag in sleep.iter_mut().skip(i).take(rescore) {
                *flag = false;
            }
        }
    }
    // Rules d–e: ≤ 6 min sleep between ≥ 10 min wake either side, or ≤ 10 min sleep
    // between ≥ 20 min wake either side, become wake.
    const SANDWICH: [(usize, usize); 2] = [(6, 10), (10, 20)];
    let runs = runs_of(&sleep);
    let mut result = sleep.clone();
    for (idx, &(start, len, is_sleep)) in runs.iter().enumerate() {
        if !is_sleep || idx == 0 || idx + 1 == runs.len() {
            continue;
        }
        let before = runs[idx - 1].1;
        let after = runs[idx + 1].1;
        if SANDWICH
            .iter()
            .any(|&(max_sleep, min_wake)| len <= max_sleep && before >= min_wake && after >= min_wake)
        {
            for flag in result.iter_mut().skip(start).take(len) {
                *flag = false;
            }
        }
    }
    result
}

/// Runs of equal values as (start, length, value).
fn runs_of(values: &[bool]) -> Vec<(usize, usize, bool)> {
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.2 == v => run.1 += 1,
            _ => runs.push((i, 1, v)),
        }
    }
    runs
}

/// Sadeh sleep (true) / wake (false) per epoch.
fn sadeh(counts: &[f64]) -> Vec<bool> {
    let capped: Vec<f64> = counts.iter().map(|c| c.min(COUNT_CAP)).collect();
    let n = capped.len();
    // Prefix sums of activity and of NAT membership make each 11-epoch window O(1);
    // positions outside the series count as zero activity (and are not in the NAT band).
    let mut sum_prefix = Vec::with_capacity(n + 1);
    let mut nat_prefix = Vec::with_capacity(n + 1);
    sum_prefix.push(0.0);
    nat_prefix.push(0.0);
    for &a in &capped {
        let in_band = (SADEH_NAT_LOW..SADEH_NAT_HIGH).contains(&a);
        sum_prefix.push(sum_prefix.last().copied().unwrap_or(0.0) + a);
        nat_prefix.push(nat_prefix.last().copied().unwrap_or(0.0) + f64::from(u8::from(in_band)));
    }
    let window_len = (2 * SADEH_HALF_WINDOW + 1) as f64;
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(SADEH_HALF_WINDOW);
            let hi = (i + SADEH_HALF_WINDOW + 1).min(n);
            let mean = (sum_prefix[hi] - sum_prefix[lo]) / window_len;
            let nat = nat_prefix[hi] - nat_prefix[lo];
            // Current and 5 previous epochs, zero before the start.
            let mut recent = [0.0; SADEH_SD_WINDOW];
            for (k, slot) in recent.iter_mut().enumerate() {
                if let Some(j) = (i + k + 1).checked_sub(SADEH_SD_WINDOW) {
                    *slot = capped[j];
                }
            }
            let recent_mean = recent.iter().sum::<f64>() / SADEH_SD_WINDOW as f64;
            let ss: f64 = recent.iter().map(|a| (a - recent_mean).powi(2)).sum();
            let sd = (ss / (SADEH_SD_WINDOW - 1) as f64).sqrt();
            let log_act = (capped[i] + 1.0).ln();
            let index = SADEH_INTERCEPT
                - SADEH_MEAN_WEIGHT * mean
                - SADEH_NAT_WEIGHT * nat
                - SADEH_SD_WEIGHT * sd
                - SADEH_LOG_WEIGHT * log_act;
            index > SADEH_THRESHOLD
        })
        .collect()
}
