//! `ecmacert run` with no configuration: the whole suite against the reference host, in this
//! process, on mock directories — nothing installed but Rust.
//!
//! Two mock LDAP servers (OpenLDAP and AD LDS flavours) on free loopback ports; one reference host
//! over HTTPS (a certificate generated for the run) with a connector per profile, each built from
//! the matching `examples/ecma-host-*.toml` and binding with its own account, so that the faults
//! one profile's scenarios inject never touch another's; then every profile runs, all of them at
//! once, in the dialects asked for. The fault-injection scenarios apply here (on the mock
//! directories, the mock HR REST API, the SCIM endpoint and the script program behind its fault
//! shim), and wherever a run puts ecmacert's fault proxy in front of a directory.

use std::path::Path;

use mock_targets::ldap::{Flavour, MockConfig, MockLdap};
use reference_host::config::Config as HostConfig;
use reference_host::secret::{Secret, SecretSource};
use reports::Report;

use crate::capability::Capability;
use crate::config::{Config, HostConfig as RunHost, ImportHook, TargetConfig};
use crate::faults::{ControlledTarget, Fault, FaultAction, Times};
use crate::runner::{RunError, RunOptions, run_with};
use crate::suite::Suite;

/// The mock's fault switch for one connector: faults hit only the account that connector binds
/// with, so one profile's fault scenarios never touch another's connector or the probe.
#[derive(Debug)]
struct MockFaults {
    mock: MockLdap,
    host_bind_dn: String,
}

impl ControlledTarget for MockFaults {
    fn inject(&self, fault: Fault) -> Result<(), String> {
        self.mock.inject(crate::fault_proxy::rule(
            fault,
            Some(self.host_bind_dn.clone()),
        ));
        Ok(())
    }

    fn clear(&self, scope: &str) {
        self.mock.clear_faults_where(|rule| {
            rule.bound_as
                .as_deref()
                .is_some_and(|b| b.eq_ignore_ascii_case(&self.host_bind_dn))
                && crate::faults::started_by(rule.dn_contains.as_deref(), scope)
        });
    }

    fn aims_at_operations(&self) -> bool {
        true
    }

    fn host_writes(&self, dn_contains: &str) -> Option<Vec<String>> {
        let mine = self
            .mock
            .operations_where(|r| r.bound.eq_ignore_ascii_case(&self.host_bind_dn));
        Some(crate::fault_proxy::writes(
            &mine,
            &dn_contains.to_lowercase(),
        ))
    }
}

/// The fault switch of an HTTP target (the HR REST API of `rest-hr`, the SCIM endpoint of
/// `scim-target`) or of the script program's shim (`script-sqlite`, which words the same
/// faults in the script contract: `mock_targets::script`): the suite's faults in HTTP. Errors
/// named by their LDAP result code (RFC 4511 Appendix A) are answered with the status an HTTP service gives for the same condition
/// ([`http_status`]); a fault aimed at a scenario's objects hits the requests whose path or
/// body names one of them (the REST API's login, the SCIM endpoint's id: both are the user's
/// unique name in the run).
#[derive(Debug)]
struct HttpFaults(mock_targets::http::FaultSwitch);

/// The HTTP status a REST API answers where a directory answers LDAP result `code`: 409 for
/// entryAlreadyExists, 400 for a value or schema the target refuses, 403 for
/// insufficientAccessRights, 404 for noSuchObject, 503 for busy and unavailable, 500 otherwise.
fn http_status(code: u32) -> u16 {
    match code {
        68 => 409,
        16..=21 | 34 | 53 | 64..=67 | 69 => 400,
        50 => 403,
        32 => 404,
        51 | 52 => 503,
        _ => 500,
    }
}

/// The name a fault's scope gives an HTTP request: the scenario's suffix, without the comma
/// that ends it in a DN ([`crate::world::EcmaWorld::fault_scope`]).
fn http_scope(scope: &str) -> String {
    scope.trim_end_matches(',').to_owned()
}

impl ControlledTarget for HttpFaults {
    fn inject(&self, fault: Fault) -> Result<(), String> {
        use mock_targets::http::{Action, Operation};
        self.0.inject(mock_targets::http::Fault {
            operation: fault.op.map(|op| match op {
                crate::faults::TargetOp::Add => Operation::Create,
                crate::faults::TargetOp::Modify => Operation::Update,
                crate::faults::TargetOp::Delete => Operation::Delete,
            }),
            scope: fault.dn_contains.as_deref().map(http_scope),
            action: match fault.action {
                FaultAction::Fail { code, message } => Action::Answer {
                    status: http_status(code),
                    message,
                    delay: std::time::Duration::ZERO,
                },
                FaultAction::Delay(d) => Action::Late(d),
                FaultAction::Drop => Action::Drop,
                FaultAction::DropAfter => Action::DropAfter,
            },
            times: match fault.times {
                Times::Once => Some(1),
                Times::Always => None,
            },
        });
        Ok(())
    }

