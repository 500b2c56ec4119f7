//! The SCIM connector: a host whose target is an on-premises SCIM endpoint. The endpoint is a
//! second host serving an SQLite table (the lifecycle is read back from the table itself), or a
//! stub that answers what a test needs (statuses, a slow answer), which also records what the
//! connector sent.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};

use crate::sql_sandbox::{self as sandbox, Sandbox};
use crate::support::{
    EXT, Reply, TOKEN, call_connector, employee as create, employee_column as column,
    patch_request as patch, rename_and_clear, wait_known,
};

async fn call(app: &Router, method: &str, path: &str, body: Option<&Value>) -> Reply {
    call_connector(app, "SCIM", method, path, body).await
}

const SETUP: &str = include_str!("../../../features/sql/sqlite-table.sql");
const ENDPOINT_TOKEN: &str = "endpoint-token-0123456789";

fn outer_config(url: &str, extra: &str) -> Config {
    let path = |a: &str| format!("{EXT}:{a}");
    let text = format!(
        r#"[server]
plain_http = true

[[connector]]
name = "SCIM"
token = {{ env = "UNUSED" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "active", value = false }}
delete_flow = "delete"

[connector.scim]
url = "{url}"
token = {{ file = "endpoint-token" }}
page_size = 2
timeout_seconds = 2
{extra}
attributes = [
  {{ name = "ContosoLogin", path = "{}", treat_as_single_value = true }},
  {{ name = "FirstName", path = "{}", treat_as_single_value = true }},
  {{ name = "LastName", path = "{}", treat_as_single_value = true }},
  {{ name = "Email", path = "{}", treat_as_single_value = true }},
]
"#,
        path("ContosoLogin"),
        path("FirstName"),
        path("LastName"),
        path("Email"),
    );
    let mut config = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.connectors[0].token = SecretSource::Inline(Secret::new(TOKEN));
    config.validate().unwrap_or_else(|e| panic!("{e}\n{text}"));
    config
}

fn inner_config(url: &str) -> Config {
    let text = format!(
        r#"[server]
plain_http = true

[[connector]]
name = "HR"
token = {{ env = "UNUSED" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "isSoftDeleted", value = true }}
delete_flow = "delete"

[connector.sql]
url = "{url}"
table = "Employees"
anchor = "ContosoLogin"
attributes = [{{ name = "ContosoLogin" }}, {{ name = "FirstName" }}, {{ name = "LastName" }}, {{ name = "Email" }}]
"#
    );
    let mut config = Config::parse(&text).unwrap();
    config.connectors[0].token = SecretSource::Inline(Secret::new(ENDPOINT_TOKEN));
    config
}

/// Serves `app` on a loopback port until the test ends; its base URL.
async fn serve(app: Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(reference_host::serve_router(
        app,
        None,
        listener,
        std::future::pending(),
    ));
    format!("http://127.0.0.1:{port}")
}

async fn outer(dir: &Path, url: &str) -> Host {
    outer_with(dir, url, "").await
}

/// The host under test on the endpoint at `url`, its `[connector.scim]` with `extra` keys,
/// imported.
async fn outer_with(dir: &Path, url: &str, extra: &str) -> Host {
    std::fs::write(dir.join("endpoint-token"), ENDPOINT_TOKEN).unwrap();
    let host = Host::new(outer_config(url, extra), dir).unwrap();
    host.import_all().await.unwrap();
    host
}

/// The endpoint: the Generic SQL walkthrough's table in a sandbox `name` under `dir`, a pool on
/// it (to read the table directly), and a second host serving it, imported; the endpoint's
/// URL (`…/ecma2host_HR/scim`) last.
async fn endpoint(dir: &Path, name: &str) -> (sqlx::AnyPool, Host, String) {
    let table = Sandbox::create(&format!("sqlite://{}", dir.display()), name, SETUP)
        .await
        .unwrap();
    let pool = sandbox::connect(&table.url).await.unwrap();
    let inner = Host::new(inner_config(&table.url), dir).unwrap();
    inner.import_all().await.unwrap();
    let base = serve(inner.app()).await;
    (pool, inner, format!("{base}/ecma2host_HR/scim"))
}

