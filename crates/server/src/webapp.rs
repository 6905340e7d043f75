//! The parent web app, built from `web/` and embedded in the binary: `sprout` serves it
//! with no Node.js at run time. `web/dist` is committed and rebuilt (and compared) by
//! the test command, so the embedded app always matches its sources.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../web/dist");

/// Content types of what the build emits.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    let Some(file) = DIST.get_file(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    // Built assets carry a content hash in their names: cache them for good. Everything
    // else is revalidated so a new version is picked up at once.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = file.contents().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The app's page.
pub async fn index() -> Response {
    serve("index.html")
}

/// The build's scripts and styles (`/assets/…`).
pub async fn asset(Path(path): Path<String>) -> Response {
    serve(&format!("assets/{path}"))
}

/// The app's icons (`/icons/…`).
pub async fn icon(Path(path): Path<String>) -> Response {
    serve(&format!("icons/{path}"))
}

/// The web app manifest, so the app can be added to a phone's home screen.
pub async fn manifest() -> Response {
    serve("manifest.webmanifest")
}

/// Whether the build is embedded (it always is in a normal build; the check guards a
/// hand-made build with an empty `web/dist`).
pub fn present() -> bool {
    DIST.get_file("index.html").is_some()
}
