//! The writer's model versions and the experiments that promote or retire them, written
//! once for both databases. Starting and concluding an experiment take the writer's pool
//! and run in one transaction of their own, so two nodes cannot both start one.

use crate::sql::{Columns, Dialect, Params, Query};
use crate::{ArmCounts, Result, StoreError, StoredExperiment, StoredModel};
use chrono::Utc;
use sprout_learn::{ExperimentStatus, ModelMetrics, ModelStatus};

/// Model versions, newest first.
pub(crate) async fn models<'e, DB, E>(db: E) -> Result<Vec<StoredModel>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
{
    let rows = sqlx::query(
        "SELECT version, base, adapter_path, data_snapshot, metrics, status, created_at FROM models \
         ORDER BY created_at DESC, version",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredModel {
                version: r.text("version")?,
                base: r.text("base")?,
                adapter_path: r.maybe_text("adapter_path")?,
                data_snapshot: r.maybe_text("data_snapshot")?,
                metrics: model_metrics(r.text("metrics")?)?,
                status: status(r.text("status")?, "model status")?,
                created_at: r.time("created_at")?,
            })
        })
        .collect()
}

/// Registers a model version (e.g. an adapter trained elsewhere); `false` if the version
/// exists already, and nothing is changed.
pub(crate) async fn register_model<'e, DB, E>(db: E, model: &StoredModel) -> Result<bool>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let inserted = sqlx::query(
        "INSERT INTO models (version, base, adapter_path, data_snapshot, metrics, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING",
    )
    .text(&model.version)
    .text(&model.base)
    .maybe_text(model.adapter_path.as_deref())
    .maybe_text(model.data_snapshot.as_deref())
    .json(&serde_json::Value::Object(model.metrics.clone().into()))
    .text(model.status.as_str())
    .time(model.created_at)
    .execute(db)
    .await?;
    Ok(DB::rows_affected(&inserted) == 1)
}

/// Experiments, newest first.
pub(crate) async fn experiments<'e, DB, E>(db: E) -> Result<Vec<StoredExperiment>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
{
    let rows = sqlx::query(
        "SELECT id, control_version, candidate_version, candidate_share, status, started_at, ended_at \
         FROM experiments ORDER BY started_at DESC",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredExperiment {
                id: r.uuid("id")?,
                control_version: r.text("control_version")?,
                candidate_version: r.text("candidate_version")?,
                candidate_share: r.real("candidate_share")?,
                status: status(r.text("status")?, "experiment status")?,
                started_at: r.time("started_at")?,
                ended_at: r.maybe_time("ended_at")?,
            })
        })
        .collect()
}

/// Recommendations and answers per arm of an experiment.
pub(crate) async fn arm_counts<'e, DB, E>(db: E, experiment: uuid::Uuid) -> Result<Vec<ArmCounts>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    // Per arm and child: recommendations, and those answered with the latest
    // answer to each (two parents, or one who changed their mind, count once).
    let rows = sqlx::query(
        "WITH latest AS ( \
             SELECT f.recommendation_id, f.was_helpful, ROW_NUMBER() OVER ( \
                 PARTITION BY f.recommendation_id ORDER BY f.updated_at DESC, f.user_id) AS nth \
             FROM recommendation_feedback f \
             JOIN recommendations r ON r.id = f.recommendation_id WHERE r.experiment_id = $1) \
         SELECT r.arm, r.child_id, COUNT(*) AS recommendations, COUNT(l.recommendation_id) AS answered, \
                COALESCE(SUM(CASE WHEN l.was_helpful THEN 1 ELSE 0 END), 0) AS helpful, \
                SUM(CASE WHEN r.reward IS NULL THEN 0 ELSE 1 END) AS rewarded, \
                COALESCE(SUM(r.reward), 0.0) AS reward_sum \
         FROM recommendations r \
         LEFT JOIN latest l ON l.recommendation_id = r.id AND l.nth = 1 \
         WHERE r.experiment_id = $1 GROUP BY r.arm, r.child_id ORDER BY r.arm",
    )
    .uuid(experiment)
    .fetch_all(db)
    .await?;
    let mut arms: Vec<ArmCounts> = Vec::new();
    for r in &rows {
        let arm = r.text("arm")?;
        if arms.last().is_none_or(|a| a.arm != arm) {
            arms.push(ArmCounts {
                arm,
                ..Default::default()
            });
        }
        let Some(counts) = arms.last_mut() else { continue };
        let (answered, helpful) = (r.count("answered")?, r.count("helpful")?);
        counts.recommendations += r.count("recommendations")?;
        counts.answered += answered;
        counts.helpful += helpful;
        counts.rewarded += r.count("rewarded")?;
        counts.reward_sum += r.real("reward_sum")?;
        counts.by_child.add_child(answered, helpful);
    }
    Ok(arms)
}

