//! The Web Services connector on the mock HR API (`mock_targets::rest`, its employees in an
//! SQLite table read back directly here): a whole lifecycle through the templates, the API's
//! refusals and faults classified by status, reads retried and writes not, and paging by cursor
//! and by page number.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use mock_targets::rest::{Operation, RestFault, RestHr};
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};

use crate::sql_sandbox::{self as sandbox, Sandbox};
use crate::support::{
    EXT, Reply, TOKEN, call_connector, employee as create, employee_column as column,
    patch_request as patch,
};

async fn call(app: &Router, method: &str, path: &str, body: Option<&Value>) -> Reply {
    call_connector(app, "HR", method, path, body).await
}

const SETUP: &str = include_str!("../../../features/sql/sqlite-table.sql");
const EXAMPLE: &str = include_str!("../../../examples/ecma-host-rest.toml");
const API_TOKEN: &str = "hr-api-token-0123456789";

/// The example configuration, on `url`, with the API token in a file.
fn config(
    url: &str,
    dir: &Path,
    edit: impl FnOnce(&mut reference_host::config::RestConfig),
) -> Config {
    std::fs::write(dir.join("api-token"), API_TOKEN).unwrap();
    let mut c = Config::parse(EXAMPLE).unwrap();
    c.server.tls = None;
    c.server.plain_http = true;
    let connector = &mut c.connectors[0];
    connector.token = SecretSource::Inline(Secret::new(TOKEN));
    connector.autosync_minutes = 0;
    let rest = connector.rest.as_mut().unwrap();
    rest.url = url.to_owned();
    rest.auth = reference_host::config::RestAuth::Bearer(SecretSource::File("api-token".into()));
    rest.page_size = 2;
    rest.timeout_seconds = 2;
    edit(rest);
    c.validate().unwrap();
    c
}

struct Hr {
    api: RestHr,
    pool: sqlx::AnyPool,
    _sandbox: Sandbox,
    dir: tempfile::TempDir,
}

async fn hr(name: &str) -> Hr {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::create(&format!("sqlite://{}", dir.path().display()), name, SETUP)
        .await
        .unwrap();
    let pool = sandbox::connect(&sandbox.url).await.unwrap();
    let api = RestHr::start(&sandbox.url, API_TOKEN).await.unwrap();
    Hr {
        api,
        pool,
        _sandbox: sandbox,
        dir,
    }
}

async fn host(hr: &Hr) -> Host {
    let host = Host::new(config(&hr.api.url(), hr.dir.path(), |_| {}), hr.dir.path()).unwrap();
    host.import_all().await.unwrap();
    host
}

