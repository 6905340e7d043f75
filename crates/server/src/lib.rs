//! Sprout's HTTP API: the only crate that speaks HTTP. It is the edge only: the use cases
//! it serves are `sprout-app`'s, reached through [`AppState::app`].
//!
//! [`Application::build`] binds the listener (port 0 in tests) and wires the routes to
//! a [`Store`]; [`Application::run_until_stopped`] serves until the shutdown future
//! resolves, then lets in-flight requests finish. Every input is validated at the edge
//! by the domain's parsers, and every error leaves as `{"error":{"code","message"}}`.

mod archive;
pub mod auth;
pub mod error;
mod extract;
pub mod live;
mod openapi;
mod paging;
mod ratelimit;
mod routes;
mod security;
pub mod telemetry;
mod webapp;

pub use openapi::openapi_json;
/// The node's configuration, which [`Application::build`] takes (defined with the use
/// cases it mostly configures).
pub use sprout_app::config::{self, Config, Secret, WriterSpec};

use sprout_app::App;
use sprout_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use telemetry::Telemetry;
use tokio::net::TcpListener;

/// What every handler can reach: the application and the edge's own parts.
#[derive(Clone)]
pub struct AppState {
    /// The use cases' service handle (store, configuration, caches, live hub, writer).
    pub app: App,
    pub telemetry: Arc<Telemetry>,
    pub(crate) logins: Arc<security::LoginGuard>,
    pub(crate) rate_limiter: Arc<ratelimit::RateLimiter>,
}

impl AppState {
    /// The application from its configuration, with the edge's login guard and rate
    /// limits (through the shared Redis when configured); and the receiving end of the
    /// node's refresh requests.
    async fn new(
        config: Config,
        store: Arc<dyn Store>,
    ) -> std::io::Result<(Self, tokio::sync::mpsc::Receiver<sprout_domain::ChildId>)> {
        let (app, refresh_requests) = App::new(config, store).await?;
        let rate_limiter = ratelimit::RateLimiter::new(app.config.rate_limit_per_minute, app.redis.as_ref());
        let logins = match &app.redis {
            Some(redis) => security::LoginGuard::with_redis(redis),
            None => security::LoginGuard::default(),
        };
        let state = AppState {
            app,
            telemetry: Arc::new(Telemetry::new()),
            rate_limiter: Arc::new(rate_limiter),
            logins: Arc::new(logins),
        };
        Ok((state, refresh_requests))
    }
}

/// A bound, ready-to-serve Sprout server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
}

impl Application {
    pub async fn build(config: Config, store: Arc<dyn Store>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (state, refresh_requests) = AppState::new(config, store).await?;
        tokio::spawn(state.app.clone().run_refreshes(refresh_requests));
        if state.app.config.run_jobs {
            state.app.spawn_jobs();
        }
        Ok(Self {
            listener,
            router: routes::router(state),
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves; requests already running are completed, so
    /// nothing the server acknowledged is lost.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
