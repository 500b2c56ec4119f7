//! A reference host per test, over its own container in the shared slapd, served over HTTPS on a
//! free port (optionally wrapped in a defect), and the harness configuration that points at it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use std::sync::Arc;

use harness::config::{Config, FaultProxyConfig, TargetConfig};
use harness::faults::ControlledTarget;
use harness::runner::{self, RunOptions};
use harness::suite::Suite;
use reference_host::secret::{Secret, SecretSource};
use reference_host::{Host, cert, serve_router};
use reports::Report;

use crate::slapd::{Slapd, slapd};

/// The host's token in these tests.
pub const TOKEN: &str = "harness-test-token-42";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A running reference host and the harness configuration for it.
pub struct Fixture {
    /// Holds the certificate, secrets and configuration files.
    pub dir: tempfile::TempDir,
    /// The harness configuration file.
    pub config_path: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The fault proxy the host reaches slapd through, started before the host
    /// ([`start_behind_proxy`]).
    faults: Option<Arc<dyn ControlledTarget>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Fixture {
    /// The harness configuration.
    pub fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap()
    }

    /// The probe on the fixture's slapd, bound as the configuration says.
    pub async fn probe(&self) -> harness::probe::Probe {
        let config = self.config();
        let password = config
            .target
            .bind_password
            .as_ref()
            .unwrap()
            .resolve(self.dir.path())
            .unwrap();
        harness::probe::Probe::connect(&config.target, Some(&password), self.dir.path(), None)
            .await
            .unwrap()
    }

    /// Runs the suite in-process; `Err` as the run gives it.
    pub async fn try_run(&self, options: &RunOptions) -> Result<Report, runner::RunError> {
        let suite = Suite::embedded().unwrap();
        runner::run_with(
            &suite,
            &self.config(),
            self.dir.path(),
            options,
            self.faults.clone(),
        )
        .await
    }

    /// Runs the suite in-process.
    pub async fn run(&self, options: &RunOptions) -> Report {
        let suite = Suite::embedded().unwrap();
        runner::run_with(
            &suite,
            &self.config(),
            self.dir.path(),
            options,
            self.faults.clone(),
        )
        .await
        .unwrap()
    }
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(name),
    )
    .unwrap()
}

/// The example host configuration for `profile`, pointed at the test directory.
fn host_config(slapd: &Slapd, profile: &str, container: &str) -> reference_host::config::Config {
    let file = match profile {
        "openldap-inetorgperson" => "ecma-host-openldap.toml",
        "openldap-posix" => "ecma-host-openldap-posix.toml",
        "openldap-disable-flag" => "ecma-host-openldap-flag.toml",
        other => panic!("no example host configuration for {other}"),
    };
    let text = example(file)
        .replace(
            "url = \"ldap://127.0.0.1:3890\"",
            &format!("url = \"{}\"", slapd.url),
        )
        .replace(
            "base_dn = \"dc=contoso,dc=lab\"",
            &format!("base_dn = \"{container}\""),
        )
        .replace("autosync_minutes = 120", "autosync_minutes = 0");
    let mut config = reference_host::config::Config::parse(&text).unwrap();
    config.connectors[0].token = SecretSource::Inline(Secret::new(TOKEN));
    config.connectors[0].ldap.as_mut().unwrap().bind_password =
        SecretSource::Inline(Secret::new(slapd.admin_password));
    // A second connector with a token of its own, for ECMA-AUTH-004.
    let mut other = config.connectors[0].clone();
    other.name = OTHER_CONNECTOR.into();
    other.token = SecretSource::Inline(Secret::new("harness-other-connector-token-7"));
    config.connectors.push(other);
    config
}

/// The second connector every test host serves, with a token of its own.
pub const OTHER_CONNECTOR: &str = "LDAPOther";

/// How the host under test reaches slapd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `ldap://`.
    Plain,
    /// Through ecmacert's fault proxy (`target.fault_proxy`), started first so that the
    /// host's first import goes through it.
    Proxy,
    /// `ldaps://`, verified against slapd's CA.
    Ldaps,
    /// `ldap://` upgraded with StartTLS, verified against slapd's CA.
    StartTls,
    /// `ldaps://`, trusting another CA: the host must not reach the directory at all.
    UntrustedLdaps,
}

/// Starts a reference host for `profile`, its router passed through `defect` first.
pub async fn start(profile: &str, defect: fn(Router) -> Router) -> Fixture {
    start_over(profile, defect, Link::Plain).await
}

