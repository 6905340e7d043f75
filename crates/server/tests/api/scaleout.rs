//! Several nodes of one deployment sharing a database and Redis: what one node does,
//! the others see — live events, cache invalidation, rate limits.

use crate::helpers::{spawn_app_with, TestApp};
use crate::live::{next_event, open, stressed_batch};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;
use sprout_server::{Config, Secret};
use sprout_store::Backend;
use std::time::{Duration, Instant};

on_both_backends!(
    a_parent_on_one_node_hears_what_happened_on_another,
    new_data_on_one_node_retires_every_nodes_cached_analyses,
    a_rate_limit_holds_across_nodes,
    a_lockout_holds_across_nodes
);

const REDIS: &str = "redis://127.0.0.1:6379";

fn with_redis(config: &mut Config) {
    config.redis = Some(Secret::new(REDIS));
}

/// Two nodes: A (the first) and B, on one database and one Redis.
async fn two_nodes(backend: Backend, configure: impl Fn(&mut Config)) -> (TestApp, TestApp) {
    let a = spawn_app_with(backend, |c| {
        with_redis(c);
        configure(c);
    })
    .await;
    let b = a
        .another_node(|c| {
            with_redis(c);
            configure(c);
        })
        .await;
    (a, b)
}

async fn a_parent_on_one_node_hears_what_happened_on_another(backend: Backend) {
    let (a, b) = two_nodes(backend, |_| {}).await;
    let family = a.family("nodes-live@example.org").await;
    let mut on_b = open(&b, "/api/v1/ws", Some(&family.token))
        .await
        .expect("connect to B");
    // The subscription on B is live once B answers; give its listener a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let created = Instant::now();
    let response = a
        .get(
            &format!("/api/v1/children/{}/recommendation", family.child_id),
            Some(&family.token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let recommendation: serde_json::Value = response.json().await.expect("json");
    let event = loop {
        let event = next_event(&mut on_b, Duration::from_secs(1))
            .await
            .expect("B delivers A's event within 1 s");
        if event["type"] == "recommendation.created" {
            break event;
        }
    };
    assert!(created.elapsed() < Duration::from_secs(2));
    assert_eq!(event["recommendation_id"], recommendation["id"]);
    assert_eq!(event["child_id"], json!(family.child_id));

    // Another family on B hears nothing of it.
    let other = b.family("nodes-live-other@example.org").await;
    let mut other_on_b = open(&b, "/api/v1/ws", Some(&other.token)).await.expect("connect");
    let stressed = a
        .post(
            &format!("/api/v1/children/{}/metrics", family.child_id),
            Some(&family.device_token),
            &stressed_batch(),
        )
        .await;
    assert_eq!(stressed.status(), StatusCode::OK);
    let alert = loop {
        let event = next_event(&mut on_b, Duration::from_secs(1))
            .await
            .expect("the alert reaches B");
        if event["type"] == "alert.stress_high" {
            break event;
        }
    };
    assert_eq!(alert["child_id"], json!(family.child_id));
    assert!(next_event(&mut other_on_b, Duration::from_millis(500))
        .await
        .is_none());
}

async fn new_data_on_one_node_retires_every_nodes_cached_analyses(backend: Backend) {
    use redis::AsyncCommands;
    let (a, b) = two_nodes(backend, |_| {}).await;
    let family = a.family("nodes-cache@example.org").await;
    let child = &family.child_id;
    let mut redis = redis::Client::open(REDIS)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let version_key = format!("sprout:version:{child}");
    let before: Option<u64> = redis.get(&version_key).await.expect("version");

    let forecast = format!("/api/v1/children/{child}/forecast");
    assert_eq!(
        a.get(&forecast, Some(&family.token)).await.status(),
        StatusCode::OK
    );
    let cached: Vec<String> = redis.keys(format!("sprout:cache:{child}:*")).await.expect("keys");
    assert!(!cached.is_empty(), "A's result is in the shared cache");

    let samples = crate::helpers::samples_json(
        &(chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
        30,
    );
    let response = b
        .post(
            &format!("/api/v1/children/{child}/metrics"),
            Some(&family.device_token),
            &samples,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Option<u64> = redis.get(&version_key).await.expect("version");
    assert!(
        after.unwrap_or(0) > before.unwrap_or(0),
        "B's new data moved the shared version"
    );
    // A answers from the new data: its cached result is replaced by one of the new version.
    assert_eq!(
        a.get(&forecast, Some(&family.token)).await.status(),
        StatusCode::OK
    );
    let mut versions = Vec::new();
    for key in redis
        .keys::<_, Vec<String>>(format!("sprout:cache:{child}:*"))
        .await
        .expect("keys")
    {
        let stored: String = redis.get(&key).await.expect("entry");
        let stored: serde_json::Value = serde_json::from_str(&stored).expect("json");
        versions.push(stored["version"].as_u64());
    }
    assert!(versions.contains(&after), "{versions:?} vs {after:?}");

    // Erasing the child through B leaves nothing of theirs in the shared cache.
    b.erase_child(&family.token, child).await;
    let left: Vec<String> = redis.keys(format!("sprout:cache:{child}:*")).await.expect("keys");
    assert!(left.is_empty(), "{left:?}");
    let version: Option<u64> = redis.get(&version_key).await.expect("version");
    assert_eq!(version, None);
}

async fn a_rate_limit_holds_across_nodes(backend: Backend) {
    let (a, b) = two_nodes(backend, |c| c.rate_limit_per_minute = Some(10)).await;
    let family = a.family("nodes-rate@example.org").await;
    // family() used the parent's token twice (the child, the device) in this window.
    let setup_window = chrono::Utc::now().timestamp() / 60;
    // Counting happens in one-minute windows: start well inside one.
    let into_minute = chrono::Utc::now().timestamp() % 60;
    if into_minute > 45 {
        tokio::time::sleep(Duration::from_secs((61 - into_minute) as u64)).await;
    }
    let used = if chrono::Utc::now().timestamp() / 60 == setup_window {
        2
    } else {
        0
    };
    let path = format!("/api/v1/children/{}", family.child_id);
    let mut statuses = Vec::new();
    for i in 0..14 {
        let node = if i % 2 == 0 { &a } else { &b };
        statuses.push(node.get(&path, Some(&family.token)).await.status());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (10 - used, 4 + used), "{statuses:?}");
    let refused = b.get(&path, Some(&family.token)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    // Another token is counted on its own.
    let other = a.family("nodes-rate-other@example.org").await;
    assert_eq!(
        b.get(
            &format!("/api/v1/children/{}", other.child_id),
            Some(&other.token)
        )
        .await
        .status(),
        StatusCode::OK
    );
}

/// On PostgreSQL a refresh goes through the durable queue: node A (no worker) queues it,
/// node B's worker runs it, and the parent connected to A hears the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_queued_on_one_node_runs_on_another() {
    let namespace = format!("test::{}", uuid::Uuid::new_v4().simple());
    let db = std::sync::Arc::new(sprout_store::testing::TestDb::new(Backend::Postgres).await);
    let jobs = |c: &mut Config| {
        with_redis(c);
        c.jobs_database = Some(Secret::new(db.url.clone()));
        c.jobs_namespace = namespace.clone();
    };
    // A queues but does not work; B works.
    let a = crate::helpers::spawn_on(db.clone(), |c| {
        jobs(c);
        c.run_jobs = false;
    })
    .await;
    let b = a.another_node(jobs).await;
    let family = a.family("nodes-queue@example.org").await;
    let mut on_a = open(&a, "/api/v1/ws", Some(&family.token))
        .await
        .expect("connect to A");
    let path = format!("/api/v1/children/{}/sleep-episodes", family.child_id);
    for body in crate::helpers::night_owl_sleep() {
        let response = a.post(&path, Some(&family.device_token), &body).await;
        assert!(response.status().is_success());
    }
    let event = loop {
        let event = next_event(&mut on_a, Duration::from_secs(20))
            .await
            .expect("chronotype.updated arrives from B's worker");
        if event["type"] == "chronotype.updated" {
            break event;
        }
    };
    assert_eq!(event["chronotype"], "night_owl", "{event}");
    // The event is published mid-job; the job ends after the analyses are warmed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts = job_counts(&db.url, &namespace).await;
        if !counts.is_empty() && counts.iter().all(|(status, _)| status == "Done") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "jobs not done: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(b);
}

/// Jobs of `namespace` by status, read from apalis' table.
pub async fn job_counts(url: &str, namespace: &str) -> Vec<(String, i64)> {
    use apalis_sql::sqlx::{self, Connection};
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_as(
        "SELECT status, count(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status ORDER BY status",
    )
    .bind(namespace)
    .fetch_all(&mut connection)
    .await
    .expect("count jobs")
}

async fn a_lockout_holds_across_nodes(backend: Backend) {
    let (a, b) = two_nodes(backend, |_| {}).await;
    // A unique e-mail: the counter lives in the shared Redis.
    let email = format!("lockout-{}@example.org", uuid::Uuid::new_v4().simple());
    a.create_family(&email).await;
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        let wrong = node
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": "not the password at all"}),
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Five failures spread over both nodes lock the e-mail on both, even with the right password.
    for node in [&a, &b] {
        let locked = node
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": crate::helpers::PASSWORD}),
            )
            .await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