#[tokio::test]
async fn a_user_goes_through_the_endpoint_into_its_table_and_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, _inner, url) = endpoint(dir.path(), "scim_lifecycle").await;
    let host = outer(dir.path(), &url).await;
    let app = host.app();

    let r = call(&app, "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "lee");
    assert_eq!(r.body[EXT]["LastName"], "Jacobson");
    assert_eq!(
        column(&pool, "lee", "LastName").await,
        Some(Some("Jacobson".into()))
    );

    // The endpoint's uniqueness (the table's UNIQUE Email) comes back as 409 uniqueness.
    let mut twin = create("lee2");
    twin[EXT]["Email"] = json!("lee@contoso.lab");
    let r = call(&app, "POST", "/Users", Some(&twin)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(column(&pool, "lee2", "LastName").await, None);

    // PATCH of one attribute; clearing another removes it.
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
    assert_eq!(
        column(&pool, "lee", "LastName").await,
        Some(Some("O'Brien".into()))
    );
    assert_eq!(column(&pool, "lee", "FirstName").await, Some(None));

    // Disable: active false at the endpoint, which sets its flag in the table.
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
        column(&pool, "lee", "isSoftDeleted").await,
        Some(Some("1".into()))
    );
    // The host's import reads the endpoint's list, pages of 2, and keeps the user disabled.
    for login in ["ann", "bo", "cy"] {
        let r = call(&app, "POST", "/Users", Some(&create(login))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    host.import_all().await.unwrap();
    let r = call(&app, "GET", "/Users/lee", None).await;
    assert_eq!(r.body["active"], false, "{}", r.body);
    let r = call(&app, "GET", "/Users?startIndex=1&count=10", None).await;
    assert_eq!(r.body["totalResults"], 4, "{}", r.body);

    // Delete: the row is gone; a second delete is 404.
    let r = call(&app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(column(&pool, "lee", "LastName").await, None);
    let r = call(&app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// What the stub endpoint saw: method, path and query, the Authorization header, the body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A stub endpoint: an empty list for imports, `status` with `body` for everything else, after
/// `delay`.
async fn stub(status: u16, body: Value, delay: Duration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let log = Arc::clone(&log);
        let body = body.clone();
        async move {
            let method = request.method().to_string();
            let uri = request.uri().to_string();
            let auth = request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            log.lock()
                .unwrap()
                .push((method.clone(), uri.clone(), auth, String::from_utf8_lossy(&bytes).into()));
            if method == "GET" && uri.contains("/Users?") {
                return (
                    axum::http::StatusCode::OK,
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []})
                        .to_string(),
                );
            }
            tokio::time::sleep(delay).await;
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                body.to_string(),
            )
        }
    });
    (serve(app).await, seen)
}

#[tokio::test]
async fn the_endpoints_answers_are_classified_by_status_and_the_token_stays_out_of_them() {
    let dir = tempfile::tempdir().unwrap();
    for (status, body, expected, scim_type) in [
        (
            409,
            json!({"detail": "userName taken", "scimType": "uniqueness"}),
            409,
            Some("uniqueness"),
        ),
        (
            400,
            json!({"detail": "LastName: too long"}),
            400,
            Some("invalidValue"),
        ),
        (401, json!({}), 502, None),
        (500, json!({"detail": "database down"}), 503, None),
        (429, json!({}), 503, None),
    ] {
        let (base, seen) = stub(status, body, Duration::ZERO).await;
        let host = outer(dir.path(), &base).await;
        let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
        assert_eq!(r.status, expected, "endpoint {status}: {}", r.body);
        if let Some(t) = scim_type {
            assert_eq!(r.body["scimType"], t, "{}", r.body);
        }
        assert!(!r.body.to_string().contains(ENDPOINT_TOKEN), "{}", r.body);
        if status == 400 {
            assert!(
                r.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("LastName: too long"),
                "{}",
                r.body
            );
        }
        // The create as the endpoint received it: the bearer token, RFC 7643 schemas and the
        // extension attributes under their URN.
        let seen = seen.lock().unwrap();
        let (method, uri, auth, sent) = seen.iter().find(|s| s.0 == "POST").unwrap();
        assert_eq!((method.as_str(), uri.as_str()), ("POST", "/Users"));
        assert_eq!(auth, &format!("Bearer {ENDPOINT_TOKEN}"));
        let sent: Value = serde_json::from_str(sent).unwrap();
        assert_eq!(sent[EXT]["ContosoLogin"], "lee", "{sent}");
        assert!(
            sent["schemas"].as_array().unwrap().iter().any(|s| s == EXT),
            "{sent}"
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_in_time_is_answered_503() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = stub(201, json!({}), Duration::from_secs(30)).await;
    let host = outer(dir.path(), &base).await;
    let started = Instant::now();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    r.assert_detail(503, "has not answered within");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// ECMA-ROBUST-017 for an endpoint: a create it answers after the connector's timeout is
/// answered 503, and the connector space then follows the endpoint's answer. Before, the
/// connector gave up at its timeout and the host did not know the user until the next import
/// (the suite's "A change the host gave up on is shown as the directory made it" failed under
/// scim-target when it ran alone).
#[tokio::test]
async fn a_create_the_endpoint_answers_late_is_answered_503_and_the_space_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let created = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "id": "lee-7",
        EXT: {"ContosoLogin": "lee", "LastName": "Late"},
    });
    // timeout_seconds = 2 in the configuration; the endpoint answers after 3 s.
    let (base, _) = stub(201, created, Duration::from_secs(3)).await;
    let host = outer(dir.path(), &base).await;
    let app = host.app();
    let r = call(&app, "POST", "/Users", Some(&create("lee"))).await;
    r.assert_detail(503, "the change goes on");
    wait_known(&app, "SCIM", "lee-7", "Late").await;
}