/// [`start`] behind ecmacert's fault proxy ([`Link::Proxy`]).
pub async fn start_behind_proxy(profile: &str, defect: fn(Router) -> Router) -> Fixture {
    start_over(profile, defect, Link::Proxy).await
}

/// A free loopback port (another process may take it before it is bound again; the tests'
/// ports come from the kernel's ephemeral range, so that is rare).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// [`start`], the host reaching slapd over `link`.
pub async fn start_over(profile: &str, defect: fn(Router) -> Router, link: Link) -> Fixture {
    let slapd = slapd().await;
    let dir = tempfile::tempdir().unwrap();
    let container = format!(
        "ou=h{}-{},{}",
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::process::id(),
        slapd.suffix
    );
    let mut host_config = host_config(slapd, profile, &container);
    let other_ca = dir.path().join("other-ca");
    for c in &mut host_config.connectors {
        let ldap = c.ldap.as_mut().unwrap();
        match link {
            Link::Plain | Link::Proxy => {}
            Link::Ldaps => {
                ldap.url = slapd.ldaps_url.clone();
                ldap.ca_certificate = Some(slapd.ca_certificate.clone());
            }
            Link::StartTls => {
                ldap.starttls = true;
                ldap.ca_certificate = Some(slapd.ca_certificate.clone());
            }
            Link::UntrustedLdaps => {
                let (other, _) = cert::generate("127.0.0.1", &other_ca).unwrap();
                ldap.url = slapd.ldaps_url.clone();
                ldap.ca_certificate = Some(other);
                ldap.timeout_seconds = 2;
            }
        }
    }
    let proxy = (link == Link::Proxy).then(|| format!("127.0.0.1:{}", free_port()));
    let mut faults = None;
    if let Some(listen) = &proxy {
        let mut target = TargetConfig::sql("");
        target.kind = "ldap".into();
        target.url = slapd.url.clone();
        target.fault_proxy = Some(FaultProxyConfig {
            listen: listen.parse().unwrap(),
        });
        faults = harness::fault_proxy::start(&target).await.unwrap();
        for c in &mut host_config.connectors {
            let ldap = c.ldap.as_mut().unwrap();
            ldap.url = format!("ldap://{listen}");
            // A slow directory must become a 5xx within the slow scenarios' bounds.
            ldap.timeout_seconds = 1;
        }
    }
    let host = Host::new(host_config, dir.path()).unwrap();
    let (crt, key) = cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let tls = cert::server_config(&crt, &key).unwrap();
    // The host's partition is the container; the probe makes it before the host imports.
    add_container(slapd, &container).await;
    let imported = host.import_all().await;
    if link == Link::UntrustedLdaps {
        assert!(imported.is_err(), "an untrusted directory was read");
    } else {
        imported.unwrap();
    }
    let app = defect(host.app());
    let (port, stop) = serve_https(host, app, tls);
    let config_path = write_harness_config_with(
        dir.path(),
        slapd,
        profile,
        &format!("https://localhost:{port}"),
        TOKEN,
        &container,
        Some(OTHER_CONNECTOR),
    );
    if let Some(listen) = &proxy {
        let text = std::fs::read_to_string(&config_path).unwrap();
        std::fs::write(
            &config_path,
            format!("{text}fault_proxy = {{ listen = \"{listen}\" }}\n"),
        )
        .unwrap();
    }
    Fixture {
        dir,
        config_path,
        stop: Some(stop),
        faults,
    }
}

/// Adds `container` (an `ou=…` directly in a partition) to slapd as its administrator.
pub async fn add_container(slapd: &Slapd, container: &str) {
    let (conn, mut admin) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    admin
        .simple_bind(slapd.admin_dn, slapd.admin_password)
        .await
        .unwrap()
        .success()
        .unwrap();
    let ou = container
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("ou=")
        .to_owned();
    admin
        .add(
            container,
            vec![
                ("objectClass", ["organizationalUnit"].into()),
                ("ou", [ou.as_str()].into()),
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
}

/// Serves `app` over HTTPS on a free loopback port until the sender is used or dropped; the
/// host is kept alive as long as it serves.
pub fn serve_https(
    host: Host,
    app: Router,
    tls: rustls::ServerConfig,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _keep_host = host;
        serve_router(app, Some(tls), listener, async {
            let _ = stopped.await;
        })
        .await
    });
    (port, stop)
}

