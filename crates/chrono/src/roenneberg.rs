//! Consolidated rest detection of Roenneberg et al. 2015 ("Human activity and rest in
//! situ", Methods Enzymol 552:257–283), the Munich Actimetry Sleep Detection Algorithm
//! (validation: Loock et al. 2021, J Sleep Res 30:e13371).
//!
//! Unlike Cole–Kripke and Sadeh, which score each epoch from a fixed weighting of the
//! counts around it, this detection is relative to the person's own activity level and
//! only reports consolidated bouts:
//!
//! 1. **Trend.** The mean count over a centred 24-hour window (epochs `i − 720 …
//!    i + 719`, clipped to the recording); positions whose clipped window holds fewer
//!    than 720 epochs (12 hours) have no trend.
//! 2. **Threshold.** An epoch is *below threshold* when its count is at most
//!    [`THRESHOLD`] (15 %) of the trend there; epochs without a trend are not.
//! 3. **Seeds.** Every run of at least [`MIN_SEED_MINUTES`] (30) consecutive
//!    below-threshold epochs is a seed; its first epoch is a candidate sleep onset.
//! 4. **Offset by template matching.** From a seed, the next
//!    [`MAX_TEST_MINUTES`] (12 hours, fewer at the end of the recording) of
//!    below-threshold marks `x` (1 below, 0 above) are correlated (Pearson's r) with
//!    each template "k ones then zeros", k = 1 … length. The offset is the highest
//!    *peak* of that correlation curve, a peak being a value strictly greater than each
//!    of the next [`PEAK_LOOKAHEAD_MINUTES`] + 1 (31) values; on a tie the earliest
//!    index with the highest value wins. The bout runs from the seed to that index,
//!    both included. No peak (too short a window, or a window that is all below
//!    threshold, whose correlation is undefined) gives no bout.
//! 5. **Bouts.** Seeds are taken in time order; a seed that starts before the offset
//!    of the last bout found is skipped (it is part of that bout).
//!
//! Everything outside the bouts is activity (wake).
//!
//! This follows pyActigraphy 1.2.2 (`pyActigraphy.sleep.scoring.roenneberg`, called by
//! `Raw.Roenneberg()`) with its default parameters (`trend_period='24h'`,
//! `min_trend_period='12h'`, `threshold=0.15`, `min_seed_period='30Min'`,
//! `max_test_period='12h'`, `r_consec_below='30Min'`, no resampling), on 1-minute
//! epochs. Deviations, none of which changes an epoch on the five example recordings
//! shipped with pyActigraphy (checked epoch by epoch):
//!
//! * pyActigraphy raises an error when there is no seed or no bout at all (or when a
//!   seed lies within 31 epochs of the end of the recording); here there is simply no
//!   bout from such a seed, and a recording without any bout is all wake.
//! * pyActigraphy turns below-threshold marks outside bouts back into activity by
//!   rewriting its series in place, but not between a seed without an offset and the
//!   first bout; here every epoch outside a bout is activity.
//! * Pearson's r is computed in closed form from prefix sums of the binary marks
//!   (`(m·S_k − k·S) / √((m·S − S²)·k·(m − k))`) rather than by normalised dot
//!   products; the two differ only by floating-point rounding.
//!
//! The authors' own evaluation used counts aggregated into 10-minute bins; pyActigraphy
//! runs it on the recording's own epochs by default, and so does this implementation.

/// Length of the centred window of the activity trend, in 1-minute epochs (24 hours).
pub const TREND_MINUTES: usize = 24 * 60;
/// Fewest epochs the (clipped) trend window must hold for a trend value (12 hours).
pub const MIN_TREND_MINUTES: usize = 12 * 60;
/// An epoch is below threshold when its count is at most this fraction of the trend.
pub const THRESHOLD: f64 = 0.15;
/// Shortest run of below-threshold epochs that can start a bout (30 minutes).
pub const MIN_SEED_MINUTES: usize = 30;
/// Length of the series tested for the offset from each seed (12 hours).
pub const MAX_TEST_MINUTES: usize = 12 * 60;
/// A correlation peak must exceed the next `PEAK_LOOKAHEAD_MINUTES + 1` values
/// (pyActigraphy's `r_consec_below` of 30 minutes, plus one).
pub const PEAK_LOOKAHEAD_MINUTES: usize = 30;

/// Below-threshold mark of one epoch; `None` where there is no trend.
type Mark = Option<bool>;

/// Consolidated rest bouts in consecutive 1-minute counts, as half-open epoch ranges
/// `start..end`, sorted and non-overlapping. Counts must be finite and non-negative.
pub fn rest_bouts(counts: &[f64]) -> Vec<std::ops::Range<usize>> {
    let marks = below_threshold(counts);
    let mut bouts: Vec<std::ops::Range<usize>> = Vec::new();
    let mut last_offset: Option<usize> = None;
    for seed in seeds(&marks) {
        if last_offset.is_some_and(|offset| seed < offset) {
            continue;
        }
        let end = (seed + MAX_TEST_MINUTES).min(marks.len());
        let Some(peak) = offset_index(&marks[seed..end]) else {
            continue;
        };
        let offset = seed + peak;
        match bouts.last_mut() {
            // A seed at the last offset (or right after it) continues that bout.
            Some(last) if seed <= last.end => last.end = last.end.max(offset + 1),
            _ => bouts.push(seed..offset + 1),
        }
        last_offset = Some(offset);
    }
    bouts
}

