//! `sprout learn`: parents' answers out as KTO JSONL (only with the family's consent to
//! training), adapters trained elsewhere in as candidate versions.

use serde_json::{json, Value};
use std::process::Command;
use support::{call, Running, SPROUT};

mod support;

const ADMIN: &str = "learn-admin";

fn sprout(args: &[&str]) -> std::process::Output {
    Command::new(SPROUT).args(args).output().expect("run sprout")
}

/// A minimal safetensors file: one f32 tensor named `lora_a`.
fn safetensors() -> Vec<u8> {
    let header = br#"{"lora_a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_goes_out_as_kto_jsonl_and_adapters_come_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("learn.db").to_string_lossy().into_owned();
    let server = Running::start(
        &["serve", "--addr", "127.0.0.1:0", "--db", &db],
        &[("SPROUT_ADMIN_TOKEN", ADMIN)],
    );
    let http = reqwest::Client::new();
    call(
        http.post(format!("{}/api/v1/families", server.url))
            .bearer_auth(ADMIN)
            .json(&json!({
                "name": "L", "parent_email": "learn@example.org", "parent_password": "a long enough password"
            })),
    )
    .await;
    let (_, login) = call(
        http.post(format!("{}/api/v1/auth/login", server.url))
            .json(&json!({"email": "learn@example.org", "password": "a long enough password"})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();
    let (_, child) = call(
        http.post(format!("{}/api/v1/children", server.url))
            .bearer_auth(&token)
            .json(&json!({
                "display_name": "Lu", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"
            })),
    )
    .await;
    let child = child["id"].as_str().expect("id").to_owned();
    let (status, recommendation) = call(
        http.get(format!("{}/api/v1/children/{child}/recommendation", server.url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        recommendation.get("prompt").is_none(),
        "the prompt is kept, not shown"
    );
    let (status, _) = call(
        http.post(format!("{}/api/v1/feedback", server.url))
            .bearer_auth(&token)
            .json(&json!({
                "recommendation_id": recommendation["id"], "child_id": child, "was_helpful": true
            })),
    )
    .await;
    assert_eq!(status, 200);

    // Without the family's consent to training nothing is exported.
    let out = dir.path().join("kto.jsonl");
    let export =
        |out: &std::path::Path| sprout(&["learn", "export", "--db", &db, "--out", &out.to_string_lossy()]);
    let first = export(&out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(std::fs::read_to_string(&out).expect("jsonl"), "");
    assert!(String::from_utf8_lossy(&first.stderr).contains("1 without the family's consent"));

    let (status, _) = call(
        http.put(format!("{}/api/v1/children/{child}/consents", server.url))
            .bearer_auth(&token)
            .json(&json!({"training": true})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(export(&out).status.success());
    let text = std::fs::read_to_string(&out).expect("jsonl");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1);
    let example = &lines[0];
    assert_eq!(example["label"], true);
    assert!(
        example["prompt"]
            .as_str()
            .is_some_and(|p| p.ends_with("Recommendation:")),
        "{example}"
    );
    // The training text is the one the family saw, less the child's name: no model is
    // trained on a name.
    let completion = example["completion"].as_str().expect("completion");
    assert!(!completion.contains("Lu"), "{completion}");
    assert_eq!(
        format!(
            " {}\n\n",
            recommendation["recommendation"].as_str().expect("text")
        ),
        sprout_coach::address::by_name(completion, "Lu")
    );

    // An adapter trained elsewhere becomes a candidate version.
    let adapter = dir.path().join("adapter.safetensors");
    std::fs::write(&adapter, safetensors()).expect("adapter");
    let metrics = dir.path().join("metrics.json");
    std::fs::write(&metrics, r#"{"kto_loss": 0.41}"#).expect("metrics");
    let import = |version: &str, file: &std::path::Path| {
        sprout(&[
            "learn",
            "import-adapter",
            "--db",
            &db,
            "--adapter",
            &file.to_string_lossy(),
            "--version",
            version,
            "--base",
            "gemma3-270m",
            "--metrics",
            &metrics.to_string_lossy(),
        ])
    };
    let imported = import("gemma3-270m-kto-1", &adapter);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let (_, models) = call(
        http.get(format!("{}/api/v1/models", server.url))
            .bearer_auth(&token),
    )
    .await;
    let items = models["items"]
        .as_array()
        .or(models.as_array())
        .expect("models")
        .clone();
    let model = items
        .iter()
        .find(|m| m["version"] == "gemma3-270m-kto-1")
        .expect("registered");
    assert_eq!(model["status"], "candidate");
    assert_eq!(model["metrics"]["kto_loss"], 0.41);

    // The same version twice, or a file that is not an adapter: one line, non-zero.
    for (version, file) in [
        ("gemma3-270m-kto-1", adapter.clone()),
        ("gemma3-270m-kto-2", metrics.clone()),
    ] {
        let refused = import(version, &file);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(server.terminate());
}
