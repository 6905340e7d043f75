//! Fresh, isolated stores for tests: a temporary SQLite file, or a PostgreSQL schema of
//! its own, so tests on both backends run in parallel without seeing each other. Behind
//! the `testing` feature, which only dev-dependencies turn on: none of this is in the
//! binary.

use crate::{Backend, PgStore, SqliteStore, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the test PostgreSQL server is, unless `SPROUT_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_TEST_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Schemas made by tests start with this, so a test run can sweep up leftovers.
pub const TEST_SCHEMA_PREFIX: &str = "sprout_test_";

/// A migrated, empty store that is removed when dropped.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// The URL `sprout serve --db` would take for this store.
    pub url: String,
    /// The same store, typed, for statements a test runs itself.
    typed: Typed,
    cleanup: Cleanup,
}

enum Typed {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

enum Cleanup {
    File(PathBuf),
    Schema { admin_url: String, schema: String },
}

/// The PostgreSQL server tests use.
pub fn test_pg_url() -> String {
    std::env::var("SPROUT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_PG_URL.to_owned())
}

impl TestDb {
    /// A fresh store on `backend`. Panics when the backend cannot be reached: a test
    /// that silently skipped a backend would prove nothing.
    pub async fn new(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("sprout-test-{id}.db"));
                let store = SqliteStore::open(&path).await.expect("open test SQLite file");
                store_migrated(&store).await;
                Self {
                    url: format!("sqlite:{}", path.display()),
                    store: Arc::new(store.clone()),
                    typed: Typed::Sqlite(store),
                    cleanup: Cleanup::File(path),
                }
            }
            Backend::Postgres => {
                let admin_url = test_pg_url();
                let schema = format!("{TEST_SCHEMA_PREFIX}{id}");
                let admin = PgStore::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is not reachable: {e}"));
                admin
                    .execute_admin(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .expect("create test schema");
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
                let store = PgStore::connect(&url).await.expect("connect to test schema");
                store_migrated(&store).await;
                Self {
                    store: Arc::new(store.clone()),
                    url,
                    typed: Typed::Postgres(store),
                    cleanup: Cleanup::Schema { admin_url, schema },
                }
            }
        }
    }

    /// Runs one statement of the test's own on this store: to take a table away and put
    /// it back, as a store that fails part-way would.
    pub async fn execute_admin(&self, statement: &str) -> Result<(), StoreError> {
        match &self.typed {
            Typed::Sqlite(store) => store.execute_admin(statement).await,
            Typed::Postgres(store) => store.execute_admin(statement).await,
        }
    }

    /// The store's own speed limit on `samples`: one prepared single-row insert per
    /// sample, all in one transaction (the ingest benchmark's anchor).
    pub async fn insert_samples_row_by_row(
        &self,
        child: sprout_domain::ChildId,
        samples: &[sprout_domain::Sample],
    ) -> Result<u64, StoreError> {
        match &self.typed {
            Typed::Sqlite(store) => store.insert_samples_row_by_row(child, samples).await,
            Typed::Postgres(store) => store.insert_samples_row_by_row(child, samples).await,
        }
    }
}

async fn store_migrated(store: &dyn Store) {
    store.migrate().await.expect("migrate test store");
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Schema { admin_url, schema } => {
                // Drop runs outside any runtime guarantee, so the schema is removed from a
                // thread with a runtime of its own.
                let (admin_url, schema) = (admin_url.clone(), schema.clone());
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(admin) = PgStore::connect(&admin_url).await {
                            let _ = admin
                                .execute_admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
