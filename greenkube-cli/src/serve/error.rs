//! Errors of the API: a status and `{"detail": "..."}`, as GreenKube answers them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use greenkube_adapters::app::AppError;
use greenkube_core::ports::StoreErrorKind;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) detail: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Detail {
    /// What went wrong, and what to do.
    pub(crate) detail: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    /// 400: a parameter breaks one of GreenKube's rules.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 422: a parameter has the wrong type or is out of bounds (FastAPI's validation status).
    pub(crate) fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 404.
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(Detail {
                detail: self.detail,
            }),
        )
            .into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match &error {
            AppError::Invalid(message) => Self::bad_request(message.clone()),
            AppError::NotFound(message) => Self::not_found(message.clone()),
            AppError::Store(store) => match store.kind() {
                StoreErrorKind::Unavailable => {
                    Self::new(StatusCode::SERVICE_UNAVAILABLE, store.to_string())
                }
                StoreErrorKind::InvalidData => Self::bad_request(store.to_string()),
                StoreErrorKind::Conflict => Self::new(StatusCode::CONFLICT, store.to_string()),
                _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, store.to_string()),
            },
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        }
    }
}

/// What a handler returns.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