/// Marks each epoch below [`THRESHOLD`] of the centred 24-hour mean.
fn below_threshold(counts: &[f64]) -> Vec<Mark> {
    let n = counts.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for &c in counts {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + c);
    }
    // Window i − half … i + half − 1, as pandas' centred rolling window of even length.
    let half = TREND_MINUTES / 2;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let lo = i.saturating_sub(half);
            let hi = (i + half).min(n);
            let observed = hi - lo;
            (observed >= MIN_TREND_MINUTES).then(|| {
                let trend = (prefix[hi] - prefix[lo]) / observed as f64;
                c <= THRESHOLD * trend
            })
        })
        .collect()
}

/// First epoch of every run of at least [`MIN_SEED_MINUTES`] below-threshold epochs.
fn seeds(marks: &[Mark]) -> Vec<usize> {
    let mut seeds = Vec::new();
    let mut run_start = None;
    for i in 0..=marks.len() {
        let below = marks.get(i).copied().flatten().unwrap_or(false);
        match (below, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if i - start >= MIN_SEED_MINUTES {
                    seeds.push(start);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    seeds
}

/// Index in `window` (which starts at a seed) of the bout's last epoch: the highest
/// peak of the correlation with the templates "k ones then zeros".
fn offset_index(window: &[Mark]) -> Option<usize> {
    let m = window.len();
    let span = PEAK_LOOKAHEAD_MINUTES + 2; // the candidate and the values it must exceed
    if m < span {
        return None;
    }
    // Any epoch without a trend makes every correlation undefined.
    let x: Vec<bool> = window.iter().copied().collect::<Option<Vec<bool>>>()?;
    let total = x.iter().filter(|&&b| b).count();
    if total == 0 || total == m {
        return None; // constant series: r undefined
    }
    let (m_f, s_f) = (m as f64, total as f64);
    let x_spread = m_f * s_f - s_f * s_f;
    let mut running = 0usize;
    let corr: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            running += usize::from(b);
            let k = (i + 1) as f64;
            if i + 1 == m {
                return f64::NAN; // the all-ones template is constant
            }
            let r = (m_f * running as f64 - k * s_f) / (x_spread * k * (m_f - k)).sqrt();
            r.clamp(-1.0, 1.0)
        })
        .collect();
    let highest = corr
        .windows(span)
        .filter(|w| w[1..].iter().all(|&later| w[0] > later))
        .map(|w| w[0])
        .fold(None, |best: Option<f64>, r| Some(best.map_or(r, |b| b.max(r))))?;
    corr.iter().position(|&r| r == highest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `days` days of 16 h at `active` counts then 8 h at `rest` counts.
    fn days(n_days: usize, active: f64, rest: f64) -> Vec<f64> {
        (0..n_days * 1440)
            .map(|i| if i % 1440 < 16 * 60 { active } else { rest })
            .collect()
    }

    #[test]
    fn a_clean_rest_block_is_one_bout_from_its_first_to_its_last_epoch() {
        // Three nights, then a day awake (a rest block that runs to the end of the
        // recording is all below threshold, so it has no correlation peak).
        let mut counts = days(3, 300.0, 0.0);
        counts.extend([300.0; 16 * 60]);
        let bouts = rest_bouts(&counts);
        let expected: Vec<_> = (0..3).map(|d| d * 1440 + 16 * 60..(d + 1) * 1440).collect();
        assert_eq!(bouts, expected);
    }

    #[test]
    fn trend_uses_a_centred_window_and_needs_twelve_hours() {
        let marks = below_threshold(&[10.0; 719]);
        assert!(marks.iter().all(Option::is_none));
        // Counts 0..: at i the window holds 0 ..= i + 719 → mean (i + 719) / 2.
        let counts: Vec<f64> = (0..2000).map(f64::from).collect();
        let marks = below_threshold(&counts);
        assert_eq!(marks[0], Some(true)); // 0 ≤ 0.15 · 359.5
                                          // i ≤ 0.15 · (i + 719) / 2 ⇔ i ≤ 58.3…
        assert_eq!(marks[58], Some(true));
        assert_eq!(marks[59], Some(false));
    }

    #[test]
    fn short_quiet_spells_are_not_seeds() {
        let mut marks = vec![Some(false); 200];
        for m in &mut marks[10..39] {
            *m = Some(true); // 29 epochs
        }
        for m in &mut marks[100..130] {
            *m = Some(true); // 30 epochs
        }
        marks[131] = None;
        assert_eq!(seeds(&marks), vec![100]);
    }

    #[test]
    fn offset_is_the_end_of_the_consolidated_part() {
        // 200 below, 5 above, 100 below, then 400 above: the brief arousal is kept
        // inside the bout.
        let mut window = vec![Some(true); 200];
        window.extend(vec![Some(false); 5]);
        window.extend(vec![Some(true); 100]);
        window.extend(vec![Some(false); 400]);
        assert_eq!(offset_index(&window), Some(304));
        // Too short to have a peak, or constant: none.
        assert_eq!(offset_index(&window[..31]), None);
        assert_eq!(offset_index(&[Some(true); 100]), None);
        let mut undefined = window.clone();
        undefined[600] = None;
        assert_eq!(offset_index(&undefined), None);
    }

    #[test]
    fn no_rest_means_no_bout() {
        assert!(rest_bouts(&[]).is_empty());
        assert!(rest_bouts(&[100.0; 3000]).is_empty());
    }
}
