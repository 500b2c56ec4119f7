//! The Web Services connector on the mock HR API (`mock_targets::rest`, its employees in an
//! SQLite table read back directly here): a whole lifecycle through the templates, the API's
//! refusals and faults classified by status, reads retried and writes not, and paging by cursor
//! and by page number.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use mock_targets::http::{Action, Fault, Operation};
use mock_targets::rest::RestHr;
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};

use crate::sql_sandbox::{self as sandbox, Sandbox};
use crate::support::{
    EXT, Reply, TOKEN, call_connector, employee as create, employee_column as column,
    patch_request as patch, rename_and_clear,
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

/// A mock fault: `operation` answered `status` after `delay`, `times` times.
fn fault(operation: Operation, status: u16, delay: Duration, times: Option<u32>) -> Fault {
    Fault::answer(operation, status, delay, times)
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
        Some(&rename_and_clear("FirstName")),
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
    // One 503 on the first import page: tried again, the import succeeds. (A fault used up
    // before it was injected never answers.)
    hr.api
        .inject(fault(Operation::List, 500, Duration::ZERO, Some(0)));
    hr.api
        .inject(fault(Operation::List, 503, Duration::ZERO, Some(1)));
    let host = host(&hr).await;
    let lists = hr
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(lists, 2, "{:?}", hr.api.requests());
    // A 500 on a create: 503 to Entra, and the create was sent once.
    hr.api
        .inject(fault(Operation::Create, 500, Duration::ZERO, Some(1)));
    let before = hr.api.requests().len();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let posts = hr.api.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
    // Status 0: a 503, once.
    hr.api
        .inject(fault(Operation::Create, 0, Duration::ZERO, Some(1)));
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    // A create that gets no answer in time: 503 (the host waits on for the API's answer, so
    // the connector space follows it), not repeated.
    hr.api.inject(fault(
        Operation::Create,
        201,
        Duration::from_secs(5),
        Some(1),
    ));
    let before = hr.api.requests().len();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("has not answered within 2s"),
        "{}",
        r.body
    );
    let posts = hr.api.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
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

/// What a stub API received: method, URI and body of each request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A stub API on loopback answering every request with `answer(method, uri, body)`: its base
/// URL (`…/api`) and what it received.
fn stub_api(
    answer: impl Fn(&str, &str, &str) -> (u16, String) + Clone + Send + Sync + 'static,
) -> (String, Received) {
    let received: Received = Default::default();
    let log = received.clone();
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let answer = answer.clone();
        let log = log.clone();
        async move {
            let method = request.method().to_string();
            let uri = request.uri().to_string();
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let body = String::from_utf8_lossy(&body).into_owned();
            log.lock()
                .unwrap()
                .push((method.clone(), uri.clone(), body.clone()));
            let (status, text) = answer(&method, &uri, &body);
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                text,
            )
        }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(reference_host::serve_router(
        app,
        None,
        listener,
        std::future::pending(),
    ));
    (url, received)
}

