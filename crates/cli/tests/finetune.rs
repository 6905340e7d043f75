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
    let node = LocalNode::new(&gguf, "pooled");
    scenario(&gguf, &node.db, &node.adapters, || vec![node.start()]).await;
}

/// One node on the embedded store that fine-tunes its local writer in `scope`.
struct LocalNode {
    _dir: tempfile::TempDir,
    db: String,
    adapters: String,
    args: Vec<String>,
}

impl LocalNode {
    fn new(gguf: &str, scope: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("sprout.db").to_string_lossy().into_owned();
        let adapters = dir.path().join("adapters").to_string_lossy().into_owned();
        let mut args: Vec<String> = [
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
            "--writer",
            &format!("gguf:{gguf}"),
            "--finetune-scope",
            scope,
            "--finetune-every",
            &EVERY.to_string(),
            "--adapters",
            &adapters,
        ]
        .map(str::to_owned)
        .into();
        args.extend(TRAIN.map(str::to_owned));
        Self {
            _dir: dir,
            db,
            adapters,
            args,
        }
    }

    fn start(&self) -> Running {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Running::start(&args, &[("SPROUT_ADMIN_TOKEN", ADMIN)])
    }
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
    let (parent, mut live) = Parent::sign_up(&server.url).await;

    // EVERY answers, half of them 👍: the last one starts the training run.
    for i in 0..EVERY {
        let child = parent.new_child(&format!("Kid {i}")).await;
        let r = parent.recommend(&child).await;
        parent.answer(&child, &r["id"], i % 2 == 0).await;
    }

    // The candidate is announced on the live channel once it is registered.
    let announced = candidate_announced(&mut live).await;
    let version = announced["version"]
        .as_str()
        .expect("the candidate's version")
        .to_owned();
    assert!(version.contains("-kto-"), "{announced}");

