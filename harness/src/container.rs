//! `ecmacert run --target container:KIND`: the run's target started in a container, where a
//! Docker engine exists.
//!
//! Kinds: `openldap` (Bitnami's OpenLDAP image), `389ds` (the 389 Project's own image),
//! `postgres` and `mariadb` (the official images). The container takes the place of the target
//! the run configuration already describes, so neither the host's configuration nor the run's
//! changes:
//! - its port is published on the host port of `target.url` (which must name a loopback
//!   address and a port: `ldap://127.0.0.1:3890`, `postgres://ecma@127.0.0.1:5432/ecmacert_hr`);
//! - its administrator is the run configuration's account: `target.bind_dn` and
//!   `target.base_dn` for a directory, the URL's user and database for SQL, with
//!   `target.bind_password` as the password;
//! - once it answers the probe, ecmacert makes what the suite needs: the partition's entry for a
//!   directory that lacks it, the profile's setup scripts (`[sql] setup`, `features/sql/`) for a
//!   database.
//!
//! The container is removed when the run ends.
//!
//! [`ContainerPlan`] (what to start, checked against the configuration) is built in every
//! ecmacert, so a wrong `--target` is refused the same way everywhere; starting it needs the
//! opt-in cargo feature `containers` (the `testcontainers` crate, which pulls in a Docker client:
//! `cargo build --release -p harness --features containers`). Without the feature, or without a
//! Docker engine, the run stops before anything starts, with exit code 2 and a message that says
//! which. The community's `testcontainers-modules` are not used: their MariaDB image has a root
//! account without a password and no other, and the suite's targets take the account and
//! password the run configuration names; one [`ContainerPlan`] for all four kinds also keeps
//! every check on the configuration testable without an engine.

use crate::config::TargetConfig;

/// What `--target container:KIND` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    /// OpenLDAP (`bitnamilegacy/openldap`), schemas cosine, inetorgperson and nis.
    OpenLdap,
    /// 389 Directory Server (`389ds/dirsrv`).
    Ds389,
    /// PostgreSQL (`postgres`).
    Postgres,
    /// MariaDB (`mariadb`).
    MariaDb,
}

impl ContainerKind {
    /// Every kind, by the name `--target container:NAME` takes.
    pub const ALL: [(&'static str, ContainerKind); 4] = [
        ("openldap", ContainerKind::OpenLdap),
        ("389ds", ContainerKind::Ds389),
        ("postgres", ContainerKind::Postgres),
        ("mariadb", ContainerKind::MariaDb),
    ];

    /// The name `--target container:NAME` takes.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }

    fn is_directory(self) -> bool {
        matches!(self, ContainerKind::OpenLdap | ContainerKind::Ds389)
    }
}

/// `--target`: where the run's target comes from. Only `container:KIND` exists (the
/// configuration's `[target]` is the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetOverride(pub ContainerKind);

impl std::str::FromStr for TargetOverride {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = ContainerKind::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join("|");
        let kind = s
            .strip_prefix("container:")
            .and_then(|k| ContainerKind::ALL.iter().find(|(n, _)| *n == k))
            .map(|(_, k)| *k)
            .ok_or_else(|| format!("expected container:{names}, got {s:?}"))?;
        Ok(TargetOverride(kind))
    }
}

/// Why the container could not be planned, started or made ready. Messages never carry the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The run configuration does not fit the kind asked for.
    #[error("--target container:{kind}: {reason}")]
    Config {
        /// The kind's name.
        kind: &'static str,
        /// What does not fit, naming the configuration key.
        reason: String,
    },
    /// This ecmacert was built without the `containers` feature.
    #[error(
        "--target container:{0}: this ecmacert was built without containers; build it with \
         `cargo build --release -p harness --features containers` (it needs a Docker engine to run)"
    )]
    NotBuilt(&'static str),
    /// No Docker engine answered.
    #[error(
        "--target container:{kind}: no Docker engine answers here ({detail}); containers need \
         a running Docker engine (DOCKER_HOST, or /var/run/docker.sock). Without one, start the \
         target yourself and leave --target out (scripts/lib/targets.sh shows how)"
    )]
    NoEngine {
        /// The kind's name.
        kind: &'static str,
        /// What the Docker client said.
        detail: String,
    },
    /// The engine answered but the container did not start, or never became ready.
    #[error("--target container:{kind}: {detail}")]
    Start {
        /// The kind's name.
        kind: &'static str,
        /// What went wrong, with the end of the container's log where there is one.
        detail: String,
    },
}

