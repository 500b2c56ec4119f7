//! `ecmacert run --target container:KIND`. Without the `containers` feature the run is refused
//! (exit 2) after the configuration was checked; with it, a machine without a Docker engine
//! gets exit 2 and a message that says so; where an engine exists, the suite passes on the
//! reference host against OpenLDAP in a container (marked as needing one: `cargo test -p
//! harness --features containers --test it -- --ignored container::`).

use std::process::Command;

/// A run configuration for the reference host on an OpenLDAP at `ldap://127.0.0.1:{port}`
/// (nothing listens there unless a container is started), its host started as a command on
/// `host_port`; returns the configuration's path.
fn configuration(dir: &std::path::Path, port: u16, host_port: u16) -> std::path::PathBuf {
    let url = format!("ldap://127.0.0.1:{port}");
    let container = "ou=ecmacert,dc=contoso,dc=lab";
    // The host's partition is the whole suffix, which the container's image makes; the suite
    // makes its container beneath it.
    crate::cli::write_host_config(dir, &url, host_port, "dc=contoso,dc=lab");
    reference_host::cert::generate("localhost", &dir.join("certs")).unwrap();
    std::fs::write(dir.join("token"), crate::support::TOKEN).unwrap();
    std::fs::write(dir.join("ldap-password"), "container-admin-7Qx").unwrap();
    let host = crate::cli::ecma_host_binary();
    let text = format!(
        r#"profile = "openldap-inetorgperson"

[host]
base_url = "https://localhost:{host_port}"
connector = "LDAP"
token = {{ file = "token" }}
ca_certificate = "certs/ecma-host.crt"
command = [{host:?}, "--config", "ecma-host.toml"]
ready_timeout_seconds = 30
import = {{ method = "POST", path = "/cache/import" }}
restart = {{ method = "POST", path = "/cache/restart" }}

[target]
kind = "ldap"
url = "{url}"
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

/// Runs `ecmacert run [--config CONFIG] --no-progress ARGS` with `env` set; returns its exit
/// code, standard output and standard error.
fn run(
    config: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecmacert"));
    command.arg("run");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let output = command
        .arg("--no-progress")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_container_target_that_does_not_fit_the_configuration_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = configuration(dir.path(), free_port(), free_port());
    // An LDAP target asked for as a database: refused before anything starts, in every build.
    let (code, _, stderr) = run(Some(&path), &["--target", "container:postgres"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--target container:postgres: target.kind is \"ldap\"; a postgres container needs \"sql\""),
        "{stderr}"
    );
    // A kind that does not exist: clap's usage error, also 2.
    let (code, _, stderr) = run(Some(&path), &["--target", "container:oracle"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("expected container:openldap|389ds|postgres|mariadb"),
        "{stderr}"
    );
    // A port something else listens on: refused before Docker is asked.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let busy = configuration(dir.path(), port, free_port());
    let (code, _, stderr) = run(Some(&busy), &["--target", "container:openldap"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("target.url's port {port} cannot be published")),
        "{stderr}"
    );
    drop(taken);
    // Without --config there is no [target] to take the place of.
    let (code, _, stderr) = run(None, &["--target", "container:openldap"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("give --config too"), "{stderr}");
}

#[cfg(not(feature = "containers"))]
#[test]
fn an_ecmacert_built_without_containers_says_so_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = configuration(dir.path(), free_port(), free_port());
    let (code, stdout, stderr) = run(Some(&path), &["--target", "container:openldap"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("built without containers") && stderr.contains("--features containers"),
        "{stderr}"
    );
    // Nothing was started: no host output directory was announced, no case was run.
    assert!(!stdout.contains("RESULT"), "{stdout}");
}

#[cfg(feature = "containers")]
#[test]
fn without_a_docker_engine_the_run_says_so_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = configuration(dir.path(), free_port(), free_port());
    // A Docker host that is not there, so the test means the same where an engine exists.
    let (code, _, stderr) = run(
        Some(&path),
        &["--target", "container:openldap"],
        &[("DOCKER_HOST", "unix:///nonexistent/ecmacert/docker.sock")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--target container:openldap: no Docker engine answers here")
            && stderr.contains("/nonexistent/ecmacert/docker.sock"),
        "{stderr}"
    );
    assert!(!stderr.contains("container-admin-7Qx"), "{stderr}");
}

#[cfg(feature = "containers")]
#[test]
#[ignore = "needs a Docker engine"]
fn the_suite_passes_on_the_reference_host_against_openldap_in_a_container() {
    let dir = tempfile::tempdir().unwrap();
    let path = configuration(dir.path(), free_port(), free_port());
    let json = dir.path().join("report.json");
    let (code, stdout, stderr) = run(
        Some(&path),
        &[
            "--target",
            "container:openldap",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: reports::Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let started = report.host_facts[0]
        .configuration
        .as_ref()
        .and_then(|c| c.target.started_container.clone());
    assert!(
        started
            .as_deref()
            .is_some_and(|s| s.starts_with("bitnamilegacy/openldap:2.6.10 on 127.0.0.1:")),
        "{started:?}"
    );
}
