//! `ecma-host`: a reference ECMA host. It serves the SCIM surface Microsoft's ECMA2Host offers
//! the Entra provisioning service — `/ecma2host_{connector}/scim/…` behind a bearer token — and
//! writes users into targets through connectors, keeping a connector space of each target for
//! Entra's matching queries.
//!
//! What it does: TLS (with a certificate it can generate), several connectors per host, the
//! LDAP connector (`ldap://`, `ldaps://`, StartTLS; `-dn-` or `entryUUID` anchor; paged full
//! import; autosync), both Entra PATCH dialects, the three deprovisioning choices for the
//! disable and delete flows, and SCIM Error answers for every failure.
//!
//! What it does not do: groups, bulk, PUT, renames, delta import, or anything that needs
//! Microsoft's cloud or Windows. It is the host the ecmacert suite is proven against, and a
//! usable cross-platform ECMA host in its own right.
//!
//! Layout: [`config`] (the TOML file) → [`Host`] (connectors built, secrets read) →
//! [`scim::app`] (the axum router; no port needed, so tests drive it directly) → [`serve`].

pub mod cert;
pub mod config;
pub mod connector;
pub mod error;
pub mod scim;
pub mod service;
pub mod space;

/// Secrets, from the shared vocabulary (kept here so `reference_host::secret` still works).
pub use ecma_vocab::secret;
/// Distinguished names, from the protocol crate (kept here so `reference_host::dn` still works).
pub use scim_proto::dn;

use std::path::Path;
use std::sync::Arc;

use axum::Router;

use crate::config::{Config, ConfigError, MIN_TOKEN_CHARS};
use crate::connector::Connector;
use crate::connector::ldap::LdapConnector;
use crate::connector::rest::RestConnector;
use crate::connector::scim::ScimConnector;
use crate::connector::script::ScriptConnector;
use crate::connector::sql::SqlConnector;
use crate::service::ConnectorService;

/// A configured host: its connectors, ready to import and serve.
pub struct Host {
    config: Config,
    services: Vec<Arc<ConnectorService>>,
}

/// What a plug-in connector's factory gets: its `[[connector]]` entry's name, its
/// `[connector.plugin] parameters` as written, the deprovisioning flows (a factory whose
/// connector reads a flow's attribute adds it to its schema as [`connector::AttrRole::Hidden`]),
/// and the configuration file's directory, against which relative paths resolve.
pub struct PluginContext<'a> {
    /// The connector's name (`/ecma2host_{name}/scim`).
    pub name: &'a str,
    /// `[connector.plugin] parameters`.
    pub parameters: &'a toml::Table,
    /// `[connector.deprovisioning]`.
    pub deprovisioning: &'a config::Deprovisioning,
    /// The configuration file's directory.
    pub base_dir: &'a Path,
}

