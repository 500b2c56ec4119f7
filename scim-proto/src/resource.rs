//! Resources (RFC 7643 §4): User with the enterprise and ECMA2Host extensions, Group, Meta.
//!
//! Fields are named as in the RFC and serialised in camelCase. Deserialisation is lenient where
//! Entra has been seen to differ from the RFC: explicit `null` (`"addresses": null` in older Entra
//! samples) reads as absent, an empty list stays an empty list, and `active` accepts the strings `"True"`/`"False"`.
//! Members the types do not model, including top-level URN-qualified keys such as
//! `"urn:…:ECMA2Host:2.0:User:sn": "Simon"`, are kept in `other` in their original order.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::urn;

/// A User (RFC 7643 §4.1) with the enterprise (§4.3) and ECMA2Host extensions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Schema URNs the resource uses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Service-provider-assigned identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Client-assigned identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Unique login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Components of the user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Name for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Casual name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Relationship to the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Administrative status; `"True"`/`"False"` strings are accepted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub active: Option<bool>,
    /// Clear-text password (write-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<MultiValued>>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_numbers: Option<Vec<MultiValued>>,
    /// Instant-messaging addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ims: Option<Vec<MultiValued>>,
    /// Photo URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<MultiValued>>,
    /// Physical addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Address>>,
    /// Groups the user belongs to (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<MultiValued>>,
    /// Entitlements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<Vec<MultiValued>>,
    /// Roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<MultiValued>>,
    /// Certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificates: Option<Vec<MultiValued>>,
    /// The enterprise extension.
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// The ECMA2Host extension: target attribute name → value(s).
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ecma2host: Option<Ecma2HostUser>,
    /// Resource metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other member, in the order sent.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// The members a User has, as RFC 7643 spells them: names compared without case are read as
/// these (RFC 7643 §2.1: attribute names and schema URNs are case-insensitive).
const USER_MEMBERS: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "meta",
    urn::ENTERPRISE_USER,
    urn::ECMA2HOST_USER,
];

/// Schema URNs whose attributes may be given as top-level `<urn>:<attribute>` keys.
const QUALIFYING_URNS: [&str; 3] = [urn::ECMA2HOST_USER, urn::ENTERPRISE_USER, urn::CORE_USER];

impl User {
    /// A User from JSON whose member names and schema URNs may be written in any case (RFC 7643
    /// §2.1): `Active`, `USERNAME`, `urn:…:ecma2host:2.0:user` and `urn:…:ECMA2HOST:2.0:USER:sn`
    /// are read as `active`, `userName`, the ECMA2Host extension and its `sn`. Serde alone
    /// matches names exactly, and a member it does not recognise would silently land in
    /// [`User::other`].
    pub fn from_json(mut value: Value) -> Result<User, serde_json::Error> {
        if let Value::Object(map) = &mut value {
            let members = std::mem::take(map);
            for (key, v) in members {
                let canonical = USER_MEMBERS
                    .iter()
                    .find(|m| m.eq_ignore_ascii_case(&key))
                    .map(|m| (*m).to_owned())
                    .or_else(|| {
                        QUALIFYING_URNS.iter().find_map(|u| {
                            let prefix = key.get(..u.len() + 1)?;
                            (prefix[..u.len()].eq_ignore_ascii_case(u) && prefix.ends_with(':'))
                                .then(|| format!("{u}:{}", &key[u.len() + 1..]))
                        })
                    })
                    .unwrap_or(key);
                map.insert(canonical, v);
            }
        }
        serde_json::from_value(value)
    }
}

/// The ECMA2Host extension (`urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User`): an
/// ordered map from target attribute name (`-dn-`, `objectClass`, `cn`, a column name) to its
/// value or values as sent. Typing against the connector's schema is the host's job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ecma2HostUser(pub IndexMap<String, Value>);

impl Ecma2HostUser {
    /// The value of a target attribute, its name compared without case.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// The components of a user's name (RFC 7643 §4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle name(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Honorific prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// Honorific suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// One value of a multi-valued attribute (RFC 7643 §2.4): emails, phone numbers, groups, …
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiValued {
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The value's function (`work`, `home`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The preferred value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub primary: Option<bool>,
    /// URI of a referenced resource (Entra sends `"$ref": null`).
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A physical mailing address (RFC 7643 §4.1.2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Full address, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City or locality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `work`, `home`, `other`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The preferred address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub primary: Option<bool>,
}

/// The enterprise user extension (RFC 7643 §4.3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

/// A reference to the user's manager.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// The manager's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// URI of the manager's resource.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The manager's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A Group (RFC 7643 §4.2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Schema URNs the resource uses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Service-provider-assigned identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Client-assigned identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Name for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MultiValued>>,
    /// Resource metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other member, in the order sent.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// Resource metadata (RFC 7643 §3.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User`, `Group`, `Schema`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Entity tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl User {
    /// True when `schemas` lists `urn` (ignoring case).
    pub fn has_schema(&self, urn: &str) -> bool {
        self.schemas.iter().any(|s| s.eq_ignore_ascii_case(urn))
    }

    /// An empty user carrying the core and ECMA2Host schema URNs.
    pub fn ecma(attributes: IndexMap<String, Value>) -> Self {
        User {
            schemas: vec![urn::CORE_USER.into(), urn::ECMA2HOST_USER.into()],
            ecma2host: Some(Ecma2HostUser(attributes)),
            ..User::default()
        }
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => crate::patch::parse_bool(&v).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a boolean or \"True\"/\"False\", found {v}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_names_and_schema_urns_are_read_in_any_case() {
        let lower = urn::ECMA2HOST_USER.to_lowercase();
        let user = User::from_json(json!({
            "SCHEMAS": [urn::CORE_USER, lower],
            "Active": "False",
            "USERNAME": "b@x",
            lower.clone(): {"cn": "b"},
            format!("{}:SN", urn::ECMA2HOST_USER.to_uppercase()): "Simon",
        }))
        .unwrap();
        assert_eq!(user.active, Some(false));
        assert_eq!(user.user_name.as_deref(), Some("b@x"));
        assert_eq!(user.schemas.len(), 2);
        assert_eq!(user.ecma2host.unwrap().get("cn"), Some(&json!("b")));
        assert_eq!(
            user.other.get(&format!("{}:SN", urn::ECMA2HOST_USER)),
            Some(&json!("Simon"))
        );
    }
}
