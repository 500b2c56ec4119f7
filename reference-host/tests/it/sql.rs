//! The SQL connector against real PostgreSQL and MariaDB (the services on 127.0.0.1) and SQLite,
//! in table and procedure mode: each test gets its own schema, database or file, built from the
//! same setup scripts the suite uses (`features/sql/`), and reads rows back directly — never
//! through the host. A database that is not running fails the test with how to start it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use rstest::rstest;
use serde_json::{Value, json};

use crate::sql_sandbox::{self as sandbox, Engine, Sandbox, TextRow};
use crate::support::{EXT, Reply, TOKEN, enc, entra_url_form, ext, send};

/// Where the tests find PostgreSQL and MariaDB (override with these variables).
pub fn server(engine: Engine) -> String {
    let (var, default) = match engine {
        Engine::Postgres => (
            "ECMACERT_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        Engine::MySql => ("ECMACERT_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join("ecmacert-sql-tests");
            std::fs::create_dir_all(&dir).unwrap();
            return format!("sqlite://{}", dir.display());
        }
    };
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

pub const HOW_TO_START: &str = "PostgreSQL and MariaDB must run on 127.0.0.1 (see the shared \
     README-services.md): pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; \
     start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

/// Which setup a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Setup {
    /// PostgreSQL, generated statements.
    PostgresTable,
    /// MariaDB, generated statements.
    MariaDbTable,
    /// SQLite, generated statements.
    SqliteTable,
    /// PostgreSQL functions.
    PostgresProcedures,
    /// MariaDB procedures.
    MariaDbProcedures,
}

impl Setup {
    pub fn engine(self) -> Engine {
        match self {
            Setup::PostgresTable | Setup::PostgresProcedures => Engine::Postgres,
            Setup::MariaDbTable | Setup::MariaDbProcedures => Engine::MySql,
            Setup::SqliteTable => Engine::Sqlite,
        }
    }

    fn script(self) -> &'static str {
        match self {
            Setup::PostgresTable => include_str!("../../../features/sql/postgres-table.sql"),
            Setup::MariaDbTable => include_str!("../../../features/sql/mariadb-table.sql"),
            Setup::SqliteTable => include_str!("../../../features/sql/sqlite-table.sql"),
            Setup::PostgresProcedures => concat!(
                include_str!("../../../features/sql/postgres-table.sql"),
                "\n-- go\n",
                include_str!("../../../features/sql/postgres-procedures.sql"),
                "\n-- go\n",
                include_str!("../../../features/sql/postgres-read-page.sql")
            ),
            Setup::MariaDbProcedures => concat!(
                include_str!("../../../features/sql/mariadb-table.sql"),
                "\n-- go\n",
                include_str!("../../../features/sql/mariadb-procedures.sql"),
                "\n-- go\n",
                include_str!("../../../features/sql/mariadb-read-page.sql")
            ),
        }
    }

    fn procedures(self) -> bool {
        matches!(self, Setup::PostgresProcedures | Setup::MariaDbProcedures)
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The selected columns, as in `examples/ecma-host-postgres.toml`.
const COLUMNS: &[&str] = &[
    "ContosoLogin",
    "AzureID",
    "FirstName",
    "LastName",
    "Email",
    "DisplayName",
];
/// Every column the tests read back.
const ALL: &[&str] = &[
    "ContosoLogin",
    "AzureID",
    "FirstName",
    "LastName",
    "Email",
    "DisplayName",
    "Notes",
    "isSoftDeleted",
];

/// A host over its own sandbox.
pub struct SqlHost {
    pub app: Router,
    /// The host behind the router.
    host: Host,
    pub sandbox: Option<Sandbox>,
    pub pool: sqlx::AnyPool,
    pub engine: Engine,
}

impl Drop for SqlHost {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.drop_blocking();
        }
    }
}

