//! What several Sprout nodes share through Redis (`--redis URL`): the live channel's
//! fan-out, the analysis cache and per-token rate limits. Without Redis each of these
//! runs in-process behind the same interface, which is right for one node.
//!
//! One multiplexed connection (redis-rs' `ConnectionManager`, which reconnects by itself
//! after Redis restarts) carries the commands; the live channel's subscription has its
//! own connection (see [`crate::live`]). Redis is an accelerator, never the record:
//! when it is unreachable the cache misses, rate limits fail open and live events reach
//! this node's own parents, and the store stays the truth.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Prefix of every key and channel Sprout uses, so Redis can be shared with other tools.
pub const PREFIX: &str = "sprout";

/// Lower-case hex of `bytes`, for key names built from hashes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A connection to the Redis all nodes share.
#[derive(Clone)]
pub struct Redis {
    pub client: redis::Client,
    pub connection: ConnectionManager,
}

impl Redis {
    /// Connects, failing at once if Redis cannot be reached (a node should not start
    /// half-configured); later outages are survived by reconnecting.
    pub async fn connect(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self { client, connection })
    }

    /// The command connection (cheap to clone; all clones share one socket).
    pub fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }
}
