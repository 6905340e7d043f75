//! The live channel's hub: events about a family's children, fanned out to every open
//! connection (the WebSockets of `sprout-server`).
//!
//! Events go through a [`Hub`]; each connection forwards only its own family's events.
//! On one node the hub is an in-process broadcast. With Redis, every node publishes its
//! events to one Redis channel and delivers what it hears there, so a parent connected
//! to node B sees what happened on node A. Redis pub/sub delivers to whoever is
//! subscribed at that moment: an event published while a node is reconnecting is
//! missed by that node's parents (the app re-reads state on reconnect; the store has
//! everything). A slow client that falls behind misses events rather than slowing
//! everyone (the broadcast channel drops the oldest).

use crate::shared::Redis;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sprout_domain::{ChildId, FamilyId};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Events buffered for a slow connection before it starts missing them.
const BUFFER: usize = 1_024;

/// What happened, with its one payload: the `type` and fields of the message parents
/// receive.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum Happening {
    /// A new recommendation for a child, its text as the family sees it.
    #[serde(rename = "recommendation.created")]
    RecommendationCreated {
        recommendation_id: sprout_domain::RecordId,
        recommendation: String,
    },
    /// The child's stress has been high over the last `window_minutes`.
    #[serde(rename = "alert.stress_high")]
    StressHigh { stress_level: f64, window_minutes: i64 },
    /// The child's chronotype changed.
    #[serde(rename = "chronotype.updated")]
    ChronotypeUpdated {
        chronotype: Option<String>,
        previous: Option<String>,
        confidence: Option<f64>,
    },
    /// A new model version is being tried (`personal_version`: the child's own, with
    /// per-child fine-tuning; `experiment_id`: none while another experiment runs;
    /// `metrics`: its training figures, when it was trained here).
    #[serde(rename = "model.candidate")]
    ModelCandidate {
        version: String,
        personal_version: Option<String>,
        experiment_id: Option<uuid::Uuid>,
        metrics: Option<Box<sprout_learn::ModelMetrics>>,
    },
    /// An experiment ended with the candidate promoted.
    #[serde(rename = "model.promoted")]
    ModelPromoted(Concluded),
    /// An experiment ended with the candidate rolled back.
    #[serde(rename = "model.rolled_back")]
    ModelRolledBack(Concluded),
}

/// How an experiment ended.
#[derive(Debug, Clone, Serialize)]
pub struct Concluded {
    pub experiment_id: uuid::Uuid,
    pub control_version: String,
    pub candidate_version: String,
    pub evidence: sprout_learn::Evidence,
}

impl Happening {
    /// The message's `type`, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RecommendationCreated { .. } => "recommendation.created",
            Self::StressHigh { .. } => "alert.stress_high",
            Self::ChronotypeUpdated { .. } => "chronotype.updated",
            Self::ModelCandidate { .. } => "model.candidate",
            Self::ModelPromoted(_) => "model.promoted",
            Self::ModelRolledBack(_) => "model.rolled_back",
        }
    }
}

/// Something parents should hear about at once.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    #[serde(flatten)]
    pub happening: Happening,
    pub child_id: Option<ChildId>,
    pub at: DateTime<Utc>,
    /// Whose event it is (`None`: every parent's, e.g. a model promoted); never sent.
    #[serde(skip)]
    pub family_id: Option<FamilyId>,
}

impl LiveEvent {
    /// An event about one child, for its family.
    pub fn new(happening: Happening, family_id: FamilyId, child_id: ChildId) -> Self {
        Self {
            happening,
            child_id: Some(child_id),
            at: Utc::now(),
            family_id: Some(family_id),
        }
    }

    /// An event for every parent (model versions change for everyone).
    pub fn everyone(happening: Happening) -> Self {
        Self {
            happening,
            child_id: None,
            at: Utc::now(),
            family_id: None,
        }
    }
}