/// Starts an experiment of `candidate` (registered as a candidate version if new) against
/// the active version. Only one runs at a time: [`StoreError::Conflict`].
pub(crate) async fn start_experiment<DB>(
    write: &sqlx::Pool<DB>,
    candidate: &str,
    base: &str,
    share: f64,
) -> Result<StoredExperiment>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let now = Utc::now();
    let mut tx = write.begin().await?;
    let control = control_for::<DB>(&mut *tx, candidate).await?;
    sqlx::query(
        "INSERT INTO models (version, base, status, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (version) DO UPDATE SET status = $3",
    )
    .text(candidate)
    .text(base)
    .text(ModelStatus::Candidate.as_str())
    .time(now)
    .execute(&mut *tx)
    .await?;
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO experiments (id, control_version, candidate_version, candidate_share, status, \
         started_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .uuid(id)
    .text(&control)
    .text(candidate)
    .real(share)
    .text(ExperimentStatus::Running.as_str())
    .time(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StoredExperiment {
        id,
        control_version: control,
        candidate_version: candidate.to_owned(),
        candidate_share: share,
        status: ExperimentStatus::Running,
        started_at: DB::as_stored(now)?,
        ended_at: None,
    })
}

/// The version `candidate` would run against: the active one, when no experiment is
/// running and the candidate is another version.
async fn control_for<DB>(conn: &mut DB::Connection, candidate: &str) -> Result<String>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let running = sqlx::query("SELECT COUNT(*) AS n FROM experiments WHERE status = $1")
        .text(ExperimentStatus::Running.as_str())
        .fetch_one(&mut *conn)
        .await?
        .int("n")?;
    if running > 0 {
        return Err(StoreError::Conflict {
            what: "running experiment",
        });
    }
    let active = sqlx::query("SELECT version FROM models WHERE status = $1 ORDER BY created_at DESC LIMIT 1")
        .text(ModelStatus::Active.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.text("version"))
        .transpose()?;
    let control = active.ok_or(StoreError::NotFound { what: "active model" })?;
    if control == candidate {
        return Err(StoreError::Conflict {
            what: "candidate version",
        });
    }
    Ok(control)
}

/// The experiment running now, if any.
pub(crate) async fn running_experiment<'e, DB, E>(db: E) -> Result<Option<StoredExperiment>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
{
    let running = ExperimentStatus::Running;
    Ok(experiments(db).await?.into_iter().find(|e| e.status == running))
}

/// Ends an experiment: the candidate becomes active (and the control retired) when
/// `promoted`, else the candidate is retired. `false` if it was no longer running.
pub(crate) async fn conclude_experiment<DB>(
    write: &sqlx::Pool<DB>,
    experiment: uuid::Uuid,
    promoted: bool,
) -> Result<bool>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let mut tx = write.begin().await?;
    let row = sqlx::query(
        "SELECT control_version, candidate_version FROM experiments WHERE id = $1 AND status = $2",
    )
    .uuid(experiment)
    .text(ExperimentStatus::Running.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let (control, candidate) = (row.text("control_version")?, row.text("candidate_version")?);
    let (status, retired) = if promoted {
        (ExperimentStatus::Promoted, &control)
    } else {
        (ExperimentStatus::RolledBack, &candidate)
    };
    sqlx::query("UPDATE experiments SET status = $1, ended_at = $2 WHERE id = $3")
        .text(status.as_str())
        .time(Utc::now())
        .uuid(experiment)
        .execute(&mut *tx)
        .await?;
    if promoted {
        sqlx::query("UPDATE models SET status = $1 WHERE version = $2")
            .text(ModelStatus::Active.as_str())
            .text(&candidate)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE models SET status = $1 WHERE version = $2")
        .text(ModelStatus::Retired.as_str())
        .text(retired)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// A lifecycle status read back from the database (`what` names it in the error).
fn status<S: std::str::FromStr>(name: String, what: &'static str) -> Result<S>
where
    S::Err: std::fmt::Display,
{
    name.parse().map_err(|e| StoreError::corrupt(what, e))
}

fn model_metrics(json: String) -> Result<ModelMetrics> {
    serde_json::from_str(&json).map_err(|e| StoreError::corrupt("model metrics", e))
}