/// The host configuration for a sandbox URL.
pub fn config_text(setup: Setup, url: &str, extra: &str) -> String {
    let attributes = COLUMNS
        .iter()
        .map(|c| format!("{{ name = \"{c}\" }}"))
        .collect::<Vec<_>>()
        .join(", ");
    let params = r#"["ContosoLogin", "AzureID", "FirstName", "LastName", "Email", "DisplayName", "isSoftDeleted"]"#;
    let procedures = if setup.procedures() {
        format!(
            r#"
[connector.sql.procedures]
read_page = "ecma_read_users"
add = {{ name = "ecma_add_user", parameters = {params} }}
update = {{ name = "ecma_update_user", parameters = {params} }}
delete = {{ name = "ecma_delete_user", parameters = ["ContosoLogin"] }}
"#
        )
    } else {
        String::new()
    };
    // `extra` may set its own timeout.
    let timeout = if extra.contains("timeout_seconds") {
        ""
    } else {
        "timeout_seconds = 5"
    };
    format!(
        r#"[server]
plain_http = true

[[connector]]
name = "SQL"
token = {{ env = "UNUSED_TOKEN_VARIABLE" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "isSoftDeleted", value = true }}
delete_flow = "delete"

[connector.sql]
url = "{url}"
table = "Employees"
anchor = "ContosoLogin"
page_size = 2
{timeout}
{extra}
attributes = [{attributes}]
{procedures}"#
    )
}

pub fn host_config(text: &str) -> Config {
    let mut config = Config::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.connectors[0].token = SecretSource::Inline(Secret::new(TOKEN));
    config.validate().unwrap_or_else(|e| panic!("{e}\n{text}"));
    config
}

impl SqlHost {
    /// A fresh sandbox for `setup`, seeded with `seed` (statements run before the host starts),
    /// and a host over it with its first import done.
    pub async fn start(name: &str, setup: Setup, seed: &[&str]) -> SqlHost {
        Self::start_with(name, setup, seed, "").await
    }

