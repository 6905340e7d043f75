//! Analyses of one child's data, shared by the HTTP routes and the background jobs:
//! load the child's recent data, run the engines on the blocking pool, cache the answer
//! until the child's data changes.

use crate::cache::{CacheKey, Cached};
use crate::error::{AppError, AppResult};
use crate::live::{Happening, LiveEvent};
use crate::population::Estimates;
use crate::App;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
async fn cached_or_computed<V: Entry, T: Send + 'static>(
    state: &App,
    child: Child,
    key: CacheKey,
    analysis: impl FnOnce(&Loaded) -> (V, T) + Send + 'static,
) -> AppResult<(Arc<V>, Option<T>)> {
    let id = child.id;
    if let Some(hit) = state.insights.get(id, key).await.and_then(V::from_cached) {
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
        .put(id, key, version, V::cached(value.clone()))
        .await;
    Ok((value, Some(computed)))
}

/// What an analysis caches its answer as.
trait Entry: Send + Sync + Sized + 'static {
    fn cached(value: Arc<Self>) -> Cached;
    fn from_cached(cached: Cached) -> Option<Arc<Self>>;
}

impl Entry for Value {
    fn cached(value: Arc<Self>) -> Cached {
        Cached::Analysis(value)
    }

    fn from_cached(cached: Cached) -> Option<Arc<Self>> {
        match cached {
            Cached::Analysis(value) => Some(value),
            _ => None,
        }
    }
}

impl Entry for ForecastReport {
    fn cached(value: Arc<Self>) -> Cached {
        Cached::Forecast(value)
    }

    fn from_cached(cached: Cached) -> Option<Arc<Self>> {
        match cached {
            Cached::Forecast(report) => Some(report),
            _ => None,
        }
    }
}

/// An analysis, or why there is none yet, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ready<T> {
    Ready(T),
    /// `status` is `insufficient_data`; `reason` says what is missing.
    NotYet {
        status: String,
        reason: String,
    },
}

impl<T> Ready<T> {
    fn of<E: std::fmt::Display>(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Self::Ready(value),
            Err(e) => Self::NotYet {
                status: "insufficient_data".into(),
                reason: e.to_string(),
            },
        }
    }

    /// The analysis, when there is one.
    pub fn ready(&self) -> Option<&T> {
        match self {
            Self::Ready(value) => Some(value),
            Self::NotYet { .. } => None,
        }
    }
}

/// The next nights' sleep and how sure the outlook is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SleepOutlook {
    pub level: f64,
    pub nights: Vec<forecast::NightOutlook>,
}

/// A child's forecast as the API answers it and the recommendation reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForecastReport {
    pub child_id: sprout_domain::ChildId,
    pub generated_at: DateTime<Utc>,
    pub hours: usize,
    pub stress: Ready<forecast::StressForecast>,
    pub sleep: Ready<SleepOutlook>,
}

pub fn forecast_report(loaded: &Loaded, hours: usize) -> ForecastReport {
    let data = loaded.data();
    ForecastReport {
        child_id: loaded.child.id,
        generated_at: loaded.now,
        hours,
        stress: Ready::of(forecast::stress_forecast(&data, hours)),
        sleep: Ready::of(
            forecast::sleep_outlook(&data, SLEEP_NIGHTS)
                .map(|(nights, level)| SleepOutlook { level, nights }),
        ),
    }
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
pub async fn stress_and_sleep_forecast(
    state: &App,
    child: Child,
    hours: usize,
) -> AppResult<Arc<ForecastReport>> {
    let key = CacheKey::forecast(hours, Utc::now());
    let (report, _) = cached_or_computed(state, child, key, move |loaded| {
        (forecast_report(loaded, hours), ())
    })
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a node caches in Redis reads back as the same report, whether or not each
    /// part was ready (the two shapes of `Ready` share no required field).
    #[test]
    fn a_forecast_report_reads_back_as_it_was_written() {
        let report = ForecastReport {
            child_id: sprout_domain::ChildId::new(),
            generated_at: Utc::now(),
            hours: 24,
            stress: Ready::NotYet {
                status: "insufficient_data".into(),
                reason: "fewer than 48 hours of readings".into(),
            },
            sleep: Ready::Ready(SleepOutlook {
                level: 0.8,
                nights: Vec::new(),
            }),
        };
        let text = serde_json::to_string(&report).expect("json");
        let back: ForecastReport = serde_json::from_str(&text).expect("read back");
        assert!(back.stress.ready().is_none());
        assert_eq!(back.sleep.ready().map(|s| s.level), Some(0.8));
        assert_eq!(serde_json::to_string(&back).expect("json"), text);
        let value: Value = serde_json::from_str(&text).expect("value");
        assert_eq!(value["stress"]["status"], "insufficient_data");
        assert_eq!(value["sleep"]["level"], 0.8);
    }
}
