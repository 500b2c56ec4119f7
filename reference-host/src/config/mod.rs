//! The host's configuration file (TOML), after ECMA2Host's configuration wizard: one `[server]`
//! and one `[[connector]]` per connector, each with its target settings, selected attributes and
//! deprovisioning flows. `examples/ecma-host-openldap.toml` shows every key with a comment.
//!
//! Loading validates everything that can be checked without touching a target, and every error
//! names the key it is about (`connector "LDAP": ldap.base_dn: …`).
//!
//! What every connector has is here (`[server]`, `[[connector]]`, deprovisioning, the checks
//! of selected attributes); each connector kind's section is in a module of its own: `ldap`,
//! `sql`, `script`, `scim`, `rest`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use scim_proto::AttrName;
use scim_proto::schema::AttrType;
use serde::Deserialize;

use crate::secret::SecretSource;

/// Shared words, from `ecma-vocab` (re-exported so `reference_host::config::…` paths keep
/// working).
pub use ecma_vocab::sql::{SqlEngine, sql_identifier};
pub use ecma_vocab::{ConfigError, FlowAction, LdapAnchor};

mod ldap;
mod rest;
mod scim;
mod script;
mod sql;

pub use ldap::LdapConfig;
pub use rest::{RestAttributeConfig, RestAuth, RestConfig, RestImport, RestRequest};
pub use scim::{ScimAttributeConfig, ScimConfig};
pub use script::{ScriptConfig, ScriptMode};
pub use sql::{ProcedureConfig, ProceduresConfig, SqlConfig};

/// The shortest secret token accepted, as the ECMA2Host wizard requires.
pub const MIN_TOKEN_CHARS: usize = 12;
/// The default limit on request bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and TLS.
    #[serde(default)]
    pub server: ServerConfig,
    /// The connectors, each served at `/ecma2host_{name}/scim`.
    #[serde(rename = "connector", default)]
    pub connectors: Vec<ConnectorConfig>,
}

/// `[server]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; ECMA2Host's default port is 8585.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Certificate and key; `ecma-host gen-cert` writes a pair.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP. Refused unless set explicitly, and only for loopback testing.
    #[serde(default)]
    pub plain_http: bool,
    /// Largest request body accepted; larger bodies get 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Threads serving requests: 1 (the default) serves every connection and the connector's
    /// own work on one thread (tokio's current-thread runtime); 2 or more, on that many
    /// worker threads that steal work from each other (the multi-thread runtime). One thread
    /// answers some 10,000 requests a second, far beyond what the provisioning service sends
    /// (a gallery SCIM app must take 25 a second), and on two cores shared with slapd it
    /// gets 0.7 of slapd's own write rate where two threads get 0.5: waking another thread
    /// costs more than the work handed to it (README "Performance"). An import frees its
    /// table of seen objects and the objects it removes on a thread of its own, so one thread
    /// keeps answering during a re-import.
    #[serde(default = "default_worker_threads")]
    pub worker_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            tls: None,
            plain_http: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            worker_threads: default_worker_threads(),
        }
    }
}

fn default_worker_threads() -> usize {
    1
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8585))
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

/// `[server.tls]`: PEM files, relative to the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// `[[connector]]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Case-sensitive name used in `/ecma2host_{name}/scim`.
    pub name: String,
    /// The secret token Entra sends as a bearer token (at least 12 characters).
    pub token: SecretSource,
    /// Minutes between full imports of the target; 0 turns autosync off.
    #[serde(default = "default_autosync")]
    pub autosync_minutes: u64,
    /// Most resources one list response holds.
    #[serde(default = "default_max_results")]
    pub max_results: usize,
    /// What disable and delete do to the target.
    #[serde(default)]
    pub deprovisioning: Deprovisioning,
    /// An LDAP directory target.
    #[serde(default)]
    pub ldap: Option<LdapConfig>,
    /// A SQL database target.
    #[serde(default)]
    pub sql: Option<SqlConfig>,
    /// A script target: a program the host runs per operation (the PowerShell connector's
    /// analogue).
    #[serde(default)]
    pub script: Option<ScriptConfig>,
    /// An on-premises SCIM 2.0 endpoint as the target: the host is its SCIM client.
    #[serde(default)]
    pub scim: Option<ScimConfig>,
    /// A web service as the target (the Web Services connector): request templates over a
    /// REST API.
    #[serde(default)]
    pub rest: Option<RestConfig>,
    /// A plug-in connector: one registered in code with `Host::builder().connector(type, …)`
    /// (ECMA 2.0's custom connectors).
    #[serde(default)]
    pub plugin: Option<PluginConfig>,
}

