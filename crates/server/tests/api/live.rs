//! The live channel: a parent's open app hears about their own children, at once.

use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;
use chrono::Utc;
use futures::StreamExt;
use serde_json::{json, Value};
use sprout_store::Backend;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

on_both_backends!(
    parents_hear_their_own_childrens_events,
    new_sleep_updates_the_chronotype_live
);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(app: &TestApp, path_and_query: &str, bearer: Option<&str>) -> Result<Socket, String> {
    let url = format!("ws://{}{path_and_query}", app.base.trim_start_matches("http://"));
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(token) = bearer {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().map_err(|_| "header")?,
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// The next JSON message, or `None` if none arrives in `wait`.
pub async fn next_event(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Thirty minutes of high stress ending now.
pub fn stressed_batch() -> Value {
    let now = Utc::now();
    let samples: Vec<Value> = (0..30)
        .map(|i| json!({"time": (now - chrono::Duration::minutes(29 - i)).to_rfc3339(), "stress_level": 0.9}))
        .collect();
    json!({ "samples": samples })
}

async fn parents_hear_their_own_childrens_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.family("live-a@example.org").await;
    let b = app.family("live-b@example.org").await;
    let mut a_by_query = open(&app, &format!("/api/v1/ws?token={}", a.token), None)
        .await
        .expect("parent A connects");
    let mut a_original = open(&app, "/api/alerts", Some(&a.token))
        .await
        .expect("original route");
    let mut b_socket = open(&app, "/api/v1/ws", Some(&b.token))
        .await
        .expect("parent B connects");

    // Nobody else may listen.
    assert!(open(&app, "/api/v1/ws", None).await.is_err(), "no token");
    assert!(
        open(&app, "/api/v1/ws?token=spr_wrong", None).await.is_err(),
        "unknown token"
    );
    assert!(
        open(&app, &format!("/api/v1/ws?token={}", a.device_token), None)
            .await
            .is_err(),
        "device token"
    );

    let path = format!("/api/v1/children/{}/metrics", a.child_id);
    let response = app.post(&path, Some(&a.device_token), &stressed_batch()).await;
    assert_eq!(response.status(), 200);
    for socket in [&mut a_by_query, &mut a_original] {
        let event = next_event(socket, Duration::from_secs(2))
            .await
            .expect("alert within 2 s");
        assert_eq!(event["type"], "alert.stress_high");
        assert_eq!(event["child_id"], json!(a.child_id));
        assert!(event["at"].is_string());
        assert!(event["stress_level"].as_f64().is_some_and(|s| s >= 0.8));
    }
    assert!(
        next_event(&mut b_socket, Duration::from_millis(500))
            .await
            .is_none(),
        "B hears nothing of A's child"
    );
}

async fn new_sleep_updates_the_chronotype_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("live-sleep@example.org").await;
    let mut socket = open(&app, "/api/v1/ws", Some(&family.token))
        .await
        .expect("connect");
    let path = format!("/api/v1/children/{}/sleep-episodes", family.child_id);
    for body in crate::helpers::night_owl_sleep() {
        let response = app.post(&path, Some(&family.device_token), &body).await;
        assert!(response.status().is_success());
    }
    // The uploads settle, the background refresh recomputes once and pushes the change.
    let event = loop {
        let event = next_event(&mut socket, Duration::from_secs(15))
            .await
            .expect("chronotype.updated arrives");
        if event["type"] == "chronotype.updated" {
            break event;
        }
    };
    assert_eq!(event["chronotype"], "night_owl", "{event}");
    assert!(event["previous"].is_null());
    let children: Value = app
        .get("/api/v1/children", Some(&family.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(children[0]["chronotype"], "night_owl");
}
