//! API errors: one table of codes, each with its HTTP status, rendered as
//! `{"error":{"code","message",...}}`. Unexpected errors keep their cause chain for the
//! log and show the client only that something failed on our side.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sprout_domain::{BatchRejection, RowError, ValidationError};
use sprout_store::StoreError;

/// The stable error codes clients can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra members of the error object (`field`, `rows`).
    pub details: serde_json::Map<String, Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// A failure that is ours, not the client's: logged with its cause chain.
    pub fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "request failed");
        Self::new(
            ErrorCode::Internal,
            "something went wrong on our side; please retry",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::new(ErrorCode::ValidationFailed, err.to_string()).with("field", json!(err.field))
    }
}

impl From<BatchRejection> for ApiError {
    fn from(err: BatchRejection) -> Self {
        let api = Self::new(ErrorCode::ValidationFailed, err.to_string());
        match err {
            BatchRejection::InvalidRows { rows, .. } => api.with("rows", rows_json(&rows)),
            BatchRejection::TooLarge { .. } => Self {
                code: ErrorCode::PayloadTooLarge,
                ..api
            },
            BatchRejection::Empty => api,
        }
    }
}

fn rows_json(rows: &[RowError]) -> Value {
    serde_json::to_value(rows).unwrap_or(Value::Null)
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { what } => {
                Self::new(ErrorCode::Conflict, format!("{what} already exists")).with("field", json!(what))
            }
            StoreError::NotFound { what } => Self::not_found(what),
            transient if transient.is_transient() => {
                tracing::warn!(error = %transient, "store unavailable");
                Self::new(ErrorCode::Unavailable, "the database is busy; please retry")
            }
            other => Self::internal(&other),
        }
    }
}

impl From<sprout_app::AppError> for ApiError {
    fn from(err: sprout_app::AppError) -> Self {
        use sprout_app::AppError;
        match err {
            AppError::Store(e) => e.into(),
            AppError::Unavailable(message) => Self::new(ErrorCode::Unavailable, message),
            AppError::Busy(message) => Self::new(ErrorCode::RateLimited, message),
            internal @ AppError::Internal { .. } => Self::internal(&internal),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.details;
        error.insert("code".into(), json!(self.code.as_str()));
        error.insert("message".into(), json!(self.message));
        (self.code.status(), axum::Json(json!({ "error": error }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
