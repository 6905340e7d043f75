//! A child's current recommendation: decided by the policy from the child's analyses and
//! the family's feedback, written by the configured writer, checked by the guardrails,
//! stored, and pushed to the family's open apps. It is reused until the child's data or
//! the family's feedback changes.

use crate::analysis::{load, Loaded};
use crate::cache::{CacheKey, Cached};
use crate::error::{AppError, AppResult};
use crate::live::{Happening, LiveEvent};
use crate::App;
use chrono::Utc;
use serde_json::{json, Value};
use sprout_coach::policy::PastAnswer;
use sprout_coach::writer::compose;
use sprout_domain::{Child, ChildId, ConsentPurpose, RecordId, UserId};
use sprout_insights::effects::InterventionEffect;
use sprout_store::{Consents, NewRecommendation, StoredModel, StoredRecommendation};

/// A recommendation is shown for at least this long, even when new data or an answer
/// would make a new one: a parent who just answered sees their answer, and a device
/// uploading every minute does not rewrite the advice every minute.
pub const MIN_REUSE: chrono::Duration = chrono::Duration::minutes(30);
/// The version that writes when no other may.
const CONTROL_TEMPLATE: &str = sprout_coach::template::MODEL_VERSION;
/// Arm of recommendations written outside any experiment.
pub const CONTROL_ARM: &str = sprout_learn::Arm::Control.as_str();

/// The recommendation as the API shows it to the family of the child named `name`
/// (stored texts say "your child"; the name goes in here: see `sprout_coach::address`).
pub fn view(r: &StoredRecommendation, name: &str) -> Value {
    let mut value = json!({
        "id": r.id,
        "child_id": r.child_id,
        "created_at": r.created_at,
        "recommendation": sprout_coach::address::by_name(&r.text, name),
        "model_version": r.model_version,
        "arm": r.arm,
        "action": { "kind": r.action_kind, "slot": r.action_slot },
        "feedback": r.was_helpful.map(|h| json!({ "was_helpful": h })),
        // The logged activity that followed the suggestion: the family did it.
        "followed_by": r.followed_by,
    });
    if let (Value::Object(target), Value::Object(details)) = (&mut value, &r.details) {
        // The writer's prompt is kept for training, not shown.
        // (Nor the occasion count, which only says when it went stale.)
        for (key, v) in details
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "prompt" | OCCASION))
        {
            target.entry(key.clone()).or_insert_with(|| v.clone());
        }
        if let Some(start) = details.get("action_start") {
            value["action"]["start"] = start.clone();
        }
    }
    value
}

/// The child's current recommendation for `viewer`: the stored one while it is fresh,
/// a new one otherwise.
pub async fn current(state: &App, child: Child, viewer: UserId) -> AppResult<Value> {
    if let Some(latest) = latest(state, child.id, viewer).await? {
        if still_current(state, &latest).await {
            return Ok(view(&latest, child.display_name.as_str()));
        }
    }
    let name = child.display_name.as_str().to_owned();
    Ok(view(&renew(state, child).await?, &name))
}

/// The child's newest recommendation, with `viewer`'s answer.
async fn latest(
    state: &App,
    child: ChildId,
    viewer: UserId,
) -> sprout_store::Result<Option<StoredRecommendation>> {
    Ok(state
        .store
        .recommendations(child, viewer, None, 1)
        .await?
        .into_iter()
        .next())
}

/// Whoever reads the newest recommendation only to judge it (their answer is not needed).
const ANY_VIEWER: UserId = UserId(uuid::Uuid::nil());

/// Whether a stored recommendation may still be shown: nothing it is about has changed
/// since (a calendar event, a logged activity, a stress alert: see [`occasion`]), and
/// either no other data has arrived or it is younger than [`MIN_REUSE`].
async fn still_current(state: &App, latest: &StoredRecommendation) -> bool {
    let occasion = state.insights.occasion(latest.child_id).await;
    if latest.details.get(OCCASION).and_then(Value::as_u64) != Some(occasion) {
        return false;
    }
    let fresh = matches!(
        state.insights.get(latest.child_id, CacheKey::Recommendation).await,
        Some(Cached::Recommendation(id)) if id == latest.id
    );
    fresh || Utc::now() - latest.created_at < MIN_REUSE
}

