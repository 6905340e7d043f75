//! Children and what the family says about them — profile, chronotype, preferences,
//! notes — written once for both databases.

use crate::sql::{limit, record_id, Columns, Dialect, Params, Query};
use crate::{Note, Result, StoreError};
use chrono::Utc;
use sprout_domain::{
    Child, ChildId, DisplayName, FamilyId, InterventionKind, NewChild, Preferences, Timezone, UserId,
};

/// Every read of children selects the columns [`from_row`] reads.
const SELECT: &str = "SELECT id, family_id, display_name, birth_date, timezone, chronotype, \
                      preferred_interventions, avoided_interventions, created_at FROM children";

/// Adds a child to a family.
pub(crate) async fn create_child<'e, DB, E>(db: E, family: FamilyId, child: &NewChild) -> Result<Child>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let id = ChildId::new();
    let created_at = Utc::now();
    sqlx::query(
        "INSERT INTO children (id, family_id, display_name, birth_date, timezone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .uuid(id.0)
    .uuid(family.0)
    .text(child.display_name.as_str())
    .date(child.birth_date)
    .text(child.timezone.name())
    .time(created_at)
    .execute(db)
    .await
    .map_err(|e| StoreError::from_insert(e, "child"))?;
    Ok(Child {
        id,
        family_id: family,
        display_name: child.display_name.clone(),
        birth_date: child.birth_date,
        timezone: child.timezone,
        chronotype: None,
        preferred_interventions: Vec::new(),
        avoided_interventions: Vec::new(),
        created_at: DB::as_stored(created_at)?,
    })
}

/// A family's children, in the order they were added.
pub(crate) async fn list_children<'e, DB, E>(db: E, family: FamilyId) -> Result<Vec<Child>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let sql = format!("{SELECT} WHERE family_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(&sql).uuid(family.0).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

/// One child, if stored.
pub(crate) async fn get_child<'e, DB, E>(db: E, child: ChildId) -> Result<Option<Child>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let sql = format!("{SELECT} WHERE id = $1");
    let row = sqlx::query(&sql).uuid(child.0).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// Every child, for periodic work over all of them (retention).
pub(crate) async fn all_children<'e, DB, E>(db: E) -> Result<Vec<Child>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("{SELECT} ORDER BY created_at, id");
    let rows = sqlx::query(&sql).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

/// Records the child's current chronotype (`None` while it is not known).
pub(crate) async fn set_chronotype<'e, DB, E>(db: E, child: ChildId, chronotype: Option<&str>) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let updated = sqlx::query("UPDATE children SET chronotype = $1 WHERE id = $2")
        .maybe_text(chronotype)
        .uuid(child.0)
        .execute(db)
        .await?;
    child_updated(DB::rows_affected(&updated))
}

/// Replaces what the family says the child likes and wants to avoid.
pub(crate) async fn set_preferences<'e, DB, E>(db: E, child: ChildId, preferences: &Preferences) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let json = |kinds: &[InterventionKind]| serde_json::to_string(kinds).unwrap_or_else(|_| "[]".to_owned());
    let (liked, avoided) = (json(&preferences.liked), json(&preferences.avoided));
    let updated = sqlx::query(
        "UPDATE children SET preferred_interventions = $1, avoided_interventions = $2 WHERE id = $3",
    )
    .text(&liked)
    .text(&avoided)
    .uuid(child.0)
    .execute(db)
    .await?;
    child_updated(DB::rows_affected(&updated))
}

/// Stores a parent's note about a child.
pub(crate) async fn insert_note<'e, DB, E>(db: E, note: &Note) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query("INSERT INTO notes (id, child_id, author, created_at, text) VALUES ($1, $2, $3, $4, $5)")
        .uuid(note.id.0)
        .uuid(note.child_id.0)
        .uuid(note.author.0)
        .time(note.created_at)
        .text(&note.text)
        .execute(db)
        .await?;
    Ok(())
}

/// A child's notes, newest first.
pub(crate) async fn notes<'e, DB, E>(db: E, child: ChildId, limit_to: usize) -> Result<Vec<Note>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT id, author, created_at, text FROM notes WHERE child_id = $1 \
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .uuid(child.0)
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Note {
                id: record_id(r.uuid("id")?),
                child_id: child,
                author: UserId(r.uuid("author")?),
                created_at: r.time("created_at")?,
                text: r.text("text")?,
            })
        })
        .collect()
}

fn from_row(r: &impl Columns) -> Result<Child> {
    Ok(Child {
        id: ChildId(r.uuid("id")?),
        family_id: FamilyId(r.uuid("family_id")?),
        display_name: DisplayName::parse(&r.text("display_name")?)
            .map_err(|e| StoreError::corrupt("child name", e))?,
        birth_date: r.date("birth_date")?,
        timezone: Timezone::parse(&r.text("timezone")?)
            .map_err(|e| StoreError::corrupt("child timezone", e))?,
        chronotype: r.maybe_text("chronotype")?,
        preferred_interventions: interventions(r.text("preferred_interventions")?)?,
        avoided_interventions: interventions(r.text("avoided_interventions")?)?,
        created_at: r.time("created_at")?,
    })
}

/// A stored list of intervention kinds (what the family prefers or avoids).
fn interventions(json: String) -> Result<Vec<InterventionKind>> {
    serde_json::from_str(&json).map_err(|e| StoreError::corrupt("preferred interventions", e))
}

/// An UPDATE of one child: `NotFound` when no row matched.
fn child_updated(rows: u64) -> Result<()> {
    if rows == 0 {
        return Err(StoreError::NotFound { what: "child" });
    }
    Ok(())
}