/// The container to start for a run: image, the port to publish, and the environment that
/// makes the configuration's account. Built from the run configuration's `[target]` by
/// [`ContainerPlan::new`]; the password itself is not part of it (it is given to
/// `start`, feature `containers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPlan {
    /// The kind.
    pub kind: ContainerKind,
    /// Image name, e.g. `postgres`.
    pub image: &'static str,
    /// Image tag, e.g. `17-alpine`.
    pub tag: &'static str,
    /// The port the target listens on inside the container.
    pub container_port: u16,
    /// The host port it is published on: `target.url`'s.
    pub host_port: u16,
    /// Environment variables besides the password, in order.
    pub env: Vec<(&'static str, String)>,
    /// The environment variables that carry the password (the value is added by `start`).
    pub password_env: &'static [&'static str],
    /// A line the image writes on standard error once its real server starts, where a
    /// temporary one it runs while initialising would already answer the probe (Bitnami's
    /// OpenLDAP: `** Starting slapd **`).
    pub ready_on_stderr: Option<&'static str>,
}

impl ContainerPlan {
    /// Checks that `target` fits `kind` and plans the container. Errors name the
    /// configuration key that does not fit: `target.kind`, `target.url` (scheme, a loopback
    /// host, an explicit port; for SQL a user and a database, no password), `target.bind_dn`
    /// (OpenLDAP: `cn=NAME,<base_dn>`; 389 DS: `cn=Directory Manager`), `target.base_dn`,
    /// `target.starttls`/`ldaps://` (the images serve plain LDAP only), or a missing
    /// `target.bind_password`.
    pub fn new(
        kind: ContainerKind,
        target: &TargetConfig,
    ) -> Result<ContainerPlan, ContainerError> {
        let fail = |reason: String| ContainerError::Config {
            kind: kind.name(),
            reason,
        };
        let want = if kind.is_directory() { "ldap" } else { "sql" };
        if target.kind != want {
            return Err(fail(format!(
                "target.kind is {:?}; a {} container needs {want:?}",
                target.kind,
                kind.name()
            )));
        }
        if target.bind_password.is_none() {
            return Err(fail(
                "target.bind_password is missing; the container's administrator gets it".into(),
            ));
        }
        let url = url::Url::parse(&target.url.replacen("mariadb:", "mysql:", 1))
            .map_err(|e| fail(format!("target.url: {e}")))?;
        let schemes: &[&str] = match kind {
            ContainerKind::OpenLdap | ContainerKind::Ds389 => &["ldap"],
            ContainerKind::Postgres => &["postgres", "postgresql"],
            ContainerKind::MariaDb => &["mysql"],
        };
        if !schemes.contains(&url.scheme()) {
            return Err(fail(format!(
                "target.url must be {}://… (the container serves no TLS), not {}://",
                schemes[0],
                url.scheme()
            )));
        }
        if target.starttls {
            return Err(fail(
                "target.starttls: the container serves plain LDAP only".into(),
            ));
        }
        // ldap://, postgres:// and mysql:// are not special schemes to the URL standard, so an
        // address comes back as a domain.
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost")
                    || d.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if !loopback {
            return Err(fail(format!(
                "target.url names {}; the container is published on this machine, so it must \
                 name 127.0.0.1 or localhost",
                url.host_str().unwrap_or("no host")
            )));
        }
        let host_port = url.port().ok_or_else(|| {
            fail("target.url names no port; the container is published on the port it names".into())
        })?;
        let (image, tag, container_port, env, password_env): (_, _, _, _, &[&str]) = match kind {
            ContainerKind::OpenLdap => {
                let admin = target
                    .bind_dn
                    .strip_suffix(&target.base_dn)
                    .and_then(|rdn| rdn.strip_suffix(','))
                    .and_then(|rdn| {
                        rdn.get(..3)
                            .filter(|p| p.eq_ignore_ascii_case("cn="))
                            .map(|_| &rdn[3..])
                    })
                    .filter(|name| !name.is_empty() && !name.contains([',', '=', '+', '\\']))
                    .ok_or_else(|| {
                        fail(format!(
                            "target.bind_dn must be cn=NAME,{} (the image's administrator sits \
                             under the partition), not {:?}",
                            target.base_dn, target.bind_dn
                        ))
                    })?;
                if target.base_dn.is_empty() {
                    return Err(fail("target.base_dn is missing".into()));
                }
                (
                    "bitnamilegacy/openldap",
                    "2.6.10",
                    1389,
                    vec![
                        ("LDAP_ROOT", target.base_dn.clone()),
                        ("LDAP_ADMIN_USERNAME", admin.to_owned()),
                        ("LDAP_SKIP_DEFAULT_TREE", "yes".to_owned()),
                        ("LDAP_ALLOW_ANON_BINDING", "no".to_owned()),
                    ],
                    &["LDAP_ADMIN_PASSWORD"],
                )
            }
            ContainerKind::Ds389 => {
                if !target.bind_dn.eq_ignore_ascii_case("cn=Directory Manager") {
                    return Err(fail(format!(
                        "target.bind_dn must be cn=Directory Manager (the image's only \
                         administrator), not {:?}",
                        target.bind_dn
                    )));
                }
                if target.base_dn.is_empty() {
                    return Err(fail("target.base_dn is missing".into()));
                }
                (
                    "389ds/dirsrv",
                    "3.1",
                    3389,
                    vec![("DS_SUFFIX_NAME", target.base_dn.clone())],
                    &["DS_DM_PASSWORD"],
                )
            }
            ContainerKind::Postgres | ContainerKind::MariaDb => {
                if !url.password().unwrap_or_default().is_empty() {
                    return Err(fail(
                        "target.url carries a password; give it as target.bind_password".into(),
                    ));
                }
                let user = url.username();
                let database = url.path().trim_start_matches('/');
                if user.is_empty() || database.is_empty() || database.contains('/') {
                    return Err(fail(format!(
                        "target.url must name a user and a database ({}://USER@127.0.0.1:PORT/DATABASE)",
                        url.scheme()
                    )));
                }
                if kind == ContainerKind::Postgres {
                    (
                        "postgres",
                        "17-alpine",
                        5432,
                        vec![
                            ("POSTGRES_USER", user.to_owned()),
                            ("POSTGRES_DB", database.to_owned()),
                        ],
                        &["POSTGRES_PASSWORD"],
                    )
                } else if user == "root" {
                    (
                        "mariadb",
                        "11.4",
                        3306,
                        vec![("MARIADB_DATABASE", database.to_owned())],
                        &["MARIADB_ROOT_PASSWORD"],
                    )
                } else {
                    (
                        "mariadb",
                        "11.4",
                        3306,
                        vec![
                            ("MARIADB_USER", user.to_owned()),
                            ("MARIADB_DATABASE", database.to_owned()),
                            ("MARIADB_RANDOM_ROOT_PASSWORD", "1".to_owned()),
                        ],
                        &["MARIADB_PASSWORD"],
                    )
                }
            }
        };
        let ready_on_stderr = match kind {
            ContainerKind::OpenLdap => Some("** Starting slapd **"),
            _ => None,
        };
        Ok(ContainerPlan {
            kind,
            image,
            tag,
            container_port,
            host_port,
            env,
            password_env,
            ready_on_stderr,
        })
    }
}

