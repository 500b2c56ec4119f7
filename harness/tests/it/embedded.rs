//! The embedded default: the reference host on mock directories in-process. It passes (through
//! the binary, in cli.rs), and its fault-injection scenarios catch hosts that hide what the
//! directory did. That the mock gives every other scenario the outcome slapd gives is checked in
//! reference.rs.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use harness::runner::RunOptions;
use harness::suite::Suite;
use reports::{Outcome, Report};

use crate::support::said;
use scim_proto::Dialect;

/// The fault scenarios of one profile in one dialect, against the reference host passed through
/// `defect`.
async fn fault_scenarios(defect: fn(Router) -> Router) -> Report {
    let suite = Suite::embedded().unwrap();
    let options = RunOptions {
        profiles: vec!["openldap-inetorgperson".into()],
        dialects: vec![Dialect::EntraDefault],
        tags: Some("@requires:fault-injection or @requires:connection-faults".into()),
        ..RunOptions::default()
    };
    harness::embedded::run_embedded_with(&suite, &options, defect)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_scenarios_pass_on_the_reference_host() {
    let report = fault_scenarios(|app| app).await;
    assert!(report.passed(), "{}", reports::terminal::render(&report));
    let c = report.counts();
    assert!(c.passed >= 5, "{c:?}");
    assert_eq!(c.warned, 0, "{}", reports::terminal::render(&report));
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
}

/// A defect: a failed create is reported as created.
async fn swallow_failed_creates(request: Request<Body>, next: Next) -> Response {
    let create = request.method() == Method::POST && request.uri().path().ends_with("/Users");
    let response = next.run(request).await;
    if !create || response.status().is_success() {
        return response;
    }
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "cn=swallowed,dc=contoso,dc=lab",
    });
    (
        StatusCode::CREATED,
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_reports_failed_creates_as_created_is_caught() {
    let report =
        fault_scenarios(|app| app.layer(middleware::from_fn(swallow_failed_creates))).await;
    assert_eq!(report.exit_code(), 1);
    for (name, expected) in [
        (
            "While the target drops the host's connections, creates get a 5xx and write nothing",
            "got 201",
        ),
        ("A busy directory is a 5xx, so Entra retries", "got 201"),
        (
            "The directory's entryAlreadyExists is 409 uniqueness",
            "got 201",
        ),
    ] {
        let (outcome, message) = said(&report, name);
        assert_eq!(outcome, Outcome::Failed, "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
    }
}

/// A defect: every error's detail is replaced by a generic sentence.
async fn generic_details(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    crate::support::scim_error(
        response.status(),
        Some("invalidValue"),
        "The request could not be completed.",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_hides_the_directorys_message_is_warned_about() {
    let report = fault_scenarios(|app| app.layer(middleware::from_fn(generic_details))).await;
    let (outcome, message) = said(
        &report,
        "A constraint violation is a 400 that carries the directory's message",
    );
    assert_eq!(outcome, Outcome::Warned, "{message}");
    assert!(
        message.contains("expected the detail to carry the target's message"),
        "{message}"
    );
}

/// A defect: a failed delete is answered only after four seconds.
async fn slow_failed_deletes(request: Request<Body>, next: Next) -> Response {
    let delete = request.method() == Method::DELETE;
    let response = next.run(request).await;
    if delete && response.status().is_server_error() {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_hangs_on_a_slow_directory_is_warned_about() {
    let report = fault_scenarios(|app| app.layer(middleware::from_fn(slow_failed_deletes))).await;
    let (outcome, message) = said(
        &report,
        "A slow directory gets a 5xx before Entra gives up, not a hung request",
    );
    assert_eq!(outcome, Outcome::Warned, "{message}");
    assert!(
        message.contains("expected an answer within 3.5 s"),
        "{message}"
    );
}

/// ECMA-AUTH-006: a host whose certificate names another host than the one in its URL is
/// refused before any scenario runs, with the reason (the selftest cannot count this as a
/// scenario's kill: nothing runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_name_stops_the_run_and_says_why() {
    let suite = Suite::embedded().unwrap();
    let options = RunOptions {
        profiles: vec!["sqlite-table".into()],
        dialects: vec![Dialect::EntraDefault],
        ..RunOptions::default()
    };
    let e = harness::embedded::run_embedded_defective(
        &suite,
        &options,
        |app| app,
        harness::embedded::HostDefect::CertificateForAnotherName,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("not valid for name \"localhost\"") && e.contains("ecma-host.invalid"),
        "{e}"
    );
}