    fn clear(&self, scope: &str) {
        let scope = http_scope(scope);
        self.0
            .clear_where(|f| crate::faults::started_by(f.scope.as_deref(), &scope));
    }

    /// The services keep no log of the writes they made.
    fn host_writes(&self, _dn_contains: &str) -> Option<Vec<String>> {
        None
    }

    fn aims_at_operations(&self) -> bool {
        true
    }
}

/// One profile of the embedded default: the example host configuration it comes from and the
/// connector that serves it.
struct Served {
    profile: &'static str,
    connector: &'static str,
    example: &'static str,
    /// The mock LDAP flavour, or `None` for the SQLite table.
    flavour: Option<Flavour>,
    /// The LDAP container (empty for SQLite).
    container: &'static str,
}

impl Served {
    /// Whether the profile's target plays the suite's faults: the mock directories, the mock
    /// HR REST API (`rest-hr`), the on-premises SCIM endpoint (`scim-target`) and the script
    /// connector's program behind the fault shim (`script-sqlite`). The SQL profiles' SQLite
    /// files, which the host opens itself, cannot be made to misbehave.
    fn plays_faults(&self) -> bool {
        self.flavour.is_some()
            || matches!(self.profile, "rest-hr" | "scim-target" | "script-sqlite")
    }
}

const OPENLDAP_SUFFIX: &str = "dc=contoso,dc=lab";
const ADLDS_SUFFIX: &str = "CN=App,DC=contoso,DC=lab";

static SERVED: &[Served] = &[
    Served {
        profile: "openldap-inetorgperson",
        connector: "OpenLDAP",
        example: include_str!("../../examples/ecma-host-openldap.toml"),
        flavour: Some(Flavour::OpenLdap),
        container: "ou=inetorgperson,dc=contoso,dc=lab",
    },
    Served {
        profile: "openldap-posix",
        connector: "OpenLDAPPosix",
        example: include_str!("../../examples/ecma-host-openldap-posix.toml"),
        flavour: Some(Flavour::OpenLdap),
        container: "ou=posix,dc=contoso,dc=lab",
    },
    Served {
        profile: "openldap-disable-flag",
        connector: "OpenLDAPFlag",
        example: include_str!("../../examples/ecma-host-openldap-flag.toml"),
        flavour: Some(Flavour::OpenLdap),
        container: "ou=flag,dc=contoso,dc=lab",
    },
    Served {
        profile: "openldap-flows",
        connector: "OpenLDAPFlows",
        example: include_str!("../../examples/ecma-host-openldap-flows.toml"),
        flavour: Some(Flavour::OpenLdap),
        container: "ou=flows,dc=contoso,dc=lab",
    },
    Served {
        profile: "adlds-user",
        connector: "ADLDS",
        example: include_str!("../../examples/ecma-host-adlds.toml"),
        flavour: Some(Flavour::AdLds),
        container: "OU=ecmacert,CN=App,DC=contoso,DC=lab",
    },
    Served {
        profile: "sqlite-table",
        connector: "SQLite",
        example: include_str!("../../examples/ecma-host-sqlite.toml"),
        flavour: None,
        container: "",
    },
    Served {
        profile: "script-sqlite",
        connector: "Script",
        example: include_str!("../../examples/ecma-host-script-sqlite.toml"),
        flavour: None,
        container: "",
    },
    Served {
        profile: "rest-hr",
        connector: "RestHR",
        example: include_str!("../../examples/ecma-host-rest.toml"),
        flavour: None,
        container: "",
    },
    Served {
        profile: "scim-target",
        connector: "SCIM",
        example: include_str!("../../examples/ecma-host-scim.toml"),
        flavour: None,
        container: "",
    },
    Served {
        profile: "sqlite-flows",
        connector: "SQLiteFlows",
        example: include_str!("../../examples/ecma-host-sqlite-flows.toml"),
        flavour: None,
        container: "",
    },
];

/// The script connector's example program (`examples/connectors/script-sqlite.py`), which the
/// `script-sqlite` profile's connector runs.
const SCRIPT_SQLITE: &str = include_str!("../../examples/connectors/script-sqlite.py");

