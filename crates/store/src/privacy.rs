//! What a family allows done with a child's data, and erasing it all, written once for
//! both databases. Erasing takes the writer's pool and runs in one transaction of its
//! own: a child is erased entirely or not at all.

use crate::sql::{Columns, Dialect, Params, Query};
use crate::{Consent, Consents, Erasure, Result, StoreError};
use chrono::Utc;
use sprout_domain::{ChildId, ConsentPurpose, UserId};

/// The child's consent for every purpose (defaults where the family has not decided).
pub(crate) async fn consents<'e, DB, E>(db: E, child: ChildId) -> Result<Consents>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query("SELECT purpose, granted, by_user, at FROM consents WHERE child_id = $1")
        .uuid(child.0)
        .fetch_all(db)
        .await?;
    let mut decided = Vec::new();
    for r in &rows {
        let purpose = r
            .text("purpose")?
            .parse::<ConsentPurpose>()
            .map_err(|e| StoreError::corrupt("consent purpose", e))?;
        decided.push(Consent {
            purpose,
            granted: r.boolean("granted")?,
            by_user: Some(UserId(r.uuid("by_user")?)),
            at: Some(r.time("at")?),
        });
    }
    Ok(Consents(
        ConsentPurpose::ALL
            .into_iter()
            .map(|purpose| {
                decided
                    .iter()
                    .find(|c| c.purpose == purpose)
                    .cloned()
                    .unwrap_or(Consent {
                        purpose,
                        granted: purpose.default_granted(),
                        by_user: None,
                        at: None,
                    })
            })
            .collect(),
    ))
}

/// Records a family's decision on one purpose.
pub(crate) async fn set_consent<'e, DB, E>(
    db: E,
    child: ChildId,
    purpose: ConsentPurpose,
    granted: bool,
    by: UserId,
) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query(
        "INSERT INTO consents (child_id, purpose, granted, by_user, at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (child_id, purpose) DO UPDATE SET granted = excluded.granted, \
         by_user = excluded.by_user, at = excluded.at",
    )
    .uuid(child.0)
    .text(purpose.as_str())
    .boolean(granted)
    .uuid(by.0)
    .time(Utc::now())
    .execute(db)
    .await?;
    Ok(())
}

/// Erases a child and everything recorded about them, in one transaction.
pub(crate) async fn erase_child<DB>(write: &sqlx::Pool<DB>, child: ChildId) -> Result<Erasure>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let mut tx = write.begin().await?;
    let mut erased = Erasure::default();
    // Children first in what depends on them, so every count is exact.
    for (table, counter) in [
        ("recommendation_feedback", &mut erased.feedback),
        ("recommendations", &mut erased.recommendations),
        ("wellness_metrics", &mut erased.samples),
        ("sample_hours", &mut erased.hourly_aggregates),
        ("notes", &mut erased.notes),
        ("school_events", &mut erased.events),
        ("interventions", &mut erased.interventions),
        ("sleep_episodes", &mut erased.sleep_episodes),
        ("effect_estimates", &mut erased.effect_estimates),
    ] {
        let sql = format!("DELETE FROM {table} WHERE child_id = $1");
        let deleted = sqlx::query(&sql).uuid(child.0).execute(&mut *tx).await?;
        *counter = DB::rows_affected(&deleted);
    }
    let device_tokens =
        sqlx::query("DELETE FROM tokens WHERE device_id IN (SELECT id FROM devices WHERE child_id = $1)")
            .uuid(child.0)
            .execute(&mut *tx)
            .await?;
    erased.device_tokens = DB::rows_affected(&device_tokens);
    let devices = sqlx::query("DELETE FROM devices WHERE child_id = $1")
        .uuid(child.0)
        .execute(&mut *tx)
        .await?;
    erased.devices = DB::rows_affected(&devices);
    let deleted = sqlx::query("DELETE FROM children WHERE id = $1")
        .uuid(child.0)
        .execute(&mut *tx)
        .await?;
    erased.child = DB::rows_affected(&deleted);
    tx.commit().await?;
    Ok(erased)
}
