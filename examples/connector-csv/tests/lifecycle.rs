//! The CSV plug-in connector through a whole user lifecycle, registered with
//! `Host::builder().connector(…)` and driven through the host's SCIM router as Entra drives it:
//! each step checks the request's answer and the file itself.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt as _;
use reference_host::Host;
use reference_host::config::Config;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const TOKEN: &str = "csv-token-0123456789";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User";
const USERS: &str = "/ecma2host_CSV/scim/Users";

fn config(extra_parameters: &str) -> Config {
    Config::parse(&format!(
        r#"
[server]
plain_http = true

[[connector]]
name = "CSV"
token = {{ file = "token" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "disabled", value = true }}
delete_flow = "delete"

[connector.plugin]
type = "csv"
parameters = {{ file = "users.csv", anchor = "login", columns = ["login", "surname", "mail"]{extra_parameters} }}
"#
    ))
    .unwrap()
}

/// A directory for the host's files, with the token in `token`.
fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    dir
}

async fn host(dir: &Path) -> Host {
    let host = ecmacert_connector_csv::register(Host::builder(config(""), dir))
        .build()
        .unwrap();
    host.import_all().await.unwrap();
    host
}

async fn send(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost:8585")
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        request = request.header("content-type", "application/scim+json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

/// The file's lines.
fn file(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("users.csv"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn create(login: &str, surname: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": login,
        "active": true,
        EXT: { "login": login, "surname": surname, "mail": format!("{login}@contoso.lab") },
    })
}

fn filter(login: &str) -> String {
    format!("{USERS}?filter={EXT}:login%20eq%20%22{login}%22")
}

#[tokio::test]
async fn a_user_is_created_found_changed_disabled_and_deleted_in_the_file() {
    let dir = tempdir();
    let app = host(dir.path()).await.app();

    // Matching query: nobody yet.
    let (status, body) = send(&app, "GET", &filter("alice"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 0);

    // Create: 201 with the anchor as id; the row is in the file.
    let (status, body) = send(&app, "POST", USERS, Some(create("alice", "Smith"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], "alice");
    assert_eq!(
        file(dir.path()),
        [
            "login,surname,mail,disabled",
            "alice,Smith,alice@contoso.lab,"
        ]
    );

    // The matching query finds her now, and GET by id returns her.
    let (_, body) = send(&app, "GET", &filter("alice"), None).await;
    assert_eq!(body["totalResults"], 1, "{body}");
    let (status, body) = send(&app, "GET", &format!("{USERS}/alice"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body[EXT]["surname"], "Smith");

    // PATCH in Entra's dialect: the surname, with a comma the file must quote.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Replace", "path": format!("{EXT}:surname"), "value": "Smith, Jr." }],
    });
    let (status, body) = send(&app, "PATCH", &format!("{USERS}/alice"), Some(patch)).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(
        file(dir.path())[1],
        "alice,\"Smith, Jr.\",alice@contoso.lab,"
    );

    // Disable: the flow sets the hidden column.
    let disable = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Replace", "path": "active", "value": "False" }],
    });
    let (status, body) = send(&app, "PATCH", &format!("{USERS}/alice"), Some(disable)).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(
        file(dir.path())[1],
        "alice,\"Smith, Jr.\",alice@contoso.lab,true"
    );

    // A second create with her anchor: 409, and the file is as it was.
    let before = file(dir.path());
    let (status, body) = send(&app, "POST", USERS, Some(create("alice", "Other"))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["scimType"], "uniqueness");
    assert_eq!(file(dir.path()), before);

    // Delete: the row is gone; a second delete is 404.
    let (status, _) = send(&app, "DELETE", &format!("{USERS}/alice"), None).await;
    assert_eq!(status, 204);
    assert_eq!(file(dir.path()), ["login,surname,mail,disabled"]);
    let (status, _) = send(&app, "DELETE", &format!("{USERS}/alice"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn rows_written_out_of_band_are_found_after_an_import() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("users.csv"),
        "login,surname,mail,disabled\nbob,Jones,bob@contoso.lab,false\n",
    )
    .unwrap();
    let host = host(dir.path()).await;
    let app = host.app();
    let (_, body) = send(&app, "GET", &filter("bob"), None).await;
    assert_eq!(body["totalResults"], 1, "{body}");
    std::fs::write(
        dir.path().join("users.csv"),
        "login,surname,mail,disabled\nbob,Jones,bob@contoso.lab,false\ncarol,Wu,,\n",
    )
    .unwrap();
    host.import_all().await.unwrap();
    let (_, body) = send(&app, "GET", &filter("carol"), None).await;
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0][EXT]["surname"], "Wu");
}

#[tokio::test]
async fn a_plugin_type_nobody_registered_or_a_bad_parameter_is_a_configuration_error() {
    let dir = tempdir();
    // The stock host: no plug-in registered.
    let Err(e) = Host::new(config(""), dir.path()) else {
        panic!("a host without the csv plug-in accepted its connector");
    };
    let e = e.to_string();
    assert!(e.contains("plugin.type") && e.contains("\"csv\""), "{e}");
    // A parameter the connector does not know, named in the error.
    let Err(e) =
        ecmacert_connector_csv::register(Host::builder(config(", colour = 1"), dir.path())).build()
    else {
        panic!("an unknown parameter was accepted");
    };
    assert!(e.to_string().contains("plugin.parameters: colour"), "{e}");
    // The same type registered twice.
    let Err(e) = ecmacert_connector_csv::register(ecmacert_connector_csv::register(Host::builder(
        config(""),
        dir.path(),
    )))
    .build() else {
        panic!("a type registered twice was accepted");
    };
    assert!(e.to_string().contains("registered twice"), "{e}");
}

#[tokio::test]
async fn an_empty_file_holds_no_users() {
    let dir = tempdir();
    std::fs::write(dir.path().join("users.csv"), "").unwrap();
    let host = host(dir.path()).await;
    let (status, body) = send(&host.app(), "GET", USERS, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 0, "{body}");
}

#[tokio::test]
async fn a_file_whose_header_lacks_the_anchor_fails_the_import_and_is_not_rewritten() {
    let dir = tempdir();
    let text = "user,surname,mail\nann,Ames,ann@contoso.lab\n";
    std::fs::write(dir.path().join("users.csv"), text).unwrap();
    let host = ecmacert_connector_csv::register(Host::builder(config(""), dir.path()))
        .build()
        .unwrap();
    let e = host.import_all().await.unwrap_err().to_string();
    assert!(e.contains("no \"login\" column"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("users.csv")).unwrap(),
        text
    );
}
