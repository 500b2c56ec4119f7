//! The run configuration (`ecmacert run --config FILE`): which host to test, how to reach its
//! target directly, and which profiles apply. `examples/ecmacert-reference-openldap.toml` shows
//! every key with a comment. Paths are relative to the file; secrets come from `{ env = … }` or
//! `{ file = … }`, never inline.

use std::path::{Path, PathBuf};

use ecma_vocab::SecretSource;
use ecma_vocab::sql::{SqlEngine, sql_identifier};
use scim_proto::dn::Dn;
use serde::Deserialize;

/// The file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile this host and target follow.
    #[serde(default)]
    pub profile: Option<String>,
    /// Several profiles, when the host serves several (one connector each is a later issue).
    #[serde(default)]
    pub profiles: Vec<String>,
    /// A directory of the vendor's own profiles (`*.toml`, the shipped profiles' format),
    /// relative to this file; they join the shipped ones and can be named in `profile`.
    #[serde(default)]
    pub profiles_dir: Option<PathBuf>,
    /// The host under test.
    pub host: HostConfig,
    /// Direct access to the host's target.
    pub target: TargetConfig,
}

/// `[host]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// `https://localhost:8585`: everything before `/ecma2host_…` (with `connector`).
    #[serde(default)]
    pub base_url: String,
    /// The connector name (case-sensitive), with `base_url`.
    #[serde(default)]
    pub connector: String,
    /// The SCIM base URL whole (`https://gateway.example/tenant/acme/scim`), instead of
    /// `base_url` + `connector`: any SCIM server can be put under test this way.
    #[serde(default)]
    pub scim_url: Option<String>,
    /// Allow an `http://` URL. Entra speaks only HTTPS; a plaintext run is marked so in every
    /// report.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// The connector's secret token.
    #[serde(default = "no_token")]
    pub token: SecretSource,
    /// PEM certificate(s) to trust for the host's TLS (e.g. the one `ecma-host gen-cert` wrote);
    /// without it, the system roots.
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// Accept the host's certificate without verifying it (a lab host whose CA cannot be
    /// given). Entra never does: the scenario that connects as Entra does (ECMA-AUTH-005/006)
    /// still verifies, and every report says the run did not (`transport`, a warning).
    #[serde(default)]
    pub insecure_tls: bool,
    /// A command that starts the host; it is stopped when the run ends.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Seconds to wait for a started host to answer Test Connection with 200.
    #[serde(default = "default_ready")]
    pub ready_timeout_seconds: u64,
    /// Seconds one request may take (Entra's own limit is 60).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: u64,
    /// How to make the host re-import its target, for out-of-band scenarios: a command, a
    /// request, or `{ wait_seconds = N }` for a host without an import trigger — each import
    /// step waits N seconds for the host's own autosync (its interval plus one import's time).
    #[serde(default)]
    pub import: Option<ImportHook>,
    /// How to restart the host, for the start-up scenarios (ECMA-IMPORT-001/005): a command
    /// (`{ command = ["systemctl", "restart", "ecma2host"] }`, on Windows
    /// `["powershell", "-NoProfile", "-Command", "Restart-Service Microsoft.ECMA2Host"]`) or a
    /// request (`{ method = "POST", path = "/cache/restart" }`, the reference host's). The hook
    /// must not return while the old instance still answers (a command is stopped after 600 s);
    /// the suite then waits up to `ready_timeout_seconds` for the host to answer, and for Test
    /// Connection to answer 200.
    #[serde(default)]
    pub restart: Option<ImportHook>,
    /// Another connector the same host serves, configured with a token of its own (with
    /// `base_url`): ECMA-AUTH-004 sends this connector's token to it and expects 401. Without
    /// it, that scenario is not checked for the host.
    #[serde(default)]
    pub other_connector: Option<String>,
    /// A standby host for the same connector and target (ECMA2Host's passive agent host):
    /// the high-availability scenarios stop the active host, which needs `host.command`, and
    /// carry on through this one. Without it, they are not applicable (the host is not deployed
    /// with a standby).
    #[serde(default)]
    pub standby: Option<StandbyConfig>,
}

/// `[host.standby]`: the passive host of an active/passive pair on one target.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandbyConfig {
    /// `https://localhost:8586`: the standby's part before `/ecma2host_…`; the connector is
    /// `host.connector`.
    #[serde(default)]
    pub base_url: String,
    /// The standby's SCIM base whole, instead of `base_url`.
    #[serde(default)]
    pub scim_url: Option<String>,
    /// A command that starts the standby; it is stopped when the run ends.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// How to make the standby read the target now (the forms of `host.import`, the request
    /// sent to the standby): after a failover its connector space must hold what the active
    /// host wrote.
    pub import: ImportHook,
}

