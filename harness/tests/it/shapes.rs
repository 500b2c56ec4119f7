//! Real-world request shapes (issue 9): for each kind of fault, the suite's scenario fails a
//! host that behaves as the reference host did before the kind was fixed — the old behaviour
//! put back by a tower layer — and passes the reference host as it is now.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use harness::runner::RunOptions;
use harness::suite::Suite;
use reports::Outcome;
use scim_proto::{Dialect, urn};
use serde_json::{Value, json};

use crate::support::{said, scim_error};

/// Runs the scenarios `tags` selects on `profile` of the embedded default (the default
/// dialect), through `defect` and without it, and returns the outcome and message of
/// `scenario` in each. The one without must pass.
async fn both_ways(
    profile: &str,
    tags: &str,
    scenario: &str,
    defect: fn(Router) -> Router,
) -> (Outcome, String) {
    let suite = Suite::embedded().unwrap();
    let options = RunOptions {
        profiles: vec![profile.to_owned()],
        dialects: vec![Dialect::EntraDefault],
        tags: Some(tags.into()),
        ..RunOptions::default()
    };
    let now = harness::embedded::run_embedded(&suite, &options)
        .await
        .unwrap();
    let (outcome, message) = said(&now, scenario);
    assert_eq!(outcome, Outcome::Passed, "the reference host: {message}");
    let before = harness::embedded::run_embedded_with(&suite, &options, defect)
        .await
        .unwrap();
    said(&before, scenario)
}

