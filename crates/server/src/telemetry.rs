//! Prometheus metrics: request counts and latencies per route, samples ingested.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The process's metrics and the registry that renders them.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pub samples_accepted: Counter,
    pub samples_duplicate: Counter,
}

impl Telemetry {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sprout");
        let requests = Family::<RequestLabels, Counter>::default();
        // From 0.5 ms to about 16 s: instant reads to large batches.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let samples_accepted = Counter::default();
        let samples_duplicate = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "samples_accepted",
            "Samples newly stored",
            samples_accepted.clone(),
        );
        registry.register(
            "samples_duplicate",
            "Samples already stored when re-sent",
            samples_duplicate.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            samples_accepted,
            samples_duplicate,
        }
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::error!("could not render metrics");
        }
        text
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request by its route template (never the raw path, which
/// holds ids).
pub async fn track(State(telemetry): State<Arc<Telemetry>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    telemetry
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    telemetry
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}