/// Writes a harness configuration into `dir`; secrets go into files next to it.
pub fn write_harness_config(
    dir: &Path,
    slapd: &Slapd,
    profile: &str,
    base_url: &str,
    token: &str,
    container: &str,
) -> PathBuf {
    write_harness_config_with(dir, slapd, profile, base_url, token, container, None)
}

/// [`write_harness_config`] naming another connector of the host (`host.other_connector`).
pub fn write_harness_config_with(
    dir: &Path,
    slapd: &Slapd,
    profile: &str,
    base_url: &str,
    token: &str,
    container: &str,
    other_connector: Option<&str>,
) -> PathBuf {
    let other = other_connector
        .map(|o| format!("other_connector = \"{o}\"\n"))
        .unwrap_or_default();
    std::fs::write(dir.join("token"), token).unwrap();
    std::fs::write(dir.join("ldap-password"), slapd.admin_password).unwrap();
    let slapd_url = &slapd.url;
    let text = format!(
        r#"profile = "{profile}"

[host]
base_url = "{base_url}"
connector = "LDAP"
token = {{ file = "token" }}
ca_certificate = "certs/ecma-host.crt"
request_timeout_seconds = 10
ready_timeout_seconds = 15
import = {{ method = "POST", path = "/cache/import" }}
restart = {{ method = "POST", path = "/cache/restart" }}
{other}
[target]
kind = "ldap"
url = "{slapd_url}"
bind_dn = "cn=admin,dc=contoso,dc=lab"
bind_password = {{ file = "ldap-password" }}
base_dn = "dc=contoso,dc=lab"
container = "{container}"
"#
    );
    let path = dir.join("ecmacert.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Both dialects, 8 in flight.
pub fn both_dialects() -> RunOptions {
    RunOptions::default()
}

/// Fails with the terminal summary when the report did not pass.
#[track_caller]
pub fn assert_passed(report: &Report) {
    assert!(
        report.passed(),
        "the suite failed:\n{}",
        reports::terminal::render(report)
    );
}

/// The outcome of the scenario called `name`, with its message and warnings.
pub fn said(report: &Report, name: &str) -> (reports::Outcome, String) {
    let c = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .find(|c| c.scenario == name)
        .unwrap_or_else(|| panic!("no scenario {name:?}"));
    let text = c.detail.as_ref().map_or(String::new(), |d| {
        std::iter::once(d.message.clone())
            .chain(d.warnings.iter().cloned())
            .collect::<Vec<_>>()
            .join("\n")
    });
    (c.outcome, text)
}

/// A SCIM Error answer (RFC 7644 §3.12) with `status`, as a defective host makes one up.
pub fn scim_error(
    status: axum::http::StatusCode,
    scim_type: Option<&str>,
    detail: &str,
) -> axum::response::Response {
    let mut body = serde_json::json!({
        "schemas": [scim_proto::urn::ERROR],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = serde_json::json!(t);
    }
    axum::response::IntoResponse::into_response((
        status,
        [("content-type", "application/scim+json")],
        body.to_string(),
    ))
}

/// A connection to the shared slapd, bound as its administrator.
pub async fn slapd_admin() -> ldap3::Ldap {
    let s = slapd().await;
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&s.url).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    ldap.simple_bind(s.admin_dn, s.admin_password)
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap
}

/// The id a request to `/Users/{id}` names, percent-decoded (empty for other paths).
pub fn id_in_path(uri: &axum::http::Uri) -> String {
    let segment = uri.path().rsplit_once("/Users/").map_or("", |(_, id)| id);
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Runs the scenarios `tags` selects against the reference host for `profile` on slapd, passed
/// through `defect`, and returns the message of `scenario`, which must have failed.
pub async fn failure_on_slapd(
    profile: &str,
    defect: fn(Router) -> Router,
    tags: &str,
    scenario: &str,
) -> String {
    let fixture = start(profile, defect).await;
    let options = RunOptions {
        profiles: vec![profile.to_owned()],
        dialects: vec![scim_proto::Dialect::EntraDefault],
        tags: Some(tags.into()),
        ..RunOptions::default()
    };
    let report = fixture.run(&options).await;
    let (outcome, message) = said(&report, scenario);
    assert_eq!(outcome, reports::Outcome::Failed, "{scenario}: {message}");
    message
}