#[tokio::test]
async fn a_plain_http_endpoint_off_loopback_is_refused() {
    let text = outer_config("http://127.0.0.1:1/scim", "");
    assert!(text.validate().is_ok());
    let mut c = text;
    c.connectors[0].scim.as_mut().unwrap().url = "http://hr.contoso.lab/scim".into();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("scim.url") && e.contains("https://"), "{e}");
}

/// A list request's `startIndex` (default 1) and `count` (default 100).
fn paging(request: &axum::extract::Request) -> (usize, usize) {
    let query = request.uri().query().unwrap_or("");
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    (
        param("startIndex").unwrap_or(1),
        param("count").unwrap_or(100),
    )
}

/// A stub endpoint whose list is `initial`, with `change` applied to it once, right after the
/// first page was served: a list that changes while an import pages through it.
async fn shifting(initial: &[&str], change: fn(&mut Vec<String>)) -> String {
    let list: Arc<Mutex<(Vec<String>, bool)>> = Arc::new(Mutex::new((
        initial.iter().map(|s| (*s).to_owned()).collect(),
        false,
    )));
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let list = Arc::clone(&list);
        async move {
            let (start, count) = paging(&request);
            let mut state = list.lock().unwrap();
            let page: Vec<Value> = state
                .0
                .iter()
                .skip(start - 1)
                .take(count)
                .map(|id| json!({"id": id, EXT: {"ContosoLogin": id}}))
                .collect();
            let total = state.0.len();
            if !state.1 {
                state.1 = true;
                change(&mut state.0);
            }
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                   "totalResults": total, "startIndex": start, "itemsPerPage": page.len(),
                   "Resources": page})
            .to_string()
        }
    });
    serve(app).await
}

#[tokio::test]
async fn an_import_through_a_list_that_shifts_between_pages_sees_every_user_once() {
    let dir = tempfile::tempdir().unwrap();
    // A user created at the front after the first page: the second page repeats "b".
    let base = shifting(&["a", "b", "c", "d"], |l| l.insert(0, "new".into())).await;
    let host = outer(dir.path(), &base).await;
    let r = call(&host.app(), "GET", "/Users?count=50", None).await;
    let mut ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b", "c", "d", "new"], "{}", r.body);
    // A user deleted at the front after the first page: the second page passes "c" by.
    let base = shifting(&["a", "b", "c", "d"], |l| {
        l.remove(0);
    })
    .await;
    let host = outer(dir.path(), &base).await;
    for id in ["b", "c", "d"] {
        let r = call(&host.app(), "GET", &format!("/Users/{id}"), None).await;
        assert_eq!(r.status, 200, "{id}: {}", r.body);
    }
}

/// A stub endpoint answering `GET /Users?startIndex=…&count=…` with `list(start, count)`
/// after a first import saw `a`–`e` (five users, in pages of 2): once `broken` is set.
async fn breaking(list: fn(usize, usize) -> String) -> (String, Arc<Mutex<bool>>) {
    let broken = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&broken);
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let flag = Arc::clone(&flag);
        async move {
            let (start, count) = paging(&request);
            if *flag.lock().unwrap() {
                return list(start, count);
            }
            let page: Vec<Value> = ["a", "b", "c", "d", "e"]
                .iter()
                .skip(start - 1)
                .take(count)
                .map(|id| json!({"id": id, EXT: {"ContosoLogin": id}}))
                .collect();
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                   "totalResults": 5, "startIndex": start, "Resources": page})
            .to_string()
        }
    });
    (serve(app).await, broken)
}

