//! Fault injection: `kill -9` of a loaded `sprout serve`, then a restart on the same
//! database. Every batch the server acknowledged must be stored, and every batch that was
//! in flight at the kill must be stored whole or not at all.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use sprout_domain::{ChildId, Sample};
use sprout_store::testing::TestDb;
use sprout_store::{Backend, SqliteStore, Store, TimeRange};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::Running;

mod support;

const ADMIN: &str = "crash-admin";
const EMAIL: &str = "crash@example.org";
const PASSWORD: &str = "a long enough password";

/// Concurrent clients posting batches.
const CLIENTS: usize = 4;
/// Batch sizes lie in this range.
const BATCH: (usize, usize) = (100, 500);
/// The kill comes once this many batches were acknowledged, so it lands mid-stream.
const ACKED_BEFORE_KILL: usize = 40;
/// Minutes of the time grid each client owns: clients never share an instant.
const CLIENT_SPAN_MIN: i64 = 40_000;

/// One batch a client sent: its first minute on the grid and its length.
#[derive(Debug, Clone, Copy)]
struct Sent {
    first: i64,
    len: usize,
}

impl Sent {
    fn instants(self, grid: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        (self.first..self.first + self.len as i64).map(move |m| grid + Duration::minutes(m))
    }
}

/// The batch body for `sent`: valid samples, one a minute.
fn body(sent: Sent, grid: DateTime<Utc>) -> Value {
    let samples: Vec<Value> = sent
        .instants(grid)
        .enumerate()
        .map(|(i, time)| {
            json!({
                "time": time.to_rfc3339(),
                "stress_level": (i % 10) as f64 / 10.0,
                "heart_rate": 70.0 + (i % 30) as f64,
                "steps": i as i64,
            })
        })
        .collect();
    json!({ "samples": samples })
}

/// Batch sizes in `BATCH`, varied deterministically per client.
fn batch_len(client: usize, n: usize) -> usize {
    let mix = (client as u64 + 1)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add((n as u64).wrapping_mul(1_442_695_040_888_963_407));
    BATCH.0 + (mix >> 33) as usize % (BATCH.1 - BATCH.0 + 1)
}

/// What the clients saw before the server died.
#[derive(Default)]
struct Ledger {
    /// Answered 200 with every sample accepted.
    acked: Vec<Sent>,
    /// Sent, but the connection died before an answer: may or may not be stored.
    in_flight: Vec<Sent>,
}

/// What every client shares.
#[derive(Clone)]
struct Load {
    http: reqwest::Client,
    url: String,
    device_token: String,
    grid: DateTime<Utc>,
    ledger: Arc<Mutex<Ledger>>,
    acked_batches: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// Posts batches of distinct instants from client `index`'s share of the grid until the
/// server dies or the share runs out.
async fn client(load: Load, index: usize) {
    let Load {
        http,
        url,
        device_token,
        grid,
        ledger,
        acked_batches,
        stop,
    } = load;
    let mut next = index as i64 * CLIENT_SPAN_MIN;
    let end = next + CLIENT_SPAN_MIN;
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let sent = Sent {
            first: next,
            len: batch_len(index, n),
        };
        if sent.first + sent.len as i64 > end {
            return;
        }
        next += sent.len as i64;
        let answer = http
            .post(&url)
            .bearer_auth(&device_token)
            .json(&body(sent, grid))
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(_) => {
                ledger.lock().expect("ledger").in_flight.push(sent);
                return;
            }
        };
        let status = response.status();
        match response.json::<Value>().await {
            Ok(answer) if status == 200 => {
                assert_eq!(
                    answer["accepted"].as_u64(),
                    Some(sent.len as u64),
                    "distinct instants are all accepted: {answer}"
                );
                ledger.lock().expect("ledger").acked.push(sent);
                acked_batches.fetch_add(1, Ordering::Relaxed);
            }
            Ok(answer) => panic!("batch refused with {status}: {answer}"),
            // The answer's head arrived but its body was cut off: not acknowledged.
            Err(_) => {
                ledger.lock().expect("ledger").in_flight.push(sent);
                return;
            }
        }
    }
}

