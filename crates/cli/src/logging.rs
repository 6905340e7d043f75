//! Structured logs through `tracing`: readable text by default, JSON on request.

use tracing_subscriber::EnvFilter;

/// Log level unless `RUST_LOG` says otherwise: Sprout's own events, quiet dependencies.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
