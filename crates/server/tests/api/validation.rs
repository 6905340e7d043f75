//! Bad input: every rule answers with a clear 4xx and writes nothing.

use crate::helpers::{expect_error, samples_json, spawn_app};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sprout_store::Backend;

on_both_backends!(
    bad_samples_are_rejected_whole,
    bad_bodies_are_refused_before_parsing,
    bad_records_are_rejected,
    bad_accounts_are_rejected,
    bad_queries_are_rejected,
);

async fn bad_samples_are_rejected_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("samples@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);

    // (bad row, words the reason must contain)
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"time": "2026-02-01T10:00:00Z", "stress_level": 1.5}),
            "stress_level",
        ),
        (
            json!({"time": "2026-02-01T10:00:00Z", "stress_level": -0.1}),
            "stress_level",
        ),
        (
            json!({"time": "2026-02-01 10:00:00", "stress_level": 0.5}),
            "offset",
        ),
        (json!({"time": "yesterday", "stress_level": 0.5}), "RFC 3339"),
        (
            json!({"time": "2999-01-01T00:00:00Z", "stress_level": 0.5}),
            "future",
        ),
        (
            json!({"time": "1990-01-01T00:00:00Z", "stress_level": 0.5}),
            "2000",
        ),
        (json!({"time": "2026-02-01T10:00:00Z"}), "no value"),
        (
            json!({"time": "2026-02-01T10:00:00Z", "heart_rate": 900}),
            "heart_rate",
        ),
        (json!({"time": "2026-02-01T10:00:00Z", "hrv_ms": -3}), "hrv_ms"),
        (json!({"time": "2026-02-01T10:00:00Z", "steps": -1}), "steps"),
        (
            json!({"time": "2026-02-01T10:00:00Z", "sleep_state": "dozing"}),
            "sleep_state",
        ),
        (
            json!({"time": "2026-02-01T10:00:00Z", "stress_level": "high"}),
            "invalid type",
        ),
        (json!({"stress_level": 0.3}), "missing field `time`"),
        (
            json!({"time": "2026-02-01T10:00:00Z", "stress_level": 0.3, "mood": "ok"}),
            "unknown field",
        ),
        (json!("not an object"), "invalid type"),
    ];
    for (bad_row, reason) in cases {
        // Good rows around the bad one: the whole batch must still be refused.
        let mut batch = samples_json("2026-02-01T00:00:00Z", 5);
        batch["samples"]
            .as_array_mut()
            .expect("rows")
            .insert(3, bad_row.clone());
        let response = app.post(&path, Some(&family.device_token), &batch).await;
        let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let rows = error["rows"].as_array().expect("rows named");
        assert_eq!(rows.len(), 1, "{bad_row}: {error}");
        assert_eq!(rows[0]["index"], 3, "{bad_row}");
        let text = rows[0]["reason"].as_str().expect("reason");
        assert!(
            text.contains(reason),
            "{bad_row}: '{text}' should mention '{reason}'"
        );
    }
    assert_eq!(
        app.stored_samples(&family.child_id).await,
        0,
        "no rejected batch wrote anything"
    );

    // Many bad rows: the first ten are named, all are counted.
    let rows: Vec<Value> = (0..25)
        .map(|i| json!({"time": format!("2026-02-01T10:{i:02}:00Z"), "stress_level": 2.0}))
        .collect();
    let response = app
        .post(&path, Some(&family.device_token), &json!({"samples": rows}))
        .await;
    let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["rows"].as_array().map(Vec::len), Some(10));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("25 sample")),
        "{error}"
    );

    let empty = app
        .post(&path, Some(&family.device_token), &json!({"samples": []}))
        .await;
    expect_error(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let too_many = app
        .post(
            &path,
            Some(&family.device_token),
            &samples_json("2026-01-01T00:00:00Z", 10_001),
        )
        .await;
    let error = expect_error(too_many, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(
        error["message"].as_str().is_some_and(|m| m.contains("10000")),
        "{error}"
    );
    assert_eq!(app.stored_samples(&family.child_id).await, 0);
}

async fn bad_bodies_are_refused_before_parsing(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("bodies@example.org").await;
    let url = app.url(&format!("/api/v1/children/{}/metrics", family.child_id));
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&family.device_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = send(b"{\"samples\": [".to_vec(), "application/json")
        .await
        .expect("request");
    let error = expect_error(malformed, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid JSON")),
        "{error}"
    );
    let wrong_type = send(br#"{"samples": []}"#.to_vec(), "text/plain")
        .await
        .expect("request");
    expect_error(
        wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let unknown = send(br#"{"samples": [], "extra": 1}"#.to_vec(), "application/json")
        .await
        .expect("request");
    expect_error(unknown, StatusCode::BAD_REQUEST, "bad_request").await;
    let huge = vec![b' '; 5 * 1024 * 1024];
    let too_big = send(huge, "application/json").await.expect("request");
    expect_error(too_big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(app.stored_samples(&family.child_id).await, 0);
}

async fn bad_records_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("records-bad@example.org").await;
    let child = &family.child_id;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "events",
            json!({"event_type": "Math Test!", "start": "2026-02-01T09:00:00Z"}),
            "event_type",
        ),
        (
            "events",
            json!({"event_type": "exam", "start": "2026-02-01T09:00:00"}),
            "start",
        ),
        (
            "events",
            json!({"event_type": "exam", "start": "2026-02-01T09:00:00Z", "end": "2026-02-01T08:00:00Z"}),
            "end",
        ),
        (
            "interventions",
            json!({"kind": "yoga", "time": "2026-02-01T19:00:00Z", "duration_min": 10}),
            "kind",
        ),
        (
            "interventions",
            json!({"kind": "reading", "time": "2026-02-01T19:00:00Z", "duration_min": 0}),
            "duration_min",
        ),
        (
            "interventions",
            json!({"kind": "reading", "time": "2026-02-01T19:00:00Z", "duration_min": 9999}),
            "duration_min",
        ),
        (
            "sleep-episodes",
            json!({"onset": "2026-02-01T21:00:00Z", "offset": "2026-02-01T20:00:00Z"}),
            "offset",
        ),
        (
            "sleep-episodes",
            json!({"onset": "2026-02-01T21:00:00Z", "offset": "2026-02-02T21:00:00Z"}),
            "offset",
        ),
    ];
    for (route, body, field) in cases {
        let response = app
            .post(
                &format!("/api/v1/children/{child}/{route}"),
                Some(&family.device_token),
                &body,
            )
            .await;
        let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], field, "{route} {body}: {error}");
    }
    let missing = app
        .post(
            &format!("/api/v1/children/{child}/interventions"),
            Some(&family.token),
            &json!({"kind": "reading"}),
        )
        .await;
    expect_error(missing, StatusCode::BAD_REQUEST, "bad_request").await;
    for route in ["events", "interventions", "sleep-episodes"] {
        let listed: Value = app
            .get(&format!("/api/v1/children/{child}/{route}"), Some(&family.token))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            listed["items"].as_array().map(Vec::len),
            Some(0),
            "{route} wrote nothing"
        );
    }
}