/// Where a recommendation's details keep the child's occasion count when it was made.
const OCCASION: &str = "occasion";
/// Changes that arrive together (a calendar imported event by event) make one new
/// recommendation: it is written this long after the first.
const OCCASION_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Something the advice is about changed for `child`: a new calendar event, a logged
/// activity, a stress alert. The current recommendation is stale at once, and a new one
/// is written and pushed to the family's open apps shortly after (once changes arriving
/// together have settled). Nothing is written for a child with no recommendation yet.
pub async fn occasion(state: &App, child: Child) {
    state.insights.mark_occasion(child.id).await;
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(OCCASION_SETTLE).await;
        let latest = match latest(&state, child.id, ANY_VIEWER).await {
            Ok(latest) => latest,
            Err(e) => {
                tracing::warn!(error = %e, child = %child.id, "cannot read the current recommendation");
                return;
            }
        };
        let Some(latest) = latest else { return };
        if still_current(&state, &latest).await {
            return;
        }
        if let Err(e) = renew(&state, child.clone()).await {
            tracing::warn!(error = %e, child = %child.id, "cannot renew the recommendation");
        }
    });
}

/// A logged activity follows a suggestion when it is of the suggested kind and starts at
/// most this long before the suggested time (the family acted a little early)...
pub const FOLLOW_UP_EARLY: chrono::Duration = chrono::Duration::hours(1);
/// ...or at most this long after it (the evening ran late).
pub const FOLLOW_UP_LATE: chrono::Duration = chrono::Duration::hours(3);
/// Suggestions looked at for a logged activity: the newest few are the only ones whose
/// time can be near it.
const FOLLOW_UP_CANDIDATES: usize = 10;

/// Did the family do it? Links `intervention` to the newest of the child's suggestions it
/// follows (same kind, within [`FOLLOW_UP_EARLY`] before to [`FOLLOW_UP_LATE`] after the
/// suggested time, not yet followed); returns that suggestion's id.
pub async fn link_follow_up(
    state: &App,
    child: ChildId,
    intervention: &sprout_domain::Intervention,
) -> AppResult<Option<RecordId>> {
    let suggestions = state
        .store
        .recommendations(child, ANY_VIEWER, None, FOLLOW_UP_CANDIDATES)
        .await?;
    let followed = suggestions.iter().find(|r| {
        let suggested: Option<chrono::DateTime<Utc>> = r
            .details
            .get("action_start")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        r.followed_by.is_none()
            && r.action_kind == intervention.kind
            && suggested.is_some_and(|at| {
                intervention.time >= at - FOLLOW_UP_EARLY && intervention.time <= at + FOLLOW_UP_LATE
            })
    });
    let Some(followed) = followed else {
        return Ok(None);
    };
    let linked = state
        .store
        .set_followed_by(followed.id, child, intervention.id)
        .await?;
    Ok(linked.then_some(followed.id))
}

/// A stress alert renews advice at most this often: the alert repeats with every upload
/// while stress stays high.
const ALERT_RENEWAL: chrono::Duration = chrono::Duration::minutes(15);

/// Stress is high now: the advice should answer it, unless it already does and was
/// written in the last [`ALERT_RENEWAL`]. Advice written before stress rose is renewed
/// at once, however recent: it speaks of the day ahead, not of the moment.
pub async fn alerted(state: &App, child: Child) {
    let latest = latest(state, child.id, ANY_VIEWER).await.ok().flatten();
    let answers_the_moment = |l: &StoredRecommendation| !l.details["facts"]["right_now"].is_null();
    if latest.is_some_and(|l| Utc::now() - l.created_at >= ALERT_RENEWAL || !answers_the_moment(&l)) {
        occasion(state, child).await;
    }
}