/// The `page=` of a URI, from 1.
fn page_of(uri: &str) -> usize {
    uri.split(['?', '&'])
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

const FIVE: [&str; 5] = ["ann", "bo", "cy", "di", "ed"];

/// A host on a stub API paged by number (`items` at `$.items`).
fn paged_host(url: &str, dir: &Path) -> Host {
    let c = config(url, dir, |rest| {
        rest.import.path = "/employees?page={page}&size={page_size}".into();
        rest.import.items = "$.items".into();
        rest.import.next = None;
    });
    Host::new(c, dir).unwrap()
}

#[tokio::test]
async fn page_number_paging_goes_on_past_short_pages_to_an_empty_one() {
    // Pages of 2 asked for; the API gives at most 1 (its own maximum): five short pages, then
    // an empty one. Stopping at the first short page would import only "ann".
    let (url, received) = stub_api(|_, uri, _| {
        let items: Vec<Value> = FIVE
            .iter()
            .skip(page_of(uri) - 1)
            .take(1)
            .map(|l| json!({"login": l, "lastName": "Out"}))
            .collect();
        (200, json!({ "items": items }).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let host = paged_host(&url, dir.path());
    host.import_all().await.unwrap();
    let r = call(&host.app(), "GET", "/Users?count=50", None).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    assert_eq!(
        received.lock().unwrap().len(),
        6,
        "five pages and the empty one"
    );
}

#[tokio::test]
async fn page_number_paging_ends_on_a_404_past_the_last_page_and_wildcard_items_may_be_empty() {
    // One employee per page, then 404 "Invalid page" (as Django REST Framework answers).
    let (url, received) = stub_api(|_, uri, _| match FIVE.get(page_of(uri) - 1) {
        Some(l) => (200, json!({ "items": [{"login": l}] }).to_string()),
        None => (404, json!({ "detail": "Invalid page." }).to_string()),
    });
    let dir = tempfile::tempdir().unwrap();
    let host = paged_host(&url, dir.path());
    host.import_all().await.unwrap();
    let r = call(&host.app(), "GET", "/Users?count=50", None).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    assert_eq!(received.lock().unwrap().len(), 6);
    // `$.items[*]` on an empty target: no item matches, the array is there: nobody, no error.
    let (url, _) = stub_api(|_, _, _| (200, json!({ "items": [] }).to_string()));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&url, dir.path(), |rest| {
        rest.import.path = "/employees?page={page}".into();
        rest.import.items = "$.items[*]".into();
        rest.import.next = None;
    });
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let r = call(&host.app(), "GET", "/Users?count=50", None).await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
}

#[tokio::test]
async fn basic_credentials_quoted_back_by_the_api_are_redacted_in_every_form() {
    // The API quotes the whole Authorization header and the password.
    let (url, _) = stub_api(|method, _, _| {
        match method {
        "GET" => (200, json!({"data": [], "next": null}).to_string()),
        _ => (
            400,
            json!({ "message": "bad request; header was Basic aHItYXBpOmhyLXBhc3N3b3JkLTk4NzY=, password hr-password-9876" })
                .to_string(),
        ),
    }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api-password"), "hr-password-9876").unwrap();
    let c = config(&url, dir.path(), |rest| {
        rest.auth = reference_host::config::RestAuth::Basic {
            username: "hr-api".into(),
            password: SecretSource::File("api-password".into()),
        };
    });
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let text = r.body.to_string();
    assert!(!text.contains("aHItYXBpOmhyLXBhc3N3b3JkLTk4NzY"), "{text}");
    assert!(!text.contains("hr-password-9876"), "{text}");
    assert!(text.contains("Basic ***"), "{text}");
}

#[tokio::test]
async fn an_import_the_api_cannot_answer_properly_fails_instead_of_emptying_the_space() {
    // Each answer an import cannot trust, after a first import that saw five employees: the
    // import fails and the five stay (the host drops what an import does not bring).
    type Answer = fn(&str) -> (u16, String);
    let cases: [(&str, Answer, &str); 4] = [
        (
            "an HTML page with 200",
            |_| (200, "<html>maintenance</html>".into()),
            "not a JSON",
        ),
        (
            "JSON without the items path",
            |_| (200, json!({"data": []}).to_string()),
            "matches nothing",
        ),
        (
            "an API that ignores the page number",
            |_| {
                let items: Vec<Value> = FIVE[..2].iter().map(|l| json!({"login": l})).collect();
                (200, json!({ "items": items }).to_string())
            },
            "second page",
        ),
        (
            "a 410 on the list",
            |_| (410, json!({"message": "gone"}).to_string()),
            "410",
        ),
    ];
    for (what, answer, expected) in cases {
        let broken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = broken.clone();
        let (url, _) = stub_api(move |_, uri, _| {
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                return answer(uri);
            }
            let items: Vec<Value> = FIVE
                .iter()
                .skip((page_of(uri) - 1) * 2)
                .take(2)
                .map(|l| json!({"login": l}))
                .collect();
            (200, json!({ "items": items }).to_string())
        });
        let dir = tempfile::tempdir().unwrap();
        let host = paged_host(&url, dir.path());
        host.import_all().await.unwrap();
        broken.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = host.import_all().await.unwrap_err().to_string();
        assert!(e.contains(expected), "{what}: {e}");
        let r = call(&host.app(), "GET", "/Users?count=50", None).await;
        assert_eq!(r.body["totalResults"], 5, "{what}: {}", r.body);
    }
}

#[tokio::test]
async fn statuses_are_classified_and_the_apis_words_lose_the_credentials() {
    // The API quotes the request's Authorization header in its errors; its employees are
    // named after the status their DELETE is answered with.
    // 410 Gone is "no such object", which a DELETE takes as done (204).
    const STATUSES: [(u16, u16); 6] = [
        (410, 204),
        (408, 503),
        (423, 503),
        (425, 503),
        (429, 503),
        (422, 400),
    ];
    let (url, _) = stub_api(|method, uri, _| match method {
        "GET" => {
            let items: Vec<Value> = if page_of(uri) == 1 {
                STATUSES
                    .iter()
                    .map(|(s, _)| json!({"login": s.to_string()}))
                    .collect()
            } else {
                Vec::new()
            };
            (200, json!({ "items": items }).to_string())
        }
        _ => {
            let status: u16 = uri.rsplit('/').next().unwrap().parse().unwrap();
            let quoted = format!("refused; you sent Bearer {API_TOKEN}");
            (status, json!({ "message": quoted }).to_string())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let c = config(&url, dir.path(), |rest| {
        rest.import.path = "/employees?page={page}".into();
        rest.import.items = "$.items".into();
        rest.import.next = None;
        rest.page_size = 10;
    });
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let app = host.app();
    for (status, expected) in STATUSES {
        let r = call(&app, "DELETE", &format!("/Users/{status}"), None).await;
        assert_eq!(r.status, expected, "{status}: {}", r.body);
        if expected == 204 {
            continue;
        }
        let text = r.body.to_string();
        assert!(!text.contains(API_TOKEN), "{status}: {text}");
        assert!(text.contains("Bearer ***"), "{status}: {text}");
    }
}

#[tokio::test]
async fn an_update_by_put_sends_the_whole_object() {
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = stub_api(|method, _, body| match method {
        "GET" => (200, json!({"data": [], "next": null}).to_string()),
        "POST" => (201, body.to_owned()),
        _ => (200, "{}".into()),
    });
    let c = config(&url, dir.path(), |rest| {
        rest.update.method = "PUT".into();
    });
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let app = host.app();
    let r = call(&app, "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(
        &app,
        "PATCH",
        "/Users/lee",
        Some(&rename_and_clear("Email")),
    )
    .await;
    assert!(r.status < 300, "{} {}", r.status, r.body);
    let put = received
        .lock()
        .unwrap()
        .iter()
        .find(|(m, _, _)| m == "PUT")
        .cloned()
        .unwrap();
    let body: Value = serde_json::from_str(&put.2).unwrap();
    // The whole object as it now stands: the unchanged first name too, the cleared email left
    // out (a PATCH would send only lastName and email: null).
    assert_eq!(
        body,
        json!({"firstName": "Lee", "lastName": "O'Brien"}),
        "{}",
        put.2
    );
}

#[tokio::test]
async fn a_url_with_credentials_in_it_is_refused_without_showing_them() {
    for url in [
        "https://hr-admin:s3cret-pass@hr.contoso.lab/api",
        "https://hr-admin:s3cret-pass@[bad/api",
        "https://hr-admin:s3cret/pass@hr.contoso.lab/api",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api-token"), API_TOKEN).unwrap();
        let mut c = Config::parse(EXAMPLE).unwrap();
        c.server.tls = None;
        c.server.plain_http = true;
        c.connectors[0].rest.as_mut().unwrap().url = url.to_owned();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rest.url"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
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

/// The API's faults in the suite's words: aimed at one employee (its login), a late answer the
/// host does not wait for but the connector space follows, and a connection closed unanswered.
#[tokio::test]
async fn faults_aimed_at_one_employee_late_answers_and_dropped_connections() {
    let hr = hr("rest_scoped_faults").await;
    let host = host(&hr).await;
    let app = host.app();
    for login in ["kim-r1-9", "kim-r1-93"] {
        let r = call(&app, "POST", "/Users", Some(&create(login))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let aimed = |operation, action| Fault {
        operation: Some(operation),
        scope: Some("r1-9".into()),
        action,
        times: Some(1),
    };
    let surname = |value: &str| {
        patch(json!([{"op": "Replace", "path": format!("{EXT}:LastName"), "value": value}]))
    };
    // Aimed at kim-r1-9: kim-r1-93, whose name starts the same, is not hit.
    hr.api.inject(aimed(
        Operation::Update,
        Action::Answer {
            status: 400,
            message: "lastName is limited".into(),
            delay: Duration::ZERO,
        },
    ));
    let r = call(&app, "PATCH", "/Users/kim-r1-93", Some(&surname("Other"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&app, "PATCH", "/Users/kim-r1-9", Some(&surname("Other"))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("lastName is limited")
    );
    assert_eq!(
        column(&hr.pool, "kim-r1-9", "LastName").await,
        Some(Some("Jacobson".into()))
    );
    // A late answer: 503 after the connector's 2 s, the change made all the same, and the
    // host's answers follow it once the API has answered.
    hr.api.inject(aimed(
        Operation::Update,
        Action::Late(Duration::from_secs(3)),
    ));
    let started = std::time::Instant::now();
    let r = call(&app, "PATCH", "/Users/kim-r1-9", Some(&surname("Later"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(started.elapsed() < Duration::from_millis(2900));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = call(&app, "GET", "/Users/kim-r1-9", None).await;
    assert_eq!(r.body[EXT]["LastName"], "Later", "{}", r.body);
    // A connection closed before the answer: 503, the employee still there; then deleted.
    hr.api.inject(aimed(Operation::Delete, Action::Drop));
    let r = call(&app, "DELETE", "/Users/kim-r1-9", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(column(&hr.pool, "kim-r1-9", "LastName").await.is_some());
    let r = call(&app, "DELETE", "/Users/kim-r1-9", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(column(&hr.pool, "kim-r1-9", "LastName").await, None);
}
