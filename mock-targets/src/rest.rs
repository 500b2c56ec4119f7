//! `rest-hr`: a small HR system's REST API, in process — the target of the reference host's Web
//! Services connector. Employees are JSON objects addressed by their `login`; the service keeps
//! them in the Generic SQL walkthrough's `Employees` table (`features/sql/sqlite-table.sql`) in
//! an SQLite file of its own, as an HR application keeps its own database, so the suite's probe
//! reads what the service holds straight from the table, never through the service or the host.
//!
//! The API (`GET /openapi.json` describes it, OpenAPI 3.1), behind a bearer token:
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/employees?limit=N&after=LOGIN` | `{"data":[EMPLOYEE…],"next":"LOGIN"\|null}`, by login (keyset paging: stable while the table changes) |
//! | `GET /api/v1/employees/{login}` | `EMPLOYEE`, or 404 |
//! | `POST /api/v1/employees` | 201 `EMPLOYEE`; 409 when the login or email is taken; 400 when the table refuses a value |
//! | `PATCH /api/v1/employees/{login}` | 200 `EMPLOYEE` (members given are set, `null` clears); 404, 409, 400 as above |
//! | `DELETE /api/v1/employees/{login}` | 204, or 404 |
//!
//! `EMPLOYEE` is `{"login","azureId","firstName","lastName","email","displayName","softDeleted"}`
//! (the table's `ContosoLogin`, `AzureID`, `FirstName`, `LastName`, `Email`, `DisplayName`,
//! `isSoftDeleted`; `Notes` and `RowVersion` are not exposed). Errors are `{"error":"…"}`.
//!
//! Every request is recorded ([`RestHr::requests`]); faults ([`crate::http::Fault`]) hit an
//! operation, on every object or on those a scope names, once, N times or always, and answer a status
//! without touching the table, answer late, or close the connection before or after carrying
//! the request out — the same kinds of rule the mock LDAP server takes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::http::{Fault, FaultSwitch};
use sqlx::{AnyPool, Row as _};

/// The employee's members and the table's columns they are kept in, in order. `softDeleted`
/// is a Boolean, the others strings.
pub const FIELDS: &[(&str, &str)] = &[
    ("login", "ContosoLogin"),
    ("azureId", "AzureID"),
    ("firstName", "FirstName"),
    ("lastName", "LastName"),
    ("email", "Email"),
    ("displayName", "DisplayName"),
    ("softDeleted", "isSoftDeleted"),
];

/// One request as the service received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path and query.
    pub uri: String,
    /// The body, as text.
    pub body: String,
}

struct Shared {
    pool: AnyPool,
    token: String,
    requests: Mutex<Vec<Recorded>>,
    faults: FaultSwitch,
}

/// The running service.
pub struct RestHr {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[error("rest-hr: {0}")]
pub struct RestError(pub String);

impl RestHr {
    /// Serves the API on a free loopback port over the table at `table_url` (an SQLite file
    /// made by `features/sql/sqlite-table.sql`), accepting `token`.
    pub async fn start(table_url: &str, token: &str) -> Result<RestHr, RestError> {
        let pool = crate::sql::connect(table_url)
            .await
            .map_err(|e| RestError(e.to_string()))?;
        let shared = Arc::new(Shared {
            pool,
            token: token.to_owned(),
            requests: Mutex::new(Vec::new()),
            faults: FaultSwitch::new(),
        });
        let app = router(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| RestError(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| RestError(e.to_string()))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::http::serve(listener, app, stopped));
        Ok(RestHr {
            shared,
            addr,
            stop: Some(stop),
        })
    }

    /// The API's base URL: `http://127.0.0.1:PORT/api/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.faults().inject(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.faults().clear_where(|_| true);
    }

    /// The service's fault switch, to keep apart from the service (a run's fault controller).
    pub fn faults(&self) -> FaultSwitch {
        self.shared.faults.clone()
    }
}

impl Drop for RestHr {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    use axum::routing::get;
    let routes = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api/v1/employees", get(list).post(create))
        .route(
            "/api/v1/employees/{login}",
            get(read).patch(update).delete(delete),
        )
        .with_state(Arc::clone(&shared));
    // Recorded and authenticated first, then the faults.
    shared
        .faults
        .gate(routes, "/employees", crate::http::error)
        .layer(axum::middleware::from_fn_with_state(shared, gate))
}

