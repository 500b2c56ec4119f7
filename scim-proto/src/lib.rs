//! SCIM 2.0 (RFC 7643, RFC 7644) as the Microsoft Entra provisioning service speaks it to ECMA
//! hosts.
//!
//! What it does:
//! - resources ([`User`] with the enterprise and ECMA2Host extensions, [`Group`]), the
//!   [`ListResponse`] and [`ErrorResponse`] messages, and the discovery documents
//!   ([`schema::Schema`], [`schema::ResourceType`], [`schema::ServiceProviderConfig`]);
//! - attribute paths that understand URN-qualified ECMA2Host names ([`AttrPath`]);
//! - the whole filter grammar with a depth limit and errors that say where ([`Filter`]);
//! - PATCH in both Entra dialects, normalised into one model ([`PatchRequest::normalize`]);
//! - typing JSON values against an attribute's declared type ([`value::coerce`]);
//! - RFC 4514 distinguished names ([`dn`]): ECMA2Host's `-dn-` attribute carries one, and a host
//!   must refuse a value that is not "LDAP style".
//!
//! The filter parser is our own, not `scim_v2`'s or `scim-filter`'s: neither accepts
//! ECMA2Host's attribute names (`-dn-`, `_distinguishedName`), splits URN-qualified paths at the
//! last colon, bounds nesting, or reports error offsets ([`filter`] says more).
//!
//! What it does not do: any I/O, routing or storage; evaluating filters against data (the
//! host owns its data and how to look it up); knowing a particular host's schema.
//!
//! Every type is exercised with the RFCs' example payloads and with every Entra request body
//! quoted in the project's research notes (`tests/it/`).

pub mod attr;
pub mod dn;
pub mod filter;
pub mod message;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod value;

pub use attr::{AttrName, AttrPath, AttrPathError};
pub use filter::{CompValue, CompareOp, Filter, FilterError, FilterErrorKind};
pub use message::{ErrorResponse, ListResponse, ScimType};
pub use patch::{
    PatchError, PatchErrorKind, PatchOpKind, PatchOperation, PatchRequest, PatchTarget,
};
pub use resource::{Ecma2HostUser, EnterpriseUser, Group, Meta, MultiValued, Name, User};

use std::fmt;
use std::str::FromStr;

/// The media type of every SCIM request and response body (RFC 7644 §8.1).
pub const MEDIA_TYPE: &str = "application/scim+json";

/// Schema and message URNs.
pub mod urn {
    /// The core User schema.
    pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// The core Group schema.
    pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// The enterprise User extension.
    pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// The ECMA2Host extension that carries every target attribute.
    pub const ECMA2HOST_USER: &str = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User";
    /// ListResponse message.
    pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    /// PatchOp message.
    pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    /// Error message.
    pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
    /// Schema resource.
    pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
    /// ResourceType resource.
    pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    /// ServiceProviderConfig resource.
    pub const SERVICE_PROVIDER_CONFIG: &str =
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
}

/// The two ways the Entra provisioning service writes PATCH requests (see [`patch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The default: `Add`/`Replace`/`Remove`, `active` as `"False"`, one operation per attribute.
    EntraDefault,
    /// With the `aadOptscim062020` flag: lower-case ops, booleans, path-less replace with dotted
    /// and URN-qualified keys, `members[value eq "…"]`.
    EntraScim2020,
}

impl Dialect {
    /// Both dialects, default first.
    pub const ALL: [Dialect; 2] = [Dialect::EntraDefault, Dialect::EntraScim2020];

    /// The dialect's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::EntraDefault => "entra-default",
            Dialect::EntraScim2020 => "entra-scim2020",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown dialect {s:?} (expected entra-default or entra-scim2020)")
            })
    }
}