/// `[connector.plugin]`: a connector built by code registered with the host
/// (`reference_host::HostBuilder::connector`), as ECMA2Host loads a custom ECMA 2.0 connector's
/// DLL and hands it the wizard's parameters (Microsoft, "Microsoft Entra ECMA Connector Host
/// generic … connector" pages: the connector's own configuration parameters).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The type the connector's factory was registered under (`"csv"`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The connector's own settings, passed to its factory as they are; the factory checks
    /// them and names the key when one is wrong.
    #[serde(default)]
    pub parameters: toml::Table,
}

fn default_autosync() -> u64 {
    120
}

fn default_max_results() -> usize {
    1000
}

/// `[connector.deprovisioning]`: the wizard's Deprovisioning page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprovisioning {
    /// What a PATCH setting `active` to false does.
    #[serde(default)]
    pub disable_flow: FlowAction,
    /// What DELETE does.
    #[serde(default)]
    pub delete_flow: FlowAction,
}

fn default_page_size() -> u32 {
    500
}

fn default_timeout() -> u64 {
    30
}

/// One selected attribute.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeConfig {
    /// The target attribute's name, exactly as the target spells it.
    pub name: String,
    /// The wizard's "Treat as single value". Unset means multi-valued (as for `objectClass`).
    #[serde(default)]
    pub treat_as_single_value: bool,
    /// `string` (default), `boolean` or `integer`; SQL columns also `decimal`, `dateTime`
    /// (RFC 3339, written and read in UTC), `binary` (base64) and `reference`. The column's
    /// own type is learned from the database, which must be able to carry this one.
    #[serde(default, rename = "type")]
    pub kind: AttrType,
    /// Whether filters compare this attribute's values case-sensitively.
    #[serde(default)]
    pub case_exact: bool,
}

impl Config {
    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text without validating it.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| ecma_vocab::toml_error(text, &e))
    }

    /// Checks everything that can be checked without reading secrets or touching a target.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.server.tls, self.server.plain_http) {
            (None, false) => {
                return Err(ConfigError::invalid(
                    "server.tls",
                    "missing: give a certificate and key (ecma-host gen-cert writes a pair), or set \
                     server.plain_http = true for loopback testing",
                ));
            }
            (Some(_), true) => {
                return Err(ConfigError::invalid(
                    "server.plain_http",
                    "cannot be true when server.tls is set",
                ));
            }
            _ => {}
        }
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be greater than 0",
            ));
        }
        if self.server.worker_threads == 0 {
            return Err(ConfigError::invalid(
                "server.worker_threads",
                "must be 1 or more (leave it out for one)",
            ));
        }
        if self.connectors.is_empty() {
            return Err(ConfigError::invalid(
                "connector",
                "at least one [[connector]] is needed",
            ));
        }
        for (i, c) in self.connectors.iter().enumerate() {
            if self.connectors[..i].iter().any(|o| o.name == c.name) {
                return Err(ConfigError::invalid(
                    format!("connector {:?}: name", c.name),
                    "two connectors have this name",
                ));
            }
            c.validate()?;
        }
        Ok(())
    }
}