async fn bad_accounts_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("accounts@example.org").await;
    let admin = Some(crate::helpers::ADMIN_TOKEN);
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({"name": "F", "parent_email": "not-an-email", "parent_password": "long enough pw"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "parent_email",
        ),
        (
            json!({"name": "F", "parent_email": "ok@example.org", "parent_password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "parent_password",
        ),
        (
            json!({"name": " ", "parent_email": "ok@example.org", "parent_password": "long enough pw"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "name",
        ),
        (
            json!({"name": "F", "parent_email": "ACCOUNTS@example.org", "parent_password": "long enough pw"}),
            StatusCode::CONFLICT,
            "conflict",
            "parent_email",
        ),
    ];
    for (body, status, code, field) in cases {
        let error = expect_error(app.post("/api/v1/families", admin, &body).await, status, code).await;
        assert_eq!(error["field"], field, "{body}");
    }
    // The refused families do not exist: nobody can log in as them.
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ok@example.org", "password": "long enough pw"}),
        )
        .await;
    expect_error(login, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong_password = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": family.email, "password": "wrong password!"}),
        )
        .await;
    expect_error(wrong_password, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let children: Vec<(Value, &str)> = vec![
        (
            json!({"display_name": "", "birth_date": "2016-01-01", "timezone": "UTC"}),
            "display_name",
        ),
        (
            json!({"display_name": "Leo", "birth_date": "2016-13-01", "timezone": "UTC"}),
            "birth_date",
        ),
        (
            json!({"display_name": "Leo", "birth_date": "2099-01-01", "timezone": "UTC"}),
            "birth_date",
        ),
        (
            json!({"display_name": "Leo", "birth_date": "2016-01-01", "timezone": "Europe/Atlantis"}),
            "timezone",
        ),
    ];
    for (body, field) in children {
        let error = expect_error(
            app.post("/api/v1/children", Some(&family.token), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(error["field"], field, "{body}");
    }
    let listed: Value = app
        .get("/api/v1/children", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "only the family's first child exists"
    );
    let device = app
        .post(
            &format!("/api/v1/children/{}/devices", family.child_id),
            Some(&family.token),
            &json!({"name": ""}),
        )
        .await;
    expect_error(device, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

async fn bad_queries_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("queries@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    for query in [
        "from=yesterday",
        "from=2026-02-02T00:00:00Z&to=2026-02-01T00:00:00Z",
        "limit=0",
        "limit=100000",
        "limit=-1",
        "cursor=abc",
        "resolution=minute",
        "colour=blue",
    ] {
        let response = app.get(&format!("{path}?{query}"), Some(&family.token)).await;
        expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let events = format!("/api/v1/children/{}/events?cursor=12_notauuid", family.child_id);
    expect_error(
        app.get(&events, Some(&family.token)).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    expect_error(
        app.get("/api/v1/nothing-here", Some(&family.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
