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
    let out = fixture.dir.path().join("out");
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .args(["run", "--config"])
            .arg(&config)
            .args(["--dialect", "both", "--junit"])
            .arg(&junit)
            .arg("--json")
            .arg(&json)
            .arg("--markdown")
            .arg(out.join("summary.md"))
            .arg("--html")
            .arg(out.join("report.html"))
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
    // No secret reaches a report: the token, and the directory's password (the probe's and
    // the host's), in any artefact — a bundle made of this run's report and configuration too.
    let out = fixture.dir.path().join("out");
    let report: reports::Report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let (key, _) = harness::bundle::keygen(&out.join("signer")).unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    harness::bundle::write(
        &out.join("bundle.tar"),
        &report,
        &suite,
        Some(&fixture.config_path),
        &key,
    )
    .unwrap();
    let password = slapd().await.admin_password;
    let mut artefacts = vec![("stdout".to_owned(), stdout.into_bytes())];
    for name in [
        "junit.xml",
        "report.json",
        "summary.md",
        "report.html",
        "bundle.tar",
    ] {
        artefacts.push((name.to_owned(), std::fs::read(out.join(name)).unwrap()));
    }
    for (name, bytes) in &artefacts {
        assert!(!bytes.is_empty(), "{name} is empty");
        for secret in [crate::support::TOKEN, password, "secret"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} leaked into {name}"
            );
        }
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
pub(crate) fn ecma_host_binary() -> std::path::PathBuf {
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

/// Writes `ecma-host.toml` into `dir`: the OpenLDAP example pointed at the directory at
/// `ldap_url`, listening on `port`, over `container`, its token and bind password read from the
/// files `token` and `ldap-password` (which the caller writes).
pub(crate) fn write_host_config(dir: &std::path::Path, ldap_url: &str, port: u16, container: &str) {
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
        &format!("url = \"{ldap_url}\""),
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
    std::fs::write(dir.join("ecma-host.toml"), example).unwrap();
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
    write_host_config(dir.path(), &slapd.url, port, &container);
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
    // Every log at debug level (the host inherits RUST_LOG), every artefact written.
    let output = tokio::task::spawn_blocking(move || {
        ecmacert()
            .env("RUST_LOG", "debug")
            .args(["run", "--config"])
            .arg(&p)
            .args(["--tags", "@must", "--output-dir"])
            .arg(&o)
            .arg("--json")
            .arg(o.join("report.json"))
            .arg("--junit")
            .arg(o.join("junit.xml"))
            .arg("--html")
            .arg(o.join("report.html"))
            .arg("--markdown")
            .arg(o.join("summary.md"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = exited_0(&output);
    // Neither the token nor the directory's password is in any artefact, log or output of
    // the run (ECMA-ERR-008 is about the host's answers; this is about ecmacert's own).
    let mut artefacts = vec![
        ("stdout".to_owned(), output.stdout.clone()),
        ("stderr".to_owned(), output.stderr.clone()),
    ];
    let mut dirs = vec![out.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                artefacts.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(
        artefacts.len() >= 7,
        "{:?}",
        artefacts.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEBUG"), "not at debug level: {stderr}");
    for (name, bytes) in &artefacts {
        for secret in [crate::support::TOKEN, slapd.admin_password] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} is in {name}"
            );
        }
    }
    let log = out.join("host.log");
    assert!(
        stdout.contains(&format!("host output: {}", log.display())),
        "{stdout}"
    );
    let written = std::fs::read(&log).unwrap();
    assert!(written.len() >= 1_048_576, "{} bytes", written.len());
    // The host's log is an artefact of the run too: neither the token nor the directory's
    // password reaches it.
    for secret in [crate::support::TOKEN, slapd.admin_password] {
        assert!(
            !written
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{secret:?} is in the host's log"
        );
    }
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
    // Not on a terminal: no progress bar, a plain line per profile × dialect as it finishes.
    let stderr = String::from_utf8_lossy(&output.stderr);
    for profile in harness::embedded::profiles() {
        for dialect in ["entra-default", "entra-scim2020"] {
            assert!(
                stderr.contains(&format!("{profile} · {dialect}: ")),
                "{profile} · {dialect} not in {stderr}"
            );
        }
    }
    let text = std::fs::read_to_string(&json).unwrap();
    // The report validates against the shipped schema (reports/schema/report.schema.json).
    let schema: serde_json::Value = serde_json::from_str(reports::SCHEMA).unwrap();
    let instance: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    let report: reports::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(report.schema_version, reports::SCHEMA_VERSION);
    assert!(
        report.suite_files.contains_key("requirements.toml")
            && report.suite_files.contains_key("lifecycle/create.feature"),
        "{:?}",
        report.suite_files.keys().collect::<Vec<_>>()
    );
    // What the host says of itself, per connector.
    assert_eq!(report.host_facts.len(), harness::embedded::profiles().len());
    for facts in &report.host_facts {
        assert!(facts.service_provider_config.is_some(), "{facts:?}");
        assert!(
            facts
                .schemas
                .keys()
                .any(|id| id.ends_with("extension:ECMA2Host:2.0:User")),
            "{facts:?}"
        );
    }
    // Passed cases keep their evidence: exchanges and the target before and after.
    let created = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .find(|c| {
            c.outcome == reports::Outcome::Passed
                && c.scenario == "A created user lands in the target with every mapped attribute"
        })
        .unwrap();
    let detail = created.detail.as_ref().unwrap();
    assert!(
        detail
            .exchanges
            .iter()
            .any(|x| x.method == "POST" && x.status == Some(201)),
        "{detail:?}"
    );
    let after = created
        .target
        .as_ref()
        .and_then(|t| t.after.as_ref())
        .unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
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
    assert_eq!(doc["requirements"].as_array().unwrap().len(), 163);
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

/// `report diff`: two clean runs of the embedded default show nothing and exit 0; a clean run
/// against one on a defective host (a selftest mutant) shows the regressions first and exits 1;
/// a file that is not a report exits 2 naming it. One profile, to stay quick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_diff_shows_regressions_and_nothing_between_two_clean_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let json = dir.path().join(name);
        let markdown = dir.path().join(format!("{name}.md"));
        let output = ecmacert()
            .args(["run", "--profile", "sqlite-table", "--json"])
            .arg(&json)
            .arg("--markdown")
            .arg(&markdown)
            .output()
            .unwrap();
        exited_0(&output);
        let md = std::fs::read_to_string(&markdown).unwrap();
        assert!(md.starts_with("## ecmacert: PASS"), "{md}");
        json
    };
    let (one, two) = (run("one.json"), run("two.json"));
    let diff = |old: &std::path::Path, new: &std::path::Path| {
        ecmacert()
            .args(["report", "diff"])
            .arg(old)
            .arg(new)
            .output()
            .unwrap()
    };
    let same = diff(&one, &two);
    let text = exited_0(&same);
    assert!(text.contains("no differences"), "{text}");

    // The same profile on a host that ignores PATCHes (a selftest mutant).
    let mutant = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "patch-ignored")
        .unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    let options = harness::runner::RunOptions {
        profiles: vec!["sqlite-table".into()],
        ..harness::runner::RunOptions::default()
    };
    let report = harness::embedded::run_embedded_with(&suite, &options, mutant.apply)
        .await
        .unwrap();
    let defective = dir.path().join("defective.json");
    std::fs::write(&defective, serde_json::to_string(&report).unwrap()).unwrap();
    let markdown = dir.path().join("diff.md");
    let html = dir.path().join("diff.html");
    let out = ecmacert()
        .args(["report", "diff"])
        .arg(&one)
        .arg(&defective)
        .arg("--markdown")
        .arg(&markdown)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // old, new, the counts, then the regressions first.
    assert!(
        text.lines()
            .nth(2)
            .unwrap_or("")
            .contains(" regressed, 0 fixed"),
        "{text}"
    );
    let first = text.lines().nth(3).unwrap_or("");
    assert!(first.starts_with("regressed "), "{text}");
    assert!(
        text.contains("Named attributes are updated: passed → failed"),
        "{text}"
    );
    assert!(text.ends_with("RESULT: REGRESSED\n"), "{text}");
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("## ecmacert report diff: REGRESSED"), "{md}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(r#"<span id="verdict" class="v fail">REGRESSED</span>"#));
    assert!(
        page.contains(r#"<tr class="regressed"><td>regressed</td>"#),
        "{page}"
    );
    assert!(!page.contains("src=") && !page.contains("href="));

    let not_a_report = dir.path().join("one.json.md");
    let out = diff(&one, &not_a_report);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not an ecmacert report"), "{stderr}");
}

/// `run --shard i/n` and `report merge`: two shards of one profile's run, merged, give the
/// same outcome for every case as the whole run; a merge with a shard missing exits 2 and names
/// it; `certify --shard` is refused.
#[test]
fn two_shards_merged_equal_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, shard: Option<&str>| {
        let json = dir.path().join(name);
        let mut cmd = ecmacert();
        cmd.args(["run", "--profile", "sqlite-table", "--json"])
            .arg(&json);
        if let Some(s) = shard {
            cmd.args(["--shard", s]);
        }
        let stdout = exited_0(&cmd.output().unwrap());
        if let Some(s) = shard {
            assert!(
                stdout.contains(&format!("shard {s}: this report holds part")),
                "{stdout}"
            );
        }
        json
    };
    let whole = run("whole.json", None);
    let (a, b) = (run("a.json", Some("1/2")), run("b.json", Some("2/2")));
    let read = |p: &std::path::Path| -> reports::Report {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (ra, rb) = (read(&a), read(&b));
    let count = |r: &reports::Report| r.runs.iter().map(|x| x.cases.len()).sum::<usize>();
    assert!(count(&ra) > 0 && count(&rb) > 0, "both shards hold cases");
    let merged_path = dir.path().join("merged.json");
    // In reverse order: the merge does not depend on it.
    let out = ecmacert()
        .args(["report", "merge"])
        .arg(&b)
        .arg(&a)
        .arg("--out")
        .arg(&merged_path)
        .output()
        .unwrap();
    exited_0(&out);
    let (merged, whole) = (read(&merged_path), read(&whole));
    assert_eq!(merged.shard, None);
    assert_eq!(count(&merged), count(&whole));
    assert_eq!(
        reports::shard::outcomes(&merged),
        reports::shard::outcomes(&whole)
    );
    for (m, w) in merged.runs.iter().zip(&whole.runs) {
        assert_eq!(m.planned, w.planned, "{} {}", m.profile, m.dialect);
        let keys = |r: &reports::ProfileRun| r.cases.iter().map(|c| c.key()).collect::<Vec<_>>();
        assert_eq!(keys(m), keys(w), "cases in suite order");
    }

    let out = ecmacert()
        .args(["report", "merge"])
        .arg(&a)
        .arg("--out")
        .arg(dir.path().join("half.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("shard 2/2 missing"), "{stderr}");

    let out = ecmacert()
        .args(["certify", "--shard", "1/2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--shard is not allowed"), "{stderr}");
}

/// The certification bundle: keygen, `certify --key --out`, and `verify`, which passes on the
/// untouched bundle and fails on one changed byte, a wrong key, and a signed bundle whose
/// report lacks a MUST scenario.
#[test]
fn a_certification_bundle_verifies_and_any_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("keys/signer");
    let out = ecmacert()
        .arg("keygen")
        .arg("--out")
        .arg(&prefix)
        .output()
        .unwrap();
    exited_0(&out);
    let key = dir.path().join("keys/signer.key");
    let public = dir.path().join("keys/signer.pub");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    }
    let again = ecmacert()
        .arg("keygen")
        .arg("--out")
        .arg(&prefix)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "keygen does not overwrite");

    let bundle = dir.path().join("cert/bundle.tar");
    let out = ecmacert()
        .args(["certify", "--profile", "openldap-inetorgperson", "--key"])
        .arg(&key)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    let stdout = exited_0(&out);
    assert!(stdout.contains("verdict pass, signed"), "{stdout}");
    let verify = |bundle: &std::path::Path, key: &std::path::Path| {
        ecmacert()
            .arg("verify")
            .arg(bundle)
            .arg("--key")
            .arg(key)
            .output()
            .unwrap()
    };
    let ok = verify(&bundle, &public);
    let text = exited_0(&ok);
    assert!(text.contains("\nVERIFIED: "), "{text}");
    assert!(
        text.contains("certifies ecmacert's own reference host"),
        "{text}"
    );

    let not_verified = |out: std::process::Output, why: &str| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("NOT VERIFIED") && text.contains(why),
            "{text}"
        );
    };
    // One byte changed: in the report, then in the manifest.
    let bytes = std::fs::read(&bundle).unwrap();
    let tamper = |needle: &[u8], name: &str| {
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        let mut changed = bytes.clone();
        changed[at] ^= 0x01;
        let path = dir.path().join(name);
        std::fs::write(&path, changed).unwrap();
        path
    };
    not_verified(
        verify(
            &tamper(b"\"outcome\": \"passed\"", "report-changed.tar"),
            &public,
        ),
        "report.json was changed after it was signed",
    );
    not_verified(
        verify(
            &tamper(b"\"verdict\": \"pass\"", "manifest-changed.tar"),
            &public,
        ),
        "the signature does not match",
    );
    // Another signer's key.
    let other = dir.path().join("other");
    exited_0(
        &ecmacert()
            .arg("keygen")
            .arg("--out")
            .arg(&other)
            .output()
            .unwrap(),
    );
    not_verified(
        verify(&bundle, &dir.path().join("other.pub")),
        "the signature does not match",
    );
    // A bundle signed with the right key whose report lacks a MUST scenario.
    let report_text = {
        let mut archive = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
        let mut text = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_str() == Some("report.json") {
                use std::io::Read as _;
                entry.read_to_string(&mut text).unwrap();
            }
        }
        text
    };
    let mut report: reports::Report = serde_json::from_str(&report_text).unwrap();
    let run = &mut report.runs[0];
    let at = run
        .cases
        .iter()
        .position(|c| c.level == reports::Level::Must && c.outcome == reports::Outcome::Passed)
        .unwrap();
    let removed = run.cases.remove(at);
    run.planned.retain(|k| *k != removed.key());
    let short = dir.path().join("short.tar");
    let suite = harness::suite::Suite::embedded().unwrap();
    harness::bundle::write(&short, &report, &suite, None, &key).unwrap();
    not_verified(
        verify(&short, &public),
        &format!("MUST scenario {} ", removed.key()),
    );
    // Not a bundle, not a key: exit 2.
    let out = verify(&public, &public);
    assert_eq!(out.status.code(), Some(2));
    let out = verify(&bundle, &key);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not an Ed25519 public key"), "{stderr}");
}