    /// [`SqlHost::start`] with extra `[connector.sql]` lines.
    pub async fn start_with(name: &str, setup: Setup, seed: &[&str], extra: &str) -> SqlHost {
        let engine = setup.engine();
        let sandbox_name = format!(
            "ecmacert_host_{name}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let sandbox = Sandbox::create(&server(engine), &sandbox_name, setup.script())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{HOW_TO_START}"));
        let pool = sandbox::connect(&sandbox.url).await.unwrap();
        for statement in seed {
            sqlx::raw_sql(sqlx::AssertSqlSafe((*statement).to_owned()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let host = Host::new(
            host_config(&config_text(setup, &sandbox.url, extra)),
            Path::new("."),
        )
        .unwrap();
        host.import_all().await.unwrap();
        let app = host.app();
        SqlHost {
            app,
            host,
            sandbox: Some(sandbox),
            pool,
            engine,
        }
    }

    /// The host behind the router (for its import).
    pub fn host(&self) -> &Host {
        &self.host
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        send(
            &self.app,
            method,
            &format!("/ecma2host_SQL/scim{path}"),
            body.map(Value::to_string),
            Some(TOKEN),
            "application/scim+json",
        )
        .await
    }

    /// The row with this anchor, read directly.
    pub async fn row(&self, login: &str) -> Option<TextRow> {
        sandbox::text_rows(
            &self.pool,
            self.engine,
            "Employees",
            ALL,
            &["isSoftDeleted"],
            "ContosoLogin",
            Some(login),
            "ContosoLogin",
        )
        .await
        .unwrap()
        .into_iter()
        .next()
    }

    /// Every row, read directly.
    pub async fn table(&self) -> Vec<TextRow> {
        sandbox::text_rows(
            &self.pool,
            self.engine,
            "Employees",
            ALL,
            &["isSoftDeleted"],
            "ContosoLogin",
            None,
            "ContosoLogin",
        )
        .await
        .unwrap()
    }
}

/// A create as Entra sends it to a SQL connector: the anchor and columns in the extension.
pub fn create(login: &str, extra: Value) -> Value {
    let mut ecma = json!({
        "ContosoLogin": login,
        "LastName": "Jacobson",
        "FirstName": "Lee",
        "Email": format!("{login}@contoso.lab"),
    });
    for (k, v) in extra.as_object().unwrap() {
        ecma[k] = v.clone();
    }
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": format!("{login}@contoso.lab"),
        "active": true,
        EXT: ecma,
    })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn text(row: &TextRow, column: &str) -> Option<String> {
    row.get(column).cloned().flatten()
}

#[rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::sqlite_table(Setup::SqliteTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[case::mariadb_procedures(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lives_and_dies_in_the_table(#[case] setup: Setup) {
    let h = SqlHost::start("life", setup, &[]).await;
    // Create: 201, the id is the anchor, the DN is autogenerated.
    let r = h
        .call("POST", "/Users", Some(&create("ljacobson", json!({}))))
        .await;
    assert_eq!(r.status, 201, "{r:#?}");
    assert_eq!(r.body["id"], "ljacobson");
    assert_eq!(
        r.ext("-dn-"),
        &Value::Null,
        "no -dn- for an autogenerated DN"
    );
    let row = h.row("ljacobson").await.expect("the row was written");
    assert_eq!(text(&row, "LastName").as_deref(), Some("Jacobson"));
    assert_eq!(
        text(&row, "Email").as_deref(),
        Some("ljacobson@contoso.lab")
    );
    assert_eq!(text(&row, "DisplayName"), None, "unmapped values stay NULL");
    assert_eq!(text(&row, "isSoftDeleted").as_deref(), Some("false"));
    // Read and find.
    let r = h.call("GET", "/Users/ljacobson", None).await;
    assert_eq!(r.status, 200, "{r:#?}");
    assert_eq!(r.body["active"], true);
    for (attr, value) in [
        ("ContosoLogin", "ljacobson"),
        ("Email", "ljacobson@contoso.lab"),
    ] {
        let q = format!("{} eq \"{value}\"", ext(attr));
        let r = h
            .call(
                "GET",
                &format!("/Users?filter={}", entra_url_form(&q)),
                None,
            )
            .await;
        assert_eq!(r.body["totalResults"], 1, "{attr}: {r:#?}");
    }
    // Update in the default dialect, then clear a value.
    let r = h
        .call(
            "PATCH",
            "/Users/ljacobson",
            Some(&patch(json!([
                {"op": "Replace", "path": ext("FirstName"), "value": "Leigh"},
                {"op": "Add", "path": ext("DisplayName"), "value": "Leigh Jacobson"},
            ]))),
        )
        .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    let row = h.row("ljacobson").await.unwrap();
    assert_eq!(text(&row, "FirstName").as_deref(), Some("Leigh"));
    assert_eq!(text(&row, "DisplayName").as_deref(), Some("Leigh Jacobson"));
    let r = h
        .call(
            "PATCH",
            "/Users/ljacobson",
            Some(&patch(
                json!([{"op": "remove", "path": ext("DisplayName")}]),
            )),
        )
        .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    assert_eq!(
        text(&h.row("ljacobson").await.unwrap(), "DisplayName"),
        None
    );
    // Disable and enable: the soft-delete column.
    for (active, soft_deleted) in [(json!("False"), "true"), (json!(true), "false")] {
        let r = h
            .call(
                "PATCH",
                "/Users/ljacobson",
                Some(&patch(
                    json!([{"op": "Replace", "path": "active", "value": active}]),
                )),
            )
            .await;
        assert!(matches!(r.status, 200 | 204), "{r:#?}");
        let row = h.row("ljacobson").await.unwrap();
        assert_eq!(text(&row, "isSoftDeleted").as_deref(), Some(soft_deleted));
        assert_eq!(
            text(&row, "FirstName").as_deref(),
            Some("Leigh"),
            "the rest stays"
        );
    }
    // Delete.
    let r = h.call("DELETE", "/Users/ljacobson", None).await;
    assert_eq!(r.status, 204, "{r:#?}");
    assert!(h.row("ljacobson").await.is_none());
    let r = h.call("GET", "/Users/ljacobson", None).await;
    r.assert_error(404, None);
}