/// A JSON answer.
fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    crate::http::error(status, &message.to_string())
}

/// The body as JSON, or why it is not (answered 400).
fn body_json(bytes: &Bytes) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("the body is not JSON: {e}"))
}

/// Records the request and checks the token.
async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if let Ok(mut r) = shared.requests.lock() {
        r.push(Recorded {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    if parts.uri.path() != "/openapi.json" {
        let expected = format!("Bearer {}", shared.token);
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        }
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// The columns read, in [`FIELDS`] order (the Boolean as an integer).
fn select_list() -> String {
    FIELDS
        .iter()
        .map(|(_, c)| {
            if *c == "isSoftDeleted" {
                format!("CAST({c} AS INTEGER) AS {c}")
            } else {
                (*c).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn employee(row: &sqlx::any::AnyRow) -> Value {
    let mut m = Map::new();
    for (field, column) in FIELDS {
        let v = if *column == "isSoftDeleted" {
            row.try_get::<Option<i64>, _>(*column)
                .ok()
                .flatten()
                .map_or(Value::Null, |i| Value::Bool(i != 0))
        } else {
            row.try_get::<Option<String>, _>(*column)
                .ok()
                .flatten()
                .map_or(Value::Null, Value::String)
        };
        m.insert((*field).to_owned(), v);
    }
    Value::Object(m)
}

/// A database error as the API answers it: 409 for a taken value, 400 for a refused one, 503
/// for a busy database.
fn db_error(e: &sqlx::Error) -> Response {
    if let sqlx::Error::Database(db) = e {
        let message = db.message().to_owned();
        if message.contains("UNIQUE") || message.contains("PRIMARY KEY") {
            return error(StatusCode::CONFLICT, message);
        }
        if message.contains("locked") || message.contains("busy") {
            return error(StatusCode::SERVICE_UNAVAILABLE, message);
        }
        return error(StatusCode::BAD_REQUEST, message);
    }
    error(StatusCode::SERVICE_UNAVAILABLE, e)
}

async fn fetch(pool: &AnyPool, login: &str) -> Result<Option<Value>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM Employees WHERE ContosoLogin = ?",
        select_list()
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(login.to_owned())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(employee))
}

async fn list(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit = match param("limit").map(|l| l.parse::<i64>()) {
        None => 100,
        Some(Ok(l)) => l.clamp(1, 1000),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "limit is not a number"),
    };
    let after = param("after");
    let sql = format!(
        "SELECT {} FROM Employees WHERE ContosoLogin > ? ORDER BY ContosoLogin LIMIT {limit}",
        select_list()
    );
    match sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after.unwrap_or_default())
        .fetch_all(&shared.pool)
        .await
    {
        Ok(rows) => {
            let data: Vec<Value> = rows.iter().map(employee).collect();
            let next = if data.len() as i64 == limit {
                data.last().map_or(Value::Null, |e| e["login"].clone())
            } else {
                Value::Null
            };
            answer(StatusCode::OK, &json!({ "data": data, "next": next }))
        }
        Err(e) => db_error(&e),
    }
}

async fn read(State(shared): State<Arc<Shared>>, Path(login): Path<String>) -> Response {
    match fetch(&shared.pool, &login).await {
        Ok(Some(e)) => answer(StatusCode::OK, &e),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no employee {login:?}")),
        Err(e) => db_error(&e),
    }
}

/// The members of a create or update body as (column, value) pairs; `Err` names what is not an
/// employee's member or has the wrong type.
fn columns_of(body: &Value) -> Result<Vec<(&'static str, Value)>, String> {
    let object = body.as_object().ok_or("the body is not a JSON object")?;
    let mut out = Vec::new();
    for (k, v) in object {
        let (_, column) = FIELDS
            .iter()
            .find(|(f, _)| f == k)
            .ok_or_else(|| format!("{k}: not a member of an employee"))?;
        let fits = match (*column, v) {
            (_, Value::Null) => true,
            ("isSoftDeleted", Value::Bool(_)) => true,
            ("isSoftDeleted", _) => false,
            (_, Value::String(s)) => !s.contains('\0'),
            _ => false,
        };
        if !fits {
            return Err(format!("{k}: {v} is not a valid value"));
        }
        out.push((*column, v.clone()));
    }
    Ok(out)
}

fn bind_value<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    v: &Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match v {
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::String(s) => q.bind(s.clone()),
        _ => q.bind(None::<String>),
    }
}

async fn create(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let body = match body_json(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let columns = match columns_of(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Some(login) = body.get("login").and_then(Value::as_str).map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "login is required");
    };
    let given: Vec<&(&str, Value)> = columns.iter().filter(|(_, v)| !v.is_null()).collect();
    let sql = format!(
        "INSERT INTO Employees ({}) VALUES ({})",
        given.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "),
        vec!["?"; given.len()].join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (_, v) in &given {
        q = bind_value(q, v);
    }
    if let Err(e) = q.execute(&shared.pool).await {
        return db_error(&e);
    }
    match fetch(&shared.pool, &login).await {
        Ok(Some(e)) => answer(StatusCode::CREATED, &e),
        Ok(None) => error(StatusCode::INTERNAL_SERVER_ERROR, "the employee vanished"),
        Err(e) => db_error(&e),
    }
}

async fn update(
    State(shared): State<Arc<Shared>>,
    Path(login): Path<String>,
    bytes: Bytes,
) -> Response {
    let body = match body_json(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let columns = match columns_of(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if columns
        .iter()
        .any(|(c, v)| *c == "ContosoLogin" && v.as_str() != Some(login.as_str()))
    {
        return error(StatusCode::BAD_REQUEST, "login cannot change");
    }
    if !columns.is_empty() {
        let sql = format!(
            "UPDATE Employees SET {} WHERE ContosoLogin = ?",
            columns
                .iter()
                .map(|(c, _)| format!("{c} = ?"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, v) in &columns {
            q = bind_value(q, v);
        }
        match q.bind(login.clone()).execute(&shared.pool).await {
            Ok(done) if done.rows_affected() == 0 => {
                return error(StatusCode::NOT_FOUND, format!("no employee {login:?}"));
            }
            Ok(_) => {}
            Err(e) => return db_error(&e),
        }
    }
    match fetch(&shared.pool, &login).await {
        Ok(Some(e)) => answer(StatusCode::OK, &e),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no employee {login:?}")),
        Err(e) => db_error(&e),
    }
}

async fn delete(State(shared): State<Arc<Shared>>, Path(login): Path<String>) -> Response {
    match sqlx::query("DELETE FROM Employees WHERE ContosoLogin = ?")
        .bind(login.clone())
        .execute(&shared.pool)
        .await
    {
        Ok(done) if done.rows_affected() == 0 => {
            error(StatusCode::NOT_FOUND, format!("no employee {login:?}"))
        }
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => db_error(&e),
    }
}

async fn openapi() -> Response {
    answer(StatusCode::OK, &openapi_document())
}

/// The API's OpenAPI 3.1 description.
pub fn openapi_document() -> Value {
    let employee = json!({
        "type": "object",
        "properties": {
            "login": {"type": "string", "maxLength": 64},
            "azureId": {"type": ["string", "null"], "maxLength": 64},
            "firstName": {"type": ["string", "null"], "maxLength": 64},
            "lastName": {"type": "string", "maxLength": 64},
            "email": {"type": ["string", "null"], "maxLength": 128},
            "displayName": {"type": ["string", "null"], "maxLength": 64},
            "softDeleted": {"type": "boolean"}
        },
        "required": ["login", "lastName"]
    });
    let error_body = json!({"type": "object", "properties": {"error": {"type": "string"}}});
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let one = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Employee"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "rest-hr", "version": "1", "description": "ecmacert's mock HR system: employees by login"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Employee": employee, "Error": error_body}
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/employees": {
                "get": {
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        {"name": "after", "in": "query", "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "a page, by login", "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Employee"}}, "next": {"type": ["string", "null"]}}
                    }}}}, "401": err("no valid token")}
                },
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Employee"}}}},
                    "responses": {"201": one("created"), "400": err("a value refused"), "409": err("login or email taken")}
                }
            },
            "/api/v1/employees/{login}": {
                "parameters": [{"name": "login", "in": "path", "required": true, "schema": {"type": "string"}}],
                "get": {"responses": {"200": one("the employee"), "404": err("no such employee")}},
                "patch": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Employee"}}}},
                    "responses": {"200": one("updated"), "400": err("a value refused"), "404": err("no such employee"), "409": err("email taken")}
                },
                "delete": {"responses": {"204": {"description": "deleted"}, "404": err("no such employee")}}
            }
        }
    })
}
