//! A family's control over its data: export, erasure, revocation, audit; and the
//! protections every route has (lockout, security headers).

use crate::helpers::{expect_error, samples_json, spawn_app, spawn_app_with, PASSWORD};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sprout_store::Backend;

on_both_backends!(
    consent_decides_what_happens_with_a_childs_data,
    export_is_complete_and_erasure_is_total,
    old_samples_retire_into_hourly_aggregates_and_export_as_csv,
    tokens_can_be_revoked,
    repeated_failed_logins_lock_the_account
);

async fn export_is_complete_and_erasure_is_total(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("privacy@example.org").await;
    let other = app.family("privacy-other@example.org").await;
    let child = &family.child_id;
    let device = &family.device_token;
    app.post(
        &format!("/api/v1/children/{child}/metrics"),
        Some(device),
        &samples_json("2026-02-01T00:00:00Z", 120),
    )
    .await;
    let event = json!({"event_type": "exam", "start": "2026-02-03T09:00:00+01:00"});
    app.post(&format!("/api/v1/children/{child}/events"), Some(device), &event)
        .await;
    let intervention = json!({"kind": "reading", "time": "2026-02-01T19:00:00+01:00", "duration_min": 20});
    app.post(
        &format!("/api/v1/children/{child}/interventions"),
        Some(device),
        &intervention,
    )
    .await;
    let sleep = json!({"onset": "2026-02-01T21:00:00+01:00", "offset": "2026-02-02T06:30:00+01:00"});
    app.post(
        &format!("/api/v1/children/{child}/sleep-episodes"),
        Some(device),
        &sleep,
    )
    .await;
    let rec: Value = app
        .get(
            &format!("/api/v1/children/{child}/recommendation"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    let answer = json!({"recommendation_id": rec["id"], "child_id": child, "was_helpful": true});
    app.post("/api/v1/feedback", Some(&family.token), &answer).await;

    // Someone else's family cannot export or erase.
    expect_error(
        app.get(&format!("/api/v1/children/{child}/export"), Some(&other.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let refused = app
        .delete(&format!("/api/v1/children/{child}"), Some(&other.token))
        .await;
    expect_error(refused, StatusCode::NOT_FOUND, "not_found").await;

    let export: Value = app
        .get(&format!("/api/v1/children/{child}/export"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(export["format"], "sprout-export-1");
    assert_eq!(export["child"]["id"], json!(child));
    for (key, count) in [
        ("samples", 120),
        ("events", 1),
        ("interventions", 1),
        ("sleep_episodes", 1),
        ("recommendations", 1),
        ("feedback", 1),
    ] {
        assert_eq!(export[key].as_array().map(Vec::len), Some(count), "{key}");
        assert_eq!(export["counts"][key], count, "{key}");
    }
    assert_eq!(export["recommendations"][0]["feedback"]["was_helpful"], true);
    let omh = &export["sleep_open_mhealth"][0];
    assert_eq!(omh["header"]["schema_id"]["name"], "sleep-episode");
    assert_eq!(
        omh["body"]["effective_time_frame"]["time_interval"]["start_date_time"],
        "2026-02-01T20:00:00Z"
    );
    let fhir = &export["sleep_fhir_observations"][0];
    assert_eq!(fhir["resourceType"], "Observation");
    assert_eq!(fhir["code"]["coding"][0]["code"], "93832-4");
    assert_eq!(fhir["valueQuantity"]["value"], 9.5);
    assert!(export["insights"]["chronotype"].is_object() && export["insights"]["causal"].is_array());

    let erased = app.erase_child(&family.token, child).await;
    let counts = &erased["erased"];
    assert_eq!(
        (
            counts["samples"].as_u64(),
            counts["events"].as_u64(),
            counts["recommendations"].as_u64(),
            counts["feedback"].as_u64(),
            counts["devices"].as_u64(),
            counts["child"].as_u64()
        ),
        (Some(120), Some(1), Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(app.stored_samples(child).await, 0);
    for path in [
        format!("/api/v1/children/{child}"),
        format!("/api/v1/children/{child}/forecast"),
        format!("/api/v1/children/{child}/export"),
    ] {
        expect_error(
            app.get(&path, Some(&family.token)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let late = app
        .post(
            &format!("/api/v1/children/{child}/metrics"),
            Some(device),
            &samples_json("2026-02-02T00:00:00Z", 1),
        )
        .await;
    assert_eq!(
        late.status(),
        StatusCode::UNAUTHORIZED,
        "the erased child's device token is gone"
    );
    let children: Value = app
        .get("/api/v1/children", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(children.as_array().map(Vec::len), Some(0));

    let trail: Value = app
        .get("/api/v1/audit", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["child.deleted", "child.exported", "token.created"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(!trail.to_string().contains("Mia"), "no names in the audit trail");
    let theirs: Value = app
        .get("/api/v1/audit", Some(&other.token))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        !theirs.to_string().contains(child.as_str()),
        "another family's trail shows nothing of this child"
    );
}

async fn tokens_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("revoke@example.org").await;
    let second = app.login(&family.email).await;
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&second), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        app.get("/api/v1/children", Some(&second)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/children", Some(&family.token)).await.status(),
        StatusCode::OK,
        "other sessions stay"
    );

    let device: Value = app
        .post(
            &format!("/api/v1/children/{}/devices", family.child_id),
            Some(&family.token),
            &json!({"name": "tablet"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let (device_id, device_token) = (
        device["device_id"].as_str().expect("id"),
        device["token"].as_str().expect("token"),
    );
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    assert_eq!(
        app.post(
            &path,
            Some(device_token),
            &samples_json("2026-02-01T00:00:00Z", 2)
        )
        .await
        .status(),
        StatusCode::OK
    );
    let revoke = |id: String| {
        app.client
            .delete(app.url(&format!("/api/v1/children/{}/devices/{id}", family.child_id)))
            .bearer_auth(&family.token)
            .send()
    };
    assert_eq!(
        revoke(uuid::Uuid::new_v4().to_string())
            .await
            .expect("request")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        revoke(device_id.to_owned()).await.expect("request").status(),
        StatusCode::NO_CONTENT
    );
    let refused = app
        .post(
            &path,
            Some(device_token),
            &samples_json("2026-02-01T01:00:00Z", 2),
        )
        .await;
    expect_error(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(
        app.post(
            &path,
            Some(&family.device_token),
            &samples_json("2026-02-01T02:00:00Z", 2)
        )
        .await
        .status(),
        StatusCode::OK
    );

    // Every response carries the security headers.
    for path in ["/", "/api/v1/children", "/healthz"] {
        let response = app.get(path, Some(&family.token)).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'self'"));
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "no cross-origin access by default"
        );
    }
}

async fn repeated_failed_logins_lock_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("lock@example.org").await;
    let wrong = json!({"email": family.email, "password": "not the password"});
    for _ in 0..5 {
        expect_error(
            app.post("/api/v1/auth/login", None, &wrong).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    let right = json!({"email": family.email, "password": PASSWORD});
    let locked = expect_error(
        app.post("/api/v1/auth/login", None, &right).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert!(locked["message"].as_str().is_some_and(|m| m.contains("minutes")));
    // Another account is not affected, and tokens already issued keep working.
    app.family("unlocked@example.org").await;
    assert_eq!(
        app.get("/api/v1/children", Some(&family.token)).await.status(),
        StatusCode::OK
    );
}

async fn consent_decides_what_happens_with_a_childs_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("consent@example.org").await;
    let child = &family.child_id;
    let path = format!("/api/v1/children/{child}/consents");
    let granted = |consents: &Value, purpose: &str| {
        consents["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|c| c["purpose"] == purpose)
            .map(|c| c["granted"].clone())
    };
    let consents: Value = app
        .get(&path, Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    // Adding a child consents to collecting and analysing its data; nothing else.
    for (purpose, default) in [
        ("data_collection", true),
        ("personalisation", true),
        ("remote_model", false),
        ("training", false),
        ("experiments", false),
    ] {
        assert_eq!(granted(&consents, purpose), Some(json!(default)), "{purpose}");
    }
    let put = |body: Value| {
        app.client
            .put(app.url(&path))
            .bearer_auth(&family.token)
            .json(&body)
            .send()
    };
    let bad = put(json!({"experiments": true, "selling": true}))
        .await
        .expect("request");
    expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let unchanged: Value = app
        .get(&path, Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        granted(&unchanged, "experiments"),
        Some(json!(false)),
        "a bad purpose changes nothing"
    );
    let device_put = app
        .client
        .put(app.url(&path))
        .bearer_auth(&family.device_token)
        .json(&json!({"experiments": true}))
        .send();
    assert_eq!(device_put.await.expect("request").status(), StatusCode::FORBIDDEN);

    // Withdrawing data collection stops every write from the device, and nothing lands.
    let withdrawn: Value = put(json!({"data_collection": false}))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(granted(&withdrawn, "data_collection"), Some(json!(false)));
    let item = withdrawn["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["purpose"] == "data_collection")
        .cloned()
        .expect("item");
    assert!(
        item["by_user"].is_string() && item["at"].is_string(),
        "who decided and when: {item}"
    );
    let batch = samples_json("2026-02-01T00:00:00Z", 5);
    let refused = app
        .post(
            &format!("/api/v1/children/{child}/metrics"),
            Some(&family.device_token),
            &batch,
        )
        .await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let event = json!({"event_type": "exam", "start": "2026-02-03T09:00:00+01:00"});
    let refused = app
        .post(
            &format!("/api/v1/children/{child}/events"),
            Some(&family.device_token),
            &event,
        )
        .await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.stored_samples(child).await, 0);

    // Without personalisation, no analyses of the child; advice stays general.
    put(json!({"data_collection": true, "personalisation": false}))
        .await
        .expect("request");
    let forecast = app
        .get(&format!("/api/v1/children/{child}/forecast"), Some(&family.token))
        .await;
    expect_error(forecast, StatusCode::FORBIDDEN, "forbidden").await;
    let rec: Value = app
        .get(
            &format!("/api/v1/children/{child}/recommendation"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert!(
        rec["recommendation"].as_str().is_some_and(|t| !t.contains('%')),
        "{rec}"
    );
    assert!(rec["personalization"]["chronotype"].is_null());

    let trail: Value = app
        .get("/api/v1/audit", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let changes = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "consent.changed")
        .count();
    assert_eq!(changes, 2, "each decision is in the audit trail");
}

/// The named file of a zip archive, as text.
fn zip_entry(archive: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a zip archive");
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the archive"))
        .read_to_string(&mut text)
        .expect("utf-8");
    text
}

async fn old_samples_retire_into_hourly_aggregates_and_export_as_csv(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.raw_retention = Some(chrono::Duration::days(30));
        config.retention_every = std::time::Duration::from_millis(200);
    })
    .await;
    let family = app.family("retention@example.org").await;
    let child = &family.child_id;
    let metrics = format!("/api/v1/children/{child}/metrics");
    // Two hours of minute samples long past the 30 days, and an hour of recent ones.
    let old = app
        .post(
            &metrics,
            Some(&family.device_token),
            &samples_json("2026-02-01T00:00:00Z", 120),
        )
        .await;
    assert_eq!(old.status(), StatusCode::OK);
    let recent_start = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let recent = app
        .post(
            &metrics,
            Some(&family.device_token),
            &samples_json(&recent_start, 60),
        )
        .await;
    assert_eq!(recent.status(), StatusCode::OK);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.stored_samples(child).await > 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "old samples were not retired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let raw: Value = app
        .get(&format!("{metrics}?to=2026-03-01T00:00:00Z"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        raw["items"].as_array().map(Vec::len),
        Some(0),
        "raw samples past retention are gone"
    );

    // Hours and days read the same as before: the aggregates are exact.
    let old_range = "from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z";
    let hours: Value = app
        .get(
            &format!("{metrics}?resolution=hour&{old_range}"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    let hours = hours["items"].as_array().expect("hours").clone();
    assert_eq!(hours.len(), 2);
    for (i, hour) in hours.iter().enumerate() {
        assert_eq!(hour["samples"], 60);
        assert_eq!(hour["stress_level"]["count"], 60);
        assert!((hour["stress_level"]["mean"].as_f64().expect("mean") - 0.45).abs() < 1e-9);
        assert_eq!(
            (
                hour["stress_level"]["min"].as_f64(),
                hour["stress_level"]["max"].as_f64()
            ),
            (Some(0.0), Some(0.9))
        );
        let first_step = 60.0 * i as f64;
        assert_eq!(hour["steps"]["min"].as_f64(), Some(first_step));
        assert_eq!(hour["steps"]["max"].as_f64(), Some(first_step + 59.0));
        assert_eq!(hour["heart_rate"]["mean"].as_f64(), Some(80.0));
    }
    let days: Value = app
        .get(
            &format!("{metrics}?resolution=day&{old_range}"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(days["items"][0]["samples"], 120);
    assert_eq!(days["items"][0]["steps"]["max"].as_f64(), Some(119.0));
    // Recent samples are still there, raw.
    let now_hours: Value = app
        .get(
            &format!("{metrics}?resolution=hour&from={}", urlencode(&recent_start)),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    let recent_count: u64 = now_hours["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| b["samples"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(recent_count, 60);

    let export: Value = app
        .get(&format!("/api/v1/children/{child}/export"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (
            export["counts"]["samples"].as_u64(),
            export["counts"]["hourly_aggregates"].as_u64()
        ),
        (Some(60), Some(2))
    );

    let response = app
        .get(
            &format!("/api/v1/children/{child}/export?format=zip"),
            Some(&family.token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let archive = response.bytes().await.expect("body");
    let samples_csv = zip_entry(&archive, "samples.csv");
    let mut lines = samples_csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,heart_rate,hrv_ms,sleep_state,steps,stress_level")
    );
    assert_eq!(lines.count(), 60);
    let hours_csv = zip_entry(&archive, "hourly_aggregates.csv");
    let mut lines = hours_csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert!(
        header.contains(&"stress_level.sum") && header.contains(&"asleep_samples"),
        "{header:?}"
    );
    let sum_column = header
        .iter()
        .position(|c| *c == "stress_level.sum")
        .expect("sum column");
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    assert_eq!(rows.len(), 2);
    assert!((rows[0][sum_column].parse::<f64>().expect("sum") - 27.0).abs() < 1e-9);
    for name in [
        "events.csv",
        "interventions.csv",
        "sleep_episodes.csv",
        "recommendations.csv",
        "feedback.csv",
        "causal_effects.csv",
    ] {
        zip_entry(&archive, name);
    }
    let manifest: Value = serde_json::from_str(&zip_entry(&archive, "manifest.json")).expect("manifest");
    assert_eq!(manifest["counts"]["samples"], 60);
    let child_json: Value = serde_json::from_str(&zip_entry(&archive, "child.json")).expect("child");
    assert_eq!(child_json["id"], json!(child));

    expect_error(
        app.get(
            &format!("/api/v1/children/{child}/export?format=xml"),
            Some(&family.token),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
