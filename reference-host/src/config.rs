//! The host's configuration file (TOML), after ECMA2Host's configuration wizard: one `[server]`
//! and one `[[connector]]` per connector, each with its target settings, selected attributes and
//! deprovisioning flows. `examples/ecma-host-openldap.toml` shows every key with a comment.
//!
//! Loading validates everything that can be checked without touching a target, and every error
//! names the key it is about (`connector "LDAP": ldap.base_dn: …`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use scim_proto::AttrName;
use scim_proto::schema::AttrType;
use serde::Deserialize;

use crate::dn::Dn;
use crate::secret::SecretSource;

/// Shared words, from `ecma-vocab` (re-exported so `reference_host::config::…` paths keep
/// working).
pub use ecma_vocab::sql::{SqlEngine, sql_identifier};
pub use ecma_vocab::{ConfigError, FlowAction, LdapAnchor};

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
    /// Threads serving requests (the async runtime's workers); all the machine's cores when
    /// unset. A host that shares a small machine with its target does better with fewer: on
    /// two cores with slapd beside it, one thread leaves slapd a core and spares the wake-ups
    /// between threads (README "Performance").
    #[serde(default)]
    pub worker_threads: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            tls: None,
            plain_http: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            worker_threads: None,
        }
    }
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
        if self.server.worker_threads == Some(0) {
            return Err(ConfigError::invalid(
                "server.worker_threads",
                "must be 1 or more (leave it out for one per core)",
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

/// `[connector.sql]`: the Generic SQL connector's Connectivity, Schema and Object Types pages,
/// for PostgreSQL, MySQL/MariaDB and SQLite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://user@host:port/db`, `mysql://user@host:port/db` (`mariadb://` too) or
    /// `sqlite://path` / `sqlite::memory:`. No password in it: that is `password`.
    pub url: String,
    /// The database password, when the account has one.
    #[serde(default)]
    pub password: Option<SecretSource>,
    /// The users' table (`table` or `schema.table`); in table mode the connector generates
    /// SELECT, INSERT, UPDATE and DELETE on it.
    pub table: String,
    /// The anchor column: unique, never changing, given on create (Microsoft's tutorial maps
    /// `userPrincipalName` to `ContosoLogin`). The SCIM `id` is its value; the DN is
    /// `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// Stored procedures instead of generated statements (PostgreSQL functions, MariaDB
    /// procedures).
    #[serde(default)]
    pub procedures: Option<ProceduresConfig>,
    /// Rows per page of a full import.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds one statement may take before the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How often a statement that lost a deadlock or a serialization conflict is tried again
    /// before the host answers 503.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Connections in the pool (SQLite in memory always uses one).
    #[serde(default = "default_connections")]
    pub max_connections: u32,
    /// The selected columns, the anchor among them. Columns are single-valued.
    pub attributes: Vec<AttributeConfig>,
}

fn default_retries() -> u32 {
    3
}

fn default_connections() -> u32 {
    4
}

/// `[connector.script]`: a program the host runs once per operation — schema, import page,
/// export batch — with a JSON request on its standard input and a JSON answer on its standard
/// output; the contract is in `reference_host::connector::script`. The Linux-native analogue of
/// the ECMA PowerShell connector (Microsoft, "PowerShell connector technical reference": a
/// script per operation, run by the host).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// The program and its arguments, run without a shell (no interpolation, no globbing). A
    /// relative program path with a `/` in it, and the working directory, are the
    /// configuration file's directory; a bare name is looked up in `PATH`.
    pub command: Vec<String>,
    /// Environment variables the program gets besides `PATH`, `HOME`, `LANG` and `TZ` (the
    /// rest of the host's environment is not passed): values read like tokens
    /// (`{ env = … }`, `{ file = … }`), never on the command line, and every one redacted from
    /// what the program writes to its standard error before the host logs it.
    #[serde(default)]
    pub environment: indexmap::IndexMap<String, SecretSource>,
    /// The anchor attribute: unique, never changing, given on create (as the Generic SQL
    /// connector's anchor column). The SCIM `id` is its value; the DN is
    /// `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// Objects per page of a full import (passed to the program as `pageSize`).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds one run of the program may take; it is then killed and the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How the program runs: once per operation (the default), or as sessions that each
    /// answer many requests, one JSON line per request (see the script connector's contract).
    #[serde(default)]
    pub mode: ScriptMode,
    /// In session mode, the most programs running at once (each answers one request at a
    /// time). Default 2.
    #[serde(default = "default_sessions")]
    pub sessions: u32,
    /// The selected attributes, the anchor among them (string, boolean or integer).
    pub attributes: Vec<AttributeConfig>,
}

/// How the script connector runs its program (`[connector.script] mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptMode {
    /// One run per operation: the request on standard input, then end of file.
    #[default]
    PerOperation,
    /// A program that stays: requests and answers one JSON line each, in turn, as the
    /// PowerShell connector keeps its runspace between calls. A program that breaks the
    /// contract, or does not answer in time, is killed and the next request starts another.
    Session,
}

