//! The `ecmacert` binary: exit codes, JUnit, and the dry run.

use std::process::Command;

use crate::slapd::slapd;
use crate::support::{start, write_harness_config};

/// Asserts exit code 0 (showing both streams otherwise) and returns stdout.
fn exited_0(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

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
    let stdout = exited_0(&output);
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
async fn run_exits_2_when_nothing_answers_scim_or_the_configuration_is_wrong() {
    let slapd = slapd().await;
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    // Bound, not listening, kept: connections are refused and no other test takes the port.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap().port();
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
    // Nothing answers there: one message, exit 2, no scenario run.
    assert_eq!(down.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.contains("nothing answers SCIM at https://localhost:")
            && stderr.contains("onnection refused")
            && stderr.contains("host.base_url"),
        "{stderr}"
    );
    assert!(
        down.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&down.stdout)
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
        (
            "base_url = \"https://",
            "base_url = \"http://",
            "host.base_url: \"http://localhost",
        ),
        (
            "base_url = ",
            "scim_url = \"https://localhost/scim\"\nbase_url = ",
            "host.scim_url: give either",
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
    drop(reserved);
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
async fn run_starts_and_stops_the_host_given_as_a_command_and_keeps_its_output_off_a_pipe() {
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
    crate::support::add_container(slapd, &container).await;
    // The host writes 1 MiB to its standard error before it serves, and another 1 MiB while
    // the suite runs: more than a pipe holds, so a run that piped it without reading would
    // wait for a host that never comes up, or stall it mid-run.
    // A host started as a command gets longer than the restart scenarios' 15 s to come up.
    let original = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ready_timeout_seconds = 15", "ready_timeout_seconds = 20");
    let text = original.replace(
        "[target]",
        &format!(
            "command = [\"sh\", \"-c\", \"head -c 1048576 /dev/zero | tr '\\\\000' n >&2; (sleep 0.3; head -c 1048576 /dev/zero | tr '\\\\000' m >&2) & exec \\\"$0\\\" --config ecma-host.toml\", {:?}]\n\n[target]",
            bin.display().to_string()
        ),
    );
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let (p, o) = (path.clone(), out.clone());
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&p)
            .args(["--tags", "@must", "--output-dir"])
            .arg(&o)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = exited_0(&output);
    let log = out.join("host.log");
    assert!(
        stdout.contains(&format!("host output: {}", log.display())),
        "{stdout}"
    );
    let written = std::fs::read(&log).unwrap();
    assert!(written.len() >= 1_048_576, "{} bytes", written.len());
    // The host was stopped at the end: nothing listens on its port any more.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the host is still running"
    );
    // A host that dies at start: the run is blocked with the end of its output, and a secret
    // it printed there is redacted.
    let text = original.replace(
        "[target]",
        "command = [\"sh\", \"-c\", \"echo starting with token $(cat token) >&2; exit 3\"]\n\n[target]",
    );
    std::fs::write(&path, text).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&path)
            .args(["--output-dir"])
            .arg(&out)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("blocked") && stdout.contains("exited with exit status: 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("starting with token <redacted>"),
        "{stdout}"
    );
    assert!(!stdout.contains(crate::support::TOKEN), "{stdout}");
}

