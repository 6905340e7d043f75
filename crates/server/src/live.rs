//! The live channel's edge: parents' WebSockets (`/api/v1/ws`, and the original
//! `/api/alerts`), each forwarding its own family's events from the app's hub
//! ([`sprout_app::live`]).

use crate::auth::{authenticate, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use sprout_app::live::Envelope;
use sprout_domain::FamilyId;
use std::sync::Arc;
use tokio::sync::broadcast;

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
    let token = crate::auth::bearer_token(&headers)
        .map(str::to_owned)
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
    let events = state.app.live.subscribe();
    Ok(upgrade.on_upgrade(move |socket| forward(socket, events, family)))
}

async fn forward(mut socket: WebSocket, mut events: broadcast::Receiver<Arc<Envelope>>, family: FamilyId) {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.family_id.is_none_or(|f| f == family) => {
                    if socket.send(Message::Text(event.message.clone().into())).await.is_err() {
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