async fn body_json(request: Request<Body>) -> (axum::http::request::Parts, Value) {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn rebuilt(mut parts: axum::http::request::Parts, body: &Value) -> Request<Body> {
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Request::from_parts(parts, Body::from(body.to_string()))
}

/// The PATCH operations of a body, path-less value objects opened up: (path, value).
fn changes(patch: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for op in patch["Operations"].as_array().into_iter().flatten() {
        match (op["path"].as_str(), op["value"].as_object()) {
            (Some(path), _) => out.push((path.to_owned(), op["value"].clone())),
            (None, Some(values)) => {
                out.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {}
        }
    }
    out
}

// Kind 1: null with a path was refused.

async fn null_refused(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (parts, body) = body_json(request).await;
    let with_path_and_null = body["Operations"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|op| op.get("path").is_some() && op["value"].is_null() && op.get("value").is_some());
    if with_path_and_null {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "replace needs a value",
        );
    }
    next.run(rebuilt(parts, &body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_with_a_path() {
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-ROBUST-010",
        "A null value removes the attribute",
        |app| app.layer(middleware::from_fn(null_refused)),
    )
    .await;
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(
        message.contains("expected 200 or 204, got 400"),
        "{message}"
    );
}

// Kind 2: an empty string went to the directory, which refused it.

async fn empty_refused(request: Request<Body>, next: Next) -> Response {
    let (parts, body) = body_json(request).await;
    let empty = changes(&body).iter().any(|(_, v)| v == "")
        || body[urn::ECMA2HOST_USER]
            .as_object()
            .is_some_and(|e| e.values().any(|v| v == ""));
    if empty {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "LDAP 21 (invalidAttributeSyntax): value #0 invalid per syntax",
        );
    }
    next.run(rebuilt(parts, &body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_strings() {
    for scenario in [
        "An empty string removes the attribute, and the PATCH's other changes still land",
        "An empty string on create is left out",
    ] {
        let (outcome, message) = both_ways(
            "openldap-inetorgperson",
            "@req:ECMA-ROBUST-011",
            scenario,
            |app| app.layer(middleware::from_fn(empty_refused)),
        )
        .await;
        assert_eq!(outcome, Outcome::Failed, "{scenario}: {message}");
    }
}

// Kind 3: the extension block was only recognised in its canonical spelling.

async fn case_sensitive_names(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = body_json(request).await;
    if body.get(urn::ECMA2HOST_USER).is_none() {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn- is required",
        );
    }
    next.run(rebuilt(parts, &body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_in_another_case() {
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-CREATE-010",
        "The extension URN and member names are read in any case",
        |app| app.layer(middleware::from_fn(case_sensitive_names)),
    )
    .await;
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(message.contains("-dn- is required"), "{message}");
}

// Kind 4: the connector space compared strings byte for byte (after ASCII case folding).

pub(crate) async fn byte_compare(request: Request<Body>, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("").to_owned();
    let response = next.run(request).await;
    let filter = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned());
    let Some((attr, value)) = filter.as_deref().and_then(|f| {
        let (attr, rest) = f.split_once(" eq ")?;
        Some((
            attr.rsplit(':').next()?.to_owned(),
            rest.trim().trim_matches('"').to_owned(),
        ))
    }) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut list: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(resources) = list["Resources"].as_array_mut() {
        resources.retain(|r| {
            r[urn::ECMA2HOST_USER][&attr]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(&value))
        });
        let n = resources.len();
        list["totalResults"] = json!(n);
    }
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(list.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_as_the_directory_matches() {
    for scenario in [
        "Matching finds what the directory's own matching finds: another Unicode normal form",
        "Matching finds what the directory's own matching finds: case and insignificant spaces",
    ] {
        let (outcome, message) = both_ways(
            "openldap-inetorgperson",
            "@req:ECMA-MATCH-015",
            scenario,
            |app| app.layer(middleware::from_fn(byte_compare)),
        )
        .await;
        assert_eq!(outcome, Outcome::Failed, "{scenario}: {message}");
        assert!(message.contains("expected exactly one user"), "{message}");
    }
}

// Kind 5: a trailing or doubled slash was an unknown endpoint.

async fn strict_paths(request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path();
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        return scim_error(StatusCode::NOT_FOUND, None, "not a SCIM endpoint");
    }
    next.run(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slashes() {
    for scenario in [
        "Test connection through a path with a trailing slash finds nobody",
        "Test connection through a path with a doubled slash finds nobody",
    ] {
        let (outcome, message) = both_ways(
            "openldap-inetorgperson",
            "@req:ECMA-ROBUST-016",
            scenario,
            |app| app.layer(middleware::from_fn(strict_paths)),
        )
        .await;
        assert_eq!(outcome, Outcome::Failed, "{scenario}: {message}");
        assert!(message.contains("expected 200, got 404"), "{message}");
    }
}

// Kind 6: the host's view of an object lagged behind its target after racing changes.

static FIRST_ANSWER: Mutex<Option<HashMap<String, (Instant, String)>>> = Mutex::new(None);

/// The host answers reads of an object with the first of its recently acknowledged states:
/// what racing PATCHes did to the reference host's cache before they were serialised.
async fn lagging_view(request: Request<Body>, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let recent = |t: &Instant| t.elapsed().as_secs() < 5;
    if method == Method::PATCH && response.status() == StatusCode::OK {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut map = FIRST_ANSWER.lock().unwrap();
        let map = map.get_or_insert_default();
        if !map.get(&path).is_some_and(|(t, _)| recent(t)) {
            map.insert(path, (Instant::now(), text.clone()));
        }
        return Response::from_parts(parts, Body::from(text));
    }
    if method == Method::GET {
        let stale = FIRST_ANSWER
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|m| m.get(&path).filter(|(t, _)| recent(t)).cloned());
        if let Some((_, text)) = stale {
            return (
                StatusCode::OK,
                [("content-type", "application/scim+json")],
                text,
            )
                .into_response();
        }
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_that_lags_after_racing_changes() {
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-ROBUST-017 and not @requires:fault-injection",
        "Sixteen updates of one attribute at once leave the host answering what the target holds",
        |app| app.layer(middleware::from_fn(lagging_view)),
    )
    .await;
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(message.contains("the mail the target holds"), "{message}");
}

// Kind 7: attributes and excludedAttributes were ignored.

async fn projection_ignored(mut request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    *request.uri_mut() = path.parse().unwrap();
    request
        .extensions_mut()
        .remove::<axum::extract::OriginalUri>();
    next.run(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_excluded_attributes() {
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-READ-005",
        "excludedAttributes and attributes shape what a read returns",
        |app| app.layer(middleware::from_fn(projection_ignored)),
    )
    .await;
    assert_eq!(outcome, Outcome::Warned, "a SHOULD: {message}");
    assert!(message.contains("ECMA-READ-005"), "{message}");
}

// Kind 8: a PATCH without schemas or operations was answered 200; removing active got the
// wrong keyword; a request too long got an answer without a SCIM body; a user created inactive
// was answered active.

async fn lax_envelope(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (parts, body) = body_json(request).await;
    if body.get("schemas").is_none() || body["Operations"].as_array().is_some_and(Vec::is_empty) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let removes_active = body["Operations"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|op| {
            op["op"]
                .as_str()
                .is_some_and(|o| o.eq_ignore_ascii_case("remove"))
                && op["path"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case("active"))
        });
    if removes_active {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("noTarget"),
            "active cannot be removed",
        );
    }
    next.run(rebuilt(parts, &body)).await
}

async fn bare_414(request: Request<Body>, next: Next) -> Response {
    if request.uri().to_string().len() > 8192 {
        return StatusCode::URI_TOO_LONG.into_response();
    }
    next.run(request).await
}

async fn always_active(request: Request<Body>, next: Next) -> Response {
    let post = request.method() == Method::POST;
    let response = next.run(request).await;
    if !post || response.status() != StatusCode::CREATED {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut user: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    user["active"] = json!(true);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(user.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_ones() {
    for scenario in [
        "A PATCH without schemas is refused as invalid syntax and changes nothing",
        "A PATCH with no operations is refused as invalid syntax and changes nothing",
    ] {
        let (outcome, message) = both_ways(
            "openldap-inetorgperson",
            "@req:ECMA-ERR-013",
            scenario,
            |app| app.layer(middleware::from_fn(lax_envelope)),
        )
        .await;
        assert_eq!(outcome, Outcome::Warned, "{scenario}: {message}");
    }
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-ERR-002 and not @req:ECMA-ERR-013",
        "Removing active is refused as an invalid value and changes nothing",
        |app| app.layer(middleware::from_fn(lax_envelope)),
    )
    .await;
    assert_eq!(outcome, Outcome::Warned, "{message}");
    assert!(
        message.contains("expected scimType invalidValue"),
        "{message}"
    );
    let (outcome, message) = both_ways(
        "openldap-inetorgperson",
        "@req:ECMA-ERR-001 and not @req:ECMA-AUTH-001 and not @req:ECMA-AUTH-002",
        "A query too long to serve is served, or refused with a SCIM error",
        |app| app.layer(middleware::from_fn(bare_414)),
    )
    .await;
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(message.contains("ECMA-ERR-001"), "{message}");
    let (outcome, message) = both_ways(
        "openldap-disable-flag",
        "@req:ECMA-DEPROV-013",
        "A user created inactive is stored disabled and answered inactive",
        |app| app.layer(middleware::from_fn(always_active)),
    )
    .await;
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(message.contains("ECMA-DEPROV-013"), "{message}");
}
