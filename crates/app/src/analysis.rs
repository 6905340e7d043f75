//! Analyses of one child's data, shared by the HTTP routes and the background jobs:
//! load the child's recent data, run the engines on the blocking pool, cache the answer
//! until the child's data changes.

use crate::cache::{CacheKey, Cached};
use crate::error::{AppError, AppResult};
use crate::live::{Happening, LiveEvent};
use crate::population::Estimates;
use crate::App;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sprout_domain::{Child, Intervention, Sample, SchoolEvent, SleepEpisode};
use sprout_insights::effects::{intervention_effects, EffectOptions, InterventionEffect};
use sprout_insights::{chronotype, forecast, ChildData};
use sprout_store::TimeRange;
use std::sync::Arc;

/// History an analysis loads: the forecaster uses ten weeks, effects and chronotype
/// gain little from older days, and loading more only costs time.
const ANALYSIS_HISTORY: chrono::Duration = chrono::Duration::days(90);
/// Upcoming calendar events worth loading: the forecast looks at most two weeks ahead.
const CALENDAR_AHEAD: chrono::Duration = chrono::Duration::days(15);
/// Most rows loaded of one kind; a minute-by-minute device gives 129,600 in 90 days.
const MAX_ROWS: usize = 200_000;
/// Nights of sleep forecast shown.
pub const SLEEP_NIGHTS: usize = 3;

/// A child's data, owned, for the blocking analysis.
pub struct Loaded {
    pub child: Child,
    samples: Vec<Sample>,
    events: Vec<SchoolEvent>,
    interventions: Vec<Intervention>,
    sleep: Vec<SleepEpisode>,
    now: DateTime<Utc>,
}

impl Loaded {
    /// A child with none of their data: for advice without personalisation.
    pub fn empty(child: Child) -> Self {
        Self {
            child,
            samples: Vec::new(),
            events: Vec::new(),
            interventions: Vec::new(),
            sleep: Vec::new(),
            now: Utc::now(),
        }
    }

    pub fn data(&self) -> ChildData<'_> {
        ChildData {
            tz: self.child.timezone.tz(),
            birth_date: self.child.birth_date,
            samples: &self.samples,
            events: &self.events,
            interventions: &self.interventions,
            sleep_episodes: &self.sleep,
            now: self.now,
        }
    }
}

pub async fn load(state: &App, child: Child) -> AppResult<Loaded> {
    let now = Utc::now();
    let past = TimeRange {
        from: Some(now - ANALYSIS_HISTORY),
        to: Some(now + chrono::Duration::seconds(1)),
    };
    let calendar = TimeRange {
        from: past.from,
        to: Some(now + CALENDAR_AHEAD),
    };
    let store = &state.store;
    let (samples, events, interventions, sleep) = tokio::try_join!(
        store.samples(child.id, past, None, MAX_ROWS),
        store.events(child.id, calendar, None, MAX_ROWS),
        store.interventions(child.id, past, None, MAX_ROWS),
        store.sleep_episodes(child.id, past, None, MAX_ROWS),
    )?;
    Ok(Loaded {
        child,
        samples,
        events,
        interventions,
        sleep,
        now,
    })
}

/// Serves `key` for the child from the cache, or loads the data, runs `analysis` on the
/// blocking pool and caches the answer.
pub async fn cached(
    state: &App,
    child: Child,
    key: CacheKey,
    analysis: impl FnOnce(&Loaded) -> Value + Send + 'static,
) -> AppResult<Arc<Value>> {
    let (value, _) = cached_or_computed(state, child, key, move |loaded| (analysis(loaded), ())).await?;
    Ok(value)
}

/// As [`cached`], for an analysis that also yields something besides its answer: that
/// comes back too when the analysis ran now, `None` when the answer was cached.
async fn cached_or_computed<T: Send + 'static>(
    state: &App,
    child: Child,
    key: CacheKey,
    analysis: impl FnOnce(&Loaded) -> (Value, T) + Send + 'static,
) -> AppResult<(Arc<Value>, Option<T>)> {
    let id = child.id;
    if let Some(Cached::Analysis(hit)) = state.insights.get(id, key).await {
        return Ok((hit, None));
    }
    let version = state.insights.version(id, key).await;
    let loaded = load(state, child).await?;
    let span = tracing::Span::current();
    let (value, computed) = tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            let (value, computed) = analysis(&loaded);
            (Arc::new(value), computed)
        })
    })
    .await
    .map_err(|e| AppError::internal("an analysis", &e))?;
    state
        .insights
        .put(id, key, version, Cached::Analysis(value.clone()))
        .await;
    Ok((value, Some(computed)))
}

