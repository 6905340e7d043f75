//! Families and the people and devices that act for them: sign-up, the family's clock,
//! logins, bearer tokens, devices and the audit trail, written once for both databases.
//!
//! Single statements run on the executor they are given (the read pool or the writer);
//! sign-up, device registration and device revocation take the writer's pool and run
//! their statements in one transaction of their own.

use crate::sql::{details, limit, Columns, Dialect, Params, Query};
use crate::{AuditEntry, NewToken, Result, StoreError, TokenOwner, TokenRecord, UserRecord};
use chrono::Utc;
use sprout_domain::{ChildId, ClockFormat, DeviceId, Email, FamilyId, UserId};

/// Creates a family with its first parent. A taken e-mail is [`StoreError::Conflict`].
pub(crate) async fn create_family<DB>(
    write: &sqlx::Pool<DB>,
    name: &str,
    email: &Email,
    password_hash: &str,
) -> Result<(FamilyId, UserId)>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let family = FamilyId::new();
    let user = UserId::new();
    let now = Utc::now();
    let mut tx = write.begin().await?;
    sqlx::query("INSERT INTO families (id, name, created_at) VALUES ($1, $2, $3)")
        .uuid(family.0)
        .text(name)
        .time(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO users (id, family_id, email, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, 'parent', $5)",
    )
    .uuid(user.0)
    .uuid(family.0)
    .text(email.as_str())
    .text(password_hash)
    .time(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::from_insert(e, "email"))?;
    tx.commit().await?;
    Ok((family, user))
}

/// How the family reads clock times (12- or 24-hour); `NotFound` for no such family.
pub(crate) async fn family_clock<'e, DB, E>(db: E, family: FamilyId) -> Result<ClockFormat>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query("SELECT clock FROM families WHERE id = $1")
        .uuid(family.0)
        .fetch_optional(db)
        .await?;
    let row = row.ok_or(StoreError::NotFound { what: "family" })?;
    row.text("clock")?
        .parse()
        .map_err(|e| StoreError::corrupt("family clock", e))
}

/// Sets how the family reads clock times.
pub(crate) async fn set_family_clock<'e, DB, E>(db: E, family: FamilyId, clock: ClockFormat) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let updated = sqlx::query("UPDATE families SET clock = $1 WHERE id = $2")
        .text(clock.as_str())
        .uuid(family.0)
        .execute(db)
        .await?;
    if DB::rows_affected(&updated) == 0 {
        return Err(StoreError::NotFound { what: "family" });
    }
    Ok(())
}

/// The parent who signs in with `email`, if any.
pub(crate) async fn find_user_by_email<'e, DB, E>(db: E, email: &Email) -> Result<Option<UserRecord>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query("SELECT id, family_id, password_hash FROM users WHERE email = $1")
        .text(email.as_str())
        .fetch_optional(db)
        .await?;
    row.map(|r| {
        Ok(UserRecord {
            id: UserId(r.uuid("id")?),
            family_id: FamilyId(r.uuid("family_id")?),
            password_hash: r.text("password_hash")?,
        })
    })
    .transpose()
}

/// Stores a token's digest and owner; a digest stored already is [`StoreError::Conflict`].
pub(crate) async fn insert_token<'e, DB, E>(db: E, token: &NewToken) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let (kind, user_id, device_id) = match token.owner {
        TokenOwner::Parent { user_id, .. } => ("parent", Some(user_id.0), None),
        TokenOwner::Device { device_id, .. } => ("device", None, Some(device_id.0)),
    };
    sqlx::query(
        "INSERT INTO tokens (token_hash, kind, user_id, device_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bytes(&token.hash[..])
    .text(kind)
    .maybe_uuid(user_id)
    .maybe_uuid(device_id)
    .time(Utc::now())
    .maybe_time(token.expires_at)
    .execute(db)
    .await
    .map_err(|e| StoreError::from_insert(e, "token"))?;
    Ok(())
}

