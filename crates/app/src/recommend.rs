//! A child's current recommendation: decided by the policy from the child's analyses and
//! the family's feedback, written by the configured writer, checked by the guardrails,
//! stored, and pushed to the family's open apps. It is reused until the child's data or
//! the family's feedback changes.

use crate::analysis::{load, Loaded};
use crate::error::{AppError, AppResult};
use crate::live::{Happening, LiveEvent};
use crate::App;
use chrono::Utc;
use serde_json::{json, Value};
use sprout_coach::policy::PastAnswer;
use sprout_coach::writer::compose;
use sprout_domain::{Child, ChildId, ConsentPurpose, RecordId, UserId};
use sprout_insights::effects::InterventionEffect;
use sprout_learn::ModelStatus;
use sprout_store::{NewRecommendation, StoredModel, StoredRecommendation};

/// Cache key marking the current recommendation as fresh for the child's data.
pub const RECOMMENDATION: &str = "recommendation";
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
    let fresh = state
        .insights
        .get(latest.child_id, RECOMMENDATION)
        .await
        .is_some_and(|f| f["id"] == json!(latest.id));
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
    let version = state.insights.version(child.id, RECOMMENDATION).await;
    let created = generate(state, child.clone()).await?;
    state
        .insights
        .put(
            child.id,
            RECOMMENDATION,
            version,
            std::sync::Arc::new(json!({ "id": created.id })),
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

/// Decides, writes, checks and stores a new recommendation.
#[tracing::instrument(skip_all, fields(child_id = %child.id))]
pub async fn generate(state: &App, child: Child) -> AppResult<StoredRecommendation> {
    // Read first: a change while this one is written makes it stale at once.
    let occasion = state.insights.occasion(child.id).await;
    let consents = state.store.consents(child.id).await?;
    let allows = |purpose| consents.allows(purpose);
    let personal = allows(ConsentPurpose::Personalisation);
    // Without consent to personalisation the advice uses nothing of the child's own
    // data or the family's answers: a general suggestion for the time of day.
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
    // What other families found helpful: where this child's own answers start from.
    let approval_priors = state.approvals.priors(state.store.as_ref(), child.id).await?;
    // The forecast the background refresh warmed, when it is current; else the plan
    // computes it.
    let stress = match state
        .insights
        .get(
            child.id,
            &crate::analysis::forecast_key(crate::analysis::DEFAULT_FORECAST_HOURS, Utc::now()),
        )
        .await
    {
        Some(cached) if personal => {
            sprout_coach::StressInput::Known(serde_json::from_value(cached["stress"].clone()).ok())
        }
        _ => sprout_coach::StressInput::Compute,
    };
    let span = tracing::Span::current();
    // What other children show: the policy leans on it for kinds this child has tried
    // too little (the same estimates the Insights view pools with).
    let population = state.population.estimates(state.store.as_ref()).await?;
    // What the family said the child likes and wants to avoid (a stated dislike holds
    // with or without consent to personalisation).
    let preferences = sprout_domain::Preferences {
        liked: if personal {
            child.preferred_interventions.clone()
        } else {
            Vec::new()
        },
        avoided: child.avoided_interventions.clone(),
    };
    // Times in the text read as the family reads them everywhere else.
    let clock = state.store.family_clock(child.family_id).await?;
    // The analyses are CPU work: off the async workers.
    let plan = tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            let data = loaded.data();
            let age = Some(
                loaded
                    .child
                    .age_years(data.now.with_timezone(&data.tz).date_naive()),
            );
            sprout_coach::plan(
                &data,
                &loaded.child.id.to_string(),
                age,
                &answers,
                &approval_priors,
                &|kind| population.population(kind, loaded.child.id),
                stress,
                &preferences,
                clock,
            )
        })
    })
    .await
    .map_err(|e| AppError::internal("a recommendation", &e))?;
    let Some(sprout_coach::Plan {
        decision,
        mut facts,
        effects,
        chronotype,
        stress,
        sleep,
    }) = plan
    else {
        return Err(AppError::Unavailable(
            "nothing to suggest now: no time slot is left, or every activity that fits one is set to be avoided"
                .into(),
        ));
    };
    // What the family said before about this kind of moment: their notes, earlier
    // suggestions and answers, by meaning. Only with consent to personalisation.
    let recalled = if personal {
        let query = recall_query(&facts);
        state
            .memory
            .recall(state.store.as_ref(), child.id, &query, RECALLED)
            .await
            // Memories enrich the advice; without them it is still sound.
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not recall the family's history; writing without it");
                Vec::new()
            })
    } else {
        Vec::new()
    };
    facts.history = recalled.iter().map(|r| r.text.clone()).collect();
    let id = RecordId::new();
    let variant = id.0.as_bytes()[0] as usize;
    // In an experiment the child's arm (a stable hash of child and experiment) decides
    // which version writes; otherwise the configured writer does.
    // A child joins experiments only with the family's consent.
    let experiment = if allows(ConsentPurpose::Experiments) {
        state.store.running_experiment().await?
    } else {
        None
    };
    let models = state.store.models().await?;
    let (writer, arm, experiment_id) = match &experiment {
        Some(e) => {
            let id = child.id.0;
            match sprout_learn::assign(&id, &e.id, e.candidate_share) {
                sprout_learn::Arm::Candidate => (
                    writer_for(state, &models, &e.candidate_version, Some(child.id)),
                    sprout_learn::Arm::Candidate.as_str(),
                    Some(e.id),
                ),
                sprout_learn::Arm::Control => (
                    writer_for(state, &models, &e.control_version, Some(child.id)),
                    sprout_learn::Arm::Control.as_str(),
                    Some(e.id),
                ),
            }
        }
        None => {
            // A version promoted by an experiment writes from then on; until one is (the
            // registry starts with template-1) the configured writer does. A version this
            // node cannot run leaves the configured writer too.
            let promoted = models
                .iter()
                .find(|m| m.status == ModelStatus::Active)
                .map(|m| m.version.as_str())
                .filter(|v| *v != sprout_coach::template::MODEL_VERSION && runnable(state, &models, v));
            match promoted {
                Some(version) => (
                    writer_for(state, &models, version, Some(child.id)),
                    CONTROL_ARM,
                    None,
                ),
                None => (state.writer.clone(), CONTROL_ARM, None),
            }
        }
    };
    // Text goes to a remote model only with the family's consent; the template otherwise.
    let writer: std::sync::Arc<dyn sprout_coach::writer::Writer> =
        if writer.is_remote() && !allows(ConsentPurpose::RemoteModel) {
            writer_for(state, &models, CONTROL_TEMPLATE, None)
        } else {
            writer
        };
    let asked = writer.model_version();
    let written = compose(writer.as_ref(), &facts, variant)
        .await
        .map_err(|e| AppError::Busy(format!("{e}; the recommendation is being written for others")))?;
    if let Some(reason) = &written.fallback_reason {
        tracing::warn!(reason, "writer output replaced by the template");
    }
    let insight = causal_sentence(&effects, decision.kind);
    let details = json!({
        "forecast": {
            "stress": stress.as_ref().map(|f| {
                f.times.iter().zip(&f.mean).zip(f.lower.iter().zip(&f.upper))
                    .map(|((t, m), (lo, hi))| json!({"time": t, "mean": m, "lower": lo, "upper": hi}))
                    .collect::<Vec<_>>()
            }).unwrap_or_default(),
            "sleep": sleep.unwrap_or_default(),
        },
        "causal_insight": insight,
        "personalization": {
            "chronotype": chronotype,
            "preferred_time": decision.slot.local_time.format("%H:%M").to_string(),
        },
        "action_start": decision.slot.start,
        "reasons": decision.reasons,
        "facts": facts,
        // What a language model would be given for these facts: the training
        // example's prompt when parents answer (`sprout learn export`).
        "prompt": sprout_coach::prompt::build(&facts),
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
        arm: arm.to_owned(),
        experiment_id,
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
        })
        .unwrap_or_default()
}