#[tokio::test]
async fn an_import_the_endpoint_cannot_answer_properly_fails_instead_of_emptying_the_space() {
    type List = fn(usize, usize) -> String;
    let cases: [(&str, List, &str); 5] = [
        (
            "an HTML page with 200",
            |_, _| "<html>maintenance</html>".into(),
            "not a JSON object",
        ),
        (
            "a list without totalResults",
            |_, _| json!({"Resources": []}).to_string(),
            "no totalResults",
        ),
        (
            "a page that says it starts elsewhere",
            |_, _| {
                json!({"totalResults": 5, "startIndex": 1, "Resources": [
                    {"id": "a", EXT: {"ContosoLogin": "a"}}, {"id": "b", EXT: {"ContosoLogin": "b"}}]})
                .to_string()
            },
            "does not page by index",
        ),
        (
            "an endpoint that ignores startIndex and says nothing of it",
            |_, _| {
                json!({"totalResults": 5, "Resources": [
                    {"id": "a", EXT: {"ContosoLogin": "a"}}, {"id": "b", EXT: {"ContosoLogin": "b"}}]})
                .to_string()
            },
            "no pass of 5",
        ),
        (
            "a list that ends before its totalResults",
            |start, _| {
                let page: Vec<Value> = ["a", "b"]
                    .iter()
                    .skip(start - 1)
                    .map(|id| json!({"id": id, EXT: {"ContosoLogin": id}}))
                    .collect();
                json!({"totalResults": 5, "startIndex": start, "Resources": page}).to_string()
            },
            "no pass of 5",
        ),
    ];
    for (what, list, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (base, broken) = breaking(list).await;
        let host = outer(dir.path(), &base).await;
        *broken.lock().unwrap() = true;
        let e = host.import_all().await.unwrap_err().to_string();
        assert!(e.contains(expected), "{what}: {e}");
        let r = call(&host.app(), "GET", "/Users?count=50", None).await;
        assert_eq!(r.body["totalResults"], 5, "{what}: {}", r.body);
    }
}

#[tokio::test]
async fn a_core_schema_path_is_a_top_level_attribute_and_410_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (base, seen) = stub(410, json!({"detail": "gone"}), Duration::ZERO).await;
    std::fs::write(dir.path().join("endpoint-token"), ENDPOINT_TOKEN).unwrap();
    let mut c = outer_config(&base, "");
    c.connectors[0].scim.as_mut().unwrap().attributes[2].path =
        Some("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName".into());
    c.validate().unwrap();
    let host = Host::new(c, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let seen = seen.lock().unwrap();
    let (_, _, _, sent) = seen.iter().find(|s| s.0 == "POST").unwrap();
    let sent: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(sent["name"]["familyName"], "Jacobson", "{sent}");
    assert!(
        sent.get("urn:ietf:params:scim:schemas:core:2.0:User")
            .is_none(),
        "{sent}"
    );
}

/// A create the endpoint answers 409 (its answer lost the first time, or the user made there
/// behind the host's back): the connector finds the user by its unique attribute, so the host
/// answers Entra's next matching query with it (ECMA-ROBUST-017). Without the attribute the
/// host cannot look, and the query finds nobody: what the embedded default's scim-target
/// profile failed before.
#[tokio::test]
async fn a_create_the_endpoint_answers_409_is_followed_by_finding_the_user_by_its_unique_attribute()
{
    for (unique, found) in [("unique_attribute = \"ContosoLogin\"", 1), ("", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let (pool, _inner, url) = endpoint(dir.path(), "scim_collided").await;
        let host = outer_with(dir.path(), &url, unique).await;
        // The row comes after both imports: neither host knows it.
        sqlx::query(
            "INSERT INTO Employees (ContosoLogin, LastName, Email) VALUES ('kim', 'Out', 'kim@contoso.lab')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let app = host.app();
        let r = call(&app, "POST", "/Users", Some(&create("kim"))).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let filter = format!("{EXT}:Email eq \"kim@contoso.lab\"");
        let r = call(
            &app,
            "GET",
            &format!("/Users?filter={}", urlencoding(&filter)),
            None,
        )
        .await;
        assert_eq!(r.body["totalResults"], found, "{unique:?}: {}", r.body);
        if found == 1 {
            assert_eq!(r.body["Resources"][0]["id"], "kim", "{}", r.body);
            assert_eq!(r.body["Resources"][0][EXT]["LastName"], "Out", "{}", r.body);
        }
    }
}

fn urlencoding(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[test]
fn a_unique_attribute_must_be_a_selected_single_valued_string() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("endpoint-token"), ENDPOINT_TOKEN).unwrap();
    let text = |unique: &str| {
        format!(
            r#"[server]
plain_http = true

[[connector]]
name = "SCIM"
token = {{ file = "endpoint-token" }}
[connector.scim]
url = "http://127.0.0.1:9/scim"
token = {{ file = "endpoint-token" }}
unique_attribute = "{unique}"
attributes = [
  {{ name = "Login", path = "userName", treat_as_single_value = true }},
  {{ name = "Groups", path = "groups" }},
]
"#
        )
    };
    // Named without case, as keys are compared.
    if let Err(e) = Host::new(Config::parse(&text("login")).unwrap(), dir.path()) {
        panic!("{e}");
    }
    for (unique, why) in [
        ("Mail", "is not one of scim.attributes"),
        ("Groups", "single-valued string"),
    ] {
        // Refused when the file is loaded, before any connector is built.
        let config = Config::parse(&text(unique)).unwrap();
        let e = config
            .validate()
            .err()
            .unwrap_or_else(|| panic!("{unique} was taken"))
            .to_string();
        assert!(
            e.contains("scim.unique_attribute") && e.contains(why),
            "{unique}: {e}"
        );
    }
}