impl ConnectorConfig {
    fn key(&self, key: &str) -> String {
        format!("connector {:?}: {key}", self.name)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ConfigError::invalid(
                self.key("name"),
                "must be non-empty and made of ASCII letters, digits, '_' and '-' (it is part of the URL)",
            ));
        }
        if self.max_results == 0 {
            return Err(ConfigError::invalid(
                self.key("max_results"),
                "must be greater than 0",
            ));
        }
        let given: Vec<&str> = [
            ("ldap", self.ldap.is_some()),
            ("sql", self.sql.is_some()),
            ("script", self.script.is_some()),
            ("scim", self.scim.is_some()),
            ("rest", self.rest.is_some()),
            ("plugin", self.plugin.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if given.len() > 1 {
            return Err(ConfigError::invalid(
                self.key(given[1]),
                format!(
                    "a connector has one target: [connector.{}] or [connector.{}], not both",
                    given[0], given[1]
                ),
            ));
        }
        let selected: Vec<&AttributeConfig> = match (&self.ldap, &self.sql, &self.script) {
            (Some(ldap), _, _) => {
                ldap.validate(self)?;
                ldap.attributes.iter().collect()
            }
            (None, Some(sql), _) => {
                sql.validate(self)?;
                sql.attributes.iter().collect()
            }
            (None, None, Some(script)) => {
                script.validate(self)?;
                script.attributes.iter().collect()
            }
            (None, None, None) => match (&self.scim, &self.rest, &self.plugin) {
                (Some(scim), _, _) => {
                    scim.validate(self)?;
                    // Checked against the deprovisioning attribute by name below.
                    Vec::new()
                }
                (None, Some(rest), _) => {
                    rest.validate(self)?;
                    // Checked against the deprovisioning attribute by name below.
                    Vec::new()
                }
                (None, None, Some(plugin)) => {
                    if plugin.kind.is_empty() {
                        return Err(ConfigError::invalid(
                            self.key("plugin.type"),
                            "must name the type the connector was registered under",
                        ));
                    }
                    // A plug-in's attributes are its own: its factory checks them.
                    Vec::new()
                }
                (None, None, None) => {
                    return Err(ConfigError::invalid(
                        self.key("ldap"),
                        "missing: every connector needs a target, [connector.ldap], \
                         [connector.sql], [connector.script], [connector.scim], \
                         [connector.rest] or [connector.plugin]",
                    ));
                }
            },
        };
        for (flow, action) in [
            (
                "deprovisioning.disable_flow",
                &self.deprovisioning.disable_flow,
            ),
            (
                "deprovisioning.delete_flow",
                &self.deprovisioning.delete_flow,
            ),
        ] {
            if let FlowAction::SetAttribute { attribute, .. } = action {
                AttrName::parse(attribute)
                    .map_err(|e| ConfigError::invalid(self.key(flow), e.to_string()))?;
                if self.sql.is_some() {
                    sql_identifier(attribute)
                        .map_err(|e| ConfigError::invalid(self.key(flow), e))?;
                }
                if selected
                    .iter()
                    .any(|a| a.name.eq_ignore_ascii_case(attribute))
                    || self.scim.as_ref().is_some_and(|scim| {
                        scim.attributes
                            .iter()
                            .any(|a| a.name.eq_ignore_ascii_case(attribute))
                    })
                {
                    return Err(ConfigError::invalid(
                        self.key(flow),
                        format!(
                            "{attribute:?} is a selected attribute; as in ECMA2Host, the deprovisioning \
                             attribute must not be one"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn default_retries() -> u32 {
    3
}

fn default_scim_page_size() -> u32 {
    100
}

/// `url` with what stands before an `@` in its authority replaced by `***`: a URL that fails
/// to parse is quoted in the error, and must not carry a password there.
fn without_userinfo(url: &str) -> String {
    // Up to the last '@' anywhere: a URL that did not parse may have a '/' in its password.
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// A target's URL (`key` names it), refused when it does not parse or carries a user name or
/// password (credentials belong in `credentials`, read from a file or the environment); the
/// error never quotes a credential.
fn target_url(raw: &str, key: String, credentials: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(raw)
        .map_err(|e| ConfigError::invalid(&key, format!("{:?}: {e}", without_userinfo(raw))))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            key,
            format!(
                "holds a user name or password; give credentials in {credentials}, read from a file or the environment"
            ),
        ));
    }
    Ok(url)
}

/// Checks a connector's selected attributes (`section` is `ldap.attributes`, …): each a valid
/// attribute name (RFC 4512 §1.4), listed once (compared without case), of a type the
/// connector carries — string, boolean or integer. Errors name the entry: `ldap.attributes[2]`.
fn check_selected<'a>(
    c: &ConnectorConfig,
    section: &str,
    attributes: impl IntoIterator<Item = (&'a str, AttrType)>,
) -> Result<(), ConfigError> {
    let attributes: Vec<(&str, AttrType)> = attributes.into_iter().collect();
    for (i, (name, kind)) in attributes.iter().enumerate() {
        let key = || c.key(&format!("{section}[{i}]"));
        AttrName::parse(name).map_err(|e| ConfigError::invalid(key(), e.to_string()))?;
        if attributes[..i]
            .iter()
            .any(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            return Err(ConfigError::invalid(
                key(),
                format!("{name:?} is listed twice"),
            ));
        }
        if !matches!(
            kind,
            AttrType::String | AttrType::Boolean | AttrType::Integer
        ) {
            return Err(ConfigError::invalid(
                key(),
                format!(
                    "type {:?} is not supported; use string, boolean or integer",
                    kind.noun()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that `anchor` is one of the selected attributes `names` of `section` (`script`,
/// `rest`); the error names `{section}.anchor`.
fn check_anchor<'a>(
    c: &ConnectorConfig,
    section: &str,
    anchor: &str,
    mut names: impl Iterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    if names.any(|n| n.eq_ignore_ascii_case(anchor)) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            c.key(&format!("{section}.anchor")),
            format!("{anchor:?} must be one of {section}.attributes"),
        ))
    }
}
