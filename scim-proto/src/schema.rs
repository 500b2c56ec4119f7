//! Discovery documents (RFC 7643 §5–§7): Schema, ResourceType, ServiceProviderConfig.

use serde::{Deserialize, Serialize};

use crate::resource::Meta;

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// Text.
    #[default]
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An RFC 3339 timestamp.
    DateTime,
    /// Base64-encoded bytes.
    Binary,
    /// A URI.
    Reference,
    /// A structure of sub-attributes.
    Complex,
}

impl AttrType {
    /// The type's name as a noun for messages ("a boolean").
    pub fn noun(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex value",
        }
    }
}

/// When and how an attribute may change (RFC 7643 §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Never changed by a client.
    ReadOnly,
    /// Changed freely.
    #[default]
    ReadWrite,
    /// Set on create only.
    Immutable,
    /// Set but never returned (passwords).
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always.
    Always,
    /// Never.
    Never,
    /// Unless excluded.
    #[default]
    Default,
    /// Only when asked for.
    Request,
}

/// How unique an attribute's values are (RFC 7643 §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// Not unique.
    #[default]
    None,
    /// Unique within the service provider.
    Server,
    /// Globally unique.
    Global,
}

/// An attribute definition (RFC 7643 §7). The RFC omits `caseExact` and `uniqueness` on complex
/// attributes; they read as their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its data type.
    #[serde(rename = "type")]
    pub kind: AttrType,
    /// Whether it holds several values.
    pub multi_valued: bool,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a value is required.
    #[serde(default)]
    pub required: bool,
    /// The values it may take, when limited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparison is case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// When it may change.
    #[serde(default)]
    pub mutability: Mutability,
    /// When it is returned.
    #[serde(default)]
    pub returned: Returned,
    /// How unique its values are.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For references, what they may point to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For complex attributes, their sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<SchemaAttribute>,
}

/// A schema (RFC 7643 §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// `["urn:ietf:params:scim:schemas:core:2.0:Schema"]`; the RFC's own example omits it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The schema's URN.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its attributes.
    pub attributes: Vec<SchemaAttribute>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A resource type (RFC 7643 §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]`
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Its identifier (`User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its endpoint relative to the base URL (`/Users`).
    pub endpoint: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The base schema's URN.
    pub schema: String,
    /// Extension schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// An extension schema of a resource type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension's URN.
    pub schema: String,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// The service provider's features (RFC 7643 §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]`
    pub schemas: Vec<String>,
    /// Human-readable help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// PATCH.
    pub patch: Supported,
    /// Bulk.
    pub bulk: BulkConfig,
    /// Filtering.
    pub filter: FilterConfig,
    /// Password change.
    pub change_password: Supported,
    /// Sorting.
    pub sort: Supported,
    /// ETags.
    pub etag: Supported,
    /// How clients authenticate.
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A feature flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is supported.
    pub supported: bool,
}

/// Bulk limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkConfig {
    /// Whether bulk is supported.
    pub supported: bool,
    /// Most operations per request.
    pub max_operations: u64,
    /// Largest payload in bytes.
    pub max_payload_size: u64,
}

/// Filter limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// Whether filtering is supported.
    pub supported: bool,
    /// Most resources returned per response.
    pub max_results: u64,
}

/// An authentication scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// `oauthbearertoken`, `httpbasic`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// Help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// The preferred scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}