/// `ecmacert cycle` on the embedded default: exit 0 with the log's counts (the issue's figure:
/// an initial cycle, then an incremental one with ten users changed sends ten PATCHes); exit 1
/// when users fail (a mapping without the class that carries the disable flag); exit 2 for
/// what cannot be used.
#[test]
fn cycle_prints_the_log_counts_and_exits_by_what_happened() {
    let mapping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/mappings/embedded-inetorgperson.toml"
    );
    let out = exited_0(
        &ecmacert()
            .args([
                "cycle",
                "--mapping",
                mapping,
                "--generate",
                "120",
                "--change",
                "10",
            ])
            .output()
            .unwrap(),
    );
    assert!(out.contains("cycle 1 (initial"), "{out}");
    assert!(
        out.contains(
            "log: created 120 · updated 0 · disabled 0 · deleted 0 · skipped 0 · failed 0"
        ),
        "{out}"
    );
    assert!(
        out.contains("requests: GET /Users?filter 0 · GET /Users/{id} 10 · POST /Users 0 · PATCH /Users/{id} 10 · DELETE /Users/{id} 0"),
        "{out}"
    );

    // Without ecmaUser the directory refuses the disable flag: those users fail, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("mapping.toml");
    let text = std::fs::read_to_string(mapping).unwrap();
    let text = text.replace("inetOrgPerson,ecmaUser", "inetOrgPerson");
    std::fs::write(&broken, text).unwrap();
    let json = dir.path().join("cycle.json");
    let output = ecmacert()
        .args(["cycle", "--mapping"])
        .arg(&broken)
        .args(["--generate", "10", "--soft-delete", "2", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("disabled 0") && stdout.contains("failed 2"),
        "{stdout}"
    );
    assert!(stdout.contains("objectClassViolation"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["cycles"][1]["escrow"], 2);
    assert_eq!(report["passed"], false);

    // What cannot be used: exit 2, nothing run.
    let not_array = dir.path().join("users.json");
    std::fs::write(&not_array, "{\"id\": \"x\"}").unwrap();
    for args in [
        vec!["cycle", "--mapping", mapping, "--change", "3"],
        vec!["cycle", "--mapping", mapping],
        vec!["cycle", "--mapping", "/nonexistent.toml", "--generate", "3"],
        vec![
            "cycle",
            "--mapping",
            mapping,
            "--generate",
            "3",
            "--remove",
            "4",
        ],
        vec![
            "cycle",
            "--mapping",
            mapping,
            "--users",
            not_array.to_str().unwrap(),
        ],
        vec![
            "cycle",
            "--mapping",
            mapping,
            "--generate",
            "3",
            "--profile",
            "nope",
        ],
        vec![
            "cycle",
            "--mapping",
            mapping,
            "--generate",
            "3",
            "--state",
            "/tmp/x.json",
        ],
    ] {
        let output = ecmacert().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
}
