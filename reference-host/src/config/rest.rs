//! `[connector.rest]`: the Web Services connector's settings and their checks.

use crate::secret::SecretSource;
use scim_proto::schema::AttrType;
use serde::Deserialize;
use std::path::PathBuf;

use super::{
    ConfigError, ConnectorConfig, check_anchor, check_selected, default_retries,
    default_scim_page_size, default_timeout, target_url,
};

/// `[connector.rest]`: the Web Services connector — a REST API as the target, reached through
/// request templates (Microsoft, "Web Services connector" for ECMA2Host: operations as
/// configured calls, responses mapped to attributes). The contract is in
/// `reference_host::connector::rest`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// The API's base URL; every template's path is appended. `http://` only for loopback
    /// addresses.
    pub url: String,
    /// How the connector signs in: `{ bearer = { env = … } }` or
    /// `{ basic = { username = "…", password = { env = … } } }`.
    pub auth: RestAuth,
    /// A PEM file of the CA certificates to trust for the API (the system's otherwise).
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// The anchor attribute: its value addresses an object (`{anchor}` in paths); given on
    /// create, never changed. The SCIM `id` is its value; the DN is `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// Objects per import page (`{page_size}` in the import path).
    #[serde(default = "default_scim_page_size")]
    pub page_size: u32,
    /// Seconds one request may take.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How often a read (an import page, a read of one object) that met a 5xx answer or no
    /// answer is tried again before the host answers 503. Writes are never repeated.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The full import: a GET, page by page.
    pub import: RestImport,
    /// Reading one object (used when the API says an object to be created exists already).
    #[serde(default)]
    pub read: Option<RestRequest>,
    /// Creating an object.
    pub create: RestRequest,
    /// Changing an object's attributes.
    pub update: RestRequest,
    /// Removing an object.
    pub delete: RestRequest,
    /// The selected attributes: `{ name, read = "$.json.path", type, treat_as_single_value,
    /// case_exact }`; `read` is an RFC 9535 JSONPath into one object of the API. A
    /// deprovisioning flow's attribute is listed here too, for its path; it is then not
    /// exposed to Entra.
    pub attributes: Vec<RestAttributeConfig>,
}

/// `auth`: how the Web Services connector signs in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RestAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretSource),
    /// `Authorization: Basic …` (RFC 7617).
    Basic {
        /// The account.
        username: String,
        /// Its password.
        password: SecretSource,
    },
}

/// `[connector.rest.import]`: a page of the full import.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestImport {
    /// The path and query of one page: `{page_size}`, `{cursor}` (empty on the first page;
    /// cursor paging) and `{page}` (1-based; page-number paging) are filled in, URL-encoded.
    pub path: String,
    /// JSONPath to the page's array of objects (`$.data`).
    pub items: String,
    /// JSONPath to the next page's cursor (`$.next`): cursor paging, ended by a missing, null
    /// or empty cursor. Without it, page-number paging, ended by an empty page, a 404 past the
    /// first page or a page shorter than the longest seen.
    #[serde(default)]
    pub next: Option<String>,
}

/// One request template.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestRequest {
    /// The method (`POST`, `PUT`, `PATCH`, `DELETE`, `GET`).
    pub method: String,
    /// The path: `{anchor}` is filled in, URL-encoded.
    pub path: String,
    /// The JSON body: a string that is exactly `"{Name}"` stands for attribute `Name`'s value
    /// (typed; an array for a multi-valued one). On create, members whose attribute has no value
    /// are left out; on update, only members whose attribute changed are sent (`null` when
    /// cleared). Other members are sent as written.
    #[serde(default)]
    pub body: Option<toml::Value>,
}

/// One selected attribute of the Web Services connector.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestAttributeConfig {
    /// The attribute's name (what Entra maps to, and `{Name}` in body templates).
    pub name: String,
    /// RFC 9535 JSONPath to its value in one object of the API (`$.name.last`).
    pub read: String,
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

impl RestConfig {
    pub(super) fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        let url = target_url(&self.url, c.key("rest.url"), "rest.auth")?;
        let loopback = url.host_str().is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(ConfigError::invalid(
                c.key("rest.url"),
                "must be https:// (http:// only for a loopback address): credentials travel with every request",
            ));
        }
        for (key, n) in [
            ("rest.page_size", u64::from(self.page_size)),
            ("rest.timeout_seconds", self.timeout_seconds),
        ] {
            if n == 0 {
                return Err(ConfigError::invalid(c.key(key), "must be greater than 0"));
            }
        }
        for (key, method) in [
            ("rest.create.method", &self.create.method),
            ("rest.update.method", &self.update.method),
            ("rest.delete.method", &self.delete.method),
        ] {
            if !["POST", "PUT", "PATCH", "DELETE", "GET"]
                .contains(&method.to_ascii_uppercase().as_str())
            {
                return Err(ConfigError::invalid(
                    c.key(key),
                    format!("{method:?}: use POST, PUT, PATCH, DELETE or GET"),
                ));
            }
        }
        check_selected(
            c,
            "rest.attributes",
            self.attributes.iter().map(|a| (a.name.as_str(), a.kind)),
        )?;
        check_anchor(
            c,
            "rest",
            &self.anchor,
            self.attributes.iter().map(|a| a.name.as_str()),
        )?;
        Ok(())
    }
}
