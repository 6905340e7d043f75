//! A/B experiments end to end: stable arms, parents' answers, a decision, a promotion.

use crate::helpers::{expect_error, spawn_app, ADMIN_TOKEN};
use crate::on_both_backends;
use chrono::Utc;
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sprout_domain::NewChild;
use sprout_store::Backend;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both_backends!(a_better_candidate_is_promoted);

async fn a_better_candidate_is_promoted(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("ab@example.org").await;
    let start = |body: Value, token: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/experiments"))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.expect("request") }
    };
    let bad_share = json!({"candidate_version": "template-2", "candidate_share": 1.5});
    expect_error(
        start(bad_share, ADMIN_TOKEN).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let unknown = json!({"candidate_version": "gemma-lora-9", "candidate_share": 0.5});
    expect_error(
        start(unknown, ADMIN_TOKEN).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let body = json!({"candidate_version": "template-2", "candidate_share": 0.5});
    let as_parent = app.post("/api/v1/experiments", Some(&family.token), &body).await;
    assert_eq!(as_parent.status(), StatusCode::UNAUTHORIZED);
    let ws_url = format!(
        "ws://{}/api/v1/ws?token={}",
        app.base.trim_start_matches("http://"),
        family.token
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("live channel");
    let started = start(body.clone(), ADMIN_TOKEN).await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let experiment: Value = started.json().await.expect("json");
    expect_error(start(body, ADMIN_TOKEN).await, StatusCode::CONFLICT, "conflict").await;

    // Many children, one recommendation each; parents like the candidate's wording more.
    let family_id = app
        .db
        .store
        .find_user_by_email(&sprout_domain::Email::parse("ab@example.org").expect("email"))
        .await;
    let family_id = family_id.expect("query").expect("user").family_id;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut arms = (0, 0);
    let mut written = Vec::new();
    for n in 0..140 {
        let child =
            NewChild::parse(&format!("Child {n}"), "2016-01-01", "Europe/Berlin", Utc::now()).expect("child");
        let child = app
            .db
            .store
            .create_child(family_id, &child)
            .await
            .expect("create")
            .id;
        // Children join experiments only with their family's consent.
        let email = sprout_domain::Email::parse("ab@example.org").expect("email");
        let parent = app
            .db
            .store
            .find_user_by_email(&email)
            .await
            .expect("query")
            .expect("user")
            .id;
        let consent = sprout_domain::ConsentPurpose::Experiments;
        app.db
            .store
            .set_consent(child, consent, true, parent)
            .await
            .expect("consent");
        let rec: Value = app
            .get(
                &format!("/api/v1/children/{child}/recommendation"),
                Some(&family.token),
            )
            .await
            .json()
            .await
            .expect("json");
        let candidate = rec["arm"] == "candidate";
        assert_eq!(
            rec["model_version"],
            if candidate { "template-2" } else { "template-1" },
            "{rec}"
        );
        if candidate {
            arms.1 += 1;
        } else {
            arms.0 += 1;
        }
        written.push((child, rec["id"].clone(), candidate));
    }
    for (child, id, candidate) in written {
        let helpful = rng.random_bool(if candidate { 0.85 } else { 0.35 });
        let answer = json!({"recommendation_id": id, "child_id": child, "was_helpful": helpful});
        assert_eq!(
            app.post("/api/v1/feedback", Some(&family.token), &answer)
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert!(
        (45..=95).contains(&arms.1),
        "about half the children are in the candidate arm: {arms:?}"
    );

    let promoted = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let event: Value = serde_json::from_str(&text).expect("json");
                if event["type"] == "model.promoted" {
                    return event;
                }
            }
        }
        Value::Null
    })
    .await
    .expect("model.promoted is pushed");
    assert_eq!(promoted["experiment_id"], experiment["id"]);
    assert_eq!(promoted["candidate_version"], "template-2");

    let listed: Value = app
        .get("/api/v1/experiments", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let first = &listed["items"][0];
    assert_eq!(first["experiment"]["status"], "promoted");
    assert!(
        first["results"]["prob_candidate_better"]
            .as_f64()
            .is_some_and(|p| p > 0.95),
        "{first}"
    );
    let models: Value = app
        .get("/api/v1/models", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let status = |version: &str| {
        models["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|m| m["version"] == version)
            .map(|m| m["status"].clone())
    };
    assert_eq!(status("template-2"), Some(json!("active")));
    assert_eq!(status("template-1"), Some(json!("retired")));

    // The promoted version now writes for everyone.
    let newcomer = NewChild::parse("Newcomer", "2016-01-01", "Europe/Berlin", Utc::now()).expect("child");
    let newcomer = app
        .db
        .store
        .create_child(family_id, &newcomer)
        .await
        .expect("create")
        .id;
    let rec: Value = app
        .get(
            &format!("/api/v1/children/{newcomer}/recommendation"),
            Some(&family.token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rec["model_version"], "template-2");
}