#[rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::sqlite_table(Setup::SqliteTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[case::mariadb_procedures(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_made_out_of_band_are_imported_page_by_page(#[case] setup: Setup) {
    let seed = [
        "INSERT INTO Employees (ContosoLogin, LastName, Email, Notes) VALUES ('a1', 'One', 'a1@x', 'keep me')",
        "INSERT INTO Employees (ContosoLogin, LastName, isSoftDeleted) VALUES ('a2', 'Two', TRUE)",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('a3', 'Three')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('a4', 'Four')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('a5', 'Five')",
    ];
    let h = SqlHost::start("import", setup, &seed).await;
    let r = h.call("GET", "/Users?startIndex=1&count=100", None).await;
    assert_eq!(
        r.body["totalResults"], 5,
        "five rows over three pages of 2: {r:#?}"
    );
    let r = h.call("GET", "/Users/a2", None).await;
    assert_eq!(
        r.body["active"], false,
        "isSoftDeleted read as a boolean: {r:#?}"
    );
    assert_eq!(r.ext("LastName"), "Two");
    // A column the host does not select is left alone by an update.
    let r = h
        .call(
            "PATCH",
            "/Users/a1",
            Some(&patch(
                json!([{"op": "replace", "value": {ext("LastName"): "Uno"}}]),
            )),
        )
        .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    let row = h.row("a1").await.unwrap();
    assert_eq!(text(&row, "LastName").as_deref(), Some("Uno"));
    assert_eq!(text(&row, "Notes").as_deref(), Some("keep me"));
}

/// Sends `request` and checks the error and that the table did not change.
async fn refused(
    h: &SqlHost,
    status: u16,
    scim_type: Option<&str>,
    method: &str,
    path: &str,
    body: &Value,
) -> Reply {
    let before = h.table().await;
    let r = h.call(method, path, Some(body)).await;
    r.assert_error(status, scim_type);
    assert_eq!(h.table().await, before, "the table changed after {r:#?}");
    r
}

#[rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::sqlite_table(Setup::SqliteTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[case::mariadb_procedures(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_get_a_scim_error_and_change_nothing(#[case] setup: Setup) {
    let h = SqlHost::start("bad", setup, &[]).await;
    let r = h
        .call("POST", "/Users", Some(&create("first", json!({}))))
        .await;
    assert_eq!(r.status, 201, "{r:#?}");
    // Duplicate anchor: 409, still one row.
    let r = refused(
        &h,
        409,
        Some("uniqueness"),
        "POST",
        "/Users",
        &create("first", json!({})),
    )
    .await;
    assert!(!r.detail().is_empty());
    // Longer than the column (VARCHAR(64)): the database's message.
    let long = "x".repeat(65);
    let r = refused(
        &h,
        400,
        Some("invalidValue"),
        "POST",
        "/Users",
        &create("long", json!({"FirstName": long})),
    )
    .await;
    assert!(r.detail().contains("add \"long\""), "{r:#?}");
    refused(
        &h,
        400,
        Some("invalidValue"),
        "PATCH",
        "/Users/first",
        &patch(json!([{"op": "Replace", "path": ext("DisplayName"), "value": long}])),
    )
    .await;
    // NOT NULL column left out.
    let mut no_last = create("nolast", json!({}));
    no_last[EXT].as_object_mut().unwrap().remove("LastName");
    refused(&h, 400, Some("invalidValue"), "POST", "/Users", &no_last).await;
    // Wrong type for a string column; NUL; no anchor; changing the anchor.
    refused(
        &h,
        400,
        Some("invalidValue"),
        "POST",
        "/Users",
        &create("typed", json!({"FirstName": {"a": 1}})),
    )
    .await;
    refused(
        &h,
        400,
        Some("invalidValue"),
        "POST",
        "/Users",
        &create("nul", json!({"FirstName": "a\u{0}b"})),
    )
    .await;
    let mut no_anchor = create("x", json!({}));
    no_anchor[EXT]
        .as_object_mut()
        .unwrap()
        .remove("ContosoLogin");
    let r = refused(&h, 400, Some("invalidValue"), "POST", "/Users", &no_anchor).await;
    assert!(r.detail().contains("ContosoLogin"), "{r:#?}");
    refused(
        &h,
        400,
        Some("mutability"),
        "PATCH",
        "/Users/first",
        &patch(json!([{"op": "Replace", "path": ext("ContosoLogin"), "value": "renamed"}])),
    )
    .await;
    // SQL metacharacters and characters outside the BMP are values like any other.
    let nasty = [
        ("quote", "O'Brien \"the\" `tick`"),
        ("drop", "x'); DROP TABLE Employees; --"),
        ("backslash", "a\\b\\'c"),
        ("percent", "100% _wild_"),
        ("astral", "\u{1D518}\u{1D52B}\u{1D526} \u{1F600}"),
    ];
    for (login, value) in nasty {
        let r = h
            .call(
                "POST",
                "/Users",
                Some(&create(
                    login,
                    json!({"FirstName": value, "DisplayName": value}),
                )),
            )
            .await;
        assert_eq!(r.status, 201, "{login}: {r:#?}");
        assert_eq!(r.ext("FirstName"), value, "{login}: answered as stored");
        let row = h
            .row(login)
            .await
            .unwrap_or_else(|| panic!("{login}: no row"));
        assert_eq!(text(&row, "FirstName").as_deref(), Some(value), "{login}");
        let r = h.call("GET", &format!("/Users/{}", enc(login)), None).await;
        assert_eq!(r.ext("DisplayName"), value, "{login}");
    }
    // The anchor itself may carry them too, and the id finds the row.
    let login = "o'hara; --";
    let r = h
        .call("POST", "/Users", Some(&create(login, json!({}))))
        .await;
    assert_eq!(r.status, 201, "{r:#?}");
    let r = h
        .call("DELETE", &format!("/Users/{}", enc(login)), None)
        .await;
    assert_eq!(r.status, 204, "{r:#?}");
    assert!(h.row(login).await.is_none());
    assert_eq!(
        h.table().await.len(),
        1 + nasty.len(),
        "the table is still there"
    );
}

