//! Per-child effect estimates of each intervention kind, written once for both
//! databases. A child's estimates are replaced as a set, in one transaction of their own.

use crate::sql::{child_gone, intervention_kind, Columns, Dialect, Params, Query};
use crate::{ChildEffectEstimate, EffectEstimate, Result};
use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, InterventionKind};

/// Replaces a child's latest effect estimates with `estimates` (computed at
/// `computed_at`) in one transaction, so a reader sees the old set or the new one, never
/// a mix. [`crate::StoreError::NotFound`] when the child is gone (erased meanwhile).
pub(crate) async fn replace_effect_estimates<DB>(
    write: &sqlx::Pool<DB>,
    child: ChildId,
    computed_at: DateTime<Utc>,
    estimates: &[EffectEstimate],
) -> Result<()>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let mut tx = write.begin().await?;
    sqlx::query("DELETE FROM effect_estimates WHERE child_id = $1")
        .uuid(child.0)
        .execute(&mut *tx)
        .await?;
    for estimate in estimates {
        sqlx::query(
            "INSERT INTO effect_estimates (child_id, kind, effect, std_error, computed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .uuid(child.0)
        .text(estimate.kind.as_str())
        .real(estimate.effect)
        .real(estimate.std_error)
        .time(computed_at)
        .execute(&mut *tx)
        .await
        .map_err(child_gone)?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every child's latest effect estimates, or only those of `kind`.
pub(crate) async fn effect_estimates<'e, DB, E>(
    db: E,
    kind: Option<InterventionKind>,
) -> Result<Vec<ChildEffectEstimate>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT child_id, kind, effect, std_error, computed_at FROM effect_estimates \
         WHERE $1 IS NULL OR kind = $1 ORDER BY child_id, kind",
    )
    .maybe_text(kind.map(|k| k.as_str()))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChildEffectEstimate {
                child_id: ChildId(r.uuid("child_id")?),
                computed_at: r.time("computed_at")?,
                estimate: EffectEstimate {
                    kind: intervention_kind(r.text("kind")?)?,
                    effect: r.real("effect")?,
                    std_error: r.real("std_error")?,
                },
            })
        })
        .collect()
}
