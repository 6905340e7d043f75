//! The `sprout` binary as a user runs it: help, errors, migrate, demo, serve + simulate.

use serde_json::{json, Value};
use sprout_store::testing::TestDb;
use sprout_store::Backend;
use std::process::Command;

mod support;

use support::{Running, SPROUT};

fn sprout(args: &[&str]) -> std::process::Output {
    Command::new(SPROUT).args(args).output().expect("run sprout")
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["worker", "--help"],
        vec!["demo", "--help"],
        vec!["simulate", "--help"],
        vec!["migrate", "--help"],
    ] {
        let output = sprout(&args);
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    for args in [
        vec!["migrate", "--db", "postgres://nobody@127.0.0.1:1/none"],
        vec!["serve", "--addr", "not-an-address"],
        vec![
            "simulate",
            "--server",
            "http://127.0.0.1:1",
            "--token",
            "x",
            "--days",
            "1",
        ],
        vec![
            "simulate",
            "--server",
            "http://127.0.0.1:1",
            "--token",
            "x",
            "--batch",
            "20000",
        ],
    ] {
        let output = sprout(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn migrate_creates_a_private_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/sprout.db");
    let output = sprout(&["migrate", "--db", &db.to_string_lossy()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("migrations applied (sqlite)"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).expect("file").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "children's data is readable by its owner only"
        );
    }
    // Twice is fine.
    assert!(sprout(&["migrate", "--db", &db.to_string_lossy()])
        .status
        .success());
}

#[tokio::test]
async fn the_demo_serves_a_family_of_three() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let demo = start_demo(&data, &[]);
    let http = reqwest::Client::new();
    let (token, children) = demo_family(&http, &demo.url).await;
    assert_eq!(children.len(), 3);
    for child in &children {
        let id = child["id"].as_str().expect("id");
        let days: Value = http
            .get(format!(
                "{}/api/v1/children/{id}/metrics?resolution=day&limit=100",
                demo.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("metrics")
            .json()
            .await
            .expect("json");
        let days = days["items"].as_array().expect("days").len();
        assert!((60..=62).contains(&days), "60 days of data, got {days}");
    }
    let home = http
        .get(&demo.url)
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(home.contains("Sprout"));
    assert!(demo.terminate(), "SIGTERM stops the demo cleanly");

    // A second start reuses the data folder instead of seeding again.
    let again = start_demo(&data, &[]);
    let (_, children) = demo_family(&http, &again.url).await;
    assert_eq!(children.len(), 3);
    assert!(again.terminate());
}

/// `sprout demo` on a free port with its data in `data`, and `more` arguments.
fn start_demo(data: &std::path::Path, more: &[&str]) -> Running {
    let data = data.to_string_lossy();
    let mut args = vec!["demo", "--addr", "127.0.0.1:0", "--data-dir", &data];
    args.extend_from_slice(more);
    Running::start(&args, &[])
}

/// Logs in to a running demo as its parent: the token and the children.
async fn demo_family(http: &reqwest::Client, url: &str) -> (String, Vec<Value>) {
    let login: Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": "parent@demo.sprout", "password": "sprout-demo"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    let children: Value = http
        .get(format!("{url}/api/v1/children"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("children")
        .json()
        .await
        .expect("json");
    (token, children.as_array().expect("list").clone())
}

/// `demo --writer gguf:PATH`: the local model writes the family's recommendations, and
/// its own texts are shown (the template speaks only where one fails the guardrails).
#[tokio::test]
async fn the_demo_shows_the_local_model_writing() {
    let Some(gguf) = std::env::var_os("SPROUT_GEMMA_GGUF") else {
        eprintln!("SKIPPED: set SPROUT_GEMMA_GGUF to the Gemma 3 270M GGUF file to run the demo with it");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let writer = format!("gguf:{}", gguf.to_string_lossy());
    let demo = start_demo(&data, &["--writer", &writer]);
    let http = reqwest::Client::new();
    let (token, children) = demo_family(&http, &demo.url).await;
    let mut by_the_model = 0;
    for child in &children {
        let id = child["id"].as_str().expect("id");
        let advice: Value = http
            .get(format!("{}/api/v1/children/{id}/recommendation", demo.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("recommendation")
            .json()
            .await
            .expect("json");
        println!(
            "{}: {} ({})",
            child["display_name"], advice["recommendation"], advice["model_version"]
        );
        assert!(
            advice["writer"].as_str().is_some_and(|w| w.starts_with("gguf:")),
            "{advice}"
        );
        by_the_model += usize::from(
            advice["model_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("gguf:")),
        );
    }
    assert!(
        by_the_model >= 2,
        "{by_the_model} of 3 written by the model itself"
    );
    assert!(demo.terminate());
}

async fn serve_and_simulate(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Running::start(
        &["serve", "--addr", "127.0.0.1:0", "--db", &db.url],
        &[("SPROUT_ADMIN_TOKEN", "bench-admin")],
    );
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/api/v1/families", server.url))
        .bearer_auth("bench-admin")
        .json(&json!({"name": "Sim", "parent_email": "sim@example.org", "parent_password": "a long enough password"}))
        .send()
        .await
        .expect("family");
    assert_eq!(created.status(), 201);
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"email": "sim@example.org", "password": "a long enough password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();

    let url = server.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        sprout(&[
            "simulate",
            "--server",
            &url,
            "--token",
            &token,
            "--children",
            "2",
            "--days",
            "2",
            "--seed",
            "3",
        ])
    })
    .await
    .expect("simulate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per child"))
        .collect();
    assert_eq!(reports.len(), 2);
    let token = login["token"].as_str().expect("token");
    for report in &reports {
        let id = report["child_id"].as_str().expect("id");
        let sent = report["samples"].as_u64().expect("samples");
        assert!(sent > 2_000, "two days of minute samples, less gaps: {sent}");
        let mut stored = 0;
        let mut cursor = String::new();
        loop {
            let page: Value = http
                .get(format!(
                    "{}/api/v1/children/{id}/metrics?limit=10000{cursor}",
                    server.url
                ))
                .bearer_auth(token)
                .send()
                .await
                .expect("metrics")
                .json()
                .await
                .expect("json");
            stored += page["items"].as_array().expect("items").len() as u64;
            match page["next"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(stored, sent, "every sample sent is stored once");
        let episodes: Value = http
            .get(format!("{}/api/v1/children/{id}/sleep-episodes", server.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("sleep")
            .json()
            .await
            .expect("json");
        assert_eq!(
            episodes["items"].as_array().map(Vec::len).map(|n| n as u64),
            report["sleep_episodes"].as_u64()
        );
    }
    assert!(server.terminate(), "SIGTERM stops the server cleanly");
}

#[tokio::test]
async fn serve_and_simulate_on_sqlite() {
    serve_and_simulate(Backend::Sqlite).await;
}

#[tokio::test]
async fn serve_and_simulate_on_postgres() {
    serve_and_simulate(Backend::Postgres).await;
}