/// A trigger that fails the first `n` updates with a serialization failure (SQLSTATE 40001).
fn conflicts(engine: Engine, n: u32) -> Vec<String> {
    match engine {
        // The failed statement rolls back whatever the trigger wrote, but not a sequence.
        Engine::Postgres => vec![
            "CREATE SEQUENCE conflicts".into(),
            format!(
                "CREATE FUNCTION conflict() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   IF nextval('conflicts') <= {n} THEN \
                     RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; \
                   END IF; RETURN NEW; END $$"
            ),
            "CREATE TRIGGER conflict BEFORE UPDATE ON Employees FOR EACH ROW EXECUTE FUNCTION conflict()".into(),
        ],
        // Likewise in MariaDB, except for a MEMORY table, which takes no part in transactions.
        Engine::MySql => vec![
            "CREATE TABLE conflicts (left_over INTEGER) ENGINE=MEMORY".into(),
            format!("INSERT INTO conflicts VALUES ({n})"),
            "CREATE TRIGGER conflict BEFORE UPDATE ON Employees FOR EACH ROW BEGIN \
               DECLARE n INTEGER; SELECT left_over INTO n FROM conflicts; \
               IF n > 0 THEN UPDATE conflicts SET left_over = n - 1; \
                 SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'could not serialize access'; \
               END IF; END"
                .into(),
        ],
        Engine::Sqlite => unreachable!("no serialization failures to provoke"),
    }
}

