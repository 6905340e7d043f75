//! A deployment of several processes: two `sprout serve --no-worker` nodes and a
//! `sprout worker`, sharing PostgreSQL and Redis — the flags wire what they promise, a
//! rate limit holds across nodes, and a worker killed with `kill -9` in the middle of
//! retention leaves nothing half-done: the restarted worker finishes the job, and every
//! retired sample is counted exactly once.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sprout_store::testing::TestDb;
use sprout_store::{Backend, TimeRange};
use support::{call, Running};

mod support;

const ADMIN: &str = "nodes-admin";
const REDIS: &str = "redis://127.0.0.1:6379";
const LIMIT: usize = 12;

/// An API node without a worker; `rate_limit` per token and minute (0: none).
fn node(db: &str, namespace: &str, rate_limit: &str) -> Running {
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
            rate_limit,
            "--no-worker",
        ],
        &[
            ("SPROUT_ADMIN_TOKEN", ADMIN),
            ("SPROUT_JOBS_NAMESPACE", namespace),
        ],
    )
}

fn worker(db: &str, namespace: &str) -> Running {
    Running::start_until(
        &["worker", "--db", db, "--redis", REDIS, "--retain-raw-days", "30"],
        &[("SPROUT_JOBS_NAMESPACE", namespace)],
        "worker running",
    )
}