/// Writes a new recommendation, marks it current and pushes it to the family.
async fn renew(state: &App, child: Child) -> AppResult<StoredRecommendation> {
    let version = state.insights.version(child.id, CacheKey::Recommendation).await;
    let created = generate(state, child.clone()).await?;
    state
        .insights
        .put(
            child.id,
            CacheKey::Recommendation,
            version,
            Cached::Recommendation(created.id),
        )
        .await;
    let happening = Happening::RecommendationCreated {
        recommendation_id: created.id,
        recommendation: sprout_coach::address::by_name(&created.text, child.display_name.as_str()),
    };
    state
        .live
        .publish(LiveEvent::new(happening, child.family_id, child.id));
    Ok(created)
}

/// Memories handed to the writer at most.
const RECALLED: usize = 3;

/// What to look for in the family's history: the chosen action at its time, and the
/// occasion (an upcoming test, a stressful day ahead).
fn recall_query(facts: &sprout_coach::Facts) -> String {
    let mut query = format!(
        "{} {}",
        sprout_coach::facts::activity(facts.action),
        facts.slot.phrase()
    );
    if let Some((test, day)) = &facts.next_test {
        query.push_str(&format!("; {test} {day}"));
    }
    if facts.forecast_peak.is_some() {
        query.push_str("; stressful day");
    }
    query
}

/// Decides, writes, checks and stores a new recommendation: the child's situation is
/// gathered, the policy plans the action and its facts, the writer for this child is
/// chosen, and the checked text is stored.
#[tracing::instrument(skip_all, fields(child_id = %child.id))]
pub async fn generate(state: &App, child: Child) -> AppResult<StoredRecommendation> {
    let situation = gather(state, &child).await?;
    let (occasion, consents, personal) = (situation.occasion, situation.consents.clone(), situation.personal);
    let mut plan = plan(situation).await?;
    // What the family said before about this kind of moment: their notes, earlier
    // suggestions and answers, by meaning. Only with consent to personalisation.
    let recalled = if personal {
        recall(state, child.id, &plan.facts).await
    } else {
        Vec::new()
    };
    plan.facts.history = recalled.iter().map(|r| r.text.clone()).collect();
    let chosen = choose_writer(state, &child, &consents).await?;
    write_and_store(state, &child, plan, chosen, recalled, occasion).await
}

/// What a recommendation is decided from, read before anything is written (a change
/// while it is written makes it stale at once: `occasion`).
struct Situation {
    child: Child,
    occasion: u64,
    consents: Consents,
    personal: bool,
    answers: Vec<PastAnswer>,
    loaded: Loaded,
    approval_priors: Vec<sprout_coach::ApprovalPrior>,
    stress: sprout_coach::StressInput,
    population: std::sync::Arc<crate::population::Estimates>,
    preferences: sprout_domain::Preferences,
    clock: sprout_domain::ClockFormat,
}