async fn post_json(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

/// Every stored instant of the child, read through the API page by page.
async fn stored_via_api(http: &reqwest::Client, url: &str, token: &str, child: &str) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = http
            .get(format!(
                "{url}/api/v1/children/{child}/metrics?from=2000-01-01T00:00:00Z&limit=10000{cursor}"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("metrics")
            .json()
            .await
            .expect("json");
        for item in page["items"].as_array().expect("items") {
            let time = item["time"].as_str().expect("time");
            times.push(
                DateTime::parse_from_rfc3339(time)
                    .expect("rfc 3339")
                    .with_timezone(&Utc),
            );
        }
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    times
}

async fn stored_in_store(store: &dyn Store, child: &str) -> Vec<Sample> {
    let id: ChildId = child.parse().expect("child id");
    let all = TimeRange { from: None, to: None };
    store
        .samples(id, all, None, 10_000_000)
        .await
        .expect("read samples")
}

async fn kill_under_load(backend: Backend) {
    // SQLite: a file of the test's own; PostgreSQL: a fresh schema.
    let dir = tempfile::tempdir().expect("tempdir");
    let (pg, db_arg) = match backend {
        Backend::Sqlite => (None, dir.path().join("crash.db").to_string_lossy().into_owned()),
        Backend::Postgres => {
            let db = TestDb::new(Backend::Postgres).await;
            let url = db.url.clone();
            (Some(db), url)
        }
    };
    let args = ["serve", "--addr", "127.0.0.1:0", "--db", &db_arg];
    let env = [("SPROUT_ADMIN_TOKEN", ADMIN)];
    let server = Running::start(&args, &env);
    let http = reqwest::Client::new();

    post_json(
        &http,
        format!("{}/api/v1/families", server.url),
        ADMIN,
        json!({"name": "Crash", "parent_email": EMAIL, "parent_password": PASSWORD}),
    )
    .await;
    let login = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    let child = post_json(
        &http,
        format!("{}/api/v1/children", server.url),
        &token,
        json!({"display_name": "Mia", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"}),
    )
    .await;
    let child_id = child["id"].as_str().expect("child id").to_owned();
    let device = post_json(
        &http,
        format!("{}/api/v1/children/{child_id}/devices", server.url),
        &token,
        json!({"name": "watch"}),
    )
    .await;
    let device_token = device["token"].as_str().expect("device token").to_owned();

    // A minute grid in the recent past, long enough for every client's share.
    let grid = (Utc::now() - Duration::minutes(CLIENT_SPAN_MIN * CLIENTS as i64 + 1_440))
        .duration_trunc(Duration::minutes(1))
        .expect("minute");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let acked_batches = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let metrics_url = format!("{}/api/v1/children/{child_id}/metrics", server.url);
    let load = Load {
        http: http.clone(),
        url: metrics_url,
        device_token,
        grid,
        ledger: ledger.clone(),
        acked_batches: acked_batches.clone(),
        stop: stop.clone(),
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| tokio::spawn(client(load.clone(), index)))
        .collect();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acked_batches.load(Ordering::Relaxed) < ACKED_BEFORE_KILL {
        assert!(
            std::time::Instant::now() < deadline,
            "the server acknowledged too little"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::task::spawn_blocking(move || server.kill9())
        .await
        .expect("kill");
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client");
    }
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));

    // Back up on the same database: it opens, and holds what it acknowledged.
    let server = Running::start(&args, &env);
    let via_api = stored_via_api(&http, &server.url, &token, &child_id).await;
    let stored: BTreeSet<DateTime<Utc>> = via_api.iter().copied().collect();
    assert_eq!(stored.len(), via_api.len(), "one row per instant");

    let acked: BTreeSet<DateTime<Utc>> = ledger.acked.iter().flat_map(|s| s.instants(grid)).collect();
    let lost: Vec<&DateTime<Utc>> = acked.difference(&stored).collect();
    let mut in_flight_whole = 0;
    let mut in_flight_none = 0;
    let mut in_flight_samples = 0;
    for sent in &ledger.in_flight {
        let present = sent.instants(grid).filter(|t| stored.contains(t)).count();
        assert!(
            present == 0 || present == sent.len,
            "a batch cut off by the kill is stored in part: {present} of {}",
            sent.len
        );
        if present == 0 {
            in_flight_none += 1;
        } else {
            in_flight_whole += 1;
            in_flight_samples += sent.len;
        }
    }
    println!(
        "{backend:?}: kill -9 after {} acknowledged batches; acknowledged {} samples, stored after restart {} \
         (lost {}); in flight at the kill {} batches: {} stored whole ({} samples), {} not at all, 0 in part",
        ledger.acked.len(),
        acked.len(),
        stored.len(),
        lost.len(),
        ledger.in_flight.len(),
        in_flight_whole,
        in_flight_samples,
        in_flight_none,
    );
    assert!(lost.is_empty(), "acknowledged samples lost: {}", lost.len());
    assert_eq!(
        stored.len(),
        acked.len() + in_flight_samples,
        "nothing but the acknowledged and whole in-flight batches is stored"
    );
    assert!(server.terminate(), "the restarted server stops cleanly");

    // The same count straight from the database, with no server running.
    let direct = match &pg {
        None => {
            let store = SqliteStore::open(&dir.path().join("crash.db"))
                .await
                .expect("open");
            stored_in_store(&store, &child_id).await
        }
        Some(db) => stored_in_store(db.store.as_ref(), &child_id).await,
    };
    println!(
        "{backend:?}: read straight from the database: {} samples",
        direct.len()
    );
    assert_eq!(direct.len(), stored.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_samples_survive_kill_9_on_sqlite() {
    kill_under_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_samples_survive_kill_9_on_postgres() {
    kill_under_load(Backend::Postgres).await;
}