/// Builds a plug-in connector from its context; `Err` is a message naming the parameter that
/// is wrong (the host prefixes the connector's name and `plugin.parameters`).
pub type ConnectorFactory =
    Box<dyn Fn(&PluginContext<'_>) -> Result<Arc<dyn Connector>, String> + Send + Sync>;

/// Builds a [`Host`] with plug-in connectors: ECMA 2.0's extension point. ECMA2Host loads a
/// custom connector's DLL and runs it like its own (Microsoft, "Microsoft Entra ECMA Connector
/// Host": "custom ECMA 2.0 connectors"); here a crate implements [`Connector`], registers a
/// factory under a type name, and a `[[connector]]` entry with `[connector.plugin] type = "…"`
/// gets one. `examples/connector-csv` is one.
///
/// ```no_run
/// # use std::sync::Arc;
/// # fn csv(ctx: &reference_host::PluginContext<'_>) -> Result<Arc<dyn reference_host::connector::Connector>, String> { unimplemented!() }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = reference_host::config::Config::load("ecma-host.toml".as_ref())?;
/// let host = reference_host::Host::builder(config, ".".as_ref())
///     .connector("csv", csv)
///     .build()?;
/// # Ok(()) }
/// ```
pub struct HostBuilder {
    config: Config,
    base_dir: std::path::PathBuf,
    factories: Vec<(String, ConnectorFactory)>,
}

impl HostBuilder {
    /// Registers `factory` for `[connector.plugin] type = kind`. Registering a type twice is an
    /// error at [`HostBuilder::build`].
    pub fn connector(
        mut self,
        kind: impl Into<String>,
        factory: impl Fn(&PluginContext<'_>) -> Result<Arc<dyn Connector>, String>
        + Send
        + Sync
        + 'static,
    ) -> HostBuilder {
        self.factories.push((kind.into(), Box::new(factory)));
        self
    }

    /// Builds every connector of the validated configuration, reading secrets relative to the
    /// base directory. Touches no target. Errors name the key: a token that cannot be read or
    /// is too short, a plug-in type registered twice or not at all, a factory's refusal.
    pub fn build(self) -> Result<Host, ConfigError> {
        let HostBuilder {
            config,
            base_dir,
            factories,
        } = self;
        let base_dir = base_dir.as_path();
        config.validate()?;
        for (i, (kind, _)) in factories.iter().enumerate() {
            if factories[..i].iter().any(|(k, _)| k == kind) {
                return Err(ConfigError::Invalid {
                    key: format!("plug-in connector type {kind:?}"),
                    reason: "registered twice".into(),
                });
            }
        }
        let mut services = Vec::new();
        for c in &config.connectors {
            let key = |k: &str| format!("connector {:?}: {k}", c.name);
            let token = c
                .token
                .resolve(base_dir)
                .map_err(|e| ConfigError::Invalid {
                    key: key("token"),
                    reason: e.to_string(),
                })?;
            if token.len() < MIN_TOKEN_CHARS {
                return Err(ConfigError::Invalid {
                    key: key("token"),
                    reason: format!(
                        "the secret token has {} characters; ECMA hosts require at least {MIN_TOKEN_CHARS}",
                        token.len()
                    ),
                });
            }
            let connector: Arc<dyn Connector> = if let Some(ldap) = &c.ldap {
                Arc::new(LdapConnector::new(
                    &c.name,
                    ldap,
                    &c.deprovisioning,
                    base_dir,
                )?)
            } else if let Some(sql) = &c.sql {
                Arc::new(SqlConnector::new(
                    &c.name,
                    sql,
                    &c.deprovisioning,
                    base_dir,
                )?)
            } else if let Some(script) = &c.script {
                Arc::new(ScriptConnector::new(
                    &c.name,
                    script,
                    &c.deprovisioning,
                    base_dir,
                )?)
            } else if let Some(scim) = &c.scim {
                Arc::new(ScimConnector::new(
                    &c.name,
                    scim,
                    &c.deprovisioning,
                    base_dir,
                )?)
            } else if let Some(rest) = &c.rest {
                Arc::new(RestConnector::new(
                    &c.name,
                    rest,
                    &c.deprovisioning,
                    base_dir,
                )?)
            } else if let Some(plugin) = &c.plugin {
                let factory = factories
                    .iter()
                    .find(|(k, _)| *k == plugin.kind)
                    .map(|(_, f)| f)
                    .ok_or_else(|| ConfigError::Invalid {
                        key: key("plugin.type"),
                        reason: format!(
                            "no connector of type {:?} is registered in this host; a plug-in \
                             connector runs in a host built with \
                             Host::builder().connector({:?}, …) (registered: {})",
                            plugin.kind,
                            plugin.kind,
                            if factories.is_empty() {
                                "none".to_owned()
                            } else {
                                factories
                                    .iter()
                                    .map(|(k, _)| k.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        ),
                    })?;
                factory(&PluginContext {
                    name: &c.name,
                    parameters: &plugin.parameters,
                    deprovisioning: &c.deprovisioning,
                    base_dir,
                })
                .map_err(|reason| ConfigError::Invalid {
                    key: key("plugin.parameters"),
                    reason,
                })?
            } else {
                return Err(ConfigError::Invalid {
                    key: key("ldap"),
                    reason: "missing".into(),
                });
            };
            services.push(Arc::new(ConnectorService::new(
                c.name.clone(),
                token,
                connector,
                c.deprovisioning.clone(),
                c.autosync_minutes,
                c.max_results,
            )));
        }
        Ok(Host { config, services })
    }
}

impl Host {
    /// Builds every connector of a validated configuration, reading secrets and certificates
    /// relative to `base_dir`. Touches no target. The built-in connectors only: a host with
    /// plug-in connectors comes from [`Host::builder`].
    pub fn new(config: Config, base_dir: &Path) -> Result<Host, ConfigError> {
        Host::builder(config, base_dir).build()
    }

    /// A builder, to register plug-in connectors before the connectors are built.
    pub fn builder(config: Config, base_dir: &Path) -> HostBuilder {
        HostBuilder {
            config,
            base_dir: base_dir.to_owned(),
            factories: Vec::new(),
        }
    }

    /// The connectors.
    pub fn services(&self) -> &[Arc<ConnectorService>] {
        &self.services
    }

    /// The connector called `name`.
    pub fn service(&self, name: &str) -> Option<&Arc<ConnectorService>> {
        self.services.iter().find(|s| s.name() == name)
    }

    /// The router.
    pub fn app(&self) -> Router {
        scim::app(
            &self.services,
            self.config.server.tls.is_some(),
            self.config.server.max_body_bytes,
        )
    }

    /// Imports every connector's target once, in parallel; the first error wins.
    pub async fn import_all(&self) -> Result<(), connector::ConnectorError> {
        let imports = self.services.iter().map(|s| s.full_import());
        for result in futures_util::future::join_all(imports).await {
            result?;
        }
        Ok(())
    }

    /// Checks every connector's configuration against its target where the target can tell
    /// (SQL column types), waiting at most `wait` for each. `Err` names the connector and what
    /// does not fit; a target that cannot be reached now is only logged (the first import will
    /// keep trying and answer 503 meanwhile).
    pub async fn check_targets(&self, wait: std::time::Duration) -> Result<(), String> {
        for s in &self.services {
            match tokio::time::timeout(wait, s.connector().prepare()).await {
                Ok(Ok(())) => {}
                Ok(Err(connector::ConnectorError::Refused { detail })) => {
                    return Err(format!("connector {:?}: {detail}", s.name()));
                }
                Ok(Err(e)) => {
                    tracing::warn!(connector = %s.name(), error = %e, "cannot check the target now; the first import will try again")
                }
                Err(_) => {
                    tracing::warn!(connector = %s.name(), "the target did not answer the start-up check in time; the first import will try again")
                }
            }
        }
        Ok(())
    }

    /// Starts every connector's first import and autosync in the background.
    pub fn spawn_sync(&self) {
        for s in &self.services {
            s.spawn_sync();
        }
    }
}

/// Why the host could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS certificate or key is unusable.
    #[error(transparent)]
    Cert(#[from] cert::CertError),
    /// The listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Serves `host` on `listener` until `shutdown` completes. Imports start in the background;
/// until a connector's first import finishes, its queries answer 503.
pub async fn serve(
    host: Host,
    base_dir: &Path,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    host.spawn_sync();
    let tls = match &host.config.server.tls {
        Some(files) => Some(cert::server_config(
            &base_dir.join(&files.certificate),
            &base_dir.join(&files.key),
        )?),
        None => None,
    };
    serve_router(host.app(), tls, listener, shutdown).await
}

/// Serves any router: over TLS with `tls`, plain HTTP without. Tests use it to serve a host
/// wrapped in a deliberately defective layer.
pub async fn serve_router(
    app: Router,
    tls: Option<rustls::ServerConfig>,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let listen_error = |source| ServeError::Listen { addr, source };
    listener.set_nonblocking(true).map_err(listen_error)?;
    match tls {
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            tracing::info!(%addr, "serving HTTPS");
            axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
            )
            .map_err(listen_error)?
            // Nagle's algorithm with delayed ACKs stalls a small answer ~40 ms.
            .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
            .handle(handle)
            .serve(app.into_make_service())
            .await
            .map_err(listen_error)
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(listen_error)?;
            tracing::warn!(%addr, "serving plain HTTP (server.plain_http = true): for loopback testing only");
            use axum::serve::ListenerExt as _;
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY could not be set");
                }
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(listen_error)
        }
    }
}
