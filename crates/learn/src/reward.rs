//! Reward for one recommendation: the parent's answer blended with the measured stress outcome.
//!
//! # Formula
//!
//! ```text
//! answer score  a = 1 for 👍, 0 for 👎
//! outcome score o = clamp(0.5 + (forecast_mean − observed_mean) / (hi − lo), 0, 1)
//! reward          = 0.7·a + 0.3·o        when both are known
//!                 = a                    when only the answer is known
//!                 = o                    when only the outcome is known
//!                 = None                 when neither is known
//! ```
//!
//! `observed_mean` is the child's mean stress in the window after the recommended time; `forecast_mean`
//! and the interval `(lo, hi)` are the forecast for that same window. Lower stress than forecast is good,
//! so `o > 0.5` when the child was calmer than expected. Dividing by the interval width puts the
//! surprise on the forecast's own scale of uncertainty: being calmer by half an interval width (the
//! lower edge of a centred interval) already earns the full score, and a difference well inside the
//! forecast noise stays near 0.5, i.e. "no information".
//!
//! The answer carries most of the weight because it is the parent's explicit judgement; the stress
//! outcome is noisy and confounded by everything else in the child's day, so it only nudges the reward.

/// Weight of the parent's 👍/👎 in the blended reward.
pub const ANSWER_WEIGHT: f64 = 0.7;
/// Weight of the measured outcome score in the blended reward (`1 − ANSWER_WEIGHT`).
pub const OUTCOME_WEIGHT: f64 = 1.0 - ANSWER_WEIGHT;

/// Narrowest forecast interval treated as meaningful; below this the scaled difference would explode on
/// rounding noise, so the outcome counts as unknown.
const MIN_INTERVAL_WIDTH: f64 = 1e-9;

/// Outcome score in `[0, 1]`, or `None` when any input is missing, not finite, or the interval has
/// (almost) no width. The interval's order does not matter; its width is `|hi − lo|`.
pub fn outcome_score(
    observed_mean: Option<f64>,
    forecast_mean: Option<f64>,
    forecast_interval: Option<(f64, f64)>,
) -> Option<f64> {
    let observed = observed_mean.filter(|v| v.is_finite())?;
    let forecast = forecast_mean.filter(|v| v.is_finite())?;
    let (lo, hi) = forecast_interval?;
    let width = (hi - lo).abs();
    if !width.is_finite() || width < MIN_INTERVAL_WIDTH {
        return None;
    }
    Some((0.5 + (forecast - observed) / width).clamp(0.0, 1.0))
}

/// Reward in `[0, 1]` for one recommendation (see the module docs for the formula), or `None` when
/// neither the answer nor the outcome is known.
pub fn reward(
    answer: Option<bool>,
    observed_mean: Option<f64>,
    forecast_mean: Option<f64>,
    forecast_interval: Option<(f64, f64)>,
) -> Option<f64> {
    let answer_score = answer.map(|helpful| if helpful { 1.0 } else { 0.0 });
    let outcome = outcome_score(observed_mean, forecast_mean, forecast_interval);
    match (answer_score, outcome) {
        (Some(a), Some(o)) => Some(ANSWER_WEIGHT * a + OUTCOME_WEIGHT * o),
        (Some(a), None) => Some(a),
        (None, Some(o)) => Some(o),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Option<(f64, f64)> = Some((40.0, 60.0));

    #[test]
    fn both_parts_blend_with_documented_weights() {
        // Observed exactly at forecast: outcome 0.5.
        let r = reward(Some(true), Some(50.0), Some(50.0), INTERVAL).unwrap();
        assert!((r - (0.7 + 0.15)).abs() < 1e-12);
        let r = reward(Some(false), Some(50.0), Some(50.0), INTERVAL).unwrap();
        assert!((r - 0.15).abs() < 1e-12);
        // Calmer by half the width: full outcome score.
        let r = reward(Some(false), Some(40.0), Some(50.0), INTERVAL).unwrap();
        assert!((r - 0.3).abs() < 1e-12);
    }

    #[test]
    fn falls_back_to_known_part() {
        assert_eq!(reward(Some(true), None, None, None), Some(1.0));
        assert_eq!(reward(Some(false), Some(50.0), None, INTERVAL), Some(0.0));
        assert_eq!(reward(None, Some(50.0), Some(50.0), INTERVAL), Some(0.5));
        assert_eq!(reward(None, Some(45.0), Some(50.0), INTERVAL), Some(0.75));
        assert_eq!(reward(None, None, None, None), None);
        assert_eq!(reward(None, Some(f64::NAN), Some(50.0), INTERVAL), None);
        assert_eq!(reward(None, Some(50.0), Some(50.0), Some((50.0, 50.0))), None);
        // Reversed interval is read by its width.
        assert_eq!(
            reward(None, Some(45.0), Some(50.0), Some((60.0, 40.0))),
            Some(0.75)
        );
    }

    #[test]
    fn bounded_for_extreme_inputs() {
        for &obs in &[-1e300, -1e6, 0.0, 49.0, 51.0, 1e6, 1e300] {
            for &ans in &[None, Some(true), Some(false)] {
                if let Some(r) = reward(ans, Some(obs), Some(50.0), INTERVAL) {
                    assert!((0.0..=1.0).contains(&r), "reward {r} out of bounds");
                }
            }
        }
    }

    #[test]
    fn monotone_in_each_part() {
        // Lower observed stress never lowers the reward.
        for ans in [None, Some(true), Some(false)] {
            let mut prev = f64::INFINITY;
            for step in 0..=200 {
                let obs = 20.0 + 0.3 * f64::from(step);
                let r = reward(ans, Some(obs), Some(50.0), INTERVAL).unwrap();
                assert!(r <= prev + 1e-15, "not monotone at observed {obs}");
                prev = r;
            }
        }
        // 👍 always beats 👎 with the same outcome.
        for step in 0..=100 {
            let obs = 30.0 + 0.4 * f64::from(step);
            let up = reward(Some(true), Some(obs), Some(50.0), INTERVAL).unwrap();
            let down = reward(Some(false), Some(obs), Some(50.0), INTERVAL).unwrap();
            assert!(up > down);
            assert!((up - down - ANSWER_WEIGHT).abs() < 1e-12);
        }
    }
}