/// The token with this digest, whatever its state; the caller checks expiry.
pub(crate) async fn find_token<'e, DB, E>(db: E, token_hash: &[u8; 32]) -> Result<Option<TokenRecord>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let row = sqlx::query(
        "SELECT t.kind, t.user_id, u.family_id, t.device_id, d.child_id, t.expires_at, \
                t.revoked_at, d.revoked_at AS device_revoked_at \
         FROM tokens t \
         LEFT JOIN users u ON u.id = t.user_id \
         LEFT JOIN devices d ON d.id = t.device_id \
         WHERE t.token_hash = $1",
    )
    .bytes(&token_hash[..])
    .fetch_optional(db)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let owner = match r.text("kind")?.as_str() {
        "parent" => TokenOwner::Parent {
            user_id: UserId(r.uuid("user_id")?),
            family_id: FamilyId(r.uuid("family_id")?),
        },
        "device" => TokenOwner::Device {
            device_id: DeviceId(r.uuid("device_id")?),
            child_id: ChildId(r.uuid("child_id")?),
        },
        other => return Err(StoreError::corrupt("token kind", other)),
    };
    let revoked = r.maybe_time("revoked_at")?.is_some() || r.maybe_time("device_revoked_at")?.is_some();
    let expires_at = r.maybe_time("expires_at")?;
    Ok(Some(TokenRecord {
        owner,
        expires_at,
        revoked,
    }))
}

/// Revokes one token (logout, device revoke); `false` when it was unknown.
pub(crate) async fn revoke_token<'e, DB, E>(db: E, token_hash: &[u8; 32]) -> Result<bool>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let revoked =
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .time(Utc::now())
            .bytes(&token_hash[..])
            .execute(db)
            .await?;
    Ok(DB::rows_affected(&revoked) > 0)
}

/// Registers a device for a child together with its token, atomically.
pub(crate) async fn create_device<DB>(
    write: &sqlx::Pool<DB>,
    child: ChildId,
    name: &str,
    token_hash: &[u8; 32],
) -> Result<DeviceId>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let device = DeviceId::new();
    let now = Utc::now();
    let mut tx = write.begin().await?;
    sqlx::query("INSERT INTO devices (id, child_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .uuid(device.0)
        .uuid(child.0)
        .text(name)
        .time(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO tokens (token_hash, kind, device_id, created_at) VALUES ($1, 'device', $2, $3)")
        .bytes(&token_hash[..])
        .uuid(device.0)
        .time(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, "token"))?;
    tx.commit().await?;
    Ok(device)
}

/// Revokes a device and every token it holds; `false` when the device is not the child's.
pub(crate) async fn revoke_device<DB>(
    write: &sqlx::Pool<DB>,
    child: ChildId,
    device: DeviceId,
) -> Result<bool>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let now = Utc::now();
    let mut tx = write.begin().await?;
    let found = sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND child_id = $3")
        .time(now)
        .uuid(device.0)
        .uuid(child.0)
        .execute(&mut *tx)
        .await?;
    if DB::rows_affected(&found) == 0 {
        // Not this child's device: touch nothing.
        return Ok(false);
    }
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL")
        .time(now)
        .uuid(device.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Appends to the audit trail.
pub(crate) async fn audit<'e, DB, E>(db: E, family: FamilyId, entry: &AuditEntry) -> Result<()>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, child_id, detail, family_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .time(entry.at)
    .text(&entry.actor)
    .text(&entry.action)
    .maybe_uuid(entry.child_id.map(|c| c.0))
    .json(&entry.detail)
    .uuid(family.0)
    .execute(db)
    .await?;
    Ok(())
}

/// A family's audit trail, newest first.
pub(crate) async fn audit_trail<'e, DB, E>(
    db: E,
    family: FamilyId,
    limit_to: usize,
) -> Result<Vec<AuditEntry>>
where
    DB: Dialect,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> Query<'q, DB>: Params<'q>,
{
    let rows = sqlx::query(
        "SELECT at, actor, action, child_id, detail FROM audit_log WHERE family_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .uuid(family.0)
    .int(limit(limit_to))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: r.time("at")?,
                actor: r.text("actor")?,
                action: r.text("action")?,
                child_id: r.maybe_uuid("child_id")?.map(ChildId),
                detail: details(r.text("detail")?)?,
            })
        })
        .collect()
}