/// Reads the child's situation. Without consent to personalisation the advice uses
/// nothing of the child's own data or the family's answers: a general suggestion for
/// the time of day.
async fn gather(state: &App, child: &Child) -> AppResult<Situation> {
    let occasion = state.insights.occasion(child.id).await;
    let consents = state.store.consents(child.id).await?;
    let personal = consents.allows(ConsentPurpose::Personalisation);
    let answers: Vec<PastAnswer> = if personal {
        state
            .store
            .child_feedback(child.id)
            .await?
            .into_iter()
            .map(|a| PastAnswer {
                kind: a.action_kind,
                slot: a.action_slot,
                helpful: a.was_helpful,
            })
            .collect()
    } else {
        Vec::new()
    };
    let loaded = if personal {
        load(state, child.clone()).await?
    } else {
        Loaded::empty(child.clone())
    };
    // The forecast the background refresh warmed, when it is current; else the plan
    // computes it.
    let warmed = CacheKey::forecast(crate::analysis::DEFAULT_FORECAST_HOURS, Utc::now());
    let stress = match state.insights.get(child.id, warmed).await {
        Some(Cached::Forecast(report)) if personal => {
            sprout_coach::StressInput::Known(report.stress.ready().cloned())
        }
        _ => sprout_coach::StressInput::Compute,
    };
    Ok(Situation {
        child: child.clone(),
        occasion,
        personal,
        answers,
        loaded,
        // What other families found helpful: where this child's own answers start from.
        approval_priors: state.approvals.priors(state.store.as_ref(), child.id).await?,
        stress,
        // What other children show: the policy leans on it for kinds this child has
        // tried too little (the same estimates the Insights view pools with).
        population: state.population.estimates(state.store.as_ref()).await?,
        // What the family said the child likes and wants to avoid (a stated dislike
        // holds with or without consent to personalisation).
        preferences: sprout_domain::Preferences {
            liked: if personal {
                child.preferred_interventions.clone()
            } else {
                Vec::new()
            },
            avoided: child.avoided_interventions.clone(),
        },
        // Times in the text read as the family reads them everywhere else.
        clock: state.store.family_clock(child.family_id).await?,
        consents,
    })
}

/// The policy's plan for the situation: the action, its slot and the facts to write
/// from. The analyses are CPU work, so it runs off the async workers.
async fn plan(situation: Situation) -> AppResult<sprout_coach::Plan> {
    let span = tracing::Span::current();
    let plan = tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            let Situation {
                child,
                answers,
                loaded,
                approval_priors,
                stress,
                population,
                preferences,
                clock,
                ..
            } = situation;
            let data = loaded.data();
            let age = Some(child.age_years(data.now.with_timezone(&data.tz).date_naive()));
            sprout_coach::plan(
                &data,
                &child.id.to_string(),
                age,
                &answers,
                &approval_priors,
                &|kind| population.population(kind, child.id),
                stress,
                &preferences,
                clock,
            )
        })
    })
    .await
    .map_err(|e| AppError::internal("a recommendation", &e))?;
    plan.ok_or_else(|| {
        AppError::Unavailable(
            "nothing to suggest now: no time slot is left, or every activity that fits one is set to be avoided"
                .into(),
        )
    })
}

/// The family's earlier notes, suggestions and answers closest in meaning to these
/// facts. Memories enrich the advice; without them it is still sound.
async fn recall(state: &App, child: ChildId, facts: &sprout_coach::Facts) -> Vec<crate::memory::Recalled> {
    state
        .memory
        .recall(state.store.as_ref(), child, &recall_query(facts), RECALLED)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not recall the family's history; writing without it");
            Vec::new()
        })
}

/// Who writes for this child now, and in which arm of which experiment.
struct ChosenWriter {
    writer: std::sync::Arc<dyn sprout_coach::writer::Writer>,
    arm: &'static str,
    experiment_id: Option<uuid::Uuid>,
}

/// In an experiment the child's arm (a stable hash of child and experiment) decides which
/// version writes; otherwise the promoted version, or the configured writer. A child
/// joins experiments only with the family's consent, and text goes to a remote model
/// only with the family's consent (the template writes otherwise).
async fn choose_writer(state: &App, child: &Child, consents: &Consents) -> AppResult<ChosenWriter> {
    let experiment = if consents.allows(ConsentPurpose::Experiments) {
        state.store.running_experiment().await?
    } else {
        None
    };
    let models = state.store.models().await?;
    let (writer, arm, experiment_id) = match &experiment {
        Some(e) => {
            let arm = sprout_learn::assign(&child.id.0, &e.id, e.candidate_share);
            let version = match arm {
                sprout_learn::Arm::Candidate => &e.candidate_version,
                sprout_learn::Arm::Control => &e.control_version,
            };
            (
                writer_for(state, &models, version, Some(child.id)),
                arm.as_str(),
                Some(e.id),
            )
        }
        None => {
            // A version promoted by an experiment writes from then on; until one is (the
            // registry starts with template-1) the configured writer does. A version this
            // node cannot run leaves the configured writer too.
            let promoted = sprout_learn::registry::active(&models)
                .map(|m| m.version.as_str())
                .filter(|v| *v != sprout_coach::template::MODEL_VERSION && runnable(state, &models, v));
            let writer = match promoted {
                Some(version) => writer_for(state, &models, version, Some(child.id)),
                None => state.writer.clone(),
            };
            (writer, CONTROL_ARM, None)
        }
    };
    let writer = if writer.is_remote() && !consents.allows(ConsentPurpose::RemoteModel) {
        writer_for(state, &models, CONTROL_TEMPLATE, None)
    } else {
        writer
    };
    Ok(ChosenWriter {
        writer,
        arm,
        experiment_id,
    })
}

