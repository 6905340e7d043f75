//! One way to start Sprout for a test: a fresh store on the chosen backend and a server
//! on a random port, plus the calls most tests begin with.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sprout_server::{Application, Config, Secret};
use sprout_store::testing::TestDb;
use sprout_store::Backend;
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const PASSWORD: &str = "a long enough password";

/// Runs `$name(backend)` once per backend, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(sprout_store::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(sprout_store::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// Shared by every node started with [`TestApp::another_node`].
    pub db: std::sync::Arc<TestDb>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop: Option<oneshot::Sender<()>>,
}

/// A family with one child, one device and a logged-in parent.
pub struct Family {
    pub email: String,
    pub token: String,
    pub child_id: String,
    pub device_token: String,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with the test's own changes to the configuration.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    start(std::sync::Arc::new(TestDb::new(backend).await), configure).await
}

fn test_config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        refresh: sprout_app::refresh::Timing {
            debounce: std::time::Duration::from_millis(200),
            interval: std::time::Duration::from_secs(60),
        },
        ..Config::default()
    }
}

/// A node on an existing test database.
pub async fn spawn_on(db: std::sync::Arc<TestDb>, configure: impl FnOnce(&mut Config)) -> TestApp {
    start(db, configure).await
}

async fn start(db: std::sync::Arc<TestDb>, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config();
    configure(&mut config);
    let app = Application::build(config, db.store.clone()).await.expect("bind");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        client: Client::new(),
        db,
        server: Some(server),
        stop: Some(stop),
    }
}

impl TestApp {
    /// A second server on the same database, as another node of one deployment.
    pub async fn another_node(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        start(self.db.clone(), configure).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Asks the server to stop and waits until it has finished what it was doing.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.put(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Erases a child, and returns the answer (`{erased: {samples, ...}}`).
    pub async fn erase_child(&self, token: &str, child_id: &str) -> Value {
        let response = self
            .delete(&format!("/api/v1/children/{child_id}"), Some(token))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    pub async fn create_family(&self, email: &str) -> Value {
        let response = self
            .post(
                "/api/v1/families",
                Some(ADMIN_TOKEN),
                &json!({"name": "Family", "parent_email": email, "parent_password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    pub async fn login(&self, email: &str) -> String {
        let response = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn create_child(&self, token: &str, name: &str) -> String {
        let response = self
            .post(
                "/api/v1/children",
                Some(token),
                &json!({"display_name": name, "birth_date": "2016-05-01", "timezone": "Europe/Berlin"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn create_device(&self, token: &str, child_id: &str) -> String {
        let response = self
            .post(
                &format!("/api/v1/children/{child_id}/devices"),
                Some(token),
                &json!({"name": "watch"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("device token").to_owned()
    }

    pub async fn family(&self, email: &str) -> Family {
        self.create_family(email).await;
        let token = self.login(email).await;
        let child_id = self.create_child(&token, "Mia").await;
        let device_token = self.create_device(&token, &child_id).await;
        Family {
            email: email.to_owned(),
            token,
            child_id,
            device_token,
        }
    }

    /// How many samples the store holds for a child, read straight from the store.
    pub async fn stored_samples(&self, child_id: &str) -> usize {
        let id = child_id.parse().expect("child id");
        self.db
            .store
            .samples(id, Default::default(), None, 1_000_000)
            .await
            .expect("read samples")
            .len()
    }
}

/// Asserts the error format and code, and returns the error object.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"].clone()
}

/// `count` valid samples, a minute apart, starting at `start` (RFC 3339).
pub fn samples_json(start: &str, count: usize) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339(start).expect("start");
    let samples: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "time": (start + chrono::Duration::minutes(i as i64)).to_rfc3339(),
                "stress_level": (i % 10) as f64 / 10.0,
                "heart_rate": 80.0,
                "sleep_state": "awake",
                "steps": i as i64,
            })
        })
        .collect();
    json!({ "samples": samples })
}

/// A night owl's five weeks of sleep, as the device would post them.
pub fn night_owl_sleep() -> Vec<serde_json::Value> {
    let config = sprout_sim::SimConfig {
        seed: 5,
        children: 3,
        days: 35,
        end: chrono::Utc::now(),
        step_minutes: 60,
        ..Default::default()
    };
    let owl = sprout_sim::simulate_child(&config, 2);
    owl.sleep_episodes
        .iter()
        .filter(|e| e.offset < chrono::Utc::now())
        .map(|episode| {
            let offset = chrono::FixedOffset::east_opt(episode.utc_offset_min * 60).expect("offset");
            json!({
                "onset": episode.onset.with_timezone(&offset).to_rfc3339(),
                "offset": episode.offset.with_timezone(&offset).to_rfc3339(),
            })
        })
        .collect()
}
