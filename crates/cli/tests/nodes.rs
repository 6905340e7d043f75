//! A deployment of several processes: two `sprout serve --no-worker` nodes and a
//! `sprout worker`, sharing PostgreSQL and Redis — the flags wire what they promise, a
//! rate limit holds across nodes, and a worker killed with `kill -9` in the middle of
//! retention leaves nothing half-done: the restarted worker finishes the job, and every
//! retired sample is counted exactly once.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sprout_store::testing::TestDb;
use sprout_store::{Backend, TimeRange};
use support::Running;

mod support;

const ADMIN: &str = "nodes-admin";
const REDIS: &str = "redis://127.0.0.1:6379";
const LIMIT: usize = 12;

fn node(db: &str) -> Running {
    Running::start(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            db,
            "--redis",
            REDIS,
            "--rate-limit",
            "12",
            "--no-worker",
        ],
        &[("SPROUT_ADMIN_TOKEN", ADMIN)],
    )
}

fn worker(db: &str) -> Running {
    Running::start_until(
        &["worker", "--db", db, "--redis", REDIS, "--retain-raw-days", "30"],
        &[],
        "worker running",
    )
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_and_a_worker_share_postgres_and_redis() {
    let db = TestDb::new(Backend::Postgres).await;
    let (a, b) = (node(&db.url), node(&db.url));
    let http = reqwest::Client::new();
    let (status, _) = send(http.post(format!("{}/api/v1/families", a.url)).bearer_auth(ADMIN).json(&json!({
        "name": "Nodes", "parent_email": "nodes@example.org", "parent_password": "a long enough password"
    })))
    .await;
    assert_eq!(status, 201);
    let (_, login) = send(
        http.post(format!("{}/api/v1/auth/login", b.url))
            .json(&json!({"email": "nodes@example.org", "password": "a long enough password"})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();
    let (_, child) = send(
        http.post(format!("{}/api/v1/children", a.url))
            .bearer_auth(&token)
            .json(&json!({
                "display_name": "Noa", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"
            })),
    )
    .await;
    let child_id = child["id"].as_str().expect("child id").to_owned();
    let (_, device) = send(
        http.post(format!("{}/api/v1/children/{child_id}/devices", b.url))
            .bearer_auth(&token)
            .json(&json!({"name": "watch"})),
    )
    .await;
    let device_token = device["token"].as_str().expect("device token").to_owned();
    // The parent's token has made two counted requests (the child, the device) in this window.
    let setup_window = Utc::now().timestamp() / 60;

    // Three days of minute samples, long past the 30-day retention.
    let start = Utc::now() - Duration::days(60);
    let samples: Vec<Value> = (0..3 * 1_440)
        .map(|i| json!({"time": (start + Duration::minutes(i)).to_rfc3339(), "stress_level": (i % 10) as f64 / 10.0}))
        .collect();
    for chunk in samples.chunks(1_000) {
        let (status, _) = send(
            http.post(format!("{}/api/v1/children/{child_id}/metrics", a.url))
                .bearer_auth(&device_token)
                .json(&json!({ "samples": chunk })),
        )
        .await;
        assert_eq!(status, 200);
    }
    let child: sprout_domain::ChildId = child_id.parse().expect("id");
    let raw = |db: &TestDb| {
        let store = db.store.clone();
        async move {
            store
                .samples(child, TimeRange::default(), None, 10_000)
                .await
                .expect("samples")
                .len()
        }
    };
    assert_eq!(
        raw(&db).await,
        samples.len(),
        "--no-worker nodes do not retire anything"
    );

    // The worker is killed almost at once, likely mid-retention; a new one finishes.
    worker(&db.url).kill9();
    let restarted = worker(&db.url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while raw(&db).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted worker retires the old samples"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let hours = db
        .store
        .sample_hours(child, TimeRange::default(), 10_000)
        .await
        .expect("hours");
    let counted: u64 = hours.iter().map(|h| h.samples).sum();
    let stress_sum: f64 = hours.iter().map(|h| h.stress_level.sum).sum();
    let expected_sum: f64 = (0..3 * 1_440).map(|i| (i % 10) as f64 / 10.0).sum();
    assert_eq!(counted, samples.len() as u64, "every sample retired exactly once");
    assert!(
        (stress_sum - expected_sum).abs() < 1e-6,
        "{stress_sum} vs {expected_sum}"
    );
    assert!(restarted.terminate(), "the worker stops cleanly on SIGTERM");

    // The limit of 12 a minute holds across both nodes. Start well inside a one-minute
    // window; if it is not the set-up's window, the two earlier requests no longer count.
    let into_minute = Utc::now().timestamp() % 60;
    if into_minute > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - into_minute) as u64)).await;
    }
    let expected = if Utc::now().timestamp() / 60 == setup_window {
        LIMIT - 2
    } else {
        LIMIT
    };
    let mut statuses = Vec::new();
    for i in 0..LIMIT + 2 {
        let node = if i % 2 == 0 { &a } else { &b };
        statuses.push(
            send(
                http.get(format!("{}/api/v1/children", node.url))
                    .bearer_auth(&token),
            )
            .await
            .0,
        );
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, expected, "{statuses:?}");
    assert!(statuses[ok..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(a.terminate() && b.terminate());
}