/// A started container; removed by [`RunningTarget::remove`] (or, failing that, when
/// dropped).
pub struct RunningTarget {
    #[cfg(feature = "containers")]
    container: testcontainers::ContainerAsync<testcontainers::GenericImage>,
    #[cfg(feature = "containers")]
    kind: &'static str,
    /// What was started, for the report: `postgres:17-alpine on 127.0.0.1:5432`.
    pub description: String,
}

impl RunningTarget {
    /// Stops and removes the container.
    pub async fn remove(self) -> Result<(), ContainerError> {
        #[cfg(feature = "containers")]
        {
            let description = self.description.clone();
            self.container
                .rm()
                .await
                .map_err(|e| ContainerError::Start {
                    kind: self.kind,
                    detail: format!("removing {description}: {e}"),
                })?;
        }
        Ok(())
    }
}

/// `ecmacert run --target container:KIND`: plans the container from the run configuration's
/// `[target]` ([`ContainerPlan::new`]), reads its password (`target.bind_password`, relative
/// to `base_dir`), and starts it (`start`, feature `containers`) with `setup_scripts` (`(name, text)`: the run's
/// profiles' `[sql] setup`, in order). Without the `containers` feature the plan is still
/// checked, then [`ContainerError::NotBuilt`] is returned.
pub async fn start_for_run(
    kind: ContainerKind,
    target: &TargetConfig,
    base_dir: &std::path::Path,
    setup_scripts: &[(String, String)],
) -> Result<RunningTarget, ContainerError> {
    let plan = ContainerPlan::new(kind, target)?;
    // Docker would fail late and leave a created container behind; say what stands in the way.
    if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", plan.host_port)) {
        return Err(ContainerError::Config {
            kind: kind.name(),
            reason: format!(
                "target.url's port {} cannot be published: {e} (something else listens there; \
                 stop it, or choose another port in target.url and the host's configuration)",
                plan.host_port
            ),
        });
    }
    // The plan has made sure a password source is given.
    let password = target
        .bind_password
        .as_ref()
        .map(|s| s.resolve(base_dir))
        .transpose()
        .map_err(|e| ContainerError::Config {
            kind: kind.name(),
            reason: format!("target.bind_password: {e}"),
        })?
        .ok_or_else(|| ContainerError::Config {
            kind: kind.name(),
            reason: "target.bind_password is missing".into(),
        })?;
    if let Err(reason) = image_takes(kind, password.expose()) {
        return Err(ContainerError::Config {
            kind: kind.name(),
            reason: format!("target.bind_password: {reason}"),
        });
    }
    #[cfg(feature = "containers")]
    {
        start(&plan, target, base_dir, &password, setup_scripts).await
    }
    #[cfg(not(feature = "containers"))]
    {
        let _ = (plan, password, setup_scripts);
        Err(ContainerError::NotBuilt(kind.name()))
    }
}

