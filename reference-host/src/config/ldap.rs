//! `[connector.ldap]`: the Generic LDAP connector's settings and their checks.

use crate::dn::Dn;
use crate::secret::SecretSource;
use scim_proto::AttrName;
use serde::Deserialize;
use std::path::PathBuf;

use super::{
    AttributeConfig, ConfigError, ConnectorConfig, LdapAnchor, check_selected, default_page_size,
    default_timeout,
};

/// `[connector.ldap]`: the Generic LDAP connector's Connectivity, Object Types and Select
/// Attributes pages.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// PEM certificate(s) to trust for LDAPS/StartTLS, relative to the configuration file.
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// The connector's account.
    pub bind_dn: String,
    /// Its password.
    pub bind_password: SecretSource,
    /// The partition: users are imported from, and created under, this DN.
    pub base_dn: String,
    /// The structural object class of a user (`inetOrgPerson`, AD LDS `user`).
    pub object_class: String,
    /// The anchor: `-dn-`, `entryUUID` or `objectGUID`.
    #[serde(default)]
    pub anchor: LdapAnchor,
    /// The directory attribute that `export_password` sets (default `userPassword`; AD and
    /// AD LDS: `unicodePwd`, written as the quoted password in UTF-16LE, over TLS).
    #[serde(default = "default_password_attribute")]
    pub password_attribute: String,
    /// Entries per page of a full import (paged-results control).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds one directory operation may take before the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How many times more an add is tried when the directory answers noSuchObject (LDAP 32)
    /// for a container that exists, after 50 ms, then 100 ms, 200 ms and so on; 0 answers
    /// such an add 400 as a missing container at once. 389 Directory Server answers so now
    /// and then while concurrent writes beneath the container keep replacing it in its entry
    /// cache (its error log: `find_entry_internal_dn - Retry count exceeded`). Default 3.
    #[serde(default = "default_add_retries")]
    pub add_retries: u32,
    /// The selected attributes (Select Attributes page). `-dn-` is always exposed.
    pub attributes: Vec<AttributeConfig>,
}

fn default_add_retries() -> u32 {
    3
}

fn default_password_attribute() -> String {
    "userPassword".into()
}

impl LdapConfig {
    pub(super) fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        let scheme = self
            .url
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("ldap") => {}
            Some("ldaps") if self.starttls => {
                return Err(ConfigError::invalid(
                    c.key("ldap.starttls"),
                    "StartTLS applies to ldap:// URLs; an ldaps:// URL is already TLS",
                ));
            }
            Some("ldaps") => {}
            _ => {
                return Err(ConfigError::invalid(
                    c.key("ldap.url"),
                    format!("{:?} is not an ldap:// or ldaps:// URL", self.url),
                ));
            }
        }
        Dn::parse(&self.base_dn)
            .map_err(|e| ConfigError::invalid(c.key("ldap.base_dn"), e.to_string()))?;
        Dn::parse(&self.bind_dn)
            .map_err(|e| ConfigError::invalid(c.key("ldap.bind_dn"), e.to_string()))?;
        AttrName::parse(&self.object_class)
            .map_err(|e| ConfigError::invalid(c.key("ldap.object_class"), e.to_string()))?;
        if self.page_size == 0 {
            return Err(ConfigError::invalid(
                c.key("ldap.page_size"),
                "must be greater than 0",
            ));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                c.key("ldap.timeout_seconds"),
                "must be greater than 0",
            ));
        }
        check_selected(
            c,
            "ldap.attributes",
            self.attributes.iter().map(|a| (a.name.as_str(), a.kind)),
        )?;
        Ok(())
    }
}
