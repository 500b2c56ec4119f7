//! Protocol messages (RFC 7644): ListResponse (§3.4.2) and Error (§3.12).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::urn;

/// A query answer (RFC 7644 §3.4.2). Entra requires one for every filter query, including the
/// zero-match answer to Test Connection, which must be 200 with `totalResults: 0`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`
    pub schemas: Vec<String>,
    /// How many resources matched in all, across pages.
    pub total_results: u64,
    /// This page's resources. Always serialised, as `[]` when empty, as Entra's own samples do.
    #[serde(rename = "Resources", alias = "resources", default = "Vec::new")]
    pub resources: Vec<T>,
    /// 1-based index of the first resource of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// How many resources this page holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
}

impl<T> ListResponse<T> {
    /// A page of `resources` out of `total_results`, starting at 1-based `start_index`.
    pub fn page(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        ListResponse {
            schemas: vec![urn::LIST_RESPONSE.into()],
            total_results,
            items_per_page: Some(resources.len() as u64),
            start_index: Some(start_index),
            resources,
        }
    }
}

/// The `scimType` detail error keywords (RFC 7644 §3.12, Table 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid, or the operator or attribute is not supported.
    InvalidFilter,
    /// The filter yields too many results.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The modification is incompatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid.
    InvalidSyntax,
    /// The path attribute was invalid or malformed.
    InvalidPath,
    /// The path did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value is not compatible with the attribute.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI.
    Sensitive,
}

/// An Error response body (RFC 7644 §3.12). `status` is the HTTP status as a string, as the RFC's
/// examples and Entra's samples write it; a number is accepted when reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`
    pub schemas: Vec<String>,
    /// The HTTP status code.
    #[serde(
        serialize_with = "status_as_string",
        deserialize_with = "status_from_any"
    )]
    pub status: u16,
    /// The detail error keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ErrorResponse {
    /// An error body for `status`.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ErrorResponse {
            schemas: vec![urn::ERROR.into()],
            status,
            scim_type,
            detail: Some(detail.into()),
        }
    }
}

fn status_as_string<S: Serializer>(status: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&status.to_string())
}

fn status_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Status {
        Num(u16),
        Str(String),
    }
    match Status::deserialize(d)? {
        Status::Num(n) => Ok(n),
        Status::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("status {s:?} is not an HTTP status"))),
    }
}
