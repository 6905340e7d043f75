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

on_both_backends!(
    a_better_candidate_is_promoted,
    rewards_blend_answers_with_measured_stress
);

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

/// Known truth: stress in the window after the recommended time averaged 0.45 against a
/// forecast of 0.55 in [0.35, 0.75], so the outcome score is 0.5 + 0.10 / 0.40 = 0.75; a
/// 👍 makes the reward 0.7 + 0.3 × 0.75 = 0.925, a changed mind (👎) 0.225.
async fn rewards_blend_answers_with_measured_stress(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("reward@example.org").await;
    let store = app.db.store.clone();
    let experiment = store
        .start_experiment("template-2", "template", 0.5)
        .await
        .expect("experiment");
    let child: sprout_domain::ChildId = family.child_id.parse().expect("child id");
    let start: chrono::DateTime<Utc> = "2026-02-01T18:00:00Z".parse().expect("time");
    let forecast: Vec<Value> = (0..3)
        .map(|h| {
            json!({ "time": start + chrono::Duration::hours(h), "mean": 0.55, "lower": 0.35, "upper": 0.75 })
        })
        .collect();
    let id = sprout_domain::RecordId::new();
    store
        .insert_recommendation(&sprout_store::NewRecommendation {
            id,
            child_id: child,
            created_at: Utc::now() - chrono::Duration::hours(1),
            text: "Try some quiet reading together at 6 PM tonight.".into(),
            action_kind: sprout_domain::InterventionKind::Reading,
            action_slot: "this_evening".into(),
            model_version: "template-2".into(),
            arm: "candidate".into(),
            experiment_id: Some(experiment.id),
            details: json!({ "action_start": start, "forecast": { "stress": forecast } }),
        })
        .await
        .expect("recommendation");
    // Three hours of samples at 0.0, 0.1, ... 0.9 (mean 0.45) from the recommended time,
    // and some after the window that must not count.
    let metrics = format!("/api/v1/children/{}/metrics", family.child_id);
    for (from, count) in [("2026-02-01T18:00:00Z", 180), ("2026-02-01T21:00:00Z", 7)] {
        let response = app
            .post(
                &metrics,
                Some(&family.device_token),
                &crate::helpers::samples_json(from, count),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let before = store
        .awaiting_outcome(Utc::now() - chrono::Duration::days(1), 10)
        .await
        .expect("awaiting");
    assert_eq!(before.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);

    let recorded = sprout_app::outcomes::measure_due(store.as_ref(), Utc::now())
        .await
        .expect("measure");
    assert_eq!(recorded, 1);
    let outcome = store.outcome(id).await.expect("outcome").expect("measured");
    assert_eq!(outcome["samples"], 180);
    assert!(
        (outcome["observed_mean"].as_f64().expect("observed") - 0.45).abs() < 1e-9,
        "{outcome}"
    );
    assert!(
        (outcome["outcome_score"].as_f64().expect("score") - 0.75).abs() < 1e-9,
        "{outcome}"
    );
    let counts = store.arm_counts(experiment.id).await.expect("counts");
    let candidate = counts.iter().find(|c| c.arm == "candidate").expect("arm");
    assert_eq!(candidate.rewarded, 1, "the outcome alone is a reward");
    assert!((candidate.reward_sum - 0.75).abs() < 1e-9);
    assert!(store
        .awaiting_outcome(Utc::now() - chrono::Duration::days(1), 10)
        .await
        .expect("awaiting")
        .is_empty());

    // Rewards are updated after the reply: wait for the arm's sum to reach `expected`.
    let answer_and_wait = |helpful: bool, expected: f64| {
        let body = json!({ "recommendation_id": id, "child_id": family.child_id, "was_helpful": helpful });
        let (app, store, token) = (&app, store.clone(), family.token.clone());
        async move {
            let response = app.post("/api/v1/feedback", Some(&token), &body).await;
            assert_eq!(response.status(), StatusCode::OK);
            for _ in 0..200 {
                let counts = store.arm_counts(experiment.id).await.expect("counts");
                let sum = counts
                    .iter()
                    .find(|c| c.arm == "candidate")
                    .expect("arm")
                    .reward_sum;
                if (sum - expected).abs() < 1e-9 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("the reward did not become {expected} after the answer")
        }
    };
    answer_and_wait(true, 0.925).await;
    let listed: Value = app
        .get("/api/v1/experiments", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    let results = &listed["items"][0]["results"];
    assert!(
        (results["candidate"]["mean_reward"].as_f64().expect("mean reward") - 0.925).abs() < 1e-9,
        "{results}"
    );
    // A changed mind: 0.7 × 0 + 0.3 × 0.75.
    answer_and_wait(false, 0.225).await;
}