/// Writes the plan's facts with the chosen writer (the guardrails check the text; the
/// template replaces what fails them), and stores the recommendation with what it was
/// made from.
async fn write_and_store(
    state: &App,
    child: &Child,
    plan: sprout_coach::Plan,
    chosen: ChosenWriter,
    recalled: Vec<crate::memory::Recalled>,
    occasion: u64,
) -> AppResult<StoredRecommendation> {
    let (decision, facts) = (&plan.decision, &plan.facts);
    let id = RecordId::new();
    let variant = id.0.as_bytes()[0] as usize;
    let asked = chosen.writer.model_version();
    let written = compose(chosen.writer.as_ref(), facts, variant)
        .await
        .map_err(|e| AppError::Busy(format!("{e}; the recommendation is being written for others")))?;
    if let Some(reason) = &written.fallback_reason {
        tracing::warn!(reason, "writer output replaced by the template");
    }
    let insight = causal_sentence(&plan.effects, decision.kind);
    let details = json!({
        "forecast": {
            "stress": plan.stress.as_ref().map(|f| {
                f.times.iter().zip(&f.mean).zip(f.lower.iter().zip(&f.upper))
                    .map(|((t, m), (lo, hi))| json!({"time": t, "mean": m, "lower": lo, "upper": hi}))
                    .collect::<Vec<_>>()
            }).unwrap_or_default(),
            "sleep": plan.sleep.clone().unwrap_or_default(),
        },
        "causal_insight": insight,
        "personalization": {
            "chronotype": plan.chronotype,
            "preferred_time": decision.slot.local_time.format("%H:%M").to_string(),
        },
        "action_start": decision.slot.start,
        "reasons": decision.reasons,
        "facts": facts,
        // What a language model would be given for these facts: the training
        // example's prompt when parents answer (`sprout learn export`).
        "prompt": sprout_coach::prompt::build(facts),
        "recalled": recalled,
        // The version asked to write: `model_version` says who did, which differs when
        // the guardrails replaced its text.
        "writer": asked,
        "fallback_reason": written.fallback_reason,
        OCCASION: occasion,
    });
    let new = NewRecommendation {
        id,
        child_id: child.id,
        created_at: Utc::now(),
        text: written.text,
        action_kind: decision.kind,
        action_slot: decision.slot.kind.as_str().to_owned(),
        model_version: written.model_version,
        arm: chosen.arm.to_owned(),
        experiment_id: chosen.experiment_id,
        details,
    };
    state.store.insert_recommendation(&new).await?;
    Ok(StoredRecommendation {
        id: new.id,
        child_id: new.child_id,
        created_at: new.created_at,
        text: new.text,
        action_kind: new.action_kind,
        action_slot: new.action_slot,
        model_version: new.model_version,
        arm: new.arm,
        details: new.details,
        followed_by: None,
        was_helpful: None,
    })
}

