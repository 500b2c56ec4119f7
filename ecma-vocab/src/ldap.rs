//! LDAP words: the anchors an LDAP connector offers, and result codes by name (RFC 4511
//! §4.1.9 and Appendix A).

use serde::Deserialize;

/// Where the SCIM `id` of an LDAP object comes from (the Generic LDAP connector's anchor
/// choice, spelled as in its configuration: `-dn-`, `entryUUID`, `objectGUID`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
pub enum LdapAnchor {
    /// The entry's DN (the anchor Microsoft lists for OpenLDAP and most directories).
    #[default]
    #[serde(rename = "-dn-")]
    Dn,
    /// OpenLDAP's `entryUUID` operational attribute (RFC 4530).
    #[serde(rename = "entryUUID")]
    EntryUuid,
    /// AD LDS's `objectGUID`: 16 bytes, shown as a GUID string (Microsoft's byte order).
    #[serde(rename = "objectGUID")]
    ObjectGuid,
}

impl LdapAnchor {
    /// The name as configuration files spell it.
    pub fn name(self) -> &'static str {
        match self {
            LdapAnchor::Dn => "-dn-",
            LdapAnchor::EntryUuid => "entryUUID",
            LdapAnchor::ObjectGuid => "objectGUID",
        }
    }
}

/// LDAP result codes (RFC 4511 Appendix A.2), as the numbers ldap3 and ldap3_proto carry.
pub mod code {
    #![allow(missing_docs)]
    pub const SUCCESS: u32 = 0;
    pub const OPERATIONS_ERROR: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
    pub const TIME_LIMIT_EXCEEDED: u32 = 3;
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    pub const COMPARE_FALSE: u32 = 5;
    pub const COMPARE_TRUE: u32 = 6;
    pub const AUTH_METHOD_NOT_SUPPORTED: u32 = 7;
    pub const STRONGER_AUTH_REQUIRED: u32 = 8;
    pub const REFERRAL: u32 = 10;
    pub const ADMIN_LIMIT_EXCEEDED: u32 = 11;
    pub const UNAVAILABLE_CRITICAL_EXTENSION: u32 = 12;
    pub const CONFIDENTIALITY_REQUIRED: u32 = 13;
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub const UNDEFINED_ATTRIBUTE_TYPE: u32 = 17;
    pub const INAPPROPRIATE_MATCHING: u32 = 18;
    pub const CONSTRAINT_VIOLATION: u32 = 19;
    pub const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    pub const INVALID_ATTRIBUTE_SYNTAX: u32 = 21;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_DN_SYNTAX: u32 = 34;
    pub const INAPPROPRIATE_AUTHENTICATION: u32 = 48;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const INSUFFICIENT_ACCESS_RIGHTS: u32 = 50;
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
    pub const UNWILLING_TO_PERFORM: u32 = 53;
    pub const NAMING_VIOLATION: u32 = 64;
    pub const OBJECT_CLASS_VIOLATION: u32 = 65;
    pub const NOT_ALLOWED_ON_NON_LEAF: u32 = 66;
    pub const NOT_ALLOWED_ON_RDN: u32 = 67;
    pub const ENTRY_ALREADY_EXISTS: u32 = 68;
    pub const OBJECT_CLASS_MODS_PROHIBITED: u32 = 69;
    pub const OTHER: u32 = 80;
}

/// Every named result code: (number, RFC 4511 name).
const NAMES: &[(u32, &str)] = &[
    (code::SUCCESS, "success"),
    (code::OPERATIONS_ERROR, "operationsError"),
    (code::PROTOCOL_ERROR, "protocolError"),
    (code::TIME_LIMIT_EXCEEDED, "timeLimitExceeded"),
    (code::SIZE_LIMIT_EXCEEDED, "sizeLimitExceeded"),
    (code::COMPARE_FALSE, "compareFalse"),
    (code::COMPARE_TRUE, "compareTrue"),
    (code::AUTH_METHOD_NOT_SUPPORTED, "authMethodNotSupported"),
    (code::STRONGER_AUTH_REQUIRED, "strongerAuthRequired"),
    (code::REFERRAL, "referral"),
    (code::ADMIN_LIMIT_EXCEEDED, "adminLimitExceeded"),
    (
        code::UNAVAILABLE_CRITICAL_EXTENSION,
        "unavailableCriticalExtension",
    ),
    (code::CONFIDENTIALITY_REQUIRED, "confidentialityRequired"),
    (code::NO_SUCH_ATTRIBUTE, "noSuchAttribute"),
    (code::UNDEFINED_ATTRIBUTE_TYPE, "undefinedAttributeType"),
    (code::INAPPROPRIATE_MATCHING, "inappropriateMatching"),
    (code::CONSTRAINT_VIOLATION, "constraintViolation"),
    (code::ATTRIBUTE_OR_VALUE_EXISTS, "attributeOrValueExists"),
    (code::INVALID_ATTRIBUTE_SYNTAX, "invalidAttributeSyntax"),
    (code::NO_SUCH_OBJECT, "noSuchObject"),
    (code::INVALID_DN_SYNTAX, "invalidDNSyntax"),
    (
        code::INAPPROPRIATE_AUTHENTICATION,
        "inappropriateAuthentication",
    ),
    (code::INVALID_CREDENTIALS, "invalidCredentials"),
    (code::INSUFFICIENT_ACCESS_RIGHTS, "insufficientAccessRights"),
    (code::BUSY, "busy"),
    (code::UNAVAILABLE, "unavailable"),
    (code::UNWILLING_TO_PERFORM, "unwillingToPerform"),
    (code::NAMING_VIOLATION, "namingViolation"),
    (code::OBJECT_CLASS_VIOLATION, "objectClassViolation"),
    (code::NOT_ALLOWED_ON_NON_LEAF, "notAllowedOnNonLeaf"),
    (code::NOT_ALLOWED_ON_RDN, "notAllowedOnRDN"),
    (code::ENTRY_ALREADY_EXISTS, "entryAlreadyExists"),
    (
        code::OBJECT_CLASS_MODS_PROHIBITED,
        "objectClassModsProhibited",
    ),
    (code::OTHER, "other"),
];

/// The RFC 4511 name of a result code (`constraintViolation`), or `unknown`.
pub fn result_name(rc: u32) -> &'static str {
    NAMES
        .iter()
        .find(|(n, _)| *n == rc)
        .map_or("unknown", |(_, name)| name)
}

/// The code an RFC 4511 name stands for (exact spelling, as the RFC writes it).
pub fn result_code(name: &str) -> Option<u32> {
    NAMES.iter().find(|(_, n)| *n == name).map(|(rc, _)| *rc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_go_both_ways() {
        for (rc, name) in NAMES {
            assert_eq!(result_name(*rc), *name);
            assert_eq!(result_code(name), Some(*rc));
        }
        assert_eq!(result_name(999), "unknown");
        assert_eq!(result_code("ConstraintViolation"), None);
    }

    #[test]
    fn anchors_read_as_configuration_spells_them() {
        #[derive(Deserialize)]
        struct A {
            anchor: LdapAnchor,
        }
        for anchor in [
            LdapAnchor::Dn,
            LdapAnchor::EntryUuid,
            LdapAnchor::ObjectGuid,
        ] {
            let a: A = toml::from_str(&format!("anchor = \"{}\"", anchor.name())).unwrap();
            assert_eq!(a.anchor, anchor);
        }
        assert!(toml::from_str::<A>("anchor = \"entryuuid\"").is_err());
    }
}