/// The Python interpreter for the script connector: the system's `/usr/bin/python3` when it
/// exists (a version manager's shim on `PATH` costs ~100 ms per run, the interpreter ~20 ms),
/// else `python3` from `PATH`.
fn python() -> String {
    let system = Path::new("/usr/bin/python3");
    if system.exists() {
        system.display().to_string()
    } else {
        "python3".into()
    }
}

/// What `ecmacert list` prints without a configuration.
pub fn describe(suite: &Suite, options: &RunOptions) -> Result<String, RunError> {
    let mut out = String::from(
        "the embedded default: the reference host on mock directories and SQLite, in this process\n",
    );
    let mut extra = std::collections::BTreeSet::new();
    extra.insert(Capability::FaultInjection);
    extra.insert(Capability::ConnectionFaults);
    extra.insert(Capability::ImportHook);
    extra.insert(Capability::ConnectorUrl);
    let tags = match &options.tags {
        Some(expr) => Some(
            expr.parse::<gherkin::tagexpr::TagOperation>()
                .map_err(|e| {
                    crate::config::ConfigError::invalid(
                        "--tags",
                        format!("{expr:?} is not a tag expression: {e}"),
                    )
                })?,
        ),
        None => None,
    };
    for s in SERVED
        .iter()
        .filter(|s| options.profiles.is_empty() || options.profiles.iter().any(|p| p == s.profile))
    {
        let mut extra = extra.clone();
        if !s.plays_faults() {
            extra.remove(&Capability::FaultInjection);
            extra.remove(&Capability::ConnectionFaults);
        } else {
            extra.insert(Capability::OperationFaults);
        }
        if s.flavour.is_some() {
            extra.insert(Capability::NetworkedTarget);
        }
        let target = match s.flavour {
            Some(Flavour::OpenLdap) => "mock OpenLDAP",
            Some(Flavour::AdLds) => "mock AD LDS",
            None if s.profile == "rest-hr" => "mock HR REST API",
            None if s.profile == "scim-target" => "SCIM endpoint",
            None if s.profile == "script-sqlite" => "script over a SQLite file",
            None => "SQLite file",
        };
        let plan = crate::runner::plan(suite, s.profile, tags.as_ref(), &extra);
        let runs = plan.iter().filter(|(_, skip)| skip.is_none()).count();
        out.push_str(&format!(
            "  profile {} on connector {} ({target}): {runs} of {} scenarios run, × {} dialect(s)\n",
            s.profile,
            s.connector,
            plan.len(),
            options.dialects.len()
        ));
    }
    Ok(out)
}

/// The profiles the embedded default serves.
pub fn profiles() -> Vec<&'static str> {
    SERVED.iter().map(|s| s.profile).collect()
}

/// The connector names the embedded default serves (`/ecma2host_{name}/scim`).
pub fn connectors() -> Vec<&'static str> {
    SERVED.iter().map(|s| s.connector).collect()
}

fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn setup(e: impl std::fmt::Display) -> RunError {
    RunError::Setup(e.to_string())
}

fn host_account(s: &Served) -> String {
    let suffix = if s.flavour == Some(Flavour::AdLds) {
        ADLDS_SUFFIX
    } else {
        OPENLDAP_SUFFIX
    };
    format!("cn=ecmahost-{},{suffix}", s.connector.to_ascii_lowercase())
}

/// The mock for a flavour, seeded with its naming context and the connectors' containers and
/// accounts (each limited to 3 entries per unpaged search, so imports must page). Given `tls`,
/// it also serves LDAPS and takes updates only over TLS (ECMA-LDAP-010).
async fn mock(
    flavour: Flavour,
    admin_password: &str,
    accounts: &[(String, String)],
    tls: Option<rustls::ServerConfig>,
) -> Result<MockLdap, RunError> {
    let suffix = if flavour == Flavour::AdLds {
        ADLDS_SUFFIX
    } else {
        OPENLDAP_SUFFIX
    };
    let mut config = MockConfig::new(
        flavour,
        suffix,
        &format!("cn=admin,{suffix}"),
        admin_password,
    );
    config.size_limits = accounts.iter().map(|(dn, _)| (dn.clone(), 3)).collect();
    config.accounts = accounts.to_vec();
    config.update_tls = tls.is_some();
    config.tls = tls.map(std::sync::Arc::new);
    let m = MockLdap::start(config).await.map_err(setup)?;
    m.seed_naming_context().map_err(|e| setup(e.message))?;
    for s in SERVED.iter().filter(|s| s.flavour == Some(flavour)) {
        let ou = s
            .container
            .split(',')
            .next()
            .and_then(|r| r.split_once('='))
            .map_or("x", |(_, v)| v);
        m.seed(
            s.container,
            &[("objectClass", &["organizationalUnit"]), ("ou", &[ou])],
        )
        .map_err(|e| setup(e.message))?;
    }
    Ok(m)
}