#[rstest]
#[case::postgres(Setup::PostgresTable)]
#[case::mariadb(Setup::MariaDbTable)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_retried_then_503(#[case] setup: Setup) {
    let seed = ["INSERT INTO Employees (ContosoLogin, LastName) VALUES ('busy', 'Busy')"];
    // Two conflicts, three retries allowed: the update goes through.
    let h = SqlHost::start_with("retry", setup, &seed, "retries = 3").await;
    for s in conflicts(h.engine, 2) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s))
            .execute(&h.pool)
            .await
            .unwrap();
    }
    let r = h
        .call(
            "PATCH",
            "/Users/busy",
            Some(&patch(
                json!([{"op": "Replace", "path": ext("FirstName"), "value": "Retried"}]),
            )),
        )
        .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    assert_eq!(
        text(&h.row("busy").await.unwrap(), "FirstName").as_deref(),
        Some("Retried")
    );
    // Five conflicts, one retry allowed: 503, the row as it was.
    let h = SqlHost::start_with("noretry", setup, &seed, "retries = 1").await;
    for s in conflicts(h.engine, 5) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s))
            .execute(&h.pool)
            .await
            .unwrap();
    }
    let r = refused(
        &h,
        503,
        None,
        "PATCH",
        "/Users/busy",
        &patch(json!([{"op": "Replace", "path": ext("FirstName"), "value": "Never"}])),
    )
    .await;
    assert!(
        r.detail().contains("40001") && r.detail().contains("after 1 retries"),
        "{r:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_503() {
    // A port that stays ours for the whole test, bound but not listening (so connections are
    // refused), without SO_REUSEADDR (so a concurrent test's server cannot take it meanwhile).
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap().port();
    let text = config_text(
        Setup::PostgresTable,
        &format!("postgres://postgres@127.0.0.1:{closed}/test"),
        "",
    );
    let host = Host::new(host_config(&text), Path::new(".")).unwrap();
    let e = host.import_all().await.unwrap_err();
    assert!(e.to_string().contains("cannot reach the database"), "{e}");
    assert!(
        e.to_string().contains("127.0.0.1"),
        "says where it looked: {e}"
    );
    let r = send(
        &host.app(),
        "POST",
        "/ecma2host_SQL/scim/Users",
        Some(create("down", json!({})).to_string()),
        Some(TOKEN),
        "application/scim+json",
    )
    .await;
    r.assert_error(503, None);
    drop(reserved);
}

#[test]
fn configuration_mistakes_name_their_key() {
    let good = config_text(
        Setup::PostgresTable,
        "postgres://postgres@127.0.0.1:5432/test",
        "",
    );
    assert!(Config::parse(&good).unwrap().validate().is_ok());
    for (from, to, expected) in [
        (
            "table = \"Employees\"",
            "table = \"Employees; DROP TABLE x\"",
            "sql.table: \"Employees; DROP TABLE x\" is not a plain SQL identifier",
        ),
        (
            "anchor = \"ContosoLogin\"",
            "anchor = \"Login\"",
            "sql.anchor: \"Login\" is not among sql.attributes",
        ),
        (
            "{ name = \"Email\" }",
            "{ name = \"E-mail\" }",
            "sql.attributes[4]: \"E-mail\" is not a plain SQL identifier",
        ),
        (
            "postgres://postgres@",
            "postgres://postgres:hunter2@",
            "holds a password",
        ),
        (
            "postgres://postgres@127.0.0.1:5432/test",
            "oracle://db/x",
            "expected a postgres://",
        ),
        (
            "isSoftDeleted",
            "is_soft-deleted",
            "not a plain SQL identifier",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let text = good.replacen(from, to, 1);
        let e = Config::parse(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
        assert!(
            !e.contains("hunter2"),
            "the password is in the message: {e}"
        );
    }
    let sqlite = config_text(Setup::PostgresProcedures, "sqlite:///tmp/x.sqlite3", "");
    let e = Config::parse(&sqlite)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("SQLite has no stored procedures"), "{e}");
}

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_a_sqlite_table_named_relative_to_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::create(
        &format!("sqlite://{}", dir.path().display()),
        "hr",
        Setup::SqliteTable.script(),
    )
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let text = config_text(Setup::SqliteTable, "sqlite://hr.sqlite3", "")
        .replace(
            "plain_http = true",
            &format!("plain_http = true\nlisten = \"127.0.0.1:{port}\""),
        )
        .replace(
            "{ env = \"UNUSED_TOKEN_VARIABLE\" }",
            "{ file = \"token\" }",
        );
    std::fs::write(dir.path().join("ecma-host.toml"), text).unwrap();
    let _child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ecma-host"))
            .arg("--config")
            .arg(dir.path().join("ecma-host.toml"))
            .spawn()
            .unwrap(),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/ecma2host_SQL/scim");
    let mut ready = false;
    for _ in 0..100 {
        let r = client
            .get(format!("{base}/Users?count=1"))
            .bearer_auth(TOKEN)
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "ecma-host did not answer within 10 s");
    let r = client
        .post(format!("{base}/Users"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(create("binary", json!({})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let pool = sandbox::connect(&sandbox.url).await.unwrap();
    let rows = sandbox::text_rows(
        &pool,
        Engine::Sqlite,
        "Employees",
        &["ContosoLogin"],
        &[],
        "ContosoLogin",
        Some("binary"),
        "ContosoLogin",
    )
    .await
    .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the row is in the file the configuration names"
    );
}

#[rstest]
#[case::postgres(Setup::PostgresProcedures)]
#[case::mariadb(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_procedure_import_misses_no_row_when_others_are_deleted_between_pages(
    #[case] setup: Setup,
) {
    use reference_host::connector::Connector as _;
    let seed = [
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('p1', 'One')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('p2', 'Two')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('p3', 'Three')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('p4', 'Four')",
    ];
    let h = SqlHost::start("snapshot", setup, &seed).await;
    let config = host_config(&config_text(setup, &h.sandbox.as_ref().unwrap().url, ""));
    let c = &config.connectors[0];
    let connector = reference_host::connector::sql::SqlConnector::new(
        &c.name,
        c.sql.as_ref().unwrap(),
        &c.deprovisioning,
        Path::new("."),
    )
    .unwrap();
    let mut import = connector.open_import().await.unwrap();
    let first = import.next_page().await.unwrap().unwrap();
    assert_eq!(first.len(), 2);
    // p1 goes away between the pages: row numbers shift by one.
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        "DELETE FROM Employees WHERE ContosoLogin = 'p1'".to_owned(),
    ))
    .execute(&h.pool)
    .await
    .unwrap();
    let mut seen: Vec<String> = first.into_iter().map(|e| e.anchor).collect();
    while let Some(page) = import.next_page().await.unwrap() {
        seen.extend(page.into_iter().map(|e| e.anchor));
    }
    assert_eq!(seen, ["p1", "p2", "p3", "p4"], "one consistent picture");
}

