//! What a child's new data sets off, decided in one place: the cached analyses that it
//! makes stale go, a refresh is scheduled, the live alert is raised when the newest
//! readings are high, and the standing recommendation is renewed when the situation it
//! was written for has changed.

use crate::analysis::hour_of;
use crate::error::AppResult;
use crate::live::{Happening, LiveEvent};
use crate::App;
use chrono::Utc;
use sprout_domain::{
    Child, ChildId, Intervention, NewIntervention, NewSchoolEvent, NewSleepEpisode, Sample, SampleBatch,
    SchoolEvent, SleepEpisode,
};
use sprout_store::InsertOutcome;

/// What changed in a child's data, as far as the cached analyses care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only samples of the current hour: analyses of the settled hours (the forecast)
    /// stay current.
    CurrentHour,
    /// Anything else: every analysis is stale.
    Settled,
}

impl App {
    /// The child's data changed: the analyses it makes stale go and a refresh is
    /// scheduled (debounced, see [`crate::refresh`]).
    pub async fn data_changed(&self, child: ChildId, change: Change) {
        match change {
            Change::CurrentHour => self.insights.invalidate_recent(child).await,
            Change::Settled => self.insights.invalidate(child).await,
        }
        self.refresher.schedule(child);
    }
}

/// Stores a batch of samples (all or none) and sets off what new readings do.
pub async fn samples(app: &App, child: &Child, batch: &SampleBatch) -> AppResult<InsertOutcome> {
    let outcome = app.store.insert_samples(child.id, batch).await?;
    if outcome.accepted > 0 {
        let hour = hour_of(Utc::now());
        let change = if batch.samples().iter().all(|s| hour_of(s.time) >= hour) {
            Change::CurrentHour
        } else {
            Change::Settled
        };
        app.data_changed(child.id, change).await;
        alert_if_stressed(app, child, batch.samples());
    }
    Ok(outcome)
}

/// Stores a school event; a new one may be the occasion for new advice (a test ahead).
pub async fn event(app: &App, child: Child, event: &NewSchoolEvent) -> AppResult<(SchoolEvent, bool)> {
    let (stored, created) = app.store.insert_event(child.id, event).await?;
    if created {
        app.data_changed(child.id, Change::Settled).await;
        crate::recommend::occasion(app, child).await;
    }
    Ok((stored, created))
}

/// Stores an intervention the family did, links it to the suggestion it followed (if
/// any), and renews the advice.
pub async fn intervention(
    app: &App,
    child: Child,
    intervention: &NewIntervention,
) -> AppResult<(Intervention, bool)> {
    let (stored, created) = app.store.insert_intervention(child.id, intervention).await?;
    if created {
        crate::recommend::link_follow_up(app, child.id, &stored).await?;
        app.data_changed(child.id, Change::Settled).await;
        crate::recommend::occasion(app, child).await;
    }
    Ok((stored, created))
}

/// Stores one sleep episode.
pub async fn sleep_episode(
    app: &App,
    child: &Child,
    episode: &NewSleepEpisode,
) -> AppResult<(SleepEpisode, bool)> {
    let (stored, created) = app.store.insert_sleep_episode(child.id, episode).await?;
    if created {
        app.data_changed(child.id, Change::Settled).await;
    }
    Ok((stored, created))
}

/// A sustained high reading in the newest half hour of a batch: worth telling the parent
/// now (the same line the card's "right now" sentence uses).
const ALERT_STRESS: f64 = sprout_insights::days::HIGH_NOW_STRESS;
const ALERT_WINDOW: chrono::Duration = sprout_insights::days::NOW_WINDOW;
/// Fewest readings that make the half hour's mean meaningful.
const ALERT_MIN_READINGS: usize = sprout_insights::days::NOW_MIN_READINGS;

/// Publishes `alert.stress_high` when the batch's newest half hour averages high and is
/// recent (a backfill of old data raises no alert), and renews the advice for it.
fn alert_if_stressed(app: &App, child: &Child, samples: &[Sample]) {
    let Some(newest) = samples.iter().map(|s| s.time).max() else {
        return;
    };
    if Utc::now() - newest > ALERT_WINDOW {
        return;
    }
    let recent: Vec<f64> = samples
        .iter()
        .filter(|s| s.time > newest - ALERT_WINDOW)
        .filter_map(|s| s.stress_level)
        .collect();
    if recent.len() < ALERT_MIN_READINGS {
        return;
    }
    let mean = recent.iter().sum::<f64>() / recent.len() as f64;
    if mean >= ALERT_STRESS {
        let happening = Happening::StressHigh {
            stress_level: mean,
            window_minutes: ALERT_WINDOW.num_minutes(),
        };
        app.live
            .publish(LiveEvent::new(happening, child.family_id, child.id));
        let (app, child) = (app.clone(), child.clone());
        tokio::spawn(async move { crate::recommend::alerted(&app, child).await });
    }
}