#[test]
fn run_without_a_configuration_passes_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let output = ecmacert()
        .args(["run", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = exited_0(&output);
    assert!(stdout.contains("embedded default"), "{stdout}");
    assert!(stdout.contains("RESULT: PASS"), "{stdout}");
    let report: reports::Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut runs: Vec<(String, String)> = report
        .runs
        .iter()
        .map(|r| (r.profile.clone(), r.dialect.clone()))
        .collect();
    runs.sort();
    let mut expected: Vec<(String, String)> = harness::embedded::profiles()
        .into_iter()
        .flat_map(|p| ["entra-default", "entra-scim2020"].map(|d| (p.to_owned(), d.to_owned())))
        .collect();
    expected.sort();
    assert_eq!(runs, expected, "every profile in both dialects");
    let suite = harness::suite::Suite::embedded().unwrap();
    for run in report
        .runs
        .iter()
        .filter(|r| suite.profiles[&r.profile].kind == "ldap")
    {
        let faults = run
            .cases
            .iter()
            .filter(|c| {
                c.feature == "robustness/faults.feature" && c.outcome == reports::Outcome::Passed
            })
            .count();
        assert!(
            faults >= 5,
            "{} {}: {faults} fault scenarios passed",
            run.profile,
            run.dialect
        );
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    let cases: usize = report.runs.iter().map(|r| r.cases.len()).sum();
    assert_eq!(xml.matches("<testcase ").count(), cases);
    assert!(!xml.contains("<failure"), "{xml}");
}

#[test]
fn the_embedded_default_refuses_a_profile_it_does_not_serve() {
    let output = ecmacert()
        .args(["run", "--profile", "sql-users"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--profile")
            && stderr.contains("adlds-user")
            && stderr.contains("sql-users"),
        "{stderr}"
    );
}

#[test]
fn list_without_a_configuration_describes_the_embedded_default() {
    let out = ecmacert().args(["list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("embedded default"), "{stdout}");
    for profile in harness::embedded::profiles() {
        assert!(
            stdout.contains(&format!("profile {profile} ")),
            "{profile}: {stdout}"
        );
    }
}

/// `ecmacert mock-ldap` on a free port, its stdout read up to the line that gives its URL.
struct MockLdapProcess {
    child: std::process::Child,
    url: String,
}

impl Drop for MockLdapProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mock_ldap(args: &[&str]) -> MockLdapProcess {
    use std::io::BufRead as _;
    let mut child = ecmacert()
        .arg("mock-ldap")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("MOCK_ADMIN_PASSWORD", "mock-admin-password")
        .args(["--password-env", "MOCK_ADMIN_PASSWORD"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("mock-ldap ended before it listened")
            .unwrap();
        assert!(
            !line.contains("mock-admin-password"),
            "the password is printed: {line}"
        );
        if let Some(rest) = line
            .strip_prefix("mock LDAP")
            .and_then(|l| l.split(" on ").nth(1))
        {
            break rest.split(';').next().unwrap().to_owned();
        }
    };
    MockLdapProcess { child, url }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_ldap_serves_an_adlds_directory_with_the_faults_asked_for() {
    use ldap3::{LdapConnAsync, Scope, SearchEntry};
    let base = "CN=App,DC=contoso,DC=lab";
    let mock = tokio::task::spawn_blocking(move || {
        mock_ldap(&[
            "--flavour",
            "adlds",
            "--base",
            base,
            "--fault",
            "op=add;dn=CN=refused;fail=19:ecmacert: refused on purpose",
        ])
    })
    .await
    .unwrap();
    let (conn, mut ldap) = LdapConnAsync::new(&mock.url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(&format!("cn=admin,{base}"), "mock-admin-password")
        .await
        .unwrap()
        .success()
        .unwrap();
    let alice = format!("CN=alice,{base}");
    ldap.add(
        &alice,
        vec![("objectClass", ["user"].into()), ("cn", ["alice"].into())],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let (found, _) = ldap
        .search(&alice, Scope::Base, "(objectClass=*)", vec!["objectGUID"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let entry = SearchEntry::construct(found.into_iter().next().unwrap());
    let guid = entry
        .bin_attrs
        .get("objectGUID")
        .and_then(|v| v.first())
        .map(Vec::len)
        .or_else(|| {
            entry
                .attrs
                .get("objectGUID")
                .and_then(|v| v.first())
                .map(String::len)
        });
    assert_eq!(guid, Some(16), "{entry:?}");
    let refused = ldap
        .add(
            &format!("CN=refused,{base}"),
            vec![("objectClass", ["user"].into()), ("cn", ["refused"].into())],
        )
        .await
        .unwrap();
    assert_eq!(refused.rc, 19);
    assert_eq!(refused.text, "ecmacert: refused on purpose");
    // Once: the retry goes through.
    let retried = ldap
        .add(
            &format!("CN=refused,{base}"),
            vec![("objectClass", ["user"].into()), ("cn", ["refused"].into())],
        )
        .await
        .unwrap();
    assert_eq!(retried.rc, 0, "{retried:?}");
    drop(mock);
}

#[test]
fn mock_ldap_refuses_bad_arguments_with_exit_2() {
    for (args, says) in [
        (vec!["--flavour", "novell"], "unknown flavour"),
        (vec!["--fault", "op=add"], "no action"),
        (
            vec!["--password-env", "ECMACERT_NO_SUCH_VARIABLE"],
            "is not set",
        ),
    ] {
        let out = ecmacert()
            .arg("mock-ldap")
            .args(["--listen", "127.0.0.1:0"])
            .env("LDAP_BIND_PASSWORD", "x")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// A SCIM server that is not at `/ecma2host_{connector}/scim`: the reference host's routes
/// served under `/tenants/acme/scim` (the path rewritten before routing), nothing elsewhere.
fn under_a_tenant_path(app: axum::Router) -> axum::Router {
    use tower::ServiceExt as _;
    axum::Router::new().fallback_service(tower::service_fn(
        move |mut request: axum::http::Request<axum::body::Body>| {
            let app = app.clone();
            async move {
                let uri = request.uri().to_string();
                match uri.strip_prefix("/tenants/acme/scim") {
                    Some(rest) => {
                        *request.uri_mut() = format!("/ecma2host_LDAP/scim{rest}").parse().unwrap();
                        app.oneshot(request).await
                    }
                    None => Ok(axum::response::IntoResponse::into_response(
                        axum::http::StatusCode::NOT_FOUND,
                    )),
                }
            }
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_tests_any_scim_base_with_a_profile_of_the_vendors_own() {
    let fixture = start("openldap-inetorgperson", under_a_tenant_path).await;
    let config = fixture.config();
    let base = config.host.base_url.clone();
    // The run configuration names the whole SCIM base and no profile …
    let text = std::fs::read_to_string(&fixture.config_path)
        .unwrap()
        .replace("profile = \"openldap-inetorgperson\"\n", "")
        // … and no other connector, which only an ECMA host's URL layout can name.
        .replace("other_connector = \"LDAPOther\"\n", "")
        .replace(
            &format!("base_url = \"{base}\"\nconnector = \"LDAP\""),
            &format!("scim_url = \"{base}/tenants/acme/scim\""),
        );
    assert!(
        text.contains("scim_url") && !text.contains("connector ="),
        "{text}"
    );
    std::fs::write(&fixture.config_path, text).unwrap();
    // … and the profile is the vendor's, from a file.
    let profile = fixture.dir.path().join("acme-gateway.toml");
    let shipped = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../features/profiles/openldap-inetorgperson.toml"),
    )
    .unwrap()
    .replace(
        "name = \"openldap-inetorgperson\"",
        "name = \"acme-gateway\"",
    );
    std::fs::write(&profile, &shipped).unwrap();
    let (path, p) = (fixture.config_path.clone(), profile.clone());
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&path)
            .arg("--profile-file")
            .arg(&p)
            .args(["--dialect", "entra-scim2020"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = exited_0(&output);
    assert!(
        stdout.contains(&format!("{base}/tenants/acme/scim"))
            && stdout.contains("acme-gateway · entra-scim2020"),
        "{stdout}"
    );
    // A profile file with a mistake is refused, the key named.
    std::fs::write(
        &profile,
        shipped.replace("matching_attribute", "matching_atribute"),
    )
    .unwrap();
    let (path, p) = (fixture.config_path.clone(), profile.clone());
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["list", "--config"])
            .arg(&path)
            .arg("--profile-file")
            .arg(&p)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("acme-gateway.toml") && stderr.contains("matching_atribute"),
        "{stderr}"
    );
}

#[test]
fn requirements_lists_coverage_and_exits_1_while_a_must_is_unchecked() {
    let out = ecmacert().arg("requirements").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default();
    let (covered, all) = summary
        .strip_prefix("MUST covered: ")
        .and_then(|s| s.split_once('/'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()))
        .unwrap_or_else(|| panic!("no summary line: {summary:?}"));
    assert!(covered > 0 && covered <= all, "{summary}");
    let expected = if covered < all { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(expected), "{summary}");
    // Scenarios appear under the requirements they check.
    assert!(
        text.contains("ECMA-IMPORT-012 MUST — 1 scenario(s), runs under mariadb-procedures, postgres-procedures"),
        "{text}"
    );
    let json = ecmacert()
        .args([
            "requirements",
            "--format",
            "json",
            "--profile",
            "sqlite-table",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["profiles"], serde_json::json!(["sqlite-table"]));
    assert_eq!(doc["requirements"].as_array().unwrap().len(), 160);
    // Under one SQL profile, the LDAP MUSTs lose every scenario: exit 1, and they are named.
    let sql_only = ecmacert()
        .args(["requirements", "--profile", "sqlite-table"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&sql_only.stdout);
    assert_eq!(sql_only.status.code(), Some(1), "{text}");
    let uncovered = text
        .split("MUST requirements no scenario checks under these profiles")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of uncovered MUSTs: {text}"));
    assert!(uncovered.contains("ECMA-LDAP-010"), "{uncovered}");
    let unknown = ecmacert()
        .args(["requirements", "--profile", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown profile \"nope\""));
}