/// Whether the image's initialisation keeps `password` as given; why not, without the
/// password. Bitnami's OpenLDAP image hashes its administrator's password with
/// `echo -n $LDAP_ADMIN_PASSWORD | slappasswd …` (its `libopenldap.sh`, and `_FILE` variables
/// end in the same line), unquoted: the shell splits it at whitespace and rejoins it with
/// single spaces, expands `*`, `?` and `[` against the files where it runs, and takes a
/// leading `-n`, `-e` or `-E` for `echo`'s options. The directory would then hold another
/// password than the run's, and every bind would fail late; such a password is refused here.
/// The other images take the password as an environment variable, whole.
fn image_takes(kind: ContainerKind, password: &str) -> Result<(), String> {
    if kind != ContainerKind::OpenLdap {
        return Ok(());
    }
    let why = if password.chars().any(char::is_whitespace) {
        Some("holds whitespace")
    } else if password.contains(['*', '?', '[']) {
        Some("holds *, ? or [")
    } else if password.starts_with('-') {
        Some("starts with -")
    } else {
        None
    };
    match why {
        Some(why) => Err(format!(
            "it {why}, which Bitnami's OpenLDAP image changes while hashing it (its scripts \
             leave the password unquoted); choose one of letters, digits and other punctuation"
        )),
        None => Ok(()),
    }
}

