//! The live channel: events about a family's children, pushed to the parents' open
//! WebSockets (`/api/v1/ws`, and the original `/api/alerts`).
//!
//! Events go through a [`Hub`]; each connection forwards only its own family's events.
//! The hub is in-process: one node sees its own events. A slow client that falls behind
//! misses events rather than slowing everyone (the broadcast channel drops the oldest).

use crate::auth::{authenticate, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sprout_domain::{ChildId, FamilyId};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events buffered for a slow connection before it starts missing them.
const BUFFER: usize = 1_024;

/// Something parents should hear about at once.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// `recommendation.created`, `alert.stress_high`, `chronotype.updated`, `model.*`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub child_id: Option<ChildId>,
    pub at: DateTime<Utc>,
    /// Event-specific fields, merged into the message.
    #[serde(flatten)]
    pub data: serde_json::Map<String, Value>,
    /// Whose event it is (`None`: every parent's, e.g. a model promoted); never sent.
    #[serde(skip)]
    pub family_id: Option<FamilyId>,
}

impl LiveEvent {
    pub fn new(kind: &'static str, family_id: FamilyId, child_id: ChildId, data: Value) -> Self {
        let data = match data {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Self {
            kind,
            child_id: Some(child_id),
            at: Utc::now(),
            data,
            family_id: Some(family_id),
        }
    }

    /// An event for every parent (model versions change for everyone).
    pub fn everyone(kind: &'static str, data: Value) -> Self {
        let data = match data {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Self {
            kind,
            child_id: None,
            at: Utc::now(),
            data,
            family_id: None,
        }
    }
}

/// Fans events out to every open connection of this node.
pub struct Hub {
    sender: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
        }
    }
}

impl Hub {
    pub fn publish(&self, event: LiveEvent) {
        tracing::info!(kind = event.kind, child_id = ?event.child_id, "live event");
        // No receiver means no parent is connected: nothing to deliver.
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }
}

#[derive(Deserialize)]
pub struct WsQuery {
    /// Browsers cannot set headers on a WebSocket: they pass the token here.
    token: Option<String>,
}

/// Upgrades to a WebSocket that carries the parent's family's events, one JSON object
/// per message.
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let from_header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = from_header
        .or(query.token)
        .ok_or_else(|| ApiError::unauthorized("pass the token as Authorization: Bearer or ?token="))?;
    let family = match authenticate(&state, token.trim()).await? {
        Principal::Parent { family_id, .. } => family_id,
        Principal::Device { .. } => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the live channel is for parents",
            ));
        }
    };
    let events = state.live.subscribe();
    Ok(upgrade.on_upgrade(move |socket| forward(socket, events, family)))
}

async fn forward(mut socket: WebSocket, mut events: broadcast::Receiver<Arc<LiveEvent>>, family: FamilyId) {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.family_id.is_none_or(|f| f == family) => {
                    let Ok(text) = serde_json::to_string(event.as_ref()) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a live connection fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