impl StandbyConfig {
    /// The standby's SCIM base URL.
    pub fn scim_base(&self, connector: &str) -> String {
        match &self.scim_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!(
                "{}/ecma2host_{connector}/scim",
                self.base_url.trim_end_matches('/')
            ),
        }
    }
}

/// A missing `host.token` reads as an empty variable name, which `validate` refuses by key.
fn no_token() -> SecretSource {
    SecretSource::Env(String::new())
}

fn default_ready() -> u64 {
    60
}

fn default_request_timeout() -> u64 {
    60
}

/// An import or restart trigger.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum ImportHook {
    /// `{ command = ["…"] }`: run a command and wait for it.
    Command {
        /// The command and its arguments.
        command: Vec<String>,
    },
    /// `{ method = "POST", path = "/cache/import" }`: a request to the connector's SCIM base,
    /// with the bearer token.
    Http {
        /// The HTTP method.
        method: String,
        /// The path after `/ecma2host_{connector}/scim`.
        path: String,
    },
    /// `{ wait_seconds = 330 }` (`host.import` only): no trigger, the host imports on its own
    /// autosync schedule; each import step waits this long. Nothing answers, so a failed import
    /// cannot be seen: the scenarios that need that are not checked.
    Wait {
        /// Seconds to wait: the autosync interval plus the time one full import takes.
        wait_seconds: u64,
    },
}

/// `[target]`: how the probe reaches the host's target directly.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `ldap` or `sql`.
    pub kind: String,
    /// `ldap://…` or `ldaps://…`; for SQL `postgres://…`, `mysql://…` or `sqlite://…` (the
    /// database the host writes; no password in it).
    pub url: String,
    /// Upgrade `ldap://` with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// PEM certificate(s) to trust for LDAPS/StartTLS.
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// LDAP: the account the probe reads and writes with (it needs write access to
    /// `container`).
    #[serde(default)]
    pub bind_dn: String,
    /// The probe's password: the LDAP bind password or the database password.
    #[serde(default)]
    pub bind_password: Option<SecretSource>,
    /// LDAP: the host's partition.
    #[serde(default)]
    pub base_dn: String,
    /// LDAP: where scenarios create their users; created by the probe when missing.
    #[serde(default)]
    pub container: String,
    /// SQL: the users' table (the profile's, unless given).
    #[serde(default)]
    pub table: Option<String>,
    /// SQL: the anchor column (the profile's, unless given).
    #[serde(default)]
    pub anchor: Option<String>,
    /// Attributes or columns the target sets by itself and the host never writes (an identity
    /// column, `CreatedAt DEFAULT now()`, a directory's own counters): left out where the
    /// dialect differential (ECMA-UPDATE-014) compares two runs' states. The probe's version
    /// attributes and the directories' own bookkeeping are left out already.
    #[serde(default)]
    pub generated_attributes: Vec<String>,
    /// `{ listen = "127.0.0.1:3891" }`: ecmacert puts a fault proxy between the host and this
    /// target, listening there and forwarding to `url`; the host's connector must be pointed
    /// at it. In front of an LDAP directory it reads the protocol, so faults can be aimed at
    /// one operation (`fault-injection`); in front of a database it forwards bytes, so only
    /// connections can be cut (`connection-faults`). Plain LDAP only (the proxy reads every
    /// message); SQLite has no network address.
    #[serde(default)]
    pub fault_proxy: Option<FaultProxyConfig>,
}

/// `target.fault_proxy`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultProxyConfig {
    /// The address the proxy listens on (`127.0.0.1:3891`; port 0 is refused: the host's
    /// configuration must name the port).
    pub listen: std::net::SocketAddr,
}

impl TargetConfig {
    /// An SQL target at `url`, with the profile's table and anchor and no password.
    pub fn sql(url: impl Into<String>) -> TargetConfig {
        TargetConfig {
            kind: "sql".into(),
            url: url.into(),
            starttls: false,
            ca_certificate: None,
            bind_dn: String::new(),
            bind_password: None,
            base_dn: String::new(),
            container: String::new(),
            table: None,
            anchor: None,
            generated_attributes: Vec::new(),
            fault_proxy: None,
        }
    }