fn default_sessions() -> u32 {
    2
}

impl ScriptConfig {
    fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        match self.command.first() {
            None => {
                return Err(ConfigError::invalid(
                    c.key("script.command"),
                    "must name a program: [\"program\", \"argument\", …]",
                ));
            }
            Some(p) if p.is_empty() => {
                return Err(ConfigError::invalid(
                    c.key("script.command"),
                    "the program's name is empty",
                ));
            }
            Some(_) => {}
        }
        if self.command.iter().any(|a| a.contains('\0')) {
            return Err(ConfigError::invalid(
                c.key("script.command"),
                "an argument holds a NUL character",
            ));
        }
        for name in self.environment.keys() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                || name.starts_with(|ch: char| ch.is_ascii_digit())
            {
                return Err(ConfigError::invalid(
                    c.key(&format!("script.environment.{name}")),
                    "an environment variable's name is letters, digits and '_', not starting with a digit",
                ));
            }
        }
        if self.page_size == 0 {
            return Err(ConfigError::invalid(
                c.key("script.page_size"),
                "must be greater than 0",
            ));
        }
        if self.sessions == 0 {
            return Err(ConfigError::invalid(
                c.key("script.sessions"),
                "must be greater than 0",
            ));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                c.key("script.timeout_seconds"),
                "must be greater than 0",
            ));
        }
        check_selected(
            c,
            "script.attributes",
            self.attributes.iter().map(|a| (a.name.as_str(), a.kind)),
        )?;
        check_anchor(
            c,
            "script",
            &self.anchor,
            self.attributes.iter().map(|a| a.name.as_str()),
        )?;
        Ok(())
    }
}

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

fn default_scim_page_size() -> u32 {
    100
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

impl ScimConfig {
    fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
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
        Ok(())
    }
}

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
    fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
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

/// `[connector.sql.procedures]`: the four stored procedures of the MIM Generic SQL connector's
/// "Stored Procedure" method.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProceduresConfig {
    /// Reads one page: called with the 1-based first and last row numbers
    /// (`@StartIndex`/`@EndIndex`), ordered by the anchor; returns the selected columns by name
    /// (booleans as 0/1 on MariaDB, whose BOOLEAN the driver cannot read through a CALL).
    pub read_page: String,
    /// Adds a user.
    pub add: ProcedureConfig,
    /// Updates a user: called with the whole object after the change (export type "Object
    /// Replace").
    pub update: ProcedureConfig,
    /// Deletes a user.
    pub delete: ProcedureConfig,
}

/// One stored procedure and the columns whose values it takes, in order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureConfig {
    /// Its name (`name` or `schema.name`).
    pub name: String,
    /// The columns passed, in parameter order (the deprovisioning column may be one).
    pub parameters: Vec<String>,
}

impl SqlConfig {
    /// Which database the URL names.
    pub fn kind(&self) -> Option<SqlEngine> {
        SqlEngine::of_url(&self.url)
    }

    fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        let Some(kind) = self.kind() else {
            return Err(ConfigError::invalid(
                c.key("sql.url"),
                "expected a postgres://, mysql://, mariadb:// or sqlite: URL",
            ));
        };
        if self.url.contains('@')
            && self
                .url
                .split_once("://")
                .and_then(|(_, rest)| rest.split('@').next())
                .is_some_and(|userinfo| userinfo.contains(':'))
        {
            return Err(ConfigError::invalid(
                c.key("sql.url"),
                "holds a password; give it as sql.password = { env = … } or { file = … }",
            ));
        }
        let ident = |key: &str, name: &str| {
            sql_identifier(name).map_err(|e| ConfigError::invalid(c.key(key), e))
        };
        ident("sql.table", &self.table)?;
        ident("sql.anchor", &self.anchor)?;
        for (key, value, min) in [
            ("sql.page_size", u64::from(self.page_size), 1),
            ("sql.timeout_seconds", self.timeout_seconds, 1),
            ("sql.max_connections", u64::from(self.max_connections), 1),
        ] {
            if value < min {
                return Err(ConfigError::invalid(c.key(key), "must be greater than 0"));
            }
        }
        for (i, a) in self.attributes.iter().enumerate() {
            let key = c.key(&format!("sql.attributes[{i}]"));
            sql_identifier(&a.name).map_err(|e| ConfigError::invalid(key.clone(), e))?;
            if self.attributes[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&a.name))
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("{:?} is listed twice", a.name),
                ));
            }
            if !matches!(
                a.kind,
                AttrType::String
                    | AttrType::Boolean
                    | AttrType::Integer
                    | AttrType::Decimal
                    | AttrType::DateTime
                    | AttrType::Binary
                    | AttrType::Reference
            ) {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "type {:?} is not supported; use string, boolean, integer, decimal, dateTime, binary or reference",
                        a.kind.noun()
                    ),
                ));
            }
        }
        match self
            .attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&self.anchor))
        {
            Some(a) if a.kind != AttrType::String => {
                return Err(ConfigError::invalid(
                    c.key("sql.anchor"),
                    "the anchor column must be of type string",
                ));
            }
            Some(_) => {}
            None => {
                return Err(ConfigError::invalid(
                    c.key("sql.anchor"),
                    format!(
                        "{:?} is not among sql.attributes; the anchor must be selected",
                        self.anchor
                    ),
                ));
            }
        }
        if let Some(p) = &self.procedures {
            if kind == SqlEngine::Sqlite {
                return Err(ConfigError::invalid(
                    c.key("sql.procedures"),
                    "SQLite has no stored procedures; use table mode (leave sql.procedures out)",
                ));
            }
            ident("sql.procedures.read_page", &p.read_page)?;
            for (key, proc) in [
                ("sql.procedures.add", &p.add),
                ("sql.procedures.update", &p.update),
                ("sql.procedures.delete", &p.delete),
            ] {
                ident(&format!("{key}.name"), &proc.name)?;
                for (j, param) in proc.parameters.iter().enumerate() {
                    let key = format!("{key}.parameters[{j}]");
                    ident(&key, param)?;
                    let deprovisioning = [&c.deprovisioning.disable_flow, &c.deprovisioning.delete_flow]
                        .into_iter()
                        .any(|f| matches!(f, FlowAction::SetAttribute { attribute, .. } if attribute.eq_ignore_ascii_case(param)));
                    if !deprovisioning
                        && !self
                            .attributes
                            .iter()
                            .any(|a| a.name.eq_ignore_ascii_case(param))
                    {
                        return Err(ConfigError::invalid(
                            c.key(&key),
                            format!(
                                "{param:?} is neither a selected column nor the deprovisioning column"
                            ),
                        ));
                    }
                }
                if !proc
                    .parameters
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&self.anchor))
                {
                    return Err(ConfigError::invalid(
                        c.key(&format!("{key}.parameters")),
                        format!("must pass the anchor column {:?}", self.anchor),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl LdapConfig {
    fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
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
