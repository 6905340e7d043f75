//! The local writer learns from parents in the background: after every N answers a
//! `sprout learn train` process fine-tunes the real Gemma 3 270M with KTO, the adapter is
//! registered as a candidate with its metrics, its experiment starts against the active
//! version, `model.candidate` reaches the parents' live channel, and children in the
//! candidate arm are written for by the fine-tuned version. Training continues from the
//! supervised first adapter (`sprout learn sft`). Runs when `SPROUT_GEMMA_GGUF`
//! names the model file (`scripts/test` fetches it).

use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{call, Running};

mod support;

const ADMIN: &str = "finetune-admin";
const EVERY: usize = 4;

/// One short step: the test is about the pipeline; the trainer's own tests and benchmark
/// measure learning.
const TRAIN: [&str; 6] = [
    "--train-max-steps",
    "1",
    "--train-batch-size",
    "2",
    "--train-max-seq-len",
    "96",
];

fn model() -> Option<String> {
    match std::env::var_os("SPROUT_GEMMA_GGUF") {
        Some(gguf) => Some(gguf.to_string_lossy().into_owned()),
        None => {
            eprintln!(
                "SKIPPED: set SPROUT_GEMMA_GGUF to the Gemma 3 270M GGUF file to run the fine-tuning test"
            );
            None
        }
    }
}

/// The embedded store: one node trains in the background itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_train_a_candidate_that_writes_in_its_experiment() {
    let Some(gguf) = model() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("finetune.db").to_string_lossy().into_owned();
    let adapters = dir.path().join("adapters").to_string_lossy().into_owned();
    let writer = format!("gguf:{gguf}");
    let every = EVERY.to_string();
    let mut args = vec![
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        &db,
        "--writer",
        &writer,
        "--finetune-every",
        &every,
        "--adapters",
        &adapters,
    ];
    args.extend(TRAIN);
    scenario(&gguf, &db, &adapters, || {
        vec![Running::start(&args, &[("SPROUT_ADMIN_TOKEN", ADMIN)])]
    })
    .await;
}

/// PostgreSQL and Redis: the API node queues the job, a `sprout worker` trains, and the
/// announcement reaches the API node's parents through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_trains_the_candidate_from_the_queue() {
    let Some(gguf) = model() else { return };
    let db = sprout_store::testing::TestDb::new(sprout_store::Backend::Postgres).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let adapters = dir.path().join("adapters").to_string_lossy().into_owned();
    let namespace = format!("test::{}", uuid::Uuid::new_v4().simple());
    let writer = format!("gguf:{gguf}");
    let every = EVERY.to_string();
    let redis = "redis://127.0.0.1:6379";
    let mut api = vec![
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        &db.url,
        "--redis",
        redis,
        "--no-worker",
        "--writer",
        &writer,
        "--finetune-every",
        &every,
        "--adapters",
        &adapters,
    ];
    api.extend(TRAIN);
    let mut worker = vec![
        "worker",
        "--db",
        &db.url,
        "--redis",
        redis,
        "--finetune-base",
        &gguf,
        "--adapters",
        &adapters,
    ];
    worker.extend(TRAIN);
    let env = [
        ("SPROUT_ADMIN_TOKEN", ADMIN),
        ("SPROUT_JOBS_NAMESPACE", namespace.as_str()),
    ];
    scenario(&gguf, &db.url, &adapters, || {
        // The API node first: its URL is what the scenario talks to.
        let node = Running::start(&api, &env);
        vec![node, Running::start_until(&worker, &env, "worker running")]
    })
    .await;
}