/// Issue 9, kinds 1 and 2 on SQL: `null` and `""` are no value — the column becomes NULL on
/// update, stays NULL on create — and a `""` does not stop the PATCH's other changes.
#[rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::sqlite_table(Setup::SqliteTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_and_empty_strings_are_no_value(#[case] setup: Setup) {
    let h = SqlHost::start("nulls", setup, &[]).await;
    let r = h
        .call(
            "POST",
            "/Users",
            Some(&create(
                "nulled",
                json!({"FirstName": "", "DisplayName": null}),
            )),
        )
        .await;
    assert_eq!(r.status, 201, "{r:#?}");
    let row = h.row("nulled").await.unwrap();
    assert_eq!(text(&row, "FirstName"), None, "\"\" is left out on create");
    assert_eq!(text(&row, "DisplayName"), None);
    for value in [Value::Null, json!("")] {
        let r = h
            .call(
                "PATCH",
                "/Users/nulled",
                Some(&patch(json!([
                    {"op": "Replace", "path": ext("Email"), "value": value},
                    {"op": "Replace", "path": ext("LastName"), "value": format!("After {value}")},
                ]))),
            )
            .await;
        assert!(matches!(r.status, 200 | 204), "{value}: {r:#?}");
        let row = h.row("nulled").await.unwrap();
        assert_eq!(text(&row, "Email"), None, "{value}");
        assert_eq!(
            text(&row, "LastName"),
            Some(format!("After {value}")),
            "{value}: the other change landed"
        );
        // Put a value back for the next round.
        let r = h
            .call(
                "PATCH",
                "/Users/nulled",
                Some(&patch(
                    json!([{"op": "Add", "path": ext("Email"), "value": "back@x"}]),
                )),
            )
            .await;
        assert!(matches!(r.status, 200 | 204), "{r:#?}");
    }
}
