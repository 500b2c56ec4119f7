//! The `ecmacert` binary: exit codes, JUnit, and the dry run.

use std::process::Command;

use crate::slapd::slapd;
use crate::support::{start, write_harness_config};

fn ecmacert() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecmacert"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_0_against_the_reference_host_and_writes_junit() {
    let fixture = start("openldap-inetorgperson", |app| app).await;
    let junit = fixture.dir.path().join("out/junit.xml");
    let json = fixture.dir.path().join("out/report.json");
    let config = fixture.config_path.clone();
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&config)
            .args(["--dialect", "both", "--junit"])
            .arg(&junit)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("RESULT: PASS"), "{stdout}");
    assert!(
        stdout.contains("openldap-inetorgperson · entra-default")
            && stdout.contains("openldap-inetorgperson · entra-scim2020")
    );
    let xml = std::fs::read_to_string(fixture.dir.path().join("out/junit.xml")).unwrap();
    let testcases = xml.matches("<testcase ").count();
    assert!(testcases >= 40, "{testcases} testcases");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains("openldap-inetorgperson.entra-scim2020"));
    // No secret reaches a report.
    let report = std::fs::read_to_string(fixture.dir.path().join("out/report.json")).unwrap();
    for secret in [crate::support::TOKEN, "secret"] {
        assert!(
            !xml.contains(secret) && !report.contains(secret) && !stdout.contains(secret),
            "{secret} leaked"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_1_when_the_host_is_down_and_2_when_the_configuration_is_wrong() {
    let slapd = slapd().await;
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = write_harness_config(
        dir.path(),
        slapd,
        "openldap-inetorgperson",
        &format!("https://localhost:{closed}"),
        "tok-tok-tok-tok",
        "ou=down,dc=contoso,dc=lab",
    );
    let p = path.clone();
    let down = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&p)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(down.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&down.stdout);
    assert!(
        stdout.contains("RESULT: FAIL") && stdout.contains("onnection refused"),
        "{stdout}"
    );
    // Configuration mistakes are exit code 2 with the key named.
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to, needle) in [
        (
            "profile = \"openldap-inetorgperson\"",
            "profile = \"nonesuch\"",
            "unknown profile \"nonesuch\"",
        ),
        (
            "container = \"ou=down,dc=contoso,dc=lab\"",
            "container = \"ou=down,dc=elsewhere\"",
            "target.container",
        ),
        (
            "connector = \"LDAP\"",
            "connector = \"LDAP\"\ntypo = 1",
            "unknown field `typo`",
        ),
        (
            "token = { file = \"token\" }",
            "token = { file = \"missing-token\" }",
            "host.token",
        ),
    ] {
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let p = path.clone();
        let out = tokio::task::spawn_blocking(move || {
            ecmacert()
                .args(["run", "--config"])
                .arg(&p)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{to}: {stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let usage = tokio::task::spawn_blocking(|| {
        ecmacert()
            .args(["run", "--dialect", "klingon"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_the_plan_without_contacting_anything() {
    let slapd = slapd().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_harness_config(
        dir.path(),
        slapd,
        "openldap-posix",
        "https://localhost:1",
        "x",
        "ou=list,dc=contoso,dc=lab",
    );
    let out = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["list", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("profile openldap-posix"));
    assert!(stdout.contains("run  lifecycle/create.feature"));
    assert!(
        stdout.contains("n/a ") && stdout.contains("disable-flow-set-attribute"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was contacted"));
}

/// Builds `ecma-host` (a no-op when the workspace build already did) and returns its path.
fn ecma_host_binary() -> std::path::PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "reference-host",
            "--bin",
            "ecma-host",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p reference-host failed");
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ecmacert")).with_file_name("ecma-host");
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_starts_and_stops_the_host_given_as_a_command() {
    let slapd = slapd().await;
    let bin = tokio::task::spawn_blocking(ecma_host_binary).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let container = format!("ou=cmd-{},dc=contoso,dc=lab", std::process::id());
    // The host's configuration: the example, pointed at this slapd and port.
    let example = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/ecma-host-openldap.toml"),
    )
    .unwrap()
    .replace(
        "listen = \"127.0.0.1:8585\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    )
    .replace(
        "url = \"ldap://127.0.0.1:3890\"",
        &format!("url = \"{}\"", slapd.url),
    )
    .replace(
        "base_dn = \"dc=contoso,dc=lab\"",
        &format!("base_dn = \"{container}\""),
    )
    .replace(
        "token = { env = \"ECMA_HOST_TOKEN\" }",
        "token = { file = \"token\" }",
    )
    .replace(
        "bind_password = { env = \"LDAP_BIND_PASSWORD\" }",
        "bind_password = { file = \"ldap-password\" }",
    );
    std::fs::write(dir.path().join("ecma-host.toml"), example).unwrap();
    let path = write_harness_config(
        dir.path(),
        slapd,
        "openldap-inetorgperson",
        &format!("https://localhost:{port}"),
        crate::support::TOKEN,
        &container,
    );
    // The container is the host's partition: made here, as an operator would have it.
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
            &container,
            vec![
                ("objectClass", ["organizationalUnit"].into()),
                ("ou", [ou.as_str()].into()),
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[target]",
        &format!(
            "command = [{:?}, \"--config\", \"ecma-host.toml\"]\n\n[target]",
            bin.display().to_string()
        ),
    );
    std::fs::write(&path, text).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&path)
            .args(["--tags", "@must"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The host was stopped at the end: nothing listens on its port any more.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the host is still running"
    );
}
