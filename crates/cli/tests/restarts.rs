//! Restarting PostgreSQL and Redis under a light load: the node reconnects by itself and
//! nothing it acknowledged is lost. These tests stop shared services, so they are
//! `#[ignore]`d in the main run and run alone, one at a time, by `scripts/test`
//! (`cargo test -p sprout-cli --test restarts -- --ignored --test-threads=1`).

use chrono::{Duration, DurationRound, Utc};
use serde_json::{json, Value};
use sprout_store::testing::TestDb;
use sprout_store::{Backend, TimeRange};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use support::{send, Running};

mod support;

const ADMIN: &str = "restart-admin";
const REDIS: &str = "redis://127.0.0.1:6379";
const BATCH: usize = 50;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}");
}

fn restart_postgres() {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a PostgreSQL cluster");
    run(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", &version, "main", "restart"],
    );
}

fn restart_redis() {
    // Redis keeps nothing on disk here: a restart is a clean start, as after a crash.
    run(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    run(
        "redis-server",
        &[
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "-::1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            "/var/lib/redis",
            "--logfile",
            "/var/log/redis/ci.log",
        ],
    );
    for _ in 0..50 {
        if Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "ping"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("Redis did not come back");
}

/// A node on a fresh PostgreSQL schema with Redis, a family, a child and its device.
async fn setup() -> (TestDb, Running, String, String, String) {
    let db = TestDb::new(Backend::Postgres).await;
    let node = Running::start(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db.url,
            "--redis",
            REDIS,
        ],
        &[
            ("SPROUT_ADMIN_TOKEN", ADMIN),
            ("SPROUT_JOBS_NAMESPACE", "test::restarts"),
        ],
    );
    let http = reqwest::Client::new();
    let (status, _) = send(http.post(format!("{}/api/v1/families", node.url)).bearer_auth(ADMIN).json(&json!({
        "name": "R", "parent_email": "restart@example.org", "parent_password": "a long enough password"
    })))
    .await
    .expect("family");
    assert_eq!(status, 201);
    let (_, login) = send(
        http.post(format!("{}/api/v1/auth/login", node.url))
            .json(&json!({"email": "restart@example.org", "password": "a long enough password"})),
    )
    .await
    .expect("login");
    let token = login["token"].as_str().expect("token").to_owned();
    let (_, child) = send(
        http.post(format!("{}/api/v1/children", node.url))
            .bearer_auth(&token)
            .json(&json!({
                "display_name": "Rae", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"
            })),
    )
    .await
    .expect("child");
    let child = child["id"].as_str().expect("id").to_owned();
    let (_, device) = send(
        http.post(format!("{}/api/v1/children/{child}/devices", node.url))
            .bearer_auth(&token)
            .json(&json!({"name": "watch"})),
    )
    .await
    .expect("device");
    let device = device["token"].as_str().expect("device token").to_owned();
    (db, node, token, child, device)
}

/// Posts a batch every 50 ms until `stop`; returns the number of samples acknowledged.
fn light_load(
    url: String,
    child: String,
    device: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("client");
        let start = (Utc::now() - Duration::days(2))
            .duration_trunc(Duration::minutes(1))
            .expect("minute");
        let acknowledged = AtomicUsize::new(0);
        let mut batch = 0i64;
        while !stop.load(Ordering::SeqCst) {
            let samples: Vec<Value> = (0..BATCH as i64)
                .map(|i| {
                    let time = start + Duration::minutes(batch * BATCH as i64 + i);
                    json!({"time": time.to_rfc3339(), "stress_level": 0.3})
                })
                .collect();
            let request = http
                .post(format!("{url}/api/v1/children/{child}/metrics"))
                .bearer_auth(&device)
                .json(&json!({ "samples": samples }));
            // A batch that was not acknowledged is sent again, as a device would.
            if let Some((200, _)) = send(request).await {
                acknowledged.fetch_add(BATCH, Ordering::SeqCst);
                batch += 1;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        acknowledged.load(Ordering::SeqCst)
    })
}

async fn stored(db: &TestDb, child: &str) -> usize {
    let child: sprout_domain::ChildId = child.parse().expect("id");
    db.store
        .samples(child, TimeRange::default(), None, 1_000_000)
        .await
        .expect("samples")
        .len()
}

/// Waits until the node answers a parent's read again.
async fn answers_again(url: &str, token: &str) -> std::time::Duration {
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    loop {
        if let Some((200, _)) = send(http.get(format!("{url}/api/v1/children")).bearer_auth(token)).await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the node did not reconnect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts PostgreSQL; run alone by scripts/test"]
async fn a_postgres_restart_under_load_loses_nothing_acknowledged() {
    let (db, node, token, child, device) = setup().await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = light_load(node.url.clone(), child.clone(), device, stop.clone());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    tokio::task::spawn_blocking(restart_postgres)
        .await
        .expect("restart");
    let back = answers_again(&node.url, &token).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let acknowledged = load.await.expect("load");
    // The test's own pool reconnects too.
    let mut in_store = 0;
    for _ in 0..50 {
        in_store = stored(&db, &child).await;
        if in_store >= acknowledged {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eprintln!("PostgreSQL restart: answering again after {back:?}; {acknowledged} samples acknowledged, {in_store} stored");
    assert!(acknowledged > 0);
    assert_eq!(
        in_store, acknowledged,
        "every acknowledged sample is stored, once"
    );
    assert!(node.terminate());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts Redis; run alone by scripts/test"]
async fn a_redis_restart_under_load_loses_nothing_and_live_events_resume() {
    let (db, node, token, child, device) = setup().await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = light_load(node.url.clone(), child.clone(), device.clone(), stop.clone());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    tokio::task::spawn_blocking(restart_redis).await.expect("restart");
    let back = answers_again(&node.url, &token).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let acknowledged = load.await.expect("load");
    let in_store = stored(&db, &child).await;
    eprintln!(
        "Redis restart: answering after {back:?}; {acknowledged} samples acknowledged, {in_store} stored"
    );
    assert!(acknowledged > 0);
    assert_eq!(in_store, acknowledged);

    // Live events flow through the new Redis: the node resubscribed by itself.
    let ws = format!(
        "ws://{}/api/v1/ws?token={token}",
        node.url.trim_start_matches("http://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.expect("websocket");
    use futures::StreamExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let http = reqwest::Client::new();
    loop {
        // Thirty minutes of high stress ending now raise an alert each time.
        let now = Utc::now();
        let samples: Vec<Value> = (0..30)
            .map(|i| json!({"time": (now - Duration::minutes(29 - i) + Duration::seconds(i)).to_rfc3339(), "stress_level": 0.95}))
            .collect();
        send(
            http.post(format!("{}/api/v1/children/{child}/metrics", node.url))
                .bearer_auth(&device)
                .json(&json!({ "samples": samples })),
        )
        .await;
        let heard = tokio::time::timeout(std::time::Duration::from_secs(1), socket.next()).await;
        if let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) = heard {
            let event: Value = serde_json::from_str(&text).expect("json");
            if event["type"] == "alert.stress_high" {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "live events resume after the Redis restart"
        );
    }
    assert!(node.terminate());
}
