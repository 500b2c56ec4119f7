//! `[connector.scim]`: the SCIM connector's settings and their checks.

use crate::secret::SecretSource;
use scim_proto::schema::AttrType;
use serde::Deserialize;
use std::path::PathBuf;

use super::{
    ConfigError, ConnectorConfig, check_selected, default_scim_page_size, default_timeout,
    target_url,
};

/// `[connector.scim]`: an on-premises application's SCIM 2.0 endpoint (RFC 7644) as the
/// target, the host its client: full imports page through `GET /Users`, creates `POST`,
/// updates `PATCH` with RFC 7644 §3.5.2 operations, deletes `DELETE`. The anchor is the
/// endpoint's `id`; the DN is `CN=<id>,OBJECT=USER`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfig {
    /// The endpoint's base URL (`https://hr.contoso.lab/scim/v2`); `/Users` is appended.
    /// `http://` only for loopback addresses.
    pub url: String,
    /// The bearer token the endpoint expects.
    pub token: SecretSource,
    /// A PEM file of the CA certificates to trust for the endpoint (the system's trust store
    /// otherwise).
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// Resources per page of a full import (`count`).
    #[serde(default = "default_scim_page_size")]
    pub page_size: u32,
    /// Seconds one request may take before the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// The selected attribute (its `name`) whose value identifies a user at the endpoint, as
    /// `userName` does in RFC 7643 §4.1.1: after a create the endpoint answers 409, the
    /// connector finds the user it collided with by `filter=<path> eq "<value>"`, so the
    /// connector space knows it (a create whose answer was lost; ECMA-ROBUST-017). `None`: the
    /// attribute whose `path` is `userName`, if one is selected.
    #[serde(default)]
    pub unique_attribute: Option<String>,
    /// The selected attributes: `name` is the host's (what Entra maps to), `path` the
    /// endpoint's attribute (`userName`, `name.familyName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`); the name
    /// when left out.
    pub attributes: Vec<ScimAttributeConfig>,
}

/// One selected attribute of a SCIM target.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimAttributeConfig {
    /// The host's name for it.
    pub name: String,
    /// The endpoint's attribute path; `name` when left out.
    #[serde(default)]
    pub path: Option<String>,
    /// The wizard's "Treat as single value".
    #[serde(default)]
    pub treat_as_single_value: bool,
    /// `string` (default), `boolean` or `integer`.
    #[serde(default, rename = "type")]
    pub kind: AttrType,
    /// Filters compare its values with case.
    #[serde(default)]
    pub case_exact: bool,
}

impl ScimAttributeConfig {
    /// The endpoint's attribute path.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.name)
    }
}

impl ScimConfig {
    /// The attribute that identifies a user at the endpoint ([`ScimConfig::unique_attribute`],
    /// else the one whose `path` is `userName`); `None` when there is none. Errors: the
    /// `unique_attribute` named is not one of `attributes`, or not a single-valued string.
    pub fn unique(&self) -> Result<Option<&ScimAttributeConfig>, String> {
        let single_string =
            |a: &&ScimAttributeConfig| a.treat_as_single_value && a.kind == AttrType::String;
        match &self.unique_attribute {
            Some(u) => {
                let a = self
                    .attributes
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(u))
                    .ok_or_else(|| format!("{u:?} is not one of scim.attributes"))?;
                if single_string(&a) {
                    Ok(Some(a))
                } else {
                    Err(format!(
                        "{u:?} must be a single-valued string (treat_as_single_value)"
                    ))
                }
            }
            None => Ok(self
                .attributes
                .iter()
                .filter(single_string)
                .find(|a| a.path().eq_ignore_ascii_case("userName"))),
        }
    }

    pub(super) fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        let url = target_url(&self.url, c.key("scim.url"), "scim.token")?;
        match url.scheme() {
            "https" => {}
            "http"
                if url.host_str().is_some_and(|h| {
                    h == "localhost"
                        || h.parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                        || h.trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }) => {}
            _ => {
                return Err(ConfigError::invalid(
                    c.key("scim.url"),
                    "must be https:// (http:// only for a loopback address): the bearer token travels with every request",
                ));
            }
        }
        if self.page_size == 0 {
            return Err(ConfigError::invalid(
                c.key("scim.page_size"),
                "must be greater than 0",
            ));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                c.key("scim.timeout_seconds"),
                "must be greater than 0",
            ));
        }
        check_selected(
            c,
            "scim.attributes",
            self.attributes.iter().map(|a| (a.name.as_str(), a.kind)),
        )?;
        if let Some(i) = self.attributes.iter().position(|a| a.path().is_empty()) {
            return Err(ConfigError::invalid(
                c.key(&format!("scim.attributes[{i}]")),
                "the path is empty",
            ));
        }
        self.unique()
            .map_err(|e| ConfigError::invalid(c.key("scim.unique_attribute"), e))?;
        Ok(())
    }
}