    let model = parent
        .items("/api/v1/models")
        .await
        .into_iter()
        .find(|m| m["version"] == version.as_str())
        .expect("the candidate is registered");
    assert_eq!(model["status"], "candidate");
    assert_eq!(
        model["base"],
        format!(
            "gguf:{}",
            std::path::Path::new(&gguf)
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
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
    let experiment = parent.experiment_of(&version).await;
    assert_eq!(experiment["experiment"]["status"], "running");
    assert_eq!(experiment["experiment"]["control_version"], "template-1");

    // Children in the candidate arm are written for by the fine-tuned version (its text
    // may still be replaced by the template's when it fails the guardrails; then the
    // reason is recorded, and it is not a failure to load the adapter).
    let started = Instant::now();
    let mut seen = None;
    for i in 0..16 {
        let child = parent.new_child(&format!("Arm {i}")).await;
        let r = parent.recommend(&child).await;
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

/// Per child: answers about one child train that child's own version, which is tested
/// (with every other child's) as the personal version against the active one, and, once
/// that is promoted, writes for that child only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_about_one_child_train_that_childs_own_version() {
    let Some(gguf) = model() else { return };
    let node = LocalNode::new(&gguf, "child");
    let (db, adapters) = (&node.db, &node.adapters);
    let server = node.start();
    let (parent, mut live) = Parent::sign_up(&server.url).await;
    let (ada, ben) = (parent.new_child("Ada").await, parent.new_child("Ben").await);

    // Ben's answer counts for Ben only: it starts nothing.
    let shown = parent.recommend(&ben).await;
    parent.answer(&ben, &shown["id"], true).await;

    // Ada's earlier recommendations (a recommendation is kept for half an hour, so
    // they are stored as written over the past hours, with a real prompt), answered
    // through the API: the EVERY-th answer about Ada starts her training run.
    let store = sprout_store::connect(db).await.expect("the node's database");
    let id: sprout_domain::RecordId = serde_json::from_value(shown["id"].clone()).expect("id");
    let example = store
        .get_recommendation(id)
        .await
        .expect("read")
        .expect("Ben's recommendation");
    let ada_id: sprout_domain::ChildId = ada.parse().expect("child id");
    for i in 0..EVERY {
        let earlier = sprout_store::NewRecommendation {
            id: sprout_domain::RecordId::new(),
            child_id: ada_id,
            created_at: chrono::Utc::now() - chrono::Duration::hours(i as i64 + 1),
            text: format!("{} ({i})", example.text),
            action_kind: example.action_kind,
            action_slot: example.action_slot.clone(),
            model_version: example.model_version.clone(),
            arm: example.arm.clone(),
            experiment_id: None,
            details: example.details.clone(),
        };
        store.insert_recommendation(&earlier).await.expect("insert");
        parent.answer(&ada, &json!(earlier.id), i % 2 == 0).await;
    }

    let announced = candidate_announced(&mut live).await;
    assert_eq!(announced["child_id"], ada.as_str(), "{announced}");
    let own = announced["version"].as_str().expect("Ada's version").to_owned();
    let personal = announced["personal_version"]
        .as_str()
        .expect("the personal version")
        .to_owned();
    assert!(own.contains("-kto-"), "{announced}");
    let models = parent.items("/api/v1/models").await;
    let find = |version: &str| {
        models
            .iter()
            .find(|m| m["version"] == version)
            .unwrap_or_else(|| panic!("{version} is registered"))
            .clone()
    };
    let model = find(&own);
    assert_eq!(model["metrics"]["child_id"], ada.as_str());
    assert_eq!(
        model["metrics"]["feedback_count"], EVERY,
        "Ada's answers, not Ben's"
    );
    assert_eq!(model["metrics"]["examples"], EVERY);
    assert!(model["adapter_path"]
        .as_str()
        .is_some_and(|p| p.starts_with(adapters.as_str())));
    let umbrella = find(&personal);
    assert_eq!(umbrella["metrics"]["objective"], "personal");
    assert_eq!(umbrella["metrics"]["fallback_version"], "template-1");
    assert_eq!(umbrella["status"], "candidate");
    assert!(
        !models.iter().any(|m| m["metrics"]["child_id"] == ben.as_str()),
        "Ben has too few answers for a version"
    );
    let experiment = parent.experiment_of(&personal).await;
    assert_eq!(experiment["experiment"]["control_version"], "template-1");
    assert_eq!(experiment["experiment"]["status"], "running");

    // The decision rule has its own tests; here the personal version wins, and writes.
    let experiment_id: uuid::Uuid =
        serde_json::from_value(experiment["experiment"]["id"].clone()).expect("experiment id");
    assert!(store
        .conclude_experiment(experiment_id, true)
        .await
        .expect("promote"));
    let r = parent.recommend(&ada).await;
    assert_eq!(r["writer"], own.as_str(), "Ada's own adapter writes for her: {r}");
    match r["fallback_reason"].as_str() {
        None => assert_eq!(r["model_version"], own.as_str()),
        Some(reason) => assert!(!reason.contains("adapter"), "{reason}"),
    }
    // A child without a version of their own gets the version the personal one replaced.
    let cleo = parent.new_child("Cleo").await;
    let r = parent.recommend(&cleo).await;
    assert_eq!(r["writer"], "template-1", "{r}");
    assert!(server.terminate());
}

type Live = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A parent of a new family, logged in, with the family's live channel open.
struct Parent {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Parent {
    async fn sign_up(url: &str) -> (Self, Live) {
        let http = reqwest::Client::new();
        call(http.post(format!("{url}/api/v1/families")).bearer_auth(ADMIN).json(&json!({
            "name": "F", "parent_email": "tune@example.org", "parent_password": "a long enough password"
        })))
        .await;
        let (_, login) = call(
            http.post(format!("{url}/api/v1/auth/login"))
                .json(&json!({"email": "tune@example.org", "password": "a long enough password"})),
        )
        .await;
        let token = login["token"].as_str().expect("token").to_owned();
        let ws_url = format!("{}/api/v1/ws?token={token}", url.replacen("http", "ws", 1));
        let (live, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("live channel");
        let parent = Self {
            http,
            url: url.to_owned(),
            token,
        };
        (parent, live)
    }

    /// A child whose family consented to training and experiments; its id.
    async fn new_child(&self, name: &str) -> String {
        let (status, child) = call(
            self.http
                .post(format!("{}/api/v1/children", self.url))
                .bearer_auth(&self.token)
                .json(
                    &json!({ "display_name": name, "birth_date": "2016-05-01", "timezone": "Europe/Berlin" }),
                ),
        )
        .await;
        assert_eq!(status, 201, "{child}");
        let id = child["id"].as_str().expect("id").to_owned();
        let (status, _) = call(
            self.http
                .put(format!("{}/api/v1/children/{id}/consents", self.url))
                .bearer_auth(&self.token)
                .json(&json!({"training": true, "experiments": true})),
        )
        .await;
        assert_eq!(status, 200);
        id
    }

    async fn recommend(&self, child: &str) -> Value {
        let (status, r) = call(
            self.http
                .get(format!("{}/api/v1/children/{child}/recommendation", self.url))
                .bearer_auth(&self.token),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        r
    }

    async fn answer(&self, child: &str, recommendation: &Value, helpful: bool) {
        let (status, body) = call(
            self.http
                .post(format!("{}/api/v1/feedback", self.url))
                .bearer_auth(&self.token)
                .json(&json!({ "recommendation_id": recommendation, "child_id": child, "was_helpful": helpful })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    /// The experiment whose candidate is `version`.
    async fn experiment_of(&self, version: &str) -> Value {
        self.items("/api/v1/experiments")
            .await
            .into_iter()
            .find(|e| e["experiment"]["candidate_version"] == version)
            .unwrap_or_else(|| panic!("an experiment for {version}"))
    }

    /// The items of a listing (`/models`, `/experiments`).
    async fn items(&self, path: &str) -> Vec<Value> {
        let (_, list) = call(
            self.http
                .get(format!("{}{path}", self.url))
                .bearer_auth(&self.token),
        )
        .await;
        list["items"].as_array().expect("items").clone()
    }
}

/// The `model.candidate` event, once a candidate is registered.
async fn candidate_announced(live: &mut Live) -> Value {
    tokio::time::timeout(Duration::from_secs(300), async {
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
    .expect("a candidate within 5 minutes of the last answer")
}
