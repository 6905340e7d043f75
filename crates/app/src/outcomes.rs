//! What happened after a recommendation: the child's measured stress in the window after
//! the recommended time, against the forecast for that same window, blended with the
//! parents' answer into the recommendation's reward (`sprout_learn::reward`, whose docs
//! give the formula). The experiments report each arm's mean reward beside its 👍 rate.
//!
//! A recommendation's outcome is measured once its window has passed, by the periodic
//! job in the workers; an answer given before or after that updates the reward at once.
//! A window with no stress samples a day after it ended is recorded as unmeasured, so
//! it is not looked at again (the reward is then the answer alone).

use crate::App;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sprout_domain::RecordId;
use sprout_store::{Store, StoredRecommendation, TimeRange};

/// The window after the recommended time whose stress is the outcome: the evening (or
/// morning) the action was meant to help.
pub const WINDOW: Duration = Duration::hours(3);
/// How long to wait for late uploads before a window without samples counts as unmeasured.
const GRACE: Duration = Duration::hours(24);
/// How far back recommendations are still measured.
const LOOKBACK: Duration = Duration::days(7);
/// How often the job runs unless configured.
pub const DEFAULT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
/// Recommendations looked at per run, oldest first (the rest wait for the next). Those
/// whose window is still open are read again next time, so this is well above what a
/// deployment writes in the look-back period's first day and a half.
const BATCH: usize = 5_000;
/// Samples read per window at most (3 hours of one-second samples).
const MAX_SAMPLES: usize = 10_800;

/// The forecast for `[start, end)` from the recommendation's stored forecast points:
/// mean of the hourly means, lower and upper bounds.
fn forecast_for(details: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<(f64, f64, f64)> {
    let points = details["forecast"]["stress"].as_array()?;
    let (mut n, mut mean, mut lower, mut upper) = (0.0, 0.0, 0.0, 0.0);
    for p in points {
        let Some(time) = p["time"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()) else {
            continue;
        };
        if time < start || time >= end {
            continue;
        }
        let (Some(m), Some(lo), Some(hi)) = (p["mean"].as_f64(), p["lower"].as_f64(), p["upper"].as_f64())
        else {
            continue;
        };
        n += 1.0;
        mean += m;
        lower += lo;
        upper += hi;
    }
    (n > 0.0).then(|| (mean / n, lower / n, upper / n))
}

/// Measures one recommendation's outcome at `now`: `None` while its window is still open
/// (or within the grace period without samples).
async fn measure(
    store: &dyn Store,
    r: &StoredRecommendation,
    now: DateTime<Utc>,
) -> sprout_store::Result<Option<(Value, Option<f64>)>> {
    let Some(start) = r.details["action_start"]
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
    else {
        // Written before action times were kept: nothing to measure.
        return Ok(Some((
            json!({ "measured": false, "reason": "no action time" }),
            answer_only(r),
        )));
    };
    let end = start + WINDOW;
    if now < end {
        return Ok(None);
    }
    let range = TimeRange {
        from: Some(start),
        to: Some(end),
    };
    let stress: Vec<f64> = store
        .samples(r.child_id, range, None, MAX_SAMPLES)
        .await?
        .iter()
        .filter_map(|s| s.stress_level)
        .collect();
    if stress.is_empty() && now < end + GRACE {
        return Ok(None);
    }
    let observed = (!stress.is_empty()).then(|| stress.iter().sum::<f64>() / stress.len() as f64);
    let forecast = forecast_for(&r.details, start, end);
    let reward = sprout_learn::reward(
        r.was_helpful,
        observed,
        forecast.map(|f| f.0),
        forecast.map(|f| (f.1, f.2)),
    );
    let outcome = json!({
        "measured": observed.is_some(),
        "window_start": start,
        "window_end": end,
        "samples": stress.len(),
        "observed_mean": observed,
        "forecast_mean": forecast.map(|f| f.0),
        "forecast_lower": forecast.map(|f| f.1),
        "forecast_upper": forecast.map(|f| f.2),
        "outcome_score": sprout_learn::outcome_score(observed, forecast.map(|f| f.0), forecast.map(|f| (f.1, f.2))),
    });
    Ok(Some((outcome, reward)))
}

fn answer_only(r: &StoredRecommendation) -> Option<f64> {
    sprout_learn::reward(r.was_helpful, None, None, None)
}

/// Measures every recommendation whose window has passed; returns how many were recorded.
pub async fn measure_due(store: &dyn Store, now: DateTime<Utc>) -> sprout_store::Result<usize> {
    let mut recorded = 0;
    for r in store.awaiting_outcome(now - LOOKBACK, BATCH).await? {
        if let Some((outcome, reward)) = measure(store, &r, now).await? {
            store.set_outcome(r.id, &outcome, reward).await?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// After an answer: the recommendation's reward from the answer and, once measured, the
/// outcome.
pub async fn after_answer(state: &App, id: RecordId, was_helpful: bool) -> sprout_store::Result<()> {
    let outcome = state.store.outcome(id).await?;
    let field = |name: &str| outcome.as_ref().and_then(|o| o[name].as_f64());
    let interval = field("forecast_lower").zip(field("forecast_upper"));
    let reward = sprout_learn::reward(
        Some(was_helpful),
        field("observed_mean"),
        field("forecast_mean"),
        interval,
    );
    state.store.set_reward(id, reward).await
}

/// Measures outcomes now and then every `every`, for as long as the process runs.
pub async fn run(store: std::sync::Arc<dyn Store>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match measure_due(store.as_ref(), Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(recorded = n, "recommendation outcomes measured"),
            Err(e) => tracing::warn!(error = %e, "measuring outcomes failed; it runs again at the next tick"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forecast_for_a_window_averages_its_hours() {
        let details = json!({ "forecast": { "stress": [
            { "time": "2026-03-03T18:00:00Z", "mean": 0.4, "lower": 0.2, "upper": 0.6 },
            { "time": "2026-03-03T19:00:00Z", "mean": 0.6, "lower": 0.4, "upper": 0.8 },
            { "time": "2026-03-03T22:00:00Z", "mean": 0.9, "lower": 0.8, "upper": 1.0 },
        ]}});
        let start: DateTime<Utc> = "2026-03-03T18:00:00Z".parse().unwrap();
        let (m, lo, hi) = forecast_for(&details, start, start + WINDOW).unwrap();
        assert!((m - 0.5).abs() < 1e-12 && (lo - 0.3).abs() < 1e-12 && (hi - 0.7).abs() < 1e-12);
        assert!(forecast_for(&details, start + Duration::hours(5), start + Duration::hours(6)).is_none());
        assert!(forecast_for(&json!({}), start, start + WINDOW).is_none());
    }
}
