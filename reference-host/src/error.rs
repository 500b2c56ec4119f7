//! The one error type the SCIM surface answers with: it *is* the HTTP response, an RFC 7644
//! §3.12 Error body with the right status and `scimType`, and it never carries backend
//! internals (no type names, no stack traces, no credentials).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_proto::{ErrorResponse, MEDIA_TYPE, ScimType};
use serde::Serialize;

use crate::connector::ConnectorError;

/// A SCIM error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The detail keyword, where RFC 7644 has one for the cause.
    pub scim_type: Option<ScimType>,
    /// What went wrong, for the operator reading Entra's provisioning logs.
    pub detail: String,
}

impl ScimError {
    /// An error with every part given.
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a detail keyword.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// 401: missing or wrong bearer token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// 500: the host's own work on a request ended without an answer (a task that panicked);
    /// the detail says so without internals.
    pub fn internal(_cause: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the host failed while handling the request",
        )
    }

    /// 503: the target or the host is not ready.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
    }
}

impl From<ConnectorError> for ScimError {
    fn from(e: ConnectorError) -> Self {
        let detail = e.to_string();
        match e {
            ConnectorError::AlreadyExists { .. } => {
                Self::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
            }
            ConnectorError::NoSuchObject { .. } => Self::not_found(detail),
            ConnectorError::MissingParent { .. } | ConnectorError::Rejected { .. } => {
                Self::bad_request(ScimType::InvalidValue, detail)
            }
            // The target refused the connector's own account: a host configuration problem that
            // a retry will not fix by itself, reported as a gateway error.
            ConnectorError::Refused { .. } => Self::new(StatusCode::BAD_GATEWAY, None, detail),
            ConnectorError::Unavailable { .. } => Self::unavailable(detail),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = ErrorResponse::new(self.status.as_u16(), self.scim_type, self.detail);
        let mut response = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON body with the SCIM media type.
pub fn scim_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
            bytes,
        )
            .into_response(),
        // Serialising our own types cannot fail; if it ever does, say so without internals.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "response could not be encoded",
        )
            .into_response(),
    }
}