#[tokio::test]
async fn the_templates_carry_a_whole_lifecycle_into_the_hr_table() {
    let hr = hr("rest_lifecycle").await;
    let app = host(&hr).await.app();

    let r = call(&app, "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "lee");
    assert_eq!(
        column(&hr.pool, "lee", "LastName").await,
        Some(Some("Jacobson".into()))
    );
    // The create as the API received it: the template's members, those without a value left out.
    let sent = hr.api.requests();
    let post = sent.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.uri, "/api/v1/employees");
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(
        body,
        json!({"login": "lee", "firstName": "Lee", "lastName": "Jacobson", "email": "lee@contoso.lab"})
    );

    // The table's UNIQUE Email: 409 from the API, 409 uniqueness from the host, nothing written.
    let mut twin = create("lee2");
    twin[EXT]["Email"] = json!("lee@contoso.lab");
    let r = call(&app, "POST", "/Users", Some(&twin)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(column(&hr.pool, "lee2", "LastName").await, None);

    // A value the table's CHECK refuses: the API's 400 with its message, 400 invalidValue.
    let r = call(
        &app,
        "PATCH",
        "/Users/lee",
        Some(&patch(
            json!([{"op": "Replace", "path": format!("{EXT}:LastName"), "value": "x".repeat(65)}]),
        )),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(
        r.body["detail"].as_str().unwrap().contains("CHECK"),
        "{}",
        r.body
    );

    // An update sends only what changed; a cleared attribute is null.
    let r = call(
        &app,
        "PATCH",
        "/Users/lee",
        Some(&patch(json!([
            {"op": "Replace", "path": format!("{EXT}:LastName"), "value": "O'Brien"},
            {"op": "Remove", "path": format!("{EXT}:FirstName")},
        ]))),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    let last = hr
        .api
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(last.uri, "/api/v1/employees/lee");
    assert_eq!(
        serde_json::from_str::<Value>(&last.body).unwrap(),
        json!({"firstName": null, "lastName": "O'Brien"})
    );
    assert_eq!(
        column(&hr.pool, "lee", "LastName").await,
        Some(Some("O'Brien".into()))
    );
    assert_eq!(column(&hr.pool, "lee", "FirstName").await, Some(None));

    // Disable: the flow's attribute through the template.
    let r = call(
        &app,
        "PATCH",
        "/Users/lee",
        Some(&patch(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(
        column(&hr.pool, "lee", "isSoftDeleted").await,
        Some(Some("1".into()))
    );

    // Delete, then again: 404.
    let r = call(&app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(column(&hr.pool, "lee", "LastName").await, None);
    let r = call(&app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn an_import_pages_by_cursor_and_sees_rows_written_out_of_band() {
    let hr = hr("rest_import").await;
    for login in ["ann", "bo", "cy", "di", "ed"] {
        sqlx::query(
            "INSERT INTO Employees (ContosoLogin, LastName, isSoftDeleted) VALUES (?, 'Out', 1)",
        )
        .bind(login)
        .execute(&hr.pool)
        .await
        .unwrap();
    }
    let host = host(&hr).await;
    let app = host.app();
    let r = call(&app, "GET", "/Users?count=50", None).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    let r = call(&app, "GET", "/Users/cy", None).await;
    assert_eq!(r.body["active"], false, "{}", r.body);
    // Pages of 2 by cursor: after nobody, after bo, after di.
    let pages: Vec<String> = hr
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.uri.starts_with("/api/v1/employees?"))
        .map(|r| r.uri)
        .collect();
    assert_eq!(
        pages,
        [
            "/api/v1/employees?limit=2&after=",
            "/api/v1/employees?limit=2&after=bo",
            "/api/v1/employees?limit=2&after=di",
        ]
    );
}

#[tokio::test]
async fn reads_are_tried_again_and_writes_are_not() {
    let hr = hr("rest_faults").await;
    // One 503 on the first import page: tried again, the import succeeds.
    hr.api.inject(RestFault {
        operation: Operation::List,
        status: 503,
        delay: Duration::ZERO,
        times: Some(1),
    });
    let host = host(&hr).await;
    let lists = hr
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(lists, 2, "{:?}", hr.api.requests());
    // A 500 on a create: 503 to Entra, and the create was sent once.
    hr.api.inject(RestFault {
        operation: Operation::Create,
        status: 500,
        delay: Duration::ZERO,
        times: Some(1),
    });
    let before = hr.api.requests().len();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let posts = hr.api.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
    // A create that gets no answer in time: 503, not repeated.
    hr.api.inject(RestFault {
        operation: Operation::Create,
        status: 201,
        delay: Duration::from_secs(5),
        times: Some(1),
    });
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("no answer in time"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_wrong_token_is_the_connectors_credentials_refused_and_never_shown() {
    let hr = hr("rest_token").await;
    let dir = hr.dir.path();
    let mut c = config(&hr.api.url(), dir, |_| {});
    std::fs::write(dir.join("wrong"), "wrong-token-0123456789").unwrap();
    c.connectors[0].rest.as_mut().unwrap().auth =
        reference_host::config::RestAuth::Bearer(SecretSource::File("wrong".into()));
    let host = Host::new(c, dir).unwrap();
    let e = host.import_all().await.unwrap_err().to_string();
    assert!(e.contains("refused the connector's credentials"), "{e}");
    assert!(!e.contains("wrong-token"), "{e}");
}

#[tokio::test]
async fn page_number_paging_ends_on_a_short_page() {
    // A stub API paged by number: 5 employees, pages of 2.
    let app = Router::new().fallback(|request: axum::extract::Request| async move {
        let query = request.uri().query().unwrap_or("").to_owned();
        let page: usize = query
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let all = ["ann", "bo", "cy", "di", "ed"];
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * 2)
            .take(2)
            .map(|l| json!({"login": l, "lastName": "Out"}))
            .collect();
        json!({ "items": items }).to_string()
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(reference_host::serve_router(
        app,
        None,
        listener,
        std::future::pending(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&url, dir.path(), |rest| {
        rest.import.path = "/employees?page={page}&size={page_size}".into();
        rest.import.items = "$.items".into();
        rest.import.next = None;
    });
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let r = call(&host.app(), "GET", "/Users?count=50", None).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
}

#[tokio::test]
async fn the_mock_describes_its_api_and_refuses_what_it_does_not_take() {
    let hr = hr("rest_api").await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = hr.api.url();
    let doc: Value = serde_json::from_str(
        &client
            .get(base.replace("/api/v1", "/openapi.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/employees/{login}"]["patch"].is_object());
    let post = |body: Value| {
        client
            .post(format!("{base}/employees"))
            .bearer_auth(API_TOKEN)
            .body(body.to_string())
            .send()
    };
    assert_eq!(
        post(json!({"login": "x", "colour": "red"}))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(post(json!({"lastName": "x"})).await.unwrap().status(), 400);
    assert_eq!(
        post(json!({"login": "x", "lastName": "X"}))
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        post(json!({"login": "x", "lastName": "X"}))
            .await
            .unwrap()
            .status(),
        409
    );
    let unauthorized = client
        .get(format!("{base}/employees"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
}