/// How long a started container has to answer the probe (the image's own initialisation
/// included; pulling the image does not count).
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Starts the planned container with `password` for its administrator, waits until the probe
/// can connect and bind (at most [`READY_TIMEOUT`]), then makes what the suite needs in it:
/// the partition's entry (`target.base_dn`) where the image made none, or, for SQL, each of
/// `setup_scripts` (`(name, text)`, in order). Errors: [`ContainerError::NoEngine`] when no
/// Docker engine answers, [`ContainerError::Start`] otherwise (with the end of the
/// container's log).
#[cfg(feature = "containers")]
pub async fn start(
    plan: &ContainerPlan,
    target: &TargetConfig,
    base_dir: &std::path::Path,
    password: &ecma_vocab::Secret,
    setup_scripts: &[(String, String)],
) -> Result<RunningTarget, ContainerError> {
    use testcontainers::core::IntoContainerPort as _;
    use testcontainers::core::WaitFor;
    use testcontainers::runners::AsyncRunner as _;
    use testcontainers::{GenericImage, ImageExt as _};

    let kind = plan.kind.name();
    image_takes(plan.kind, password.expose()).map_err(|reason| ContainerError::Config {
        kind,
        reason: format!("target.bind_password: {reason}"),
    })?;
    // The engine first: a socket that is missing, refused or not ours is "no engine", not a
    // failed container.
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| ContainerError::NoEngine {
            kind,
            detail: e.to_string(),
        })?;
    docker.ping().await.map_err(|e| ContainerError::NoEngine {
        kind,
        detail: e.to_string(),
    })?;
    let mut image =
        GenericImage::new(plan.image, plan.tag).with_exposed_port(plan.container_port.tcp());
    if let Some(line) = plan.ready_on_stderr {
        image = image.with_wait_for(WaitFor::message_on_stderr(line));
    }
    let mut request = image
        .with_mapped_port(plan.host_port, plan.container_port.tcp())
        // Docker publishes on every interface unless told otherwise; the target's
        // administrator is for this machine only.
        .with_host_config_modifier(|config| {
            for bindings in config.port_bindings.iter_mut().flat_map(|m| m.values_mut()) {
                for binding in bindings.iter_mut().flatten() {
                    binding.host_ip = Some("127.0.0.1".to_owned());
                }
            }
        });
    for (name, value) in &plan.env {
        request = request.with_env_var(*name, value.clone());
    }
    for name in plan.password_env {
        request = request.with_env_var(*name, password.expose().to_owned());
    }
    let container = request.start().await.map_err(|e| ContainerError::Start {
        kind,
        detail: e.to_string(),
    })?;
    let description = format!(
        "{}:{} on 127.0.0.1:{}",
        plan.image, plan.tag, plan.host_port
    );
    let running = RunningTarget {
        container,
        kind,
        description,
    };
    match prepare(plan, &running, target, base_dir, password, setup_scripts).await {
        Ok(()) => Ok(running),
        Err(detail) => {
            let log = running.container.stderr_to_vec().await.unwrap_or_default();
            let log = String::from_utf8_lossy(&log).replace(password.expose(), "***");
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n  ");
            let _ = running.remove().await;
            Err(ContainerError::Start {
                kind,
                detail: format!("{detail}\n  the container's last log lines:\n  {tail}"),
            })
        }
    }
}