/// The writer of a model version among the registered `models` for `child`: a template
/// style, the configured writer, or a fine-tuned version of the local model (its adapter
/// over the same base; for the personal version, the child's own, see
/// [`sprout_learn::registry::resolve`]). A version this node cannot run falls back to the
/// configured writer (and is recorded as what actually wrote).
pub fn writer_for(
    state: &App,
    models: &[StoredModel],
    version: &str,
    child: Option<ChildId>,
) -> std::sync::Arc<dyn sprout_coach::writer::Writer> {
    let version = sprout_learn::registry::writing_version(models, version, child);
    if let Some(style) = sprout_coach::template::Style::of_version(version) {
        return std::sync::Arc::new(sprout_coach::writer::TemplateWriter { style });
    }
    adapted_writer(state, models, version).unwrap_or_else(|| state.writer.clone())
}

/// The writer of a registered fine-tuned version of the configured writer's model: its
/// adapter over the same base; `None` where the version is not one, or the writer has no
/// local model to adapt.
fn adapted_writer(
    state: &App,
    models: &[StoredModel],
    version: &str,
) -> Option<std::sync::Arc<dyn sprout_coach::writer::Writer>> {
    let base = state.writer.model_version();
    let path = models
        .iter()
        .find(|m| m.version == version && m.base == base)
        .and_then(|m| m.adapter_path.as_ref())?;
    state.writer.adapted(sprout_coach::writer::AdapterVersion {
        version: version.to_owned(),
        path: path.into(),
    })
}

/// Whether a version among the registered `models` can be run here.
pub fn runnable(state: &App, models: &[StoredModel], version: &str) -> bool {
    let version = sprout_learn::registry::writing_version(models, version, None);
    sprout_coach::template::Style::of_version(version).is_some()
        || state.writer.model_version() == version
        || adapted_writer(state, models, version).is_some()
}

/// Re-evaluates the running experiment after an answer; promotes or rolls back when the
/// evidence is decisive, and tells every parent.
pub async fn evaluate_experiment(state: &App) -> AppResult<()> {
    let Some(experiment) = state.store.running_experiment().await? else {
        return Ok(());
    };
    let counts = state.store.arm_counts(experiment.id).await?;
    let arm = |which| arm(&counts, which);
    let decision = sprout_learn::decide(
        &arm(sprout_learn::Arm::Control),
        &arm(sprout_learn::Arm::Candidate),
        &sprout_learn::Policy::default(),
    )
    .map_err(|e| AppError::internal("a recommendation", &e))?;
    let promoted = match decision {
        sprout_learn::Decision::Promote { .. } => true,
        sprout_learn::Decision::RollBack { .. } => false,
        sprout_learn::Decision::Continue { .. } => return Ok(()),
    };
    if state.store.conclude_experiment(experiment.id, promoted).await? {
        tracing::info!(experiment = %experiment.id, %decision, "experiment concluded");
        let concluded = crate::live::Concluded {
            experiment_id: experiment.id,
            control_version: experiment.control_version.clone(),
            candidate_version: experiment.candidate_version.clone(),
            evidence: *decision.evidence(),
        };
        state.live.publish(LiveEvent::everyone(if promoted {
            Happening::ModelPromoted(concluded)
        } else {
            Happening::ModelRolledBack(concluded)
        }));
    }
    Ok(())
}

/// The measured effect of the recommended kind, in one sentence.
fn causal_sentence(effects: &[InterventionEffect], kind: sprout_domain::InterventionKind) -> String {
    effects
        .iter()
        .find(|e| e.kind == kind)
        .map(|e| e.interpretation.clone())
        .unwrap_or_else(|| "Not known yet.".into())
}

/// One arm's counts as the decision statistics read them.
pub fn arm(counts: &[sprout_store::ArmCounts], which: sprout_learn::Arm) -> sprout_learn::ArmStats {
    counts
        .iter()
        .find(|c| c.arm == which.as_str())
        .map(|c| sprout_learn::ArmStats {
            recommendations: c.recommendations,
            answered: c.answered,
            helpful: c.helpful,
            rewarded: c.rewarded,
            reward_sum: c.reward_sum,
            by_child: c.by_child,
        })
        .unwrap_or_default()
}
