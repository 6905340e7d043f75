//! When to train, and what follows a run: the candidate's announcement and its
//! experiment.

use super::{base_version, runner, FineTuneConfig, FineTuneError, Scope};
use crate::live::{Happening, LiveEvent};
use crate::App;
use sprout_domain::ChildId;
use sprout_learn::registry::{self, Personal};
use sprout_store::{Store, StoredExperiment, StoredModel};

/// After an answer about `child` is stored: schedules a training run when one is due.
/// Never fails the answer; a run that cannot be scheduled now is scheduled by a later
/// answer.
pub async fn after_feedback(state: &App, child: ChildId) {
    let Some(config) = &state.config.finetune else {
        return;
    };
    let child = (config.scope == Scope::Child).then_some(child);
    let through = match due(state.store.as_ref(), config, child).await {
        Ok(Some(count)) => count,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether fine-tuning is due");
            return;
        }
    };
    if let Some(queue) = &state.queue {
        match queue.push(crate::queue::Job::FineTune { through, child }).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot queue fine-tuning; running it here"),
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run_job(&state, through, child).await {
            tracing::warn!(error = %e, "fine-tuning failed; the next answers schedule another run");
        }
    });
}

/// The number of answers so far (about `child` in the child scope) when enough new ones
/// arrived since the last training run; `None` otherwise.
async fn due(
    store: &dyn Store,
    config: &FineTuneConfig,
    child: Option<ChildId>,
) -> Result<Option<u64>, FineTuneError> {
    if config.every == 0 {
        return Ok(None);
    }
    let (models, base) = (store.models().await?, base_version(&config.base));
    if child.is_some() && registry::personal_lost(&models, &base) {
        return Ok(None);
    }
    let count = store.feedback_count(child).await?;
    let last = registry::trained_through(&models, &base, child);
    Ok((count >= last + config.every).then_some(count))
}

/// The job: trains unless a version already covers the first `through` answers (about
/// `child`, in the child scope; one run at a time per process), then announces the
/// candidate and starts its experiment. The node that saw the answers decided the run
/// was due; the worker only avoids repeating it.
pub async fn run_job(state: &App, through: u64, child: Option<ChildId>) -> Result<(), FineTuneError> {
    let Some(config) = &state.config.finetune else {
        return Err(FineTuneError::Other(
            "this node has no local model to fine-tune (start it with --writer gguf:PATH)".into(),
        ));
    };
    let _one_at_a_time = state.training.lock().await;
    let models = state.store.models().await?;
    if registry::trained_through(&models, &base_version(&config.base), child) >= through {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let Some(model) = runner::run(state.store.as_ref(), config, child).await? else {
        return Ok(());
    };
    tracing::info!(
        version = model.version,
        seconds = started.elapsed().as_secs_f64(),
        "fine-tuned candidate registered"
    );
    match child {
        None => announce(state, &model, config.candidate_share).await,
        Some(child) => announce_personal(state, &model, child, config.candidate_share).await,
    }
}

/// Publishes `model.candidate` and starts the candidate's experiment against the active
/// version, unless one is running (the candidate then waits for an administrator).
async fn announce(state: &App, model: &StoredModel, share: f64) -> Result<(), FineTuneError> {
    let experiment = start_experiment(state, model, share).await?;
    state.live.publish(LiveEvent::everyone(Happening::ModelCandidate {
        version: model.version.clone(),
        personal_version: None,
        experiment_id: experiment.as_ref().map(|e| e.id),
        metrics: Some(Box::new(model.metrics.clone())),
    }));
    Ok(())
}

/// Starts `model`'s experiment against the active version; `None` when one is running.
async fn start_experiment(
    state: &App,
    model: &StoredModel,
    share: f64,
) -> Result<Option<StoredExperiment>, FineTuneError> {
    match state
        .store
        .start_experiment(&model.version, &model.base, share)
        .await
    {
        Ok(experiment) => Ok(Some(experiment)),
        Err(sprout_store::StoreError::Conflict { .. }) => {
            tracing::info!(
                version = model.version,
                "an experiment is running; the candidate waits"
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A child's own new version: announced to the child's family, and tested through the
/// personal version (made, and its experiment started, when there is none yet for the
/// active version).
async fn announce_personal(
    state: &App,
    model: &StoredModel,
    child: ChildId,
    share: f64,
) -> Result<(), FineTuneError> {
    let models = state.store.models().await?;
    let (personal, experiment) = match registry::personal_for(&models, &model.base, chrono::Utc::now()) {
        None => (None, None),
        Some(Personal::Registered(existing)) => (Some(existing.version.clone()), None),
        Some(Personal::New(personal)) => {
            match state.store.register_model(&personal).await {
                Ok(_) | Err(sprout_store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let experiment = start_experiment(state, &personal, share).await?;
            (Some(personal.version), experiment)
        }
    };
    if let Some(found) = state.store.get_child(child).await? {
        let happening = Happening::ModelCandidate {
            version: model.version.clone(),
            personal_version: personal,
            experiment_id: experiment.as_ref().map(|e| e.id),
            metrics: Some(Box::new(model.metrics.clone())),
        };
        state
            .live
            .publish(LiveEvent::new(happening, found.family_id, child));
    }
    Ok(())
}