/// A queue of its own for each test: tests share one database.
fn namespace() -> String {
    format!("test::{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_and_a_worker_share_postgres_and_redis() {
    let db = TestDb::new(Backend::Postgres).await;
    let jobs = namespace();
    let (a, b) = (node(&db.url, &jobs, "12"), node(&db.url, &jobs, "12"));
    let http = reqwest::Client::new();
    let (status, _) = call(http.post(format!("{}/api/v1/families", a.url)).bearer_auth(ADMIN).json(&json!({
        "name": "Nodes", "parent_email": "nodes@example.org", "parent_password": "a long enough password"
    })))
    .await;
    assert_eq!(status, 201);
    let (_, login) = call(
        http.post(format!("{}/api/v1/auth/login", b.url))
            .json(&json!({"email": "nodes@example.org", "password": "a long enough password"})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();
    let (_, child) = call(
        http.post(format!("{}/api/v1/children", a.url))
            .bearer_auth(&token)
            .json(&json!({
                "display_name": "Noa", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"
            })),
    )
    .await;
    let child_id = child["id"].as_str().expect("child id").to_owned();
    let (_, device) = call(
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
        let (status, _) = call(
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
    worker(&db.url, &jobs).kill9();
    let restarted = worker(&db.url, &jobs);
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
            call(
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

/// Jobs of `namespace` by status.
async fn job_counts(url: &str, namespace: &str) -> Vec<(String, i64)> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_as(
        "SELECT status, count(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status ORDER BY status",
    )
    .bind(namespace)
    .fetch_all(&mut connection)
    .await
    .expect("count jobs")
}

fn count(counts: &[(String, i64)], status: &str) -> i64 {
    counts.iter().filter(|(s, _)| s == status).map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_in_the_middle_of_jobs_loses_none() {
    const CHILDREN: usize = 4;
    let db = TestDb::new(Backend::Postgres).await;
    let jobs = namespace();
    let api = node(&db.url, &jobs, "0");
    let http = reqwest::Client::new();
    let (status, _) = call(http.post(format!("{}/api/v1/families", api.url)).bearer_auth(ADMIN).json(&json!({
        "name": "Queue", "parent_email": "queue@example.org", "parent_password": "a long enough password"
    })))
    .await;
    assert_eq!(status, 201);
    let (_, login) = call(
        http.post(format!("{}/api/v1/auth/login", api.url))
            .json(&json!({"email": "queue@example.org", "password": "a long enough password"})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();

    // Children with five weeks of a night owl's sleep and a month of minute samples:
    // each upload burst becomes one refresh job on the queue (the API node runs none).
    let config = sprout_sim::SimConfig {
        seed: 5,
        children: 3,
        days: 35,
        end: Utc::now(),
        ..Default::default()
    };
    let owl = sprout_sim::simulate_child(&config, 2);
    let mut children = Vec::new();
    for i in 0..CHILDREN {
        let (_, child) = call(http.post(format!("{}/api/v1/children", api.url)).bearer_auth(&token).json(&json!({
            "display_name": format!("Kid {i}"), "birth_date": "2016-05-01", "timezone": "Europe/Berlin"
        })))
        .await;
        let id = child["id"].as_str().expect("child id").to_owned();
        let (_, device) = call(
            http.post(format!("{}/api/v1/children/{id}/devices", api.url))
                .bearer_auth(&token)
                .json(&json!({"name": "watch"})),
        )
        .await;
        let device = device["token"].as_str().expect("device token").to_owned();
        for episode in owl.sleep_episodes.iter().filter(|e| e.offset < Utc::now()) {
            let offset = chrono::FixedOffset::east_opt(episode.utc_offset_min * 60).expect("offset");
            let body = json!({
                "onset": episode.onset.with_timezone(&offset).to_rfc3339(),
                "offset": episode.offset.with_timezone(&offset).to_rfc3339(),
            });
            let (status, _) = call(
                http.post(format!("{}/api/v1/children/{id}/sleep-episodes", api.url))
                    .bearer_auth(&device)
                    .json(&body),
            )
            .await;
            assert!(status < 300, "{status}");
        }
        let samples: Vec<Value> = owl
            .samples
            .iter()
            .filter(|s| s.time < Utc::now())
            .map(|s| json!({"time": s.time.to_rfc3339(), "stress_level": s.stress_level}))
            .collect();
        for chunk in samples.chunks(10_000) {
            let (status, _) = call(
                http.post(format!("{}/api/v1/children/{id}/metrics", api.url))
                    .bearer_auth(&device)
                    .json(&json!({ "samples": chunk })),
            )
            .await;
            assert_eq!(status, 200);
        }
        children.push(id);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count(&job_counts(&db.url, &jobs).await, "Pending") < CHILDREN as i64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the API node queued a refresh per child"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let queued: i64 = job_counts(&db.url, &jobs).await.iter().map(|(_, n)| n).sum();

    // A worker starts; once it holds a job, it is killed.
    let first = worker(&db.url, &jobs);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let at_kill = loop {
        let counts = job_counts(&db.url, &jobs).await;
        if count(&counts, "Running") > 0 {
            break counts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker took a job: {counts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    first.kill9();
    eprintln!("jobs queued: {queued}; at the kill: {at_kill:?}");
    assert!(
        count(&at_kill, "Done") < queued,
        "killed before the queue was drained: {at_kill:?}"
    );

    // Its successor picks up the job the dead worker held, and every other.
    let second = worker(&db.url, &jobs);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let counts = job_counts(&db.url, &jobs).await;
        if count(&counts, "Done") == queued {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "every job done after the restart: {counts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Their effect is there once for each child: the chronotype recorded.
    for id in &children {
        let (_, child) = call(
            http.get(format!("{}/api/v1/children/{id}", api.url))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!(child["chronotype"], "night_owl", "{child}");
    }

    // A second API process: a parent connected to it hears, within a second, the
    // recommendation created through the first (Redis pub/sub between processes).
    let other = node(&db.url, &jobs, "0");
    let ws = format!(
        "ws://{}/api/v1/ws?token={token}",
        other.url.trim_start_matches("http://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws)
        .await
        .expect("websocket on the second node");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let created = std::time::Instant::now();
    let (status, recommendation) = call(
        http.get(format!(
            "{}/api/v1/children/{}/recommendation",
            api.url, children[0]
        ))
        .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200);
    use futures::StreamExt;
    let event = loop {
        let left = std::time::Duration::from_secs(1).saturating_sub(created.elapsed());
        let next = tokio::time::timeout(left, socket.next()).await;
        let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) = next else {
            panic!("no recommendation.created on the second node within 1 s: {next:?}");
        };
        let event: Value = serde_json::from_str(&text).expect("json");
        if event["type"] == "recommendation.created" {
            break event;
        }
    };
    assert_eq!(event["recommendation_id"], recommendation["id"]);
    eprintln!(
        "recommendation.created reached the other process after {:?}",
        created.elapsed()
    );
    assert!(second.terminate() && api.terminate() && other.terminate());
}