/// The first adapter (supervised), then `EVERY` answers through the first of `start`'s
/// processes, then the candidate: registered, announced, in an experiment, writing.
async fn scenario(gguf: &str, db: &str, adapters: &str, start: impl FnOnce() -> Vec<Running>) {
    let adapters = std::path::PathBuf::from(adapters);
    // The first adapter, supervised on good recommendations, before any feedback.
    let mut sft_args = vec![
        "learn",
        "sft",
        "--db",
        db,
        "--base",
        gguf,
        "--adapters",
        adapters.to_str().expect("path"),
        "--examples",
        "8",
    ];
    sft_args.extend(TRAIN);
    let sft = std::process::Command::new(support::SPROUT)
        .args(&sft_args)
        .output()
        .expect("run sprout learn sft");
    assert!(sft.status.success(), "{}", String::from_utf8_lossy(&sft.stderr));
    let sft: Value = serde_json::from_slice(&sft.stdout).expect("the version's JSON");
    let first = sft["version"].as_str().expect("version").to_owned();
    assert!(first.contains("-sft-"), "{sft}");
    assert_eq!(sft["metrics"]["objective"], "sft");
    assert_eq!(sft["metrics"]["report"]["steps"], 1);
    let processes = start();
    let server = &processes[0];
    let http = reqwest::Client::new();
    call(
        http.post(format!("{}/api/v1/families", server.url))
            .bearer_auth(ADMIN)
            .json(&json!({
                "name": "F", "parent_email": "tune@example.org", "parent_password": "a long enough password"
            })),
    )
    .await;
    let (_, login) = call(
        http.post(format!("{}/api/v1/auth/login", server.url))
            .json(&json!({"email": "tune@example.org", "password": "a long enough password"})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();
    let ws_url = format!("{}/api/v1/ws?token={token}", server.url.replacen("http", "ws", 1));
    let (mut live, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect("live channel");

    let new_child = |name: String| {
        let (http, url, token) = (http.clone(), server.url.clone(), token.clone());
        async move {
            let (status, child) = call(http.post(format!("{url}/api/v1/children")).bearer_auth(&token).json(
                &json!({ "display_name": name, "birth_date": "2016-05-01", "timezone": "Europe/Berlin" }),
            ))
            .await;
            assert_eq!(status, 201, "{child}");
            let id = child["id"].as_str().expect("id").to_owned();
            let (status, _) = call(
                http.put(format!("{url}/api/v1/children/{id}/consents"))
                    .bearer_auth(&token)
                    .json(&json!({"training": true, "experiments": true})),
            )
            .await;
            assert_eq!(status, 200);
            id
        }
    };
    let recommend = |child: String| {
        let (http, url, token) = (http.clone(), server.url.clone(), token.clone());
        async move {
            let (status, r) = call(
                http.get(format!("{url}/api/v1/children/{child}/recommendation"))
                    .bearer_auth(&token),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            r
        }
    };

    // EVERY answers, half of them 👍: the last one starts the training run.
    for i in 0..EVERY {
        let child = new_child(format!("Kid {i}")).await;
        let r = recommend(child.clone()).await;
        let (status, body) = call(
            http.post(format!("{}/api/v1/feedback", server.url))
                .bearer_auth(&token)
                .json(&json!({ "recommendation_id": r["id"], "child_id": child, "was_helpful": i % 2 == 0 })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    // The candidate is announced on the live channel once it is registered.
    let announced = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(message) = live.next().await {
            let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(&text).expect("JSON event");
            if event["type"] == "model.candidate" {
                return event;
            }
        }
        panic!("the live channel closed");
    })
    .await
    .expect("a candidate within 5 minutes of the last answer");
    let version = announced["version"]
        .as_str()
        .expect("the candidate's version")
        .to_owned();
    assert!(version.contains("-kto-"), "{announced}");

    // The items of a listing (`/models`, `/experiments`).
    let items = |path: &'static str| {
        let request = http.get(format!("{}{path}", server.url)).bearer_auth(&token);
        async move {
            let (_, list) = call(request).await;
            list["items"].as_array().expect("items").clone()
        }
    };
    let model = items("/api/v1/models")
        .await
        .into_iter()
        .find(|m| m["version"] == version.as_str())
        .expect("the candidate is registered");
    assert_eq!(model["status"], "candidate");
    assert_eq!(
        model["base"],
        format!(
            "gguf:{}",
            std::path::Path::new(&gguf).file_stem().unwrap().to_string_lossy()
        )
    );
    assert_eq!(model["metrics"]["objective"], "kto");
    assert_eq!(model["metrics"]["feedback_count"], EVERY);
    assert_eq!(model["metrics"]["examples"], EVERY);
    assert_eq!(
        model["metrics"]["from_version"],
        first.as_str(),
        "KTO continues from the first adapter"
    );
    let losses = model["metrics"]["report"]["losses"]
        .as_array()
        .expect("loss curve");
    assert_eq!(losses.len(), 1);
    assert!(losses[0].as_f64().is_some_and(f64::is_finite));
    assert!(model["data_snapshot"]
        .as_str()
        .is_some_and(|s| s.starts_with("sha256:")));
    let adapter = std::path::PathBuf::from(model["adapter_path"].as_str().expect("adapter path"));
    assert!(adapter.starts_with(&adapters));
    assert!(adapter.join("adapter.safetensors").is_file());

    // Its experiment runs against the active version.
    let experiment = items("/api/v1/experiments")
        .await
        .into_iter()
        .find(|e| e["experiment"]["candidate_version"] == version.as_str())
        .expect("an experiment for the candidate");
    assert_eq!(experiment["experiment"]["status"], "running");
    assert_eq!(experiment["experiment"]["control_version"], "template-1");

    // Children in the candidate arm are written for by the fine-tuned version (its text
    // may still be replaced by the template's when it fails the guardrails; then the
    // reason is recorded, and it is not a failure to load the adapter).
    let started = Instant::now();
    let mut seen = None;
    for i in 0..16 {
        let child = new_child(format!("Arm {i}")).await;
        let r = recommend(child).await;
        if r["arm"] == "candidate" {
            seen = Some(r);
            break;
        }
        assert_eq!(r["arm"], "control");
    }
    let r = seen.expect("a child in the candidate arm among 16 (share 0.5)");
    assert_eq!(r["writer"], version.as_str(), "{r}");
    match r["fallback_reason"].as_str() {
        None => assert_eq!(r["model_version"], version.as_str()),
        Some(reason) => {
            assert!(!reason.contains("adapter"), "{reason}");
            assert_eq!(r["model_version"], "template-1");
        }
    }
    eprintln!(
        "candidate {version}; arm search took {:.1} s",
        started.elapsed().as_secs_f64()
    );

    for process in processes {
        assert!(process.terminate());
    }
}
