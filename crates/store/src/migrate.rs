//! Migrations embedded in the binary, fed to sqlx's migrator as a custom source.

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// One migration file compiled into the binary: version, description, SQL.
pub(crate) type EmbeddedMigration = (i64, &'static str, &'static str);

#[derive(Debug)]
struct Embedded(&'static [EmbeddedMigration]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn migrator(migrations: &'static [EmbeddedMigration]) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(migrations)).await
}