    /// `host:port` of the target, for the fault proxy to forward to; `Err` names what
    /// stands in the way (an LDAPS or StartTLS directory, a SQLite file).
    pub fn upstream(&self) -> Result<String, String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("target.url: {e}"))?;
        let default_port = match url.scheme() {
            "ldap" if self.starttls => {
                return Err(
                    "the proxy reads every LDAP message, so it cannot sit inside StartTLS; \
                     point it at a plain ldap:// directory (target.starttls = false)"
                        .into(),
                );
            }
            "ldap" => 389,
            "ldaps" => {
                return Err(
                    "the proxy reads every LDAP message, so it cannot sit inside LDAPS; give \
                     the directory's plain ldap:// URL"
                        .into(),
                );
            }
            "postgres" | "postgresql" => 5432,
            "mysql" | "mariadb" => 3306,
            "sqlite" => {
                return Err(
                    "a SQLite file has no network address to put a proxy in front of".into(),
                );
            }
            other => return Err(format!("no fault proxy for {other}:// targets")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
            format!(
                "target.url {:?} names no host",
                ecma_vocab::sql::redact_url(&self.url)
            )
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port().unwrap_or(default_port);
        Ok(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }
}

/// A configuration that cannot be used (exit code 2), named by its key as `ecma-host` names
/// its own.
pub use ecma_vocab::ConfigError;

impl Config {
    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: ecma_vocab::toml_error(&text, &e),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what can be checked without secrets or network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.host.token == no_token() {
            return Err(ConfigError::invalid(
                "host.token",
                "missing: the connector's secret token ({ env = … } or { file = … })",
            ));
        }
        let (key, url) = match (&self.host.scim_url, self.host.base_url.is_empty()) {
            (Some(_), false) => {
                return Err(ConfigError::invalid(
                    "host.scim_url",
                    "give either host.scim_url or host.base_url + host.connector, not both",
                ));
            }
            (Some(url), true) => ("host.scim_url", url.clone()),
            (None, true) => {
                return Err(ConfigError::invalid(
                    "host.base_url",
                    "missing: give host.base_url + host.connector (an ECMA host) or host.scim_url (any SCIM base)",
                ));
            }
            (None, false) => {
                if self.host.base_url.contains("/ecma2host_") {
                    return Err(ConfigError::invalid(
                        "host.base_url",
                        "give the part before /ecma2host_…; the connector goes in host.connector",
                    ));
                }
                if self.host.connector.is_empty() {
                    return Err(ConfigError::invalid(
                        "host.connector",
                        "missing or empty (or give host.scim_url instead of host.base_url)",
                    ));
                }
                ("host.base_url", self.host.base_url.clone())
            }
        };
        if let Some(other) = &self.host.other_connector {
            if self.host.scim_url.is_some() {
                return Err(ConfigError::invalid(
                    "host.other_connector",
                    "needs host.base_url + host.connector: with host.scim_url no other connector's URL can be formed",
                ));
            }
            if other.is_empty() || *other == self.host.connector {
                return Err(ConfigError::invalid(
                    "host.other_connector",
                    "name another connector of the host, not empty and not host.connector",
                ));
            }
        }
        if self.host.scim_url.is_some() && !self.host.connector.is_empty() {
            return Err(ConfigError::invalid(
                "host.connector",
                "host.scim_url already names the whole SCIM base; leave host.connector out",
            ));
        }
        match url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()) {
            Some(s) if s == "https" => {}
            Some(s) if s == "http" && self.host.allow_plaintext => {}
            Some(s) if s == "http" => {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "{url:?} is plain HTTP; Entra speaks only HTTPS. Set host.allow_plaintext = true to test over HTTP anyway (every report will say so)"
                    ),
                ));
            }
            _ => {
                return Err(ConfigError::invalid(
                    key,
                    format!("{url:?} is not an https:// URL"),
                ));
            }
        }
        if let Some(standby) = &self.host.standby {
            self.validate_standby(standby)?;
        }
        if self.host.insecure_tls && self.host.ca_certificate.is_some() {
            return Err(ConfigError::invalid(
                "host.insecure_tls",
                "give either host.ca_certificate (verify against it) or host.insecure_tls (verify nothing), not both",
            ));
        }
        if self.host.insecure_tls && self.plaintext() {
            return Err(ConfigError::invalid(
                "host.insecure_tls",
                "is for an https:// host; this one is reached over plain HTTP",
            ));
        }
        if let Some(cmd) = &self.host.command
            && cmd.is_empty()
        {
            return Err(ConfigError::invalid("host.command", "is empty"));
        }
        match &self.host.import {
            Some(ImportHook::Wait { wait_seconds: 0 }) => {
                return Err(ConfigError::invalid(
                    "host.import.wait_seconds",
                    "must be more than 0: the host's autosync interval plus one import's time",
                ));
            }
            Some(ImportHook::Command { command }) if command.is_empty() => {
                return Err(ConfigError::invalid("host.import.command", "is empty"));
            }
            _ => {}
        }
        match &self.host.restart {
            Some(ImportHook::Wait { .. }) => {
                return Err(ConfigError::invalid(
                    "host.restart",
                    "wait_seconds is for host.import; a restart needs a command or a request",
                ));
            }
            Some(ImportHook::Command { command }) if command.is_empty() => {
                return Err(ConfigError::invalid("host.restart.command", "is empty"));
            }
            _ => {}
        }
        if let Some(proxy) = &self.target.fault_proxy {
            if proxy.listen.port() == 0 {
                return Err(ConfigError::invalid(
                    "target.fault_proxy.listen",
                    "give a port: the host's connector must be pointed at it",
                ));
            }
            self.target
                .upstream()
                .map_err(|e| ConfigError::invalid("target.fault_proxy", e))?;
        }
        match self.target.kind.as_str() {
            "ldap" => self.validate_ldap_target()?,
            "sql" => {
                if SqlEngine::of_url(&self.target.url).is_none() {
                    return Err(ConfigError::invalid(
                        "target.url",
                        "expected a postgres://, mysql://, mariadb:// or sqlite:// URL for an sql target",
                    ));
                }
                for (key, name) in [
                    ("target.table", &self.target.table),
                    ("target.anchor", &self.target.anchor),
                ] {
                    if let Some(name) = name {
                        sql_identifier(name).map_err(|e| ConfigError::invalid(key, e))?;
                    }
                }
            }
            other => {
                return Err(ConfigError::invalid(
                    "target.kind",
                    format!("{other:?} is not supported; use \"ldap\" or \"sql\""),
                ));
            }
        }
        Ok(())
    }

    fn validate_standby(&self, standby: &StandbyConfig) -> Result<(), ConfigError> {
        if self.host.command.is_none() {
            return Err(ConfigError::invalid(
                "host.standby",
                "needs host.command: the failover scenario stops the active host, which the run can do only to a host it started",
            ));
        }
        let url = match (&standby.scim_url, standby.base_url.is_empty()) {
            (Some(url), true) => url.clone(),
            (None, false) if self.host.scim_url.is_none() => standby.base_url.clone(),
            (None, false) => {
                return Err(ConfigError::invalid(
                    "host.standby.base_url",
                    "with host.scim_url, give the standby's host.standby.scim_url",
                ));
            }
            _ => {
                return Err(ConfigError::invalid(
                    "host.standby",
                    "give either base_url (with host.connector) or scim_url",
                ));
            }
        };
        match url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()) {
            Some(s) if s == "https" => {}
            Some(s) if s == "http" && self.host.allow_plaintext => {}
            _ => {
                return Err(ConfigError::invalid(
                    "host.standby",
                    format!("{url:?} is not an https:// URL"),
                ));
            }
        }
        if standby.scim_base(&self.host.connector) == self.scim_base() {
            return Err(ConfigError::invalid(
                "host.standby",
                "is the active host's own URL; give the standby's",
            ));
        }
        match &standby.command {
            Some(c) if c.is_empty() => {
                return Err(ConfigError::invalid("host.standby.command", "is empty"));
            }
            _ => {}
        }
        match &standby.import {
            ImportHook::Wait { wait_seconds: 0 } => Err(ConfigError::invalid(
                "host.standby.import.wait_seconds",
                "must be more than 0: the standby's autosync interval plus one import's time",
            )),
            ImportHook::Command { command } if command.is_empty() => Err(ConfigError::invalid(
                "host.standby.import.command",
                "is empty",
            )),
            _ => Ok(()),
        }
    }

    fn validate_ldap_target(&self) -> Result<(), ConfigError> {
        if self.target.bind_password.is_none() {
            return Err(ConfigError::invalid(
                "target.bind_password",
                "missing: the probe binds with it ({ env = … } or { file = … })",
            ));
        }
        for (key, dn) in [
            ("target.bind_dn", &self.target.bind_dn),
            ("target.base_dn", &self.target.base_dn),
            ("target.container", &self.target.container),
        ] {
            Dn::parse(dn).map_err(|e| ConfigError::invalid(key, e.to_string()))?;
        }
        let base = Dn::parse(&self.target.base_dn)
            .map_err(|e| ConfigError::invalid("target.base_dn", e.to_string()))?;
        let container = Dn::parse(&self.target.container)
            .map_err(|e| ConfigError::invalid("target.container", e.to_string()))?;
        if !container.is_within(&base) {
            return Err(ConfigError::invalid(
                "target.container",
                format!(
                    "{:?} is not within target.base_dn {:?}",
                    self.target.container, self.target.base_dn
                ),
            ));
        }
        Ok(())
    }

    /// The profiles named in the file.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names = self.profiles.clone();
        if let Some(p) = &self.profile
            && !names.contains(p)
        {
            names.insert(0, p.clone());
        }
        names
    }

    /// The connector's SCIM base URL: `host.scim_url`, or
    /// `{host.base_url}/ecma2host_{host.connector}/scim`.
    pub fn scim_base(&self) -> String {
        match &self.host.scim_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!(
                "{}/ecma2host_{}/scim",
                self.host.base_url.trim_end_matches('/'),
                self.host.connector
            ),
        }
    }

    /// True when the host is reached over plain HTTP.
    pub fn plaintext(&self) -> bool {
        self.scim_base().to_ascii_lowercase().starts_with("http://")
    }

    /// What a report shows of this configuration for a run of `profiles`
    /// ([`reports::RunConfiguration`]): secrets by their source only, URLs without passwords,
    /// `host.command` by its program only.
    pub fn summary(&self, profiles: &[String]) -> reports::RunConfiguration {
        let file = |p: &Path| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        let source = |s: &SecretSource| match s {
            SecretSource::Env(name) => format!("env {name}"),
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Inline(_) => "given in code".to_owned(),
        };
        let args = |n: usize| match n {
            1 => "1 argument".to_owned(),
            n => format!("{n} arguments"),
        };
        let command = |c: &[String]| {
            let program = c.first().map_or("", String::as_str);
            format!("{program} ({})", args(c.len().saturating_sub(1)))
        };
        let hook = |h: &ImportHook| match h {
            ImportHook::Command { command: c } => format!("command {}", command(c)),
            ImportHook::Http { method, path } => {
                format!("{method} {}", path.split('?').next().unwrap_or(path))
            }
            ImportHook::Wait { wait_seconds } => format!("autosync, waits {wait_seconds} s"),
        };
        let trust = |ca: &Option<PathBuf>| match ca {
            Some(ca) => format!("certificate checked against {}", file(ca)),
            None => "system roots".to_owned(),
        };
        let transport = if self.plaintext() {
            "http (host.allow_plaintext)".to_owned()
        } else if self.host.insecure_tls {
            "https, certificate NOT verified (host.insecure_tls)".to_owned()
        } else {
            format!("https, {}", trust(&self.host.ca_certificate))
        };
        let t = &self.target;
        let target_transport = if t.url.to_ascii_lowercase().starts_with("ldaps://") {
            format!("ldaps, {}", trust(&t.ca_certificate))
        } else if t.starttls {
            format!("StartTLS, {}", trust(&t.ca_certificate))
        } else {
            "none".to_owned()
        };
        reports::RunConfiguration {
            profiles: profiles.to_vec(),
            transport,
            token: source(&self.host.token),
            host_command: self.host.command.as_deref().map(command),
            import: self.host.import.as_ref().map(hook),
            restart: self.host.restart.as_ref().map(hook),
            other_connector: self.host.other_connector.clone(),
            request_timeout_seconds: self.host.request_timeout_seconds,
            ready_timeout_seconds: self.host.ready_timeout_seconds,
            target: reports::TargetConfiguration {
                kind: t.kind.clone(),
                // Without its query, where a driver may take a password (`?password=`).
                url: ecma_vocab::sql::redact_url(t.url.split('?').next().unwrap_or(&t.url)),
                transport: target_transport,
                bind_dn: t.bind_dn.clone(),
                password: t.bind_password.as_ref().map_or("none".to_owned(), source),
                base_dn: t.base_dn.clone(),
                container: t.container.clone(),
                table: t.table.clone(),
                anchor: t.anchor.clone(),
                generated_attributes: t.generated_attributes.clone(),
                fault_proxy: t.fault_proxy.as_ref().map(|p| {
                    let depth = if t.kind == "ldap" {
                        "LDAP operations"
                    } else {
                        "TCP connections only"
                    };
                    format!("{}, {depth}", p.listen)
                }),
                started_container: None,
            },
        }
    }
}
