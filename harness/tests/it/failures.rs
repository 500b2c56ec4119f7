//! Hosts that must fail the suite, and do, with a precise reason per scenario.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use reports::{Outcome, Report};

use crate::slapd::slapd;
use crate::support::{both_dialects, start, write_harness_config};

fn failed_messages(report: &Report) -> Vec<String> {
    report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.outcome.fails_run())
        .map(|c| {
            c.detail
                .as_ref()
                .map(|d| d.message.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Runs the suite against `base_url` (an `http://` one with `allow_plaintext`) and returns the
/// error the run stopped with.
async fn run_error(base_url: &str, connector: &str) -> harness::runner::RunError {
    let slapd = slapd().await;
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let path = write_harness_config(
        dir.path(),
        slapd,
        "openldap-inetorgperson",
        base_url,
        "some-token-value",
        "ou=stopped,dc=contoso,dc=lab",
    );
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "connector = \"LDAP\"",
        &format!("connector = \"{connector}\"\nallow_plaintext = true"),
    );
    std::fs::write(&path, text).unwrap();
    let config = harness::config::Config::load(&path).unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    harness::runner::run(&suite, &config, dir.path(), &both_dialects())
        .await
        .unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_where_nothing_answers_scim_stops_the_run_with_one_message() {
    // A stopped host: the port is bound, not listening, and kept.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap().port();
    let e = run_error(&format!("https://localhost:{closed}"), "LDAP").await;
    let m = e.to_string();
    assert!(matches!(e, harness::runner::RunError::Preflight(_)), "{m}");
    assert!(
        m.contains(&format!(
            "nothing answers SCIM at https://localhost:{closed}/ecma2host_LDAP/scim"
        )) && m.contains("onnection refused"),
        "{m}"
    );
    drop(reserved);
    // A web server that is not a SCIM host: HTML and 404 everywhere (over plain HTTP, which
    // the configuration allows).
    let app = Router::new().fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            [("content-type", "text/html")],
            "<html><body>Not Found</body></html>",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let m = run_error(&format!("http://127.0.0.1:{port}"), "LDAP")
        .await
        .to_string();
    assert!(
        m.contains("→ 404, text/html") && m.contains("GET /Schemas"),
        "{m}"
    );
    // The reference host, asked for a connector it does not have: 404 on every path.
    let fixture = start("openldap-inetorgperson", |app| app).await;
    let text = std::fs::read_to_string(&fixture.config_path)
        .unwrap()
        .replace("connector = \"LDAP\"", "connector = \"NoSuchConnector\"");
    let path = fixture.dir.path().join("wrong-connector.toml");
    std::fs::write(&path, text).unwrap();
    let config = harness::config::Config::load(&path).unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    let m = harness::runner::run(&suite, &config, fixture.dir.path(), &both_dialects())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("/ecma2host_NoSuchConnector/scim") && m.contains("404"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_with_401_in_every_scenario_that_reaches_the_host() {
    let fixture = start("openldap-inetorgperson", |app| app).await;
    std::fs::write(fixture.dir.path().join("token"), "not-the-connector-token").unwrap();
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    let messages = failed_messages(&report);
    assert!(messages.len() >= 20, "{messages:?}");
    for m in &messages {
        assert!(m.contains("got 401"), "{m}");
    }
}

/// A defect: a zero-result ListResponse becomes 404, as some SCIM servers answer — the answer
/// that gets an Entra provisioning job quarantined.
async fn empty_filter_is_404(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if json["totalResults"] == 0 {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "404",
            "detail": "no such user"
        });
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/scim+json")],
            body.to_string(),
        )
            .into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_answering_404_to_an_empty_filter_is_caught() {
    let fixture = start("openldap-inetorgperson", |app: Router| {
        app.layer(middleware::from_fn(empty_filter_is_404))
    })
    .await;
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    let failed: Vec<_> = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.outcome == Outcome::Failed)
        .collect();
    let test_connection: Vec<_> = failed
        .iter()
        .filter(|c| c.feature == "discovery/test_connection.feature")
        .collect();
    assert_eq!(
        test_connection.len(),
        8,
        "every test-connection scenario (plain, unmapped, trailing and doubled slash) in both dialects: {failed:#?}"
    );
    for case in &failed {
        let detail = case.detail.as_ref().unwrap();
        assert!(
            detail.message.contains("expected 200, got 404"),
            "{}: {}",
            case.scenario,
            detail.message
        );
        assert!(
            detail
                .exchanges
                .last()
                .is_some_and(|x| x.status == Some(404)),
            "the exchange is the evidence"
        );
    }
    // Scenarios that never ask an empty question still pass: the failure is precise.
    assert!(
        report.counts().passed > 20,
        "{}",
        reports::terminal::render(&report)
    );
}

/// A defect: creates answer 201 with a plausible body but never reach the target.
async fn create_without_writing(request: Request<Body>, next: Next) -> Response {
    if request.method() != axum::http::Method::POST || !request.uri().path().ends_with("/Users") {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "cn=ghost,dc=contoso,dc=lab",
    });
    (
        StatusCode::CREATED,
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// A defect: PATCH answers 204 and changes nothing.
async fn patch_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() == axum::http::Method::PATCH {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

/// The scenarios a defect fails, by scenario name, with the first line of their message.
pub(crate) fn failures_by_scenario(report: &Report) -> Vec<(String, String)> {
    report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.outcome.fails_run())
        .map(|c| {
            (
                c.scenario.clone(),
                c.detail
                    .as_ref()
                    .map(|d| d.message.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_201_without_writing_is_caught_by_the_target_check() {
    let fixture = start("openldap-inetorgperson", |app: Router| {
        app.layer(middleware::from_fn(create_without_writing))
    })
    .await;
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    let failures = failures_by_scenario(&report);
    let landed = failures
        .iter()
        .find(|(s, _)| s == "A created user lands in the target with every mapped attribute")
        .unwrap_or_else(|| panic!("{failures:#?}"));
    assert!(landed.1.contains("found no entry there"), "{}", landed.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_ignores_patches_is_caught_in_both_dialects() {
    let fixture = start("openldap-inetorgperson", |app: Router| {
        app.layer(middleware::from_fn(patch_ignored))
    })
    .await;
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    for run in &report.runs {
        let every = run
            .cases
            .iter()
            .find(|c| c.scenario == "Every mapped attribute can be updated")
            .unwrap();
        assert_eq!(every.outcome, Outcome::Failed, "{}: {every:?}", run.dialect);
        let message = &every.detail.as_ref().unwrap().message;
        assert!(
            message.contains("sn: expected \"Doe-Jones\""),
            "{}: {message}",
            run.dialect
        );
    }
}

/// A defect: error answers echo the bearer token back in their detail.
async fn echo_token(request: Request<Body>, next: Next) -> Response {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_owned();
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    crate::support::scim_error(
        response.status(),
        None,
        &format!("request with token {token} failed"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_leaks_the_token_fails_and_the_report_does_not_leak_it() {
    let fixture = start("openldap-inetorgperson", |app: Router| {
        app.layer(middleware::from_fn(echo_token))
    })
    .await;
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    let messages = failed_messages(&report);
    assert!(
        messages.iter().any(|m| m.contains("ECMA-ERR-008")),
        "{messages:#?}"
    );
    let everything = serde_json::to_string(&report).unwrap()
        + &reports::junit::render(&report)
        + &reports::terminal::render(&report);
    assert!(
        !everything.contains(crate::support::TOKEN),
        "the token reached the report"
    );
    assert!(everything.contains("<redacted>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_select_scenarios_and_the_rest_are_reported_as_filtered_out() {
    let fixture = start("openldap-inetorgperson", |app| app).await;
    let options = harness::runner::RunOptions {
        tags: Some("@req:ECMA-MATCH-001 and not @req:ECMA-MATCH-006".into()),
        ..both_dialects()
    };
    let report = fixture.run(&options).await;
    assert!(report.passed());
    let c = report.counts();
    assert_eq!(
        c.passed,
        2,
        "one scenario per dialect: {}",
        reports::terminal::render(&report)
    );
    assert!(c.filtered_out > 60);
}

/// The dialect differential (ECMA-UPDATE-014) on real slapd: a host that, in the path-less
/// form of the aadOptscim062020 dialect only, also adds a superclass to objectClass passes
/// every check of what a scenario sent, and fails in both dialects on the differences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_writes_depend_on_the_dialect_fails_the_differential_in_both() {
    let mutant = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "pathless-replace-adds-superclass")
        .unwrap();
    let fixture = start("openldap-inetorgperson", mutant.apply).await;
    let report = fixture.run(&both_dialects()).await;
    assert_eq!(report.exit_code(), 1);
    for run in &report.runs {
        let named = run
            .cases
            .iter()
            .find(|c| c.scenario == "Named attributes are updated")
            .unwrap();
        assert_eq!(named.outcome, Outcome::Failed, "{}: {named:?}", run.dialect);
        assert!(named.requirements.iter().any(|r| r == "ECMA-UPDATE-014"));
        let detail = named.detail.as_ref().unwrap();
        assert_eq!(detail.step, None, "no step of its own failed: {detail:?}");
        assert!(
            detail.message.contains(
                "objectclass: entra-default [\"inetOrgPerson\"], entra-scim2020 [\"inetOrgPerson\", \"person\"]"
            ),
            "{}",
            detail.message
        );
    }
    // The scenarios that passed in one dialect only, and those that create without updating,
    // are not failed by it.
    let created =
        report.runs.iter().flat_map(|r| &r.cases).filter(|c| {
            c.scenario == "A created user lands in the target with every mapped attribute"
        });
    for c in created {
        assert_eq!(c.outcome, Outcome::Passed, "{c:?}");
    }
}

/// A host whose certificate the run cannot verify is refused before any scenario; with
/// `host.insecure_tls` the run goes on, the scenario that connects as Entra does still verifies
/// and fails, and the report says the certificate was not verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverifiable_certificate_stops_the_run_unless_insecure_tls_which_every_report_shows() {
    let fixture = start("openldap-inetorgperson", |app| app).await;
    let text = std::fs::read_to_string(&fixture.config_path).unwrap();
    let trusted = "ca_certificate = \"certs/ecma-host.crt\"\n";
    assert!(text.contains(trusted), "{text}");
    let options = harness::runner::RunOptions {
        profiles: vec!["openldap-inetorgperson".into()],
        dialects: vec![scim_proto::Dialect::EntraDefault],
        tags: Some("@req:ECMA-AUTH-005 or @req:ECMA-AUTH-001".into()),
        ..harness::runner::RunOptions::default()
    };
    // The system roots do not know the host's self-signed certificate.
    std::fs::write(&fixture.config_path, text.replace(trusted, "")).unwrap();
    let error = fixture.try_run(&options).await.unwrap_err().to_string();
    assert!(error.contains("certificate"), "{error}");
    std::fs::write(
        &fixture.config_path,
        text.replace(trusted, "insecure_tls = true\n"),
    )
    .unwrap();
    let report = fixture.try_run(&options).await.unwrap();
    let (outcome, message) = crate::support::said(
        &report,
        "A client that speaks only TLS 1.2 connects and verifies the host name",
    );
    assert_eq!(outcome, Outcome::Failed, "{message}");
    let passed = report.runs[0]
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Passed)
        .count();
    assert!(passed >= 2, "{}", reports::terminal::render(&report));
    let transport = &report.host_facts[0]
        .configuration
        .as_ref()
        .unwrap()
        .transport;
    assert!(transport.contains("NOT verified"), "{transport}");
    assert!(
        reports::terminal::render(&report).contains("host.insecure_tls"),
        "{}",
        reports::terminal::render(&report)
    );
    // Both keys at once are a configuration error, named by key.
    std::fs::write(
        &fixture.config_path,
        text.replace(trusted, &format!("{trusted}insecure_tls = true\n")),
    )
    .unwrap();
    let e = harness::config::Config::load(&fixture.config_path).unwrap_err();
    assert!(e.to_string().contains("host.insecure_tls"), "{e}");
}

/// A host that cannot verify its directory's certificate fails closed: it answers errors, never
/// falls back to plain LDAP, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_trusting_another_ca_than_its_directory_s_writes_nothing() {
    let fixture = crate::support::start_over(
        "openldap-inetorgperson",
        |app| app,
        crate::support::Link::UntrustedLdaps,
    )
    .await;
    let options = harness::runner::RunOptions {
        profiles: vec!["openldap-inetorgperson".into()],
        dialects: vec![scim_proto::Dialect::EntraDefault],
        tags: Some("@req:ECMA-CREATE-001".into()),
        ..harness::runner::RunOptions::default()
    };
    match fixture.try_run(&options).await {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(report) => assert!(!report.passed(), "{}", reports::terminal::render(&report)),
    }
    let config = fixture.config();
    let mut ldap = crate::support::slapd_admin().await;
    let (entries, _) = ldap
        .search(
            &config.target.container,
            ldap3::Scope::OneLevel,
            "(objectClass=*)",
            vec!["1.1"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(entries.is_empty(), "{entries:?}");
}