/// Waits until the probe binds, then makes the partition (389 DS: its backend first, with
/// `dsconf … backend create`, as the image makes none) and its entry, or runs the setup
/// scripts.
#[cfg(feature = "containers")]
async fn prepare(
    plan: &ContainerPlan,
    running: &RunningTarget,
    target: &TargetConfig,
    base_dir: &std::path::Path,
    password: &ecma_vocab::Secret,
    setup_scripts: &[(String, String)],
) -> Result<(), String> {
    use crate::probe::{LdapProbe, SqlProbe};
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    let mut backend_made = plan.kind != ContainerKind::Ds389;
    loop {
        let attempt = if plan.kind.is_directory() {
            match LdapProbe::connect(target, password, base_dir).await {
                Ok(probe) => {
                    if !backend_made && probe.entry(&target.base_dn).await.is_err() {
                        make_389ds_backend(running, &target.base_dn).await?;
                    }
                    backend_made = true;
                    probe.ensure_partition().await
                }
                Err(e) => Err(e),
            }
        } else {
            // The table is made by the scripts, so the probe's own table is not needed yet.
            let mut bare = target.clone();
            bare.table = Some(String::new());
            bare.anchor = Some(String::new());
            match SqlProbe::connect(&bare, Some(password), None).await {
                Ok(probe) => {
                    for (name, text) in setup_scripts {
                        probe
                            .run_script(name, text)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    return Ok(());
                }
                Err(e) => Err(e),
            }
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!(
                    "not ready after {} s: {e}",
                    READY_TIMEOUT.as_secs()
                ));
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}

/// 389 DS: the backend for `suffix` (`dsconf localhost backend create`, the 389 Project's
/// documented step for its container), run inside the container as its root over LDAPI.
#[cfg(feature = "containers")]
async fn make_389ds_backend(running: &RunningTarget, suffix: &str) -> Result<(), String> {
    use testcontainers::core::{CmdWaitFor, ExecCommand};
    let command = ExecCommand::new([
        "dsconf",
        "localhost",
        "backend",
        "create",
        "--suffix",
        suffix,
        "--be-name",
        "userRoot",
    ])
    .with_cmd_ready_condition(CmdWaitFor::exit());
    let mut result = running
        .container
        .exec(command)
        .await
        .map_err(|e| format!("dsconf backend create: {e}"))?;
    let code = result
        .exit_code()
        .await
        .map_err(|e| format!("dsconf backend create: {e}"))?;
    if code != Some(0) {
        let err = result.stderr_to_vec().await.unwrap_or_default();
        return Err(format!(
            "dsconf backend create --suffix {suffix} exited {code:?}: {}",
            String::from_utf8_lossy(&err).trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ldap(url: &str, bind_dn: &str) -> TargetConfig {
        let mut t = TargetConfig::sql(url);
        t.kind = "ldap".into();
        t.bind_dn = bind_dn.into();
        t.base_dn = "dc=contoso,dc=lab".into();
        t.bind_password = Some(ecma_vocab::SecretSource::Env("LDAP_BIND_PASSWORD".into()));
        t
    }

    fn sql(url: &str) -> TargetConfig {
        let mut t = TargetConfig::sql(url);
        t.bind_password = Some(ecma_vocab::SecretSource::Env("SQL_PASSWORD".into()));
        t
    }

    fn refusal(kind: ContainerKind, target: &TargetConfig) -> String {
        match ContainerPlan::new(kind, target) {
            Err(e) => e.to_string(),
            Ok(plan) => panic!("planned {plan:?}"),
        }
    }

    #[test]
    fn passwords_bitnamis_scripts_would_change_are_refused_for_openldap_only() {
        for bad in [
            "two words",
            "tab\there",
            "star*",
            "what?",
            "[set]",
            "-n",
            "-eleven",
        ] {
            let e = image_takes(ContainerKind::OpenLdap, bad)
                .expect_err(bad)
                .to_string();
            assert!(!e.contains(bad), "the reason quotes the password: {e}");
            for other in [
                ContainerKind::Ds389,
                ContainerKind::Postgres,
                ContainerKind::MariaDb,
            ] {
                assert_eq!(image_takes(other, bad), Ok(()), "{other:?}");
            }
        }
        for good in ["Pa55-word!", "a-b_c.d/e+f=g%h&i", "x"] {
            assert_eq!(image_takes(ContainerKind::OpenLdap, good), Ok(()), "{good}");
        }
    }

    #[test]
    fn the_kinds_are_named_as_the_command_line_takes_them() {
        for (name, kind) in ContainerKind::ALL {
            let parsed: TargetOverride = format!("container:{name}").parse().unwrap();
            assert_eq!(parsed, TargetOverride(kind));
            assert_eq!(kind.name(), name);
        }
        let err = "container:oracle".parse::<TargetOverride>().unwrap_err();
        assert_eq!(
            err,
            "expected container:openldap|389ds|postgres|mariadb, got \"container:oracle\""
        );
        assert!("openldap".parse::<TargetOverride>().is_err());
    }

    #[test]
    fn a_directory_container_takes_the_configurations_port_partition_and_administrator() {
        let t = ldap("ldap://127.0.0.1:3890", "cn=admin,dc=contoso,dc=lab");
        let plan = ContainerPlan::new(ContainerKind::OpenLdap, &t).unwrap();
        assert_eq!((plan.host_port, plan.container_port), (3890, 1389));
        assert_eq!(
            plan.env,
            vec![
                ("LDAP_ROOT", "dc=contoso,dc=lab".to_owned()),
                ("LDAP_ADMIN_USERNAME", "admin".to_owned()),
                ("LDAP_SKIP_DEFAULT_TREE", "yes".to_owned()),
                ("LDAP_ALLOW_ANON_BINDING", "no".to_owned()),
            ]
        );
        assert_eq!(plan.password_env, &["LDAP_ADMIN_PASSWORD"]);
        assert_eq!(plan.ready_on_stderr, Some("** Starting slapd **"));

        let t = ldap("ldap://localhost:3891", "CN=Directory Manager");
        let plan = ContainerPlan::new(ContainerKind::Ds389, &t).unwrap();
        assert_eq!((plan.host_port, plan.container_port), (3891, 3389));
        assert_eq!(
            plan.env,
            vec![("DS_SUFFIX_NAME", "dc=contoso,dc=lab".to_owned())]
        );
    }

    #[test]
    fn a_database_container_takes_the_urls_user_and_database() {
        let plan = ContainerPlan::new(
            ContainerKind::Postgres,
            &sql("postgres://ecma@127.0.0.1:5432/ecmacert_hr"),
        )
        .unwrap();
        assert_eq!(
            plan.env,
            vec![
                ("POSTGRES_USER", "ecma".to_owned()),
                ("POSTGRES_DB", "ecmacert_hr".to_owned()),
            ]
        );
        assert_eq!(plan.password_env, &["POSTGRES_PASSWORD"]);
        let plan = ContainerPlan::new(
            ContainerKind::MariaDb,
            &sql("mariadb://ecma@127.0.0.1:3307/ecmacert_hr"),
        )
        .unwrap();
        assert_eq!((plan.host_port, plan.container_port), (3307, 3306));
        assert_eq!(
            plan.env,
            vec![
                ("MARIADB_USER", "ecma".to_owned()),
                ("MARIADB_DATABASE", "ecmacert_hr".to_owned()),
                ("MARIADB_RANDOM_ROOT_PASSWORD", "1".to_owned()),
            ]
        );
        assert_eq!(plan.password_env, &["MARIADB_PASSWORD"]);
        assert_eq!(plan.ready_on_stderr, None);
        let plan = ContainerPlan::new(
            ContainerKind::MariaDb,
            &sql("mysql://root@127.0.0.1:3307/ecmacert_hr"),
        )
        .unwrap();
        assert_eq!(plan.password_env, &["MARIADB_ROOT_PASSWORD"]);
    }

    #[test]
    fn a_configuration_that_does_not_fit_is_refused_naming_its_key() {
        let ok = ldap("ldap://127.0.0.1:3890", "cn=admin,dc=contoso,dc=lab");
        let cases: Vec<(ContainerKind, TargetConfig, &str)> = vec![
            (
                ContainerKind::Postgres,
                ok.clone(),
                "target.kind is \"ldap\"; a postgres container needs \"sql\"",
            ),
            (
                ContainerKind::OpenLdap,
                ldap("ldap://dc1.contoso.lab:389", "cn=admin,dc=contoso,dc=lab"),
                "target.url names dc1.contoso.lab",
            ),
            (
                ContainerKind::OpenLdap,
                ldap("ldap://127.0.0.1", "cn=admin,dc=contoso,dc=lab"),
                "target.url names no port",
            ),
            (
                ContainerKind::OpenLdap,
                ldap("ldaps://127.0.0.1:6360", "cn=admin,dc=contoso,dc=lab"),
                "target.url must be ldap://",
            ),
            (
                ContainerKind::OpenLdap,
                ldap(
                    "ldap://127.0.0.1:3890",
                    "cn=admin,ou=people,dc=contoso,dc=lab",
                ),
                "target.bind_dn must be cn=NAME,dc=contoso,dc=lab",
            ),
            (
                ContainerKind::Ds389,
                ok.clone(),
                "target.bind_dn must be cn=Directory Manager",
            ),
            (
                ContainerKind::Postgres,
                sql("postgres://127.0.0.1:5432/ecmacert_hr"),
                "target.url must name a user and a database",
            ),
            (
                ContainerKind::MariaDb,
                sql("mysql://ecma:hunter22@127.0.0.1:3306/hr"),
                "target.url carries a password",
            ),
            (
                ContainerKind::MariaDb,
                sql("postgres://ecma@127.0.0.1:5432/hr"),
                "target.url must be mysql://",
            ),
        ];
        for (kind, target, want) in cases {
            let got = refusal(kind, &target);
            assert!(got.contains(want), "{kind:?} {}: {got}", target.url);
            assert!(!got.contains("hunter22"), "{got}");
        }
        let mut no_password = ok.clone();
        no_password.bind_password = None;
        assert!(
            refusal(ContainerKind::OpenLdap, &no_password)
                .contains("target.bind_password is missing")
        );
        let mut starttls = ok;
        starttls.starttls = true;
        assert!(refusal(ContainerKind::OpenLdap, &starttls).contains("target.starttls"));
    }
}
