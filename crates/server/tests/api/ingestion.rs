//! Ingestion end to end: batches land once, reads page and roll up correctly.

use crate::helpers::{samples_json, spawn_app};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sprout_store::Backend;

on_both_backends!(
    the_same_batch_twice_leaves_one_copy,
    samples_read_back_raw_and_rolled_up,
    records_are_stored_once_and_paged,
    shutdown_finishes_requests_in_flight,
);

async fn the_same_batch_twice_leaves_one_copy(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("idem@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    let batch = samples_json("2026-02-01T00:00:00Z", 1_000);
    let first: Value = app
        .post(&path, Some(&family.device_token), &batch)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first, json!({"accepted": 1000, "duplicates": 0}));
    let second: Value = app
        .post(&path, Some(&family.device_token), &batch)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(second, json!({"accepted": 0, "duplicates": 1000}));
    // Overlapping batches store only what is new.
    let overlap = samples_json("2026-02-01T16:00:00Z", 100);
    let third: Value = app
        .post(&path, Some(&family.token), &overlap)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(third, json!({"accepted": 60, "duplicates": 40}));
    assert_eq!(app.stored_samples(&family.child_id).await, 1_060);
}

async fn samples_read_back_raw_and_rolled_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("read@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    // Three local hours in Berlin (UTC+1 in February): 08:00 to 11:00 local.
    let response = app
        .post(
            &path,
            Some(&family.device_token),
            &samples_json("2026-02-02T07:00:00Z", 180),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Raw pages follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit=70");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .get(&url, Some(&family.token))
            .await
            .json()
            .await
            .expect("json");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["time"].as_str().expect("time").to_owned());
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 180);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    // A range with an offset: the `+` may arrive escaped or not.
    let ranged: Value = app
        .get(
            &format!("{path}?from=2026-02-02T09:00:00%2B01:00&to=2026-02-02T09:30:00+01:00"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ranged["items"].as_array().map(Vec::len), Some(30));

    let hourly: Value = app
        .get(&format!("{path}?resolution=hour"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let hours = hourly["items"].as_array().expect("items");
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0]["start"], "2026-02-02T07:00:00Z");
    assert_eq!(hours[0]["samples"], 60);
    // Stress cycles 0.0..0.9 every ten minutes: mean 0.45, min 0, max 0.9.
    let stress = &hours[0]["stress_level"];
    assert!((stress["mean"].as_f64().expect("mean") - 0.45).abs() < 1e-9);
    assert_eq!(
        (
            stress["min"].as_f64(),
            stress["max"].as_f64(),
            stress["count"].as_u64()
        ),
        (Some(0.0), Some(0.9), Some(60))
    );
    assert_eq!(hours[1]["steps"]["max"], 119.0);

    let daily: Value = app
        .get(&format!("{path}?resolution=day&limit=1"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let days = daily["items"].as_array().expect("items");
    assert_eq!(days.len(), 1);
    // The child's day starts at local midnight.
    assert_eq!(days[0]["start"], "2026-02-01T23:00:00Z");
    assert_eq!(days[0]["samples"], 180);
    assert!(daily["next"].is_null());
}

async fn records_are_stored_once_and_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("records@example.org").await;
    let events = format!("/api/v1/children/{}/events", family.child_id);
    for day in 10..15 {
        let body = json!({"event_type": "math_test", "start": format!("2026-02-{day}T09:00:00+01:00"), "end": format!("2026-02-{day}T10:00:00+01:00")});
        let first = app.post(&events, Some(&family.device_token), &body).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.expect("json");
        let again = app.post(&events, Some(&family.token), &body).await;
        assert_eq!(
            again.status(),
            StatusCode::OK,
            "a repeated event is not stored twice"
        );
        let again: Value = again.json().await.expect("json");
        assert_eq!(first["id"], again["id"]);
    }
    let page1: Value = app
        .get(&format!("{events}?limit=3"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page1["items"].as_array().map(Vec::len), Some(3));
    let next = page1["next"].as_str().expect("next");
    let page2: Value = app
        .get(&format!("{events}?limit=3&cursor={next}"), Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page2["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page2["items"][0]["start"], "2026-02-13T08:00:00Z");
    assert!(page2["next"].is_null());

    let interventions = format!("/api/v1/children/{}/interventions", family.child_id);
    let body = json!({"kind": "outdoor_play", "time": "2026-02-10T16:00:00+01:00", "duration_min": 45});
    assert_eq!(
        app.post(&interventions, Some(&family.device_token), &body)
            .await
            .status(),
        StatusCode::CREATED
    );
    let listed: Value = app
        .get(&interventions, Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["kind"], "outdoor_play");
    assert_eq!(listed["items"][0]["duration_min"], 45);

    let sleep = format!("/api/v1/children/{}/sleep-episodes", family.child_id);
    let body = json!({"onset": "2026-02-10T20:45:00+01:00", "offset": "2026-02-11T06:50:00+01:00"});
    assert_eq!(
        app.post(&sleep, Some(&family.device_token), &body).await.status(),
        StatusCode::CREATED
    );
    let listed: Value = app
        .get(&sleep, Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["onset"], "2026-02-10T19:45:00Z");
    assert_eq!(listed["items"][0]["utc_offset_min"], 60);
}

async fn shutdown_finishes_requests_in_flight(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let family = app.family("shutdown@example.org").await;
    let path = format!("/api/v1/children/{}/metrics", family.child_id);
    let batch = samples_json("2026-02-03T00:00:00Z", 10_000);
    let request = app
        .client
        .post(app.url(&path))
        .bearer_auth(&family.device_token)
        .json(&batch)
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.stop().await;
    // The request was either finished and acknowledged (then stored), or refused before
    // it started; an acknowledged batch is never lost.
    if let Ok(Ok(response)) = in_flight.await {
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["accepted"], 10_000);
            assert_eq!(app.stored_samples(&family.child_id).await, 10_000);
        }
    }
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "the server has stopped"
    );
}