/// Runs the suite against the reference host on mock directories.
pub async fn run_embedded(suite: &Suite, options: &RunOptions) -> Result<Report, RunError> {
    run_embedded_with(suite, options, |app| app).await
}

/// A defect of the host itself rather than of its answers: how it serves TLS, how its
/// connector is configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostDefect {
    /// None: the reference host as configured.
    #[default]
    None,
    /// TLS 1.3 only: a client restricted to TLS 1.2 cannot connect.
    Tls13Only,
    /// A certificate whose subject alternative name is `ecma-host.invalid`, not `localhost`.
    CertificateForAnotherName,
    /// LDAP connectors configured with the object class `top`: their imports take entries of
    /// every class.
    EveryObjectClass,
    /// The AD LDS connector configured with the directory's plaintext URL: the directory, which
    /// takes updates only over TLS, refuses its writes.
    PlaintextDirectory,
    /// LDAP connectors with `add_retries = 0`: an add the directory answers noSuchObject for a
    /// container that exists is answered 400 at once, not tried again.
    NoAddRetry,
}

/// [`run_embedded`] with the host's router passed through `defect` first: how the suite's own
/// tests build deliberately defective hosts on the mocks, to show that a check can fail.
pub async fn run_embedded_with(
    suite: &Suite,
    options: &RunOptions,
    defect: impl FnOnce(axum::Router) -> axum::Router,
) -> Result<Report, RunError> {
    run_embedded_defective(suite, options, defect, HostDefect::None).await
}

/// [`run_embedded_with`], the host also given `host_defect`.
pub async fn run_embedded_defective(
    suite: &Suite,
    options: &RunOptions,
    defect: impl FnOnce(axum::Router) -> axum::Router,
    host_defect: HostDefect,
) -> Result<Report, RunError> {
    let started = std::time::Instant::now();
    let selected: Vec<&Served> = SERVED
        .iter()
        .filter(|s| options.profiles.is_empty() || options.profiles.iter().any(|p| p == s.profile))
        .collect();
    if let Some(unknown) = options
        .profiles
        .iter()
        .find(|p| !SERVED.iter().any(|s| s.profile == *p))
    {
        return Err(crate::config::ConfigError::invalid(
            "--profile",
            format!(
                "the embedded default serves {}, not {unknown:?}",
                profiles().join(", ")
            ),
        )
        .into());
    }
    let host = Started::start(suite, defect, host_defect).await?;
    let port = host.port;
    // Every selected profile at once: each has its own connector, container and account, so
    // one run id marks them all.
    let run_id = options.run_id.clone().unwrap_or_else(crate::runner::run_id);
    // The profiles share `concurrency` scenarios in flight per core, up to one core per profile
    // ([`crate::world::Slots`]): they all run in this process, the reference host and the
    // mocks included, so more would only queue for the CPU, and a write queued past its
    // connector's timeout is a 503. A caller may give a budget wider than this run.
    let slots = options
        .shared_slots
        .clone()
        .unwrap_or_else(|| per_core(options.concurrency, selected.len()));
    let runs = selected.iter().enumerate().map(|(i, s)| {
        let config = host.config(s);
        // Faults are for the LDAP mocks, the HR REST API, the SCIM endpoint and the script's
        // program; a SQLite file the host opens itself (the SQL profiles) cannot be made to
        // misbehave.
        let faults = match s.flavour {
            Some(_) => Some(std::sync::Arc::new(MockFaults {
                mock: host.mock_for(s.flavour).clone(),
                host_bind_dn: host_account(s),
            }) as std::sync::Arc<dyn ControlledTarget>),
            None => host.http_faults(s.profile).map(|switch| {
                std::sync::Arc::new(HttpFaults(switch)) as std::sync::Arc<dyn ControlledTarget>
            }),
        };
        let options = RunOptions {
            profiles: vec![s.profile.to_owned()],
            run_id: Some(run_id.clone()),
            first_scenario: 1 + 10_000 * i as u64,
            shared_slots: Some(slots.clone()),
            ..options.clone()
        };
        let base: &Path = host.dir.path();
        async move { run_with(suite, &config, base, &options, faults).await }
    });
    let results = futures_util::future::join_all(runs).await;
    crate::runner::quiet_step_failures();
    host.stop().await;
    let mut merged: Option<Report> = None;
    for result in results {
        let report = result?;
        match &mut merged {
            None => merged = Some(report),
            Some(m) => {
                m.runs.extend(report.runs);
                m.leftovers.extend(report.leftovers);
                m.host_facts.extend(report.host_facts);
                if let Some(c) = report.dialects_compared {
                    let total = m.dialects_compared.get_or_insert_default();
                    total.scenarios += c.scenarios;
                    total.with_objects += c.with_objects;
                    total.unread.extend(c.unread);
                }
            }
        }
    }
    let mut report = merged.ok_or_else(|| setup("no profile ran"))?;
    report.host = format!(
        "the reference host on mock directories and SQLite (https://localhost:{port}, embedded default)"
    );
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// A budget of `concurrency` scenarios in flight per core of this machine, for at most `runs`
/// runs side by side (no more cores than runs).
pub fn per_core(concurrency: usize, runs: usize) -> crate::world::Slots {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    crate::world::Slots::new(concurrency.max(1) * cores.min(runs.max(1)))
}

/// The embedded default, started: the mock directories, the SQLite tables, and the reference
/// host serving every profile's connector over HTTPS on a free loopback port.
struct Started {
    targets: Targets,
    dir: tempfile::TempDir,
    port: u16,
    host: reference_host::Host,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), reference_host::ServeError>>,
    /// The SCIM endpoint the `scim-target` profile's connector writes to.
    endpoint: ScimEndpoint,
    /// The HR system's REST API the `rest-hr` profile's connector writes to.
    rest_hr: mock_targets::rest::RestHr,
    /// The faults of the `script-sqlite` profile's program, played by the shim it runs behind.
    script_faults: mock_targets::script::ScriptFaults,
}