/// An event on its way: whose it is, and the JSON message parents receive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// `None`: every parent's.
    pub family_id: Option<FamilyId>,
    pub message: String,
}

/// Redis channel every node publishes to and listens on.
fn channel() -> String {
    format!("{}:live", crate::shared::PREFIX)
}

/// Events waiting to be published to Redis, in order, before they are delivered locally.
const OUTBOX: usize = 4_096;

/// Fans events out to every open connection of this node, and through Redis (when
/// configured) to every other node's.
pub struct Hub {
    local: broadcast::Sender<Arc<Envelope>>,
    outbox: Option<mpsc::Sender<Arc<Envelope>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            local: broadcast::channel(BUFFER).0,
            outbox: None,
        }
    }
}

impl Hub {
    /// A hub whose events travel through Redis: one task publishes (in order), one
    /// listens and delivers to this node's connections, resubscribing after outages.
    pub fn with_redis(redis: &Redis) -> Self {
        let local = broadcast::channel(BUFFER).0;
        let (outbox, pending) = mpsc::channel(OUTBOX);
        tokio::spawn(publish_to_redis(redis.conn(), pending, local.clone()));
        tokio::spawn(listen_to_redis(redis.client.clone(), local.clone()));
        Self {
            local,
            outbox: Some(outbox),
        }
    }

    pub fn publish(&self, event: LiveEvent) {
        tracing::info!(kind = event.happening.name(), child_id = ?event.child_id, "live event");
        let Ok(message) = serde_json::to_string(&event) else {
            return;
        };
        let envelope = Arc::new(Envelope {
            family_id: event.family_id,
            message,
        });
        match &self.outbox {
            Some(outbox) => {
                if let Err(e) = outbox.try_send(envelope) {
                    tracing::warn!("live outbox full; delivering on this node only");
                    let _ = self.local.send(e.into_inner());
                }
            }
            // No receiver means no parent is connected: nothing to deliver.
            None => {
                let _ = self.local.send(envelope);
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.local.subscribe()
    }
}

async fn publish_to_redis(
    mut redis: redis::aio::ConnectionManager,
    mut pending: mpsc::Receiver<Arc<Envelope>>,
    local: broadcast::Sender<Arc<Envelope>>,
) {
    let channel = channel();
    while let Some(envelope) = pending.recv().await {
        let Ok(text) = serde_json::to_string(envelope.as_ref()) else {
            continue;
        };
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(text)
            .query_async(&mut redis)
            .await;
        if let Err(e) = sent {
            // This node's parents still hear it; other nodes' miss it.
            tracing::warn!(error = %e, "cannot publish a live event to Redis; delivering on this node only");
            let _ = local.send(envelope);
        }
    }
}

async fn listen_to_redis(client: redis::Client, local: broadcast::Sender<Arc<Envelope>>) {
    use futures::StreamExt;
    let channel = channel();
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    tracing::info!("listening for live events on Redis");
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(text) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Envelope>(&text) {
                            Ok(envelope) => {
                                let _ = local.send(Arc::new(envelope));
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "ignoring a malformed live event from Redis")
                            }
                        }
                    }
                    tracing::warn!("lost the Redis subscription for live events; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "cannot subscribe to live events on Redis"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot reach Redis for live events; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn a_message_is_its_type_beside_its_fields() {
        let event = LiveEvent::new(
            Happening::StressHigh {
                stress_level: 0.9,
                window_minutes: 30,
            },
            FamilyId::new(),
            ChildId::new(),
        );
        let message = serde_json::to_value(&event).expect("json");
        assert_eq!(message["type"], "alert.stress_high");
        assert_eq!(message["stress_level"], 0.9);
        assert_eq!(message["window_minutes"], 30);
        assert!(message["child_id"].is_string() && message["at"].is_string());
        assert!(message.get("family_id").is_none(), "never sent");
        assert_eq!(event.happening.name(), "alert.stress_high");
    }
}
