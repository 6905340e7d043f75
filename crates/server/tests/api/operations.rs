//! Operations endpoints: health, readiness, metrics, the API document, the home page.

use crate::helpers::{samples_json, spawn_app};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::Value;
use sprout_store::Backend;

on_both_backends!(operations_endpoints_answer);

async fn operations_endpoints_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("ops@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    app.post(
        &path,
        Some(&family.device_token),
        &samples_json("2026-02-01T00:00:00Z", 7),
    )
    .await;

    let health: Value = app.get("/healthz", None).await.json().await.expect("json");
    assert_eq!(health["status"], "ok");
    let ready: Value = app.get("/readyz", None).await.json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        ready["store"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );

    let metrics = app.get("/metrics", None).await.text().await.expect("text");
    assert!(metrics.contains("sprout_samples_accepted_total 7"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v1/children/{child_id}/metrics\""),
        "routes are templates, not ids"
    );
    assert!(!metrics.contains(&family.child_id), "no child id in metrics");

    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    let post_metrics = &doc["paths"]["/api/v1/children/{child_id}/metrics"]["post"]["responses"];
    assert!(
        post_metrics["415"].is_object() && post_metrics["400"].is_object(),
        "body errors are documented"
    );
    for path in [
        "/api/v1/families",
        "/api/v1/auth/login",
        "/api/v1/children",
        "/api/v1/children/{child_id}/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }

    let home = app.get("/", None).await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/html"));
    let page = home.text().await.expect("text");
    assert!(
        page.contains("name=\"sprout-app\""),
        "the parent app is served at /"
    );
    // Every file the page refers to is served, with a fitting type.
    for (path, kind) in [
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icons/icon.svg", "image/svg+xml"),
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], kind, "{path}");
    }
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script");
    let script = format!("/{}", script.trim_start_matches("./").trim_start_matches('/'));
    let response = app.get(&script, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{script}");
    assert!(response.headers()["cache-control"]
        .to_str()
        .expect("cache")
        .contains("immutable"));
    assert_eq!(
        app.get("/assets/missing.js", None).await.status(),
        StatusCode::NOT_FOUND
    );
}