/// The on-premises SCIM endpoint of the `scim-target` profile: a second reference host serving
/// the profile's SQLite table at `/ecma2host_HR/scim`, over plain HTTP on loopback. It is a
/// target, not the host under test: a defective router wraps the first host only. It plays the
/// suite's faults in HTTP ([`mock_targets::http`]), as the HR REST API does.
struct ScimEndpoint {
    url: String,
    token: String,
    faults: mock_targets::http::FaultSwitch,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl ScimEndpoint {
    /// Serves the table at `table_url` (imported before this returns).
    async fn start(table_url: &str, base_dir: &Path) -> Result<ScimEndpoint, RunError> {
        let mut c = HostConfig::parse(include_str!("../../examples/ecma-host-sqlite.toml"))
            .map_err(setup)?;
        c.server.tls = None;
        c.server.plain_http = true;
        let token = secret();
        let connector = c
            .connectors
            .first_mut()
            .ok_or_else(|| setup("examples/ecma-host-sqlite.toml has no connector"))?;
        connector.name = "HR".into();
        connector.token = SecretSource::Inline(Secret::new(token.clone()));
        connector.autosync_minutes = 0;
        if let Some(sql) = &mut connector.sql {
            sql.url = table_url.to_owned();
        }
        let host = std::sync::Arc::new(reference_host::Host::new(c, base_dir).map_err(setup)?);
        host.import_all().await.map_err(setup)?;
        // An application reads its own database: a listing's first page (a full import by the
        // connector under test) is answered from the table as it stands, so rows the probe
        // wrote or removed out of band are seen, as they would be in the application.
        let live = std::sync::Arc::clone(&host);
        let app = host.app().layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let live = std::sync::Arc::clone(&live);
                async move {
                    let first_listing = request.method() == axum::http::Method::GET
                        && request.uri().path().ends_with("/Users")
                        && !request.uri().query().unwrap_or("").contains("filter=")
                        && request
                            .uri()
                            .query()
                            .unwrap_or("")
                            .split('&')
                            .all(|p| !p.starts_with("startIndex=") || p == "startIndex=1");
                    if first_listing && let Err(e) = live.import_all().await {
                        tracing::warn!(error = %e, "the SCIM endpoint could not read its table");
                    }
                    next.run(request).await
                }
            },
        ));
        let faults = mock_targets::http::FaultSwitch::new();
        let app = faults.gate(app, "/Users", scim_error);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(setup)?;
        let port = listener.local_addr().map_err(setup)?.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(mock_targets::http::serve(listener, app, stopped));
        Ok(ScimEndpoint {
            url: format!("http://127.0.0.1:{port}/ecma2host_HR/scim"),
            token,
            faults,
            stop,
            server,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// A fault's answer as a SCIM endpoint words it: a SCIM Error (RFC 7644 §3.12) with the status
/// and the message as `detail`, and `scimType` `uniqueness` for a 409.
fn scim_error(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": message,
    });
    if status == axum::http::StatusCode::CONFLICT {
        body["scimType"] = "uniqueness".into();
    }
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// What the embedded host serves: the mock directories and SQLite tables, with the
/// certificates and secrets to reach them.
struct Targets {
    cert: std::path::PathBuf,
    directory_cert: std::path::PathBuf,
    tokens: Vec<String>,
    admin_password: String,
    openldap: MockLdap,
    adlds: MockLdap,
    sqlite: std::collections::BTreeMap<&'static str, mock_targets::sql::Sandbox>,
}

impl Started {
    /// Starts the mocks, the tables and the host (its router passed through `defect`).
    async fn start(
        suite: &Suite,
        defect: impl FnOnce(axum::Router) -> axum::Router,
        host_defect: HostDefect,
    ) -> Result<Started, RunError> {
        let dir = tempfile::tempdir().map_err(setup)?;
        let san = if host_defect == HostDefect::CertificateForAnotherName {
            "ecma-host.invalid"
        } else {
            "localhost"
        };
        let (cert, key) = reference_host::cert::generate(san, dir.path()).map_err(setup)?;
        let admin_password = secret();
        let accounts: Vec<(String, String)> =
            SERVED.iter().map(|s| (host_account(s), secret())).collect();
        // AD LDS takes updates only over TLS: its mock serves LDAPS with a certificate of its
        // own (for localhost, whatever the host's says), and the profile requires it
        // (directory_tls).
        let directory_dir = dir.path().join("directory");
        std::fs::create_dir_all(&directory_dir).map_err(setup)?;
        let (directory_cert, directory_key) =
            reference_host::cert::generate("localhost", &directory_dir).map_err(setup)?;
        let directory_tls =
            reference_host::cert::server_config(&directory_cert, &directory_key).map_err(setup)?;
        let openldap = mock(Flavour::OpenLdap, &admin_password, &accounts, None).await?;
        let adlds = mock(
            Flavour::AdLds,
            &admin_password,
            &accounts,
            Some(directory_tls),
        )
        .await?;
        // Each SQLite profile's table: a file of its own, made by the profile's setup script.
        let mut sqlite = std::collections::BTreeMap::new();
        for s in SERVED.iter().filter(|s| s.flavour.is_none()) {
            let script = suite.setup_script(s.profile).ok_or_else(|| {
                setup(format!(
                    "the {} profile or its setup script is missing",
                    s.profile
                ))
            })?;
            let sandbox = mock_targets::sql::Sandbox::create(
                &format!("sqlite://{}", dir.path().display()),
                &s.profile.replace('-', "_"),
                &script,
            )
            .await
            .map_err(setup)?;
            sqlite.insert(s.profile, sandbox);
        }
        let endpoint = ScimEndpoint::start(
            &sqlite
                .get("scim-target")
                .map(|s: &mock_targets::sql::Sandbox| s.url.clone())
                .unwrap_or_default(),
            dir.path(),
        )
        .await?;
        let rest_hr_token = secret();
        let rest_hr = mock_targets::rest::RestHr::start(
            &sqlite
                .get("rest-hr")
                .map(|s: &mock_targets::sql::Sandbox| s.url.clone())
                .unwrap_or_default(),
            &rest_hr_token,
        )
        .await
        .map_err(setup)?;
        let script_faults = mock_targets::script::ScriptFaults::start()
            .await
            .map_err(setup)?;
        // The host: one connector per profile, from its example configuration, each with a
        // token of its own (ECMA-AUTH-004 tries one connector's token on the next).
        let tokens: Vec<String> = SERVED.iter().map(|_| secret()).collect();
        let targets = Targets {
            cert,
            directory_cert,
            tokens,
            admin_password,
            openldap,
            adlds,
            sqlite,
        };
        let mut host_config: Option<HostConfig> = None;
        for ((s, (account, password)), token) in SERVED.iter().zip(&accounts).zip(&targets.tokens) {
            let mut c = HostConfig::parse(s.example).map_err(setup)?;
            let mut connector = c.connectors.remove(0);
            connector.name = s.connector.to_owned();
            connector.token = SecretSource::Inline(Secret::new(token.clone()));
            connector.autosync_minutes = 0;
            if let Some(sql) = &mut connector.sql {
                sql.url = targets.sqlite_url(s.profile);
                sql.page_size = 2;
            }
            if let Some(rest) = &mut connector.rest {
                rest.url = rest_hr.url();
                rest.auth = reference_host::config::RestAuth::Bearer(SecretSource::Inline(
                    Secret::new(rest_hr_token.clone()),
                ));
                rest.page_size = 10;
                // A slow API must turn into a 503 quickly here, as a slow directory does (the
                // slow-target scenarios want a 5xx within 3.5 s), yet an ordinary write over
                // HTTP and SQLite in a debug build on a busy two-core machine can take over 1 s:
                // a 1 s limit answered such creates 503 (the CLI test of the embedded default,
                // stop 32).
                rest.timeout_seconds = 2;
            }
            if let Some(scim) = &mut connector.scim {
                scim.url = endpoint.url.clone();
                scim.token = SecretSource::Inline(Secret::new(endpoint.token.clone()));
                scim.page_size = 10;
                // As for the REST API: a slow endpoint (a fault) must be a 503 within the
                // slow-target scenarios' 3.5 s.
                scim.timeout_seconds = 2;
            }
            if let Some(script) = &mut connector.script {
                // The example program, written beside the host's files, on the profile's table,
                // behind the fault shim.
                let program = dir.path().join("script-sqlite.py");
                std::fs::write(&program, SCRIPT_SQLITE).map_err(setup)?;
                let shim = dir.path().join("script_faults.py");
                std::fs::write(&shim, mock_targets::script::SHIM).map_err(setup)?;
                let table = targets.sqlite_url(s.profile);
                script.command = script_faults.wrap(
                    &python(),
                    &shim,
                    vec![
                        python(),
                        program.display().to_string(),
                        table.trim_start_matches("sqlite://").to_owned(),
                        "Employees".into(),
                        "ContosoLogin".into(),
                    ],
                );
                script.page_size = 100;
                // A fault that holds a request (a late answer) holds its session, past the 503
                // (an export goes on while the host follows its outcome): more than the
                // example's two, so that other scenarios' requests do not queue behind the
                // fault scenarios'. (A queued export's 2 s count from when it has a session,
                // but its scenario waits all the same.)
                script.sessions = 8;
                // As for the REST API: a slow program (a fault) must be a 503 within the
                // slow-target scenarios' 3.5 s.
                script.timeout_seconds = 2;
            }
            if let Some(ldap) = &mut connector.ldap {
                (ldap.url, ldap.ca_certificate) = targets.reach(s.flavour);
                if host_defect == HostDefect::PlaintextDirectory {
                    ldap.url = targets.mock_for(s.flavour).url();
                }
                ldap.starttls = false;
                ldap.bind_dn = account.clone();
                ldap.bind_password = SecretSource::Inline(Secret::new(password.clone()));
                ldap.base_dn = s.container.to_owned();
                ldap.page_size = 2;
                // A slow directory must turn into a 503 quickly here: the suite waits for it.
                ldap.timeout_seconds = 1;
                if host_defect == HostDefect::EveryObjectClass {
                    ldap.object_class = "top".into();
                }
                if host_defect == HostDefect::NoAddRetry {
                    ldap.add_retries = 0;
                }
            }
            match &mut host_config {
                None => {
                    c.connectors = vec![connector];
                    host_config = Some(c);
                }
                Some(h) => h.connectors.push(connector),
            }
        }
        let host_config = host_config.ok_or_else(|| setup("no connector"))?;
        let host = reference_host::Host::new(host_config, dir.path()).map_err(setup)?;
        host.import_all().await.map_err(setup)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(setup)?;
        let port = listener.local_addr().map_err(setup)?.port();
        let tls = if host_defect == HostDefect::Tls13Only {
            tls13_only(&targets.cert, &key)?
        } else {
            reference_host::cert::server_config(&targets.cert, &key).map_err(setup)?
        };
        let app = defect(host.app());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(reference_host::serve_router(
            app,
            Some(tls),
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Started {
            targets,
            dir,
            port,
            host,
            stop,
            server,
            endpoint,
            rest_hr,
            script_faults,
        })
    }

    /// The fault switch of `profile`'s HTTP target or script shim ([`Served::plays_faults`]);
    /// `None` for a profile on a SQLite file the host opens itself.
    fn http_faults(&self, profile: &str) -> Option<mock_targets::http::FaultSwitch> {
        match profile {
            "rest-hr" => Some(self.rest_hr.faults()),
            "scim-target" => Some(self.endpoint.faults.clone()),
            "script-sqlite" => Some(self.script_faults.faults()),
            _ => None,
        }
    }

    /// The host's mock of `flavour` (OpenLDAP for SQLite profiles, which have none).
    fn mock_for(&self, flavour: Option<Flavour>) -> &MockLdap {
        self.targets.mock_for(flavour)
    }

    /// Stops the host and waits for it.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        drop(self.host);
        self.endpoint.stop().await;
        drop(self.rest_hr);
    }

    /// The run configuration for profile `s` on this host.
    fn config(&self, s: &Served) -> Config {
        let served = SERVED
            .iter()
            .position(|x| x.profile == s.profile)
            .unwrap_or_default();
        let token = self.targets.tokens[served].clone();
        let other_connector = SERVED[(served + 1) % SERVED.len()].connector.to_owned();
        let port = self.port;
        let cert = &self.targets.cert;
        let admin_password = &self.targets.admin_password;
        let reach = |f| self.targets.reach(f);
        let sqlite_url = |p| self.targets.sqlite_url(p);
        Config {
            profile: Some(s.profile.to_owned()),
            profiles: Vec::new(),
            profiles_dir: None,
            host: RunHost {
                base_url: format!("https://localhost:{port}"),
                connector: s.connector.to_owned(),
                scim_url: None,
                allow_plaintext: false,
                insecure_tls: false,
                standby: None,
                token: SecretSource::Inline(Secret::new(token.clone())),
                ca_certificate: Some(cert.clone()),
                command: None,
                ready_timeout_seconds: 10,
                // Beyond Entra's 60 s, so that a slow answer is seen as slow (ECMA-PERF-001)
                // rather than as no answer.
                request_timeout_seconds: 65,
                import: Some(ImportHook::Http {
                    method: "POST".into(),
                    path: "/cache/import".into(),
                }),
                restart: Some(ImportHook::Http {
                    method: "POST".into(),
                    path: "/cache/restart".into(),
                }),
                other_connector: Some(other_connector),
            },
            target: match s.flavour {
                Some(flavour) => {
                    let suffix = if flavour == Flavour::AdLds {
                        ADLDS_SUFFIX
                    } else {
                        OPENLDAP_SUFFIX
                    };
                    TargetConfig {
                        kind: "ldap".into(),
                        url: reach(s.flavour).0,
                        starttls: false,
                        ca_certificate: reach(s.flavour).1,
                        bind_dn: format!("cn=admin,{suffix}"),
                        bind_password: Some(SecretSource::Inline(Secret::new(
                            admin_password.clone(),
                        ))),
                        base_dn: suffix.to_owned(),
                        container: s.container.to_owned(),
                        table: None,
                        anchor: None,
                        generated_attributes: Vec::new(),
                        fault_proxy: None,
                    }
                }
                None => TargetConfig::sql(sqlite_url(s.profile)),
            },
        }
    }
}

impl Targets {
    /// The mock of `flavour` (OpenLDAP for `None`).
    fn mock_for(&self, f: Option<Flavour>) -> &MockLdap {
        if f == Some(Flavour::AdLds) {
            &self.adlds
        } else {
            &self.openldap
        }
    }

    /// The URL and CA to reach a flavour's mock with: LDAPS where it serves it.
    fn reach(&self, f: Option<Flavour>) -> (String, Option<std::path::PathBuf>) {
        let m = self.mock_for(f);
        match m.ldaps_url() {
            Some(url) => (url, Some(self.directory_cert.clone())),
            None => (m.url(), None),
        }
    }

    /// The URL of a SQLite profile's table.
    fn sqlite_url(&self, profile: &str) -> String {
        self.sqlite
            .get(profile)
            .map(|s| s.url.clone())
            .unwrap_or_default()
    }
}

/// The reference host's TLS configuration, restricted to TLS 1.3.
fn tls13_only(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, RunError> {
    use rustls_pki_types::pem::PemObject as _;
    let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .map_err(setup)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(setup)?;
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key).map_err(setup)?;
    let mut config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .map_err(setup)?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(setup)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `profile` of the embedded default (the reference host on its mock directory or
/// SQLite table, its router passed through `defect`) and runs `f` with the profile's run
/// configuration and base directory; the host stops when `f` ends. How the single-profile
/// commands (`ecmacert cycle`) run without a configuration.
///
/// # Errors
/// [`RunError`] (exit code 2) when `profile` is not one the embedded default serves, or what
/// starting the mocks and the host met.
pub async fn with_profile<T>(
    suite: &Suite,
    profile: &str,
    defect: impl FnOnce(axum::Router) -> axum::Router,
    f: impl AsyncFnOnce(&Config, &Path) -> T,
) -> Result<T, RunError> {
    let served = SERVED
        .iter()
        .find(|s| s.profile == profile)
        .ok_or_else(|| {
            crate::config::ConfigError::invalid(
                "--profile",
                format!(
                    "the embedded default serves {}, not {profile:?}",
                    profiles().join(", ")
                ),
            )
        })?;
    let host = Started::start(suite, defect, HostDefect::None).await?;
    let config = host.config(served);
    let out = f(&config, host.dir.path()).await;
    host.stop().await;
    Ok(out)
}
