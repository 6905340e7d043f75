//! Migrations embedded in the binary, fed to sqlx's migrator as a custom source.

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// One migration file compiled into the binary: version, description, SQL.
pub(crate) type EmbeddedMigration = (i64, &'static str, &'static str);

/// The migrations, listed once: each is a file of the same name under
/// `migrations/sqlite` and `migrations/postgres` (both backends keep one schema).
macro_rules! migrations {
    ($backend:literal) => {
        $crate::migrate::migrations!(@list $backend;
            1, "foundation", "0001_foundation";
            2, "recommendations", "0002_recommendations";
            3, "audit family", "0003_audit_family";
            4, "models", "0004_models";
            5, "consents", "0005_consents";
            6, "sample hours", "0006_sample_hours";
            7, "notes", "0007_notes";
            8, "outcomes", "0008_outcomes";
            9, "effect estimates", "0009_effect_estimates";
            10, "avoided interventions", "0010_avoided_interventions";
            11, "family clock", "0011_family_clock";
            12, "followed by", "0012_followed_by";
        )
    };
    (@list $backend:literal; $($version:literal, $description:literal, $file:literal;)*) => {
        &[$((
            $version,
            $description,
            include_str!(concat!("../migrations/", $backend, "/", $file, ".sql")),
        )),*]
    };
}
pub(crate) use migrations;

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

#[cfg(test)]
mod tests {
    /// Every file in either backend's folder is in the one list, in order.
    #[test]
    fn the_list_names_every_migration_file() {
        const SQLITE: &[super::EmbeddedMigration] = migrations!("sqlite");
        const POSTGRES: &[super::EmbeddedMigration] = migrations!("postgres");
        for (backend, list) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            assert_eq!(files.len(), list.len(), "{backend}: {files:?}");
            for (i, (version, _, _)) in list.iter().enumerate() {
                assert_eq!(*version, i as i64 + 1);
                assert!(files[i].starts_with(&format!("{version:04}_")), "{}", files[i]);
            }
        }
    }
}