pub fn forecast_value(loaded: &Loaded, hours: usize) -> Value {
    let data = loaded.data();
    let stress = match forecast::stress_forecast(&data, hours) {
        Ok(f) => json!(f),
        Err(e) => json!({ "status": "insufficient_data", "reason": e.to_string() }),
    };
    let sleep = match forecast::sleep_outlook(&data, SLEEP_NIGHTS) {
        Ok((nights, level)) => json!({ "level": level, "nights": nights }),
        Err(e) => json!({ "status": "insufficient_data", "reason": e.to_string() }),
    };
    json!({
        "child_id": loaded.child.id,
        "generated_at": loaded.now,
        "hours": hours,
        "stress": stress,
        "sleep": sleep,
    })
}

pub fn chronotype_value(loaded: &Loaded) -> Value {
    let report = chronotype::chronotype(&loaded.data());
    let mut value = json!(report);
    value["child_id"] = json!(loaded.child.id);
    value["generated_at"] = json!(loaded.now);
    value
}

/// Recomputes the chronotype, records it on the child, and tells the family's open apps
/// when it changed.
pub async fn recompute_chronotype(state: &App, child: Child) -> AppResult<Arc<Value>> {
    let (id, family, before) = (child.id, child.family_id, child.chronotype.clone());
    state.insights.forget(id, CacheKey::Chronotype).await;
    let report = cached(state, child, CacheKey::Chronotype, chronotype_value).await?;
    let chronotype = report["chronotype"].as_str();
    if chronotype != before.as_deref() {
        state.store.set_chronotype(id, chronotype).await?;
        let happening = Happening::ChronotypeUpdated {
            chronotype: chronotype.map(str::to_owned),
            previous: before,
            confidence: report["confidence"].as_f64(),
        };
        state.live.publish(LiveEvent::new(happening, family, id));
    }
    Ok(report)
}

/// The child's intervention effects, each also pooled with what other children's data
/// show (partial pooling).
fn effects_of(loaded: &Loaded, population: &Estimates) -> Vec<InterventionEffect> {
    let child = loaded.child.id;
    intervention_effects(&loaded.data(), EffectOptions::default(), &|kind| {
        population.population(kind, child)
    })
}

/// The child's effects, from the cache or computed (and pooled) now; computed ones are
/// recorded for pooling into other children's.
pub async fn causal_effects(state: &App, child: Child) -> AppResult<Arc<Value>> {
    let id = child.id;
    let population = state.population.estimates(state.store.as_ref()).await?;
    let (value, computed) = cached_or_computed(state, child, CacheKey::Effects, move |loaded| {
        let effects = effects_of(loaded, &population);
        let value = json!({ "child_id": loaded.child.id, "generated_at": loaded.now, "effects": effects });
        (value, (loaded.now, effects))
    })
    .await?;
    if let Some((computed_at, effects)) = computed {
        state
            .population
            .record(state.store.as_ref(), id, computed_at, &effects)
            .await;
    }
    Ok(value)
}

/// Hours ahead a forecast covers unless the client asks otherwise; the one warmed by the
/// background refresh.
pub const DEFAULT_FORECAST_HOURS: usize = 24;

/// The UTC hour `t` falls in, as hours since the epoch: the forecast's unit of settled data.
pub fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3_600)
}

/// The child's forecast for `hours`, from the cache or computed now.
pub async fn stress_and_sleep_forecast(state: &App, child: Child, hours: usize) -> AppResult<Arc<Value>> {
    cached(
        state,
        child,
        CacheKey::forecast(hours, Utc::now()),
        move |loaded| forecast_value(loaded, hours),
    )
    .await
}
